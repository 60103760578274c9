import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { GOODBYE_REASONS, refusal } from "../protocol/index.js";
import { ClientSession } from "./clientSession.js";
import { clientAddress, resolveConfig, type GatewayConfig, type GatewayOptions } from "./config.js";
import { GatewayLog } from "./log.js";

export interface Gateway {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: AddressInfo;
  readonly config: GatewayConfig;
  /** Connected TCP clients right now (refused ones are not counted). */
  readonly clientCount: number;
  /** Stops accepting, says goodbye (default "server shutting down") to every client, closes everything. */
  close(reason?: string): Promise<void>;
}

/**
 * The stateless TCP gateway: every TCP client gets its own upstream WebSocket to the Worker's
 * /connect, so any number of gateways can serve the same rooms. A client address holds at most
 * maxConnectionsPerIp connections at a time; the next one is refused before any upstream opens.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const config = resolveConfig(options);
  const log = new GatewayLog(config.log);
  const sessions = new Set<ClientSession>();
  /** Connections held per client address. */
  const held = new Map<string, number>();

  // allowHalfOpen: a client's FIN must not end our side before its last line is answered.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const ip = clientAddress(socket.remoteAddress);
    const count = held.get(ip) ?? 0;
    if (config.maxConnectionsPerIp > 0 && count >= config.maxConnectionsPerIp) {
      refuse(socket, ip, config, log);
      return;
    }
    held.set(ip, count + 1);
    const session = new ClientSession(socket, ip, config, log);
    sessions.add(session);
    void session.closed.then(() => {
      sessions.delete(session);
      const left = (held.get(ip) ?? 1) - 1;
      if (left > 0) held.set(ip, left);
      else held.delete(ip);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => log.write("error", "error", { what: "server", message: error.message }));
  const keepalive =
    config.keepaliveMs > 0
      ? setInterval(() => {
          const now = Date.now();
          for (const session of sessions) session.keepAlive(now);
        }, Math.max(50, Math.floor(config.keepaliveMs / 4)))
      : undefined;
  keepalive?.unref();

  let closing: Promise<void> | undefined;
  return {
    address: server.address() as AddressInfo,
    config,
    get clientCount() {
      return sessions.size;
    },
    close(reason: string = GOODBYE_REASONS.shuttingDown) {
      closing ??= (async () => {
        clearInterval(keepalive);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...sessions].map((session) => session.shutdown(reason)));
        await stopped;
      })();
      return closing;
    },
  };
}

/** One refusal line, then the connection closes; nothing reaches the Worker. */
function refuse(socket: Socket, ip: string, config: GatewayConfig, log: GatewayLog): void {
  const limit = config.maxConnectionsPerIp;
  const address = ip.includes(":") ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
  log.write("warn", "refusal", { client: address, code: "too_many_connections", limit });
  const text = `too many connections from ${ip}: at most ${limit} at a time per client address`;
  socket.on("error", () => {}); // a client that resets meanwhile is nobody's problem
  socket.resume(); // read and drop whatever it sends, so the close is clean
  socket.end(`${JSON.stringify(refusal("too_many_connections", text))}\n`);
  const grace = setTimeout(() => socket.destroy(), config.closeGraceMs);
  grace.unref();
  socket.once("close", () => clearTimeout(grace));
}
