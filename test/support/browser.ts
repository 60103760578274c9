import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createServer, connect, type Server, type Socket } from "node:net";
import { build } from "esbuild";
import { clientBundle, demoBundle } from "../../scripts/bundles.mjs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium; playwright-core never downloads a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}


let built: Promise<void> | undefined;

/**
 * Builds the two browser bundles the demo page loads, with the options scripts/build.mjs uses
 * (only those two targets, so this never races another test building the gateway). Test files
 * run in parallel processes, so a file is replaced atomically and only when its content changed:
 * a page loading it meanwhile never sees half a file.
 */
export function buildBrowserBundles(): Promise<void> {
  built ??= Promise.all([
    build({ ...clientBundle, write: false }),
    build({ ...demoBundle, write: false }),
  ]).then((results) => {
    for (const file of results.flatMap((result) => result.outputFiles ?? [])) {
      if (existsSync(file.path) && readFileSync(file.path).equals(file.contents)) continue;
      mkdirSync(dirname(file.path), { recursive: true });
      const temporary = `${file.path}.${process.pid}.tmp`;
      writeFileSync(temporary, file.contents);
      renameSync(temporary, file.path);
    }
  });
  return built;
}

export interface DropProxy {
  /** http://127.0.0.1:<port>: load pages from here and their sockets go through the proxy. */
  url: string;
  /** Cuts every open connection without a close handshake, as a network drop would. */
  dropAll(): void;
  /** While blocked, new connections are cut at once (the network is "down"). */
  setBlocked(blocked: boolean): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of a local port that tests can cut, to drop a browser's sockets for real. */
export async function startDropProxy(targetUrl: string): Promise<DropProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let blocked = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.hostname, port: Number(target.port) });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${address.port}`,
    dropAll,
    setBlocked: (value) => {
      blocked = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}
