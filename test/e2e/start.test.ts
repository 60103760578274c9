import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TcpClient } from "../support/gateway.js";
import { TestSocket } from "../support/wsClient.js";

/**
 * A free port below the kernel's ephemeral range, so that none of the many processes that bind
 * port 0 meanwhile (workerd opens several) can take it between now and when start.mjs listens.
 */
async function freePort(): Promise<number> {
  const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  const top = Math.min(low || 32768, 32768) - 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * (top - 20000));
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => server.close(resolve));
      return port;
    }
  }
  throw new Error("no free port found");
}

/** Every process below `pid`, read from /proc (Linux). */
function descendants(pid: number): { pid: number; command: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const found: { pid: number; command: string }[] = [];
  const stack = [...(children.get(pid) ?? [])];
  while (stack.length > 0) {
    const child = stack.pop()!;
    let command = "";
    try {
      command = readFileSync(`/proc/${child}/cmdline`, "utf8").replace(/\0/g, " ").trim();
    } catch {
      continue;
    }
    found.push({ pid: child, command });
    stack.push(...(children.get(child) ?? []));
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const started: ChildProcess[] = [];
let trees: { pid: number; command: string }[][] = [];
const scratch = mkdtempSync(join(tmpdir(), "edgechat-start-"));

afterAll(() => {
  // Only if a test failed half-way: never leave a workerd behind.
  for (const tree of trees) for (const { pid } of tree) if (alive(pid)) process.kill(pid, "SIGKILL");
  for (const child of started) if (child.pid && alive(child.pid)) child.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

interface Launched {
  child: ChildProcess;
  port: number;
  gatewayPort: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Every process it started (wrangler, its workerd, the gateway), once it is ready. */
  tree: { pid: number; command: string }[];
}

/** Runs `command` (start.mjs or npm start) on free ports with scratch state, and waits until it is ready. */
async function launch(command: string, args: string[], env: Record<string, string> = {}): Promise<Launched> {
  const port = await freePort();
  const gatewayPort = await freePort();
  let output = "";
  const child = spawn(command, args, {
    env: {
      ...process.env,
      PORT: String(port),
      GATEWAY_PORT: String(gatewayPort),
      PERSIST_TO: join(scratch, `state-${port}`),
      XDG_CONFIG_HOME: join(scratch, "config"),
      WRANGLER_LOG_PATH: join(scratch, "logs"),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  await waitFor(() => output.includes("Ctrl-C to stop") || child.exitCode !== null, 150_000, `start-up; output: ${output}`);
  expect(child.exitCode, output).toBeNull();
  expect(output).toContain(`http://127.0.0.1:${port}`);
  expect(output).toContain(`tcp://127.0.0.1:${gatewayPort}`);
  const tree = descendants(child.pid!);
  trees.push(tree);
  const workerds = tree.filter((p) => /\bworkerd\b/.test(p.command) && /\bserve\b/.test(p.command));
  expect(workerds.length, JSON.stringify(tree)).toBeGreaterThan(0);
  return { child, port, gatewayPort, output: () => output, exited, tree };
}

/** Every process of the launch has ended, and no workerd anywhere still serves its port. */
async function expectAllGone(launched: Launched): Promise<void> {
  const { tree, port } = launched;
  await waitFor(() => tree.every(({ pid }) => !alive(pid)), 15_000, `processes still running: ${JSON.stringify(tree.filter(({ pid }) => alive(pid)))}`);
  let workerdLeft = "";
  try {
    workerdLeft = execFileSync("pgrep", ["-a", "workerd"], { encoding: "utf8" });
  } catch {
    // pgrep exits 1 when nothing matches
  }
  expect(workerdLeft).not.toContain(`127.0.0.1:${port} `);
}

const isGoodbye = (m: unknown) => typeof m === "object" && m !== null && (m as Record<string, unknown>).status === "Bye!";

describe("npm start (scripts/start.mjs)", () => {
  it("runs the Worker and the gateway together, and SIGTERM stops both without orphaning workerd", { timeout: 180_000 }, async () => {
    // Settings are handed to wrangler with --env-file; a file of our own proves the Worker and the
    // gateway both read it (the default is .dev.vars, else .dev.vars.example).
    const settingsFile = join(scratch, "test.dev.vars");
    writeFileSync(
      settingsFile,
      readFileSync(".dev.vars.example", "utf8")
        .replace(/^WELCOME_MESSAGE=.*$/m, "WELCOME_MESSAGE=Hi from the start test")
        .replace(/^GATEWAY_SECRET=.*$/m, "GATEWAY_SECRET=start-test-secret"),
    );
    const start = await launch(process.execPath, ["scripts/start.mjs"], { DEV_VARS_FILE: settingsFile });
    const { port, gatewayPort } = start;

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await health.json()).toEqual({ ok: true });

    const room = `start-${process.pid}`;
    const tcp = await TcpClient.connect(gatewayPort);
    expect(tcp.room).toBe("defaultRoom");
    expect(tcp.client.received[0]).toMatchObject({ welcome: "Hi from the start test" });
    // The gateway got GATEWAY_SECRET from the same settings as the Worker: the address is trusted.
    expect((await tcp.client.request("detailsView")).data).toMatchObject({ remoteIP: "127.0.0.1" });
    expect((await tcp.client.request(`roomChange ${room}`)).status).toBe("OK");
    const ws = await TestSocket.connect(`ws://127.0.0.1:${port}/connect?room=${room}`);
    expect((await tcp.client.request("say over tcp")).status).toBe("OK");
    expect(await ws.socket.nextChat((m) => m.message === "over tcp")).toMatchObject({ from: tcp.id, room });
    expect((await ws.socket.request("say over ws")).status).toBe("OK");
    expect(await tcp.client.nextChat((m) => m.message === "over ws")).toMatchObject({ from: ws.id, room });

    start.child.kill("SIGTERM");
    const rest = await tcp.client.waitEnded(15_000);
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "server shutting down" }]);
    await ws.socket.waitClosed(20_000);
    expect(await start.exited, start.output()).toEqual({ code: 0, signal: null });
    await expectAllGone(start);
  });

  it("`npm start` stops everything when npm itself gets SIGTERM (npm does not pass it on)", { timeout: 180_000 }, async () => {
    const start = await launch("npm", ["start", "--silent"]);
    const tcp = await TcpClient.connect(start.gatewayPort);
    expect((await tcp.client.request("roomView")).status).toBe("OK");
    start.child.kill("SIGTERM");
    const rest = await tcp.client.waitEnded(15_000);
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "server shutting down" }]);
    await start.exited;
    await expectAllGone(start);
  });
});
