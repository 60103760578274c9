import { createServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLogLine, spawnGatewayProcess, startGateway, TcpClient, type LogEvent, type RunningGateway } from "../support/gateway.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  worker = await startWorker();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await worker?.dispose();
});

async function gatewayFor(upstream: string, options: Parameters<typeof startGateway>[1] = {}): Promise<RunningGateway> {
  const gateway = await startGateway(upstream, options);
  cleanups.push(() => gateway.close());
  return gateway;
}

async function tcp(port: number) {
  const joined = await TcpClient.connect(port);
  cleanups.push(() => joined.client.destroy());
  return joined;
}

async function ws(room: string) {
  const joined = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
  cleanups.push(() => joined.socket.close());
  return joined;
}

const isGoodbye = (m: unknown) => typeof m === "object" && m !== null && (m as Record<string, unknown>).status === "Bye!";

async function broadcast(room: string, message: unknown) {
  const response = await fetch(`${worker.url}/api/rooms/${room}/broadcast`, {
    method: "POST",
    headers: { Authorization: "Bearer dev-admin-token", "Content-Type": "application/json" },
    body: JSON.stringify({ message }),
  });
  expect(response.status).toBe(200);
}

describe("gateway failures and limits", () => {
  for (const [path, limits] of [
    // Below the socket's high-water mark: the write that fills the buffer (and would pause the
    // upstream) is always past the limit, so this path cannot wait on the kernel's buffer sizes.
    ["past --max-buffer-bytes", { maxBufferBytes: 16_000, maxStallMs: 0 }],
    ["after --max-stall-ms with a full buffer", { maxBufferBytes: 512 * 1024 * 1024, maxStallMs: 500 }],
  ] as const) {
    it(`drops a client that does not read as too slow (${path}), while another client of the same room keeps receiving`, async () => {
      const gateway = await gatewayFor(worker.wsUrl, { ...limits, closeGraceMs: 15_000 });
      const room = `slow-${process.pid}-${limits.maxStallMs}`;
      const slow = await tcp(gateway.port);
      const fast = await tcp(gateway.port);
      for (const c of [slow, fast]) expect((await c.client.request(`roomChange ${room}`)).status).toBe("OK");

      slow.client.socket.pause(); // stops reading: the kernel buffers fill, then the gateway's
      const big = "b".repeat(700_000);
      let sent = 0;
      const slowClient = `127.0.0.1:${slow.client.localPort}`;
      const isTooSlow = (e: LogEvent) => e.event === "disconnect" && e.client === slowClient && e.reason === "too slow";
      while (!gateway.events.some(isTooSlow)) {
        expect(sent).toBeLessThan(60); // ~40 MB: far past any kernel buffer
        await broadcast(room, { n: sent, big });
        // The reader in the same room and the same gateway gets every broadcast meanwhile.
        const got = await fast.client.nextChat((m) => (m.message as { n?: number }).n === sent, 10_000);
        expect(got.room).toBe(room);
        sent++;
      }
      const tooSlow = await gateway.waitForEvent(isTooSlow);
      // `room` in the log is the room the connection started in (from its welcome).
      expect(tooSlow).toMatchObject({ level: "warn", component: "gateway", id: slow.id, room: "defaultRoom" });
      expect(tooSlow.unreadBytes).toEqual(expect.any(Number));

      // The room sees it leave at once, and the other client still gets new messages.
      expect(await fast.client.nextChat((m) => m.event === "leave" && m.from === slow.id)).toMatchObject({ room });
      await broadcast(room, "after");
      expect(await fast.client.nextChat((m) => m.message === "after")).toMatchObject({ room });

      // When the slow client reads again it finds the goodbye at the end of what it was sent.
      slow.client.socket.resume();
      const rest = await slow.client.waitEnded(15_000);
      expect(rest.at(-1)).toEqual({ context: "api", status: "Bye!", reason: "too slow" });
      expect(rest.filter(isGoodbye)).toHaveLength(1);
      expect(rest.some((m) => typeof m === "object" && m.message === "after")).toBe(false);
    });
  }

  it("closes the upstream at once when a TCP client goes: the room sees the leave", async () => {
    const gateway = await gatewayFor(worker.wsUrl);
    const room = `gone-${process.pid}`;
    const peer = await ws(room);
    const a = await tcp(gateway.port);
    expect((await a.client.request(`roomChange ${room}`)).status).toBe("OK");
    await peer.socket.nextChat((m) => m.event === "join" && m.from === a.id);
    a.client.destroy();
    expect(await peer.socket.nextChat((m) => m.event === "leave")).toMatchObject({ from: a.id, room });
    const view = (await peer.socket.request("roomView")).data as { members: string[] };
    expect(view.members).toEqual([peer.id]);
  });

  it("says goodbye and closes when the Worker goes away", async () => {
    const doomed = await startWorker();
    const gateway = await gatewayFor(doomed.wsUrl);
    const a = await tcp(gateway.port);
    expect((await a.client.request("roomView")).status).toBe("OK");
    await doomed.dispose();
    const rest = await a.client.waitEnded(10_000);
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "connection to server lost" }]);
    expect(a.client.ended || a.client.closed).toBe(true);
  });

  it("says goodbye and closes when the Worker cannot be reached", async () => {
    const unused = createServer();
    await new Promise<void>((resolve) => unused.listen(0, "127.0.0.1", resolve));
    const port = (unused.address() as AddressInfo).port;
    await new Promise((resolve) => unused.close(resolve));
    const gateway = await gatewayFor(`ws://127.0.0.1:${port}`);
    const client = await TcpClient.open(gateway.port);
    cleanups.push(() => client.destroy());
    client.line("roomView");
    const rest = await client.waitEnded(10_000);
    expect(rest).toEqual([{ context: "api", status: "Bye!", reason: "server unavailable" }]);
    const address = `127.0.0.1:${client.localPort}`;
    const error = await gateway.waitForEvent((e) => e.event === "error" && e.client === address);
    expect(error).toMatchObject({ level: "error", component: "gateway", what: "upstream" });
    expect(error.message).toEqual(expect.any(String));
    expect(await gateway.waitForEvent((e) => e.event === "disconnect" && e.client === address)).toMatchObject({ reason: "server unavailable" });
  });

  it("lets two gateways serve the same room (no state in the gateway)", async () => {
    const one = await gatewayFor(worker.wsUrl);
    const two = await gatewayFor(worker.wsUrl);
    expect(one.port).not.toBe(two.port);
    const room = `shared-${process.pid}`;
    const a = await tcp(one.port);
    const b = await tcp(two.port);
    expect((await a.client.request(`roomChange ${room}`)).status).toBe("OK");
    expect((await b.client.request(`roomChange ${room}`)).status).toBe("OK");
    expect(await a.client.nextChat((m) => m.event === "join")).toMatchObject({ from: b.id });
    expect((await a.client.request("say from gateway one")).status).toBe("OK");
    expect(await b.client.nextChat((m) => m.room === room)).toMatchObject({ message: "from gateway one", from: a.id, room });
    expect((await b.client.request("say from gateway two")).status).toBe("OK");
    expect(await a.client.nextChat((m) => m.message === "from gateway two")).toMatchObject({ from: b.id });
    expect((await a.client.request("roomView")).data).toMatchObject({ membersCount: 2 });
  });

  it("keeps a quiet TCP client past the Worker's idle timeout with its own pings, which the client never sees", async () => {
    const strict = await startWorker({ IDLE_TIMEOUT_SECONDS: "1" });
    cleanups.push(() => strict.dispose());
    const gateway = await gatewayFor(strict.wsUrl, { keepaliveMs: 200 });
    const quiet = await tcp(gateway.port);
    quiet.client.line("ping"); // the client's own ping is still answered
    expect(await quiet.client.next()).toBe("pong");
    // A WebSocket that stays silent is closed for idling: that is the clock the TCP client must beat.
    const idle = await TestSocket.connect(`${strict.wsUrl}/connect`);
    cleanups.push(() => idle.socket.close());
    expect(await idle.socket.next((m) => typeof m === "object" && m.status === "Bye!", 10_000)).toMatchObject({ reason: "idle timeout" });
    // The gateway's clients reach the same room object and got the same sweep.
    expect(quiet.client.ended || quiet.client.closed).toBe(false);
    expect(await quiet.client.request("roomView")).toMatchObject({ status: "OK", messageCount: 1 });
    expect(quiet.client.received.filter((m) => m === "pong")).toHaveLength(1);
    expect(quiet.client.received.filter(isGoodbye)).toEqual([]);
  });

  it("closes a TCP client that sent no line for --idle-timeout-seconds with the Worker's goodbye, though its upstream is kept alive; a ping line counts", async () => {
    const gateway = await gatewayFor(worker.wsUrl, { idleTimeoutSeconds: 1, keepaliveMs: 100 });
    const room = `idle-${process.pid}`;
    const peer = await ws(room);
    const quiet = await tcp(gateway.port);
    const pinging = await tcp(gateway.port);
    for (const c of [quiet, pinging]) {
      expect((await c.client.request(`roomChange ${room}`)).status).toBe("OK");
      await peer.socket.nextChat((m) => m.event === "join" && m.from === c.id);
    }
    // One client sends only `ping` lines, the other nothing at all.
    let pongs = 0;
    while (!quiet.client.ended && !quiet.client.closed) {
      pinging.client.line("ping");
      expect(await pinging.client.next((m) => m === "pong", 10_000)).toBe("pong");
      pongs++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(pongs).toBeGreaterThan(2);
    const rest = await quiet.client.waitEnded();
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "idle timeout" }]);
    expect(await peer.socket.nextChat((m) => m.event === "leave")).toMatchObject({ from: quiet.id, room });
    expect(await gateway.waitForEvent((e) => e.event === "disconnect" && e.id === quiet.id)).toMatchObject({ reason: "idle timeout" });
    // The pinging client is still there and still works.
    expect(pinging.client.ended || pinging.client.closed).toBe(false);
    expect(await pinging.client.request("roomView")).toMatchObject({ status: "OK", data: { members: expect.arrayContaining([pinging.id, peer.id]) } });
    // Once it stops, it goes the same way.
    expect((await pinging.client.waitEnded(10_000)).filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "idle timeout" }]);
  });

  it("ends a connection whose line is not finished within --line-timeout-seconds of its first byte", async () => {
    const gateway = await gatewayFor(worker.wsUrl, { lineTimeoutSeconds: 1 });
    const room = `linetimeout-${process.pid}`;
    const peer = await ws(room);
    const slow = await tcp(gateway.port);
    expect((await slow.client.request(`roomChange ${room}`)).status).toBe("OK");
    await peer.socket.nextChat((m) => m.event === "join" && m.from === slow.id);
    // Whole lines, however slow, are fine; so are telnet commands between lines.
    slow.client.write(Buffer.from([0xff, 0xfd, 0x01]));
    await slow.client.nothing(isGoodbye, 1_500);
    expect(await slow.client.request("say whole")).toMatchObject({ status: "OK", messageCount: 2 });
    // A line that keeps trickling in but never ends is not.
    slow.client.write("say never ");
    let sent = 0;
    while (!slow.client.ended && !slow.client.closed && sent < 100) {
      slow.client.write("e");
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const rest = await slow.client.waitEnded();
    expect(rest.filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "line timeout" }]);
    expect(await peer.socket.nextChat((m) => m.event === "leave")).toMatchObject({ from: slow.id, room });
    expect(peer.socket.received.filter((m) => typeof m === "object" && m.from === slow.id && m.event === undefined).map((m) => (m as { message: unknown }).message)).toEqual(["whole"]);
    expect(await gateway.waitForEvent((e) => e.event === "disconnect" && e.id === slow.id)).toMatchObject({ reason: "line timeout" });
  });

  it("refuses connections past --max-connections-per-ip with one clear line before any upstream opens (nobody is announced)", async () => {
    const gateway = await gatewayFor(worker.wsUrl, { maxConnectionsPerIp: 2 });
    const watcher = await TestSocket.connect(`${worker.wsUrl}/connect`); // in the default room, where TCP clients start
    cleanups.push(() => watcher.socket.close());
    const a = await tcp(gateway.port);
    const b = await tcp(gateway.port);
    const joins = () => watcher.socket.received.filter((m) => typeof m === "object" && m.event === "join").map((m) => (m as { from: unknown }).from);
    for (const c of [a, b]) await watcher.socket.nextChat((m) => m.event === "join" && m.from === c.id);

    const refused = await TcpClient.open(gateway.port);
    cleanups.push(() => refused.destroy());
    const rest = await refused.waitEnded();
    expect(rest).toEqual([
      { context: "api", status: "error", code: "too_many_connections", error: expect.stringMatching(/\b2\b.*127\.0\.0\.1|127\.0\.0\.1.*\b2\b/) },
    ]);
    const refusal = await gateway.waitForEvent((e) => e.event === "refusal" && e.client === `127.0.0.1:${refused.localPort}`);
    expect(refusal).toMatchObject({ level: "warn", component: "gateway", code: "too_many_connections", limit: 2 });
    await watcher.socket.nothing((m) => typeof m === "object" && m.event === "join", 500);
    expect(joins()).toEqual([a.id, b.id]);
    expect(gateway.gateway.clientCount).toBe(2);

    // When one leaves, a new connection is admitted again.
    a.client.destroy();
    await watcher.socket.nextChat((m) => m.event === "leave" && m.from === a.id);
    const c = await tcp(gateway.port);
    expect(await c.client.request("roomView")).toMatchObject({ status: "OK" });
    await watcher.socket.nextChat((m) => m.event === "join" && m.from === c.id);
  });

  it("says 'server shutting down' to every client when the gateway closes", async () => {
    const gateway = await startGateway(worker.wsUrl);
    const room = `shutdown-${process.pid}`;
    const peer = await ws(room);
    const a = await tcp(gateway.port);
    const b = await tcp(gateway.port);
    expect((await a.client.request(`roomChange ${room}`)).status).toBe("OK");
    await gateway.close();
    for (const client of [a.client, b.client]) {
      expect((await client.waitEnded()).filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "server shutting down" }]);
    }
    expect(await peer.socket.nextChat((m) => m.event === "leave")).toMatchObject({ from: a.id });
    expect(gateway.gateway.clientCount).toBe(0);
  });

  it("on SIGTERM the real gateway process says goodbye to every client and exits within a few seconds", async () => {
    const child = await spawnGatewayProcess(worker.wsUrl);
    cleanups.push(() => child.child.kill("SIGKILL"));
    const a = await tcp(child.port);
    const b = await tcp(child.port);
    expect((await a.client.request("detailsView")).data).toMatchObject({ remoteIP: "127.0.0.1" });
    const started = Date.now();
    child.child.kill("SIGTERM");
    for (const client of [a.client, b.client]) {
      expect((await client.waitEnded()).filter(isGoodbye)).toEqual([{ context: "api", status: "Bye!", reason: "server shutting down" }]);
    }
    const exit = await child.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    const events = child
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map(parseLogLine);
    expect(events).toContainEqual(expect.objectContaining({ event: "connect", client: `127.0.0.1:${a.client.localPort}` }));
    expect(events).toContainEqual(
      expect.objectContaining({ event: "disconnect", client: `127.0.0.1:${b.client.localPort}`, id: b.id, reason: "server shutting down" }),
    );
  });
});

