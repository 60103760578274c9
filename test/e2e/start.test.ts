import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
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

/** `what` may be a function, so the message shows the state at the timeout (e.g. all output so far). */
async function waitFor(condition: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const started: ChildProcess[] = [];
let trees: { pid: number; command: string }[][] = [];
const scratch = mkdtempSync(join(tmpdir(), "edgechat-start-"));

/**
 * The working tree as it is now, copied (node_modules linked), and every start.mjs runs from the copy:
 * npm start reloads the Worker whenever a file under src/ changes, so on a tree that others edit
 * meanwhile a reload could drop a test's connections, or break its build mid-test.
 */
const repo = join(scratch, "repo");
for (const entry of readdirSync(".")) {
  if ([".git", ".scratch", ".wrangler", "dist", "node_modules"].includes(entry)) continue;
  cpSync(entry, join(repo, entry), { recursive: true });
}
symlinkSync(resolve("node_modules"), join(repo, "node_modules"), "dir");

afterAll(() => {
  // Only if a test failed half-way: never leave a workerd behind.
  for (const tree of trees) for (const { pid } of tree) if (alive(pid)) process.kill(pid, "SIGKILL");
  for (const child of started) if (child.pid && alive(child.pid)) child.kill("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

interface Spawned {
  child: ChildProcess;
  port: number;
  gatewayPort: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Waits for output matching `pattern` (already printed or still to come). */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
}

interface Launched extends Spawned {
  /** Every process it started (the dev Worker, its workerd, the gateway), once it is ready. */
  tree: { pid: number; command: string }[];
}

/** Runs `command` (start.mjs or npm start) on free ports (or `ports`) with scratch state, without waiting. */
async function spawnStart(command: string, args: string[], env: Record<string, string> = {}, ports?: { port: number; gatewayPort: number }): Promise<Spawned> {
  const port = ports?.port ?? (await freePort());
  const gatewayPort = ports?.gatewayPort ?? (await freePort());
  let output = "";
  const child = spawn(command, args, {
    cwd: repo,
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
  const waitForOutput = (pattern: RegExp, timeoutMs: number) =>
    waitFor(() => pattern.test(output), timeoutMs, () => `output matching ${pattern}; output: ${output}`);
  return { child, port, gatewayPort, output: () => output, exited, waitForOutput };
}

/** Every process below start.mjs now (after a restart the tree has new members). */
function snapshot(pid: number): { pid: number; command: string }[] {
  const tree = descendants(pid);
  trees.push(tree);
  return tree;
}

/** Runs `command` (start.mjs or npm start) on free ports with scratch state, and waits until it is ready. */
async function launch(command: string, args: string[], env: Record<string, string> = {}): Promise<Launched> {
  const spawned = await spawnStart(command, args, env);
  const { child, port, gatewayPort, output } = spawned;
  await waitFor(() => output().includes("Ctrl-C to stop") || child.exitCode !== null, 150_000, () => `start-up; output: ${output()}`);
  expect(child.exitCode, output()).toBeNull();
  expect(output()).toContain(`http://127.0.0.1:${port}`);
  expect(output()).toContain(`tcp://127.0.0.1:${gatewayPort}`);
  const tree = snapshot(child.pid!);
  const workerds = tree.filter((p) => /\bworkerd\b/.test(p.command) && /\bserve\b/.test(p.command));
  expect(workerds.length, JSON.stringify(tree)).toBeGreaterThan(0);
  return { ...spawned, tree };
}

/** Every process of the launch (each snapshot taken, so restarted parts too) has ended, and no workerd anywhere still serves its port. */
async function expectAllGone(launched: Spawned, processes: { pid: number; command: string }[]): Promise<void> {
  const { port } = launched;
  await waitFor(() => processes.every(({ pid }) => !alive(pid)), 15_000, `processes still running: ${JSON.stringify(processes.filter(({ pid }) => alive(pid)))}`);
  let workerdLeft = "";
  try {
    workerdLeft = execFileSync("pgrep", ["-a", "workerd"], { encoding: "utf8" });
  } catch {
    // pgrep exits 1 when nothing matches
  }
  expect(workerdLeft).not.toContain(`127.0.0.1:${port} `);
}

const workerds = (tree: { pid: number; command: string }[]) => tree.filter((p) => /\bworkerd\b/.test(p.command) && /\bserve\b/.test(p.command));

/** The one workerd of the launch: it runs the Worker and holds PORT itself (no proxy in front). */
function theWorkerd(launched: Launched): { pid: number; command: string } {
  const all = workerds(launched.tree);
  expect(all.length, JSON.stringify(launched.tree)).toBe(1);
  expect(all[0].command, JSON.stringify(all)).toContain(`127.0.0.1:${launched.port}`);
  return all[0];
}

/** Polls /health until stopped; counts the answers that were not 200 (or did not come). */
function watchHealth(port: number): { stop(): Promise<{ ok: number; failed: string[] }> } {
  let running = true;
  const result = { ok: 0, failed: [] as string[] };
  const loop = (async () => {
    while (running) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(10_000) });
        if (response.ok) result.ok++;
        else result.failed.push(`HTTP ${response.status}`);
        await response.body?.cancel();
      } catch (error) {
        result.failed.push(String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return result;
    },
  };
}

/** Binds `port` on 127.0.0.1 as soon as it is free (within `timeoutMs`); the caller closes it. */
async function takePort(port: number, timeoutMs: number): Promise<Server> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const server = createServer((socket) => socket.destroy());
    const bound = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (bound) return server;
    if (Date.now() > deadline) throw new Error(`port ${port} never became free`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The structured log lines (JSON after a part's `[prefix] `) of one component and event in `output`. */
function logEvents(output: string, component: "worker" | "gateway", event: string): Record<string, unknown>[] {
  return output.split("\n").flatMap((line) => {
    const json = /^\[[\w-]+\] (\{.*\})\s*$/.exec(line)?.[1];
    if (!json) return [];
    try {
      const value = JSON.parse(json) as Record<string, unknown>;
      return value.component === component && value.event === event ? [value] : [];
    } catch {
      return [];
    }
  });
}

const isGoodbye = (m: unknown) => typeof m === "object" && m !== null && (m as Record<string, unknown>).status === "Bye!";

describe("npm start (scripts/start.mjs)", () => {
  it("runs the Worker and the gateway together, and SIGTERM stops both without orphaning workerd", { timeout: 180_000 }, async () => {
    // DEV_VARS_FILE names the settings file; a file of our own proves the Worker and the gateway both
    // read it (the default is .dev.vars, else .dev.vars.example).
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
    await expectAllGone(start, start.tree);
  });

  it("a refused /connect logs its one refusal line and nothing worse; connects and disconnects log theirs (Worker and gateway)", { timeout: 180_000 }, async () => {
    const start = await launch(process.execPath, ["scripts/start.mjs"]);
    const { port, gatewayPort } = start;
    const cases: [string, string, number][] = [
      ["?room=..%2Fx", "invalid_room", 4400],
      ["?token=not-a-token", "invalid_token", 4401],
      ["?room=private-nope", "not_authorized", 4403],
    ];
    for (const [query, code, closeCode] of cases) {
      const refused = await TestSocket.open(`ws://127.0.0.1:${port}/connect${query}`);
      expect(await refused.next(), query).toMatchObject({ context: "api", status: "error", code });
      expect((await refused.waitClosed(15_000)).code, query).toBe(closeCode);
    }
    await waitFor(() => logEvents(start.output(), "worker", "refusal").length >= cases.length, 30_000, () => `refusal lines; output: ${start.output()}`);

    // A connect and a disconnect over WebSocket, and one through the gateway: each side logs both.
    const room = `logs-${process.pid}`;
    const ws = await TestSocket.connect(`ws://127.0.0.1:${port}/connect?room=${room}`);
    ws.socket.send("quit");
    await ws.socket.waitClosed(15_000);
    const tcp = await TcpClient.connect(gatewayPort);
    tcp.client.line("quit");
    await tcp.client.waitEnded(15_000);
    const workerLine = (event: string, id: string) => logEvents(start.output(), "worker", event).find((line) => line.id === id);
    await waitFor(() => [ws.id, tcp.id].every((id) => workerLine("disconnect", id) !== undefined), 30_000, () => `disconnect lines; output: ${start.output()}`);
    await waitFor(() => logEvents(start.output(), "gateway", "disconnect").some((line) => line.id === tcp.id), 30_000, () => `gateway disconnect line; output: ${start.output()}`);
    expect(workerLine("connect", ws.id)).toMatchObject({ level: "info", room });
    expect(workerLine("disconnect", ws.id)).toMatchObject({ level: "info", room, reason: "quit", durationMs: expect.any(Number) });
    expect(workerLine("connect", tcp.id)).toMatchObject({ level: "info", room: "defaultRoom" });
    expect(logEvents(start.output(), "gateway", "connect").some((line) => line.client === `127.0.0.1:${tcp.client.localPort}`)).toBe(true);
    expect(logEvents(start.output(), "gateway", "disconnect").find((line) => line.id === tcp.id)).toMatchObject({ level: "info", reason: "quit", durationMs: expect.any(Number) });

    start.child.kill("SIGTERM");
    expect(await start.exited, start.output()).toEqual({ code: 0, signal: null });
    // The whole output, shutdown included: one info line per refusal, and nothing worse anywhere.
    const output = start.output();
    const refusals = logEvents(output, "worker", "refusal");
    expect(refusals.map((line) => line.code), output).toEqual(cases.map(([, code]) => code));
    for (const line of refusals) expect(line).toMatchObject({ level: "info" });
    expect(output.split("\n").filter((line) => /Uncaught|Network connection lost|ERROR/.test(line))).toEqual([]);
    await expectAllGone(start, start.tree);
  });

  it("hands the gateway the Worker's MAX_MESSAGE_BYTES and IDLE_TIMEOUT_SECONDS as the Worker resolves them", { timeout: 240_000 }, async () => {
    const settingsFile = (name: string, lines: string[]) => {
      const path = join(scratch, name);
      writeFileSync(path, `${readFileSync(".dev.vars.example", "utf8")}\n${lines.join("\n")}\n`);
      return path;
    };
    const gatewayCommand = (launched: Launched) => {
      const gateway = launched.tree.filter((p) => p.command.includes("edgechat-gateway"));
      expect(gateway.length, JSON.stringify(launched.tree)).toBe(1);
      return gateway[0].command;
    };

    // Valid values reach the gateway as they are. The Worker sweeps hourly here, so only the gateway
    // can close the silent TCP client: its idle rule runs with the Worker's 3 s.
    const valid = await launch(process.execPath, ["scripts/start.mjs"], {
      DEV_VARS_FILE: settingsFile("valid.dev.vars", ["MAX_MESSAGE_BYTES=2048", "IDLE_TIMEOUT_SECONDS=3", "SWEEP_INTERVAL_SECONDS=3600"]),
    });
    expect(gatewayCommand(valid)).toMatch(/--max-message-bytes 2048\b.*--idle-timeout-seconds 3\b/);
    const silent = await TcpClient.connect(valid.gatewayPort);
    const rest = await silent.client.waitEnded(60_000);
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "idle timeout" }]);
    valid.child.kill("SIGTERM");
    expect(await valid.exited, valid.output()).toEqual({ code: 0, signal: null });
    await expectAllGone(valid, valid.tree);

    // Invalid values are the Worker's defaults, not the gateway's reading of them (0 would turn its
    // idle rule off, and a non-number would stop it from starting at all).
    const invalid = await launch(process.execPath, ["scripts/start.mjs"], {
      DEV_VARS_FILE: settingsFile("invalid.dev.vars", ["MAX_MESSAGE_BYTES=lots", "IDLE_TIMEOUT_SECONDS=0"]),
    });
    expect(gatewayCommand(invalid)).toMatch(/--max-message-bytes 65536\b.*--idle-timeout-seconds 600\b/);
    const tcp = await TcpClient.connect(invalid.gatewayPort);
    expect((await tcp.client.request("roomView")).status).toBe("OK");
    invalid.child.kill("SIGTERM");
    expect(await invalid.exited, invalid.output()).toEqual({ code: 0, signal: null });
    await expectAllGone(invalid, invalid.tree);
  });

  it("reloads the Worker when src/ changes (connections drop, as on a deploy), and keeps it when the change does not build", { timeout: 240_000 }, async () => {
    const start = await launch(process.execPath, ["scripts/start.mjs"]);
    const { port } = start;
    const health = async () => (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as unknown;
    const entry = join(repo, "src", "app", "worker.ts");
    const original = readFileSync(entry, "utf8");
    expect(original).toContain("Response.json({ ok: true })");
    const reloads = () => start.output().match(/^\[worker\] reloaded in /gm)?.length ?? 0;
    try {
      const ws = await TestSocket.connect(`ws://127.0.0.1:${port}/connect?room=reload-${process.pid}`);
      writeFileSync(entry, original.replace("Response.json({ ok: true })", "Response.json({ ok: true, edited: true })"));
      await waitFor(() => reloads() === 1, 60_000, () => `a reload; output: ${start.output()}`);
      await ws.socket.waitClosed(30_000);
      expect(await health()).toEqual({ ok: true, edited: true });

      // A change that does not build: esbuild says why, and the running Worker stays.
      writeFileSync(entry, `${original}\nexport const = ;\n`);
      await start.waitForOutput(/^\[worker\] the Worker does not build .*the running Worker is kept/m, 60_000);
      expect(await health()).toEqual({ ok: true, edited: true });
      const listener = await TestSocket.connect(`ws://127.0.0.1:${port}/connect?room=reload-${process.pid}`);
      expect((await listener.socket.request("roomView")).status).toBe("OK");
      expect(listener.socket.closed).toBeUndefined();

      writeFileSync(entry, original);
      await waitFor(() => reloads() === 2, 60_000, () => `the second reload; output: ${start.output()}`);
      expect(await health()).toEqual({ ok: true });
      // A reload is not a restart: the supervisor saw nothing go down.
      expect(start.output()).not.toMatch(/^\[start\] Worker \(/m);
    } finally {
      writeFileSync(entry, original);
    }
    const now = snapshot(start.child.pid!);
    start.child.kill("SIGTERM");
    expect(await start.exited, start.output()).toEqual({ code: 0, signal: null });
    await expectAllGone(start, [...start.tree, ...now]);
  });

  it("`npm start` stops everything when npm itself gets SIGTERM (npm does not pass it on)", { timeout: 180_000 }, async () => {
    const start = await launch("npm", ["start", "--silent"]);
    const tcp = await TcpClient.connect(start.gatewayPort);
    expect((await tcp.client.request("roomView")).status).toBe("OK");
    start.child.kill("SIGTERM");
    const rest = await tcp.client.waitEnded(15_000);
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "server shutting down" }]);
    await start.exited;
    await expectAllGone(start, start.tree);
  });

  it("restarts a killed gateway without touching the Worker: WebSockets stay, /health stays up, TCP works again", { timeout: 240_000 }, async () => {
    const start = await launch(process.execPath, ["scripts/start.mjs"]);
    const { port, gatewayPort } = start;
    const room = `gateway-crash-${process.pid}`;
    const ws = await TestSocket.connect(`ws://127.0.0.1:${port}/connect?room=${room}`);
    const before = await TcpClient.connect(gatewayPort);
    const gateway = start.tree.filter((p) => p.command.includes("edgechat-gateway"));
    expect(gateway.length, JSON.stringify(start.tree)).toBe(1);

    const health = watchHealth(port);
    process.kill(gateway[0].pid, "SIGKILL");
    await before.client.waitEnded(15_000);
    await start.waitForOutput(/^\[start\] gateway .*SIGKILL.*restarting it in 0\.5 s/m, 30_000);
    await start.waitForOutput(/^\[start\] gateway is back/m, 60_000);

    const after = await TcpClient.connect(gatewayPort);
    expect((await after.client.request(`roomChange ${room}`)).status).toBe("OK");
    expect((await after.client.request("say the new gateway works")).status).toBe("OK");
    expect(await ws.socket.nextChat((m) => m.message === "the new gateway works", 15_000)).toMatchObject({ from: after.id, room });
    const checks = await health.stop();
    expect(checks.failed).toEqual([]);
    expect(checks.ok).toBeGreaterThan(0);
    // The WebSocket client never noticed: still open, no goodbye, no error, and it still talks.
    expect(ws.socket.closed).toBeUndefined();
    expect(ws.socket.received.filter((m) => typeof m === "object" && (isGoodbye(m) || m.context === "error" || m.status === "error"))).toEqual([]);
    expect((await ws.socket.request("say still here")).status).toBe("OK");
    expect(await after.client.nextChat((m) => m.message === "still here")).toMatchObject({ from: ws.id });

    const now = snapshot(start.child.pid!);
    start.child.kill("SIGTERM");
    const rest = await after.client.waitEnded(15_000);
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "server shutting down" }]);
    expect(await start.exited, start.output()).toEqual({ code: 0, signal: null });
    await expectAllGone(start, [...start.tree, ...now]);
  });

  it("notices a killed workerd, restarts the Worker on the same state, and TCP works again", { timeout: 300_000 }, async () => {
    const start = await launch(process.execPath, ["scripts/start.mjs"]);
    const { port, gatewayPort } = start;
    const room = `workerd-crash-${process.pid}`;
    const speaker = await TestSocket.connect(`ws://127.0.0.1:${port}/connect?room=${room}`);
    expect((await speaker.socket.request("say before the crash")).status).toBe("OK");
    const worker = theWorkerd(start);

    process.kill(worker.pid, "SIGKILL");
    await start.waitForOutput(new RegExp(`^\\[worker\\] workerd \\(pid ${worker.pid}\\) exited unexpectedly`, "m"), 60_000);
    await start.waitForOutput(/^\[start\] Worker \(pid \d+, up [\d.]+ s\) exited with code 1; restarting it in 0\.5 s/m, 120_000);
    await start.waitForOutput(/^\[start\] Worker is back/m, 180_000);
    expect(alive(worker.pid)).toBe(false);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    // Same storage: the room's history survived, as it does a deploy.
    const listener = await TestSocket.connect(`ws://127.0.0.1:${port}/connect?room=${room}`);
    const history = (await listener.socket.request("history")).data as { messages: { message: unknown }[] };
    expect(history.messages.map((m) => m.message)).toContain("before the crash");
    const tcp = await TcpClient.connect(gatewayPort);
    expect((await tcp.client.request(`roomChange ${room}`)).status).toBe("OK");
    expect((await tcp.client.request("say after the crash")).status).toBe("OK");
    expect(await listener.socket.nextChat((m) => m.message === "after the crash", 15_000)).toMatchObject({ from: tcp.id });

    const now = snapshot(start.child.pid!);
    start.child.kill("SIGTERM");
    const rest = await tcp.client.waitEnded(15_000);
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "server shutting down" }]);
    expect(await start.exited, start.output()).toEqual({ code: 0, signal: null });
    await expectAllGone(start, [...start.tree, ...now]);
  });

  it("exits 1 with a clear message when PORT is taken by another program", { timeout: 180_000 }, async () => {
    const port = await freePort();
    const squatter = await takePort(port, 5_000);
    try {
      const start = await spawnStart(process.execPath, ["scripts/start.mjs"], {}, { port, gatewayPort: await freePort() });
      const exited = await Promise.race([start.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 150_000))]);
      expect(exited, start.output()).toEqual({ code: 1, signal: null });
      expect(start.output()).toMatch(new RegExp(`^\\[start\\] .*127\\.0\\.0\\.1:${port} is in use by another program.*PORT`, "m"));
      await expectAllGone(start, []);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it("gives up with a clear message, and stops the gateway, when the Worker cannot come back (its port was taken meanwhile)", { timeout: 300_000 }, async () => {
    const start = await launch(process.execPath, ["scripts/start.mjs"]);
    const tcp = await TcpClient.connect(start.gatewayPort);
    // The workerd that holds PORT dies, and another program takes the port before it can come back.
    process.kill(theWorkerd(start).pid, "SIGKILL");
    const squatter = await takePort(start.port, 15_000);
    try {
      await tcp.client.waitEnded(30_000);
      const exited = await Promise.race([start.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 200_000))]);
      expect(exited, start.output()).toEqual({ code: 1, signal: null });
      const output = start.output();
      // Backoff between the attempts: 0.5 s doubling.
      const delays = [...output.matchAll(/^\[start\] Worker .* in ([\d.]+) s/gm)].map((m) => Number(m[1]));
      expect(delays, output).toEqual([0.5, 1, 2, 4, 8]);
      expect(output).toMatch(new RegExp(`^\\[start\\] giving up: .*127\\.0\\.0\\.1:${start.port} is in use by another program.*PORT`, "m"));
      expect(output).toMatch(/^\[start\] stopped/m);
      await expectAllGone(start, start.tree);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