describe("gateway with an upstream that never answers the handshake", () => {
  it("stops reading a client that floods it meanwhile, then says 'server unavailable' after the connect timeout", async () => {
    // Accepts TCP and never says a word: the upstream WebSocket stays CONNECTING.
    const silent = createServer(() => {});
    const held: Socket[] = [];
    silent.on("connection", (socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    cleanups.push(() => {
      for (const socket of held) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const gateway = await gatewayFor(`ws://127.0.0.1:${port}`, { maxBufferBytes: 64 * 1024, connectTimeoutMs: 3_000 });
    const client = await TcpClient.open(gateway.port);
    cleanups.push(() => client.destroy());

    // Far more than any kernel buffers: if the gateway kept reading, it would queue all of it.
    const line = Buffer.from(`say ${"q".repeat(1000)}\n`);
    const lines = Buffer.concat(Array.from({ length: 1000 }, () => line)); // ~1 MB
    let written = 0;
    while (client.socket.write(lines)) written += lines.length;
    expect(written).toBeLessThan(64 * 1024 * 1024);
    // The gateway stopped reading: our write buffer does not drain while the upstream is connecting.
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1_000);
      client.socket.once("drain", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(drained).toBe(false);

    const rest = await client.waitEnded(10_000);
    expect(rest).toEqual([{ context: "api", status: "Bye!", reason: "server unavailable" }]);
  });
});
