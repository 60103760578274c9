import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LineSplitter } from "../../src/gateway/lineSplitter.js";
import { TelnetFilter } from "../../src/gateway/telnet.js";
import { startGateway, TcpClient, type RunningGateway } from "../support/gateway.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

const LIMIT = 65536;

let worker: RunningWorker;
let gateway: RunningGateway;
const clients: TcpClient[] = [];

beforeAll(async () => {
  worker = await startWorker();
  gateway = await startGateway(worker.wsUrl);
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await gateway?.close();
  await worker?.dispose();
});

async function tcp() {
  const joined = await TcpClient.connect(gateway.port);
  clients.push(joined.client);
  return joined;
}

/** Lets the previous write leave as its own TCP segment, so the gateway gets it in a separate read. */
const separateRead = () => new Promise((resolve) => setTimeout(resolve, 40));

describe("gateway framing over real sockets", () => {
  it("joins a line split across reads, and a UTF-8 character split across reads", async () => {
    const a = await tcp();
    a.client.write("paramAdd gre");
    await separateRead();
    a.client.write("eting=hé");
    const bytes = Buffer.from("llo 😀 wörld\n");
    const emoji = bytes.indexOf(0xf0);
    a.client.write(bytes.subarray(0, emoji + 2)); // cut inside the 4-byte emoji
    await separateRead();
    a.client.write(bytes.subarray(emoji + 2));
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 1 });
    expect(await a.client.request("paramView greeting")).toMatchObject({ data: "héllo 😀 wörld", messageCount: 2 });
  });

  it("answers many lines from one read in order; CRLF is one line ending; blank lines are not counted", async () => {
    const a = await tcp();
    a.client.write("\n   \r\n\t\nparamAdd a=1\r\n\r\nparamAdd b=two words\r\nparamsView\r\n \n");
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 1 });
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 2 });
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 3, data: { a: "1", b: "two words" } });
    await a.client.nothing((m) => typeof m === "object" && m.context === "response");
    // Only one \r is a line ending; a second one is part of the line.
    expect(await a.client.request("paramAdd c=x\r")).toMatchObject({ status: "OK", messageCount: 4 });
    expect(await a.client.request("paramView c")).toMatchObject({ data: "x", messageCount: 5 });
  });

  it("answers a line of invalid UTF-8 with bad_request in request order and forwards nothing of it", async () => {
    const a = await tcp();
    const watcher = await TestSocket.connect(`${worker.wsUrl}/connect`);
    a.client.write(Buffer.concat([Buffer.from("say broken "), Buffer.from([0xc3, 0x28]), Buffer.from("\nparamsView\n")]));
    expect(await a.client.nextResponse()).toMatchObject({ status: "error", code: "bad_request", messageCount: 1 });
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 2 });
    await watcher.socket.nothing((m) => typeof m === "object" && m.from === a.id && m.event === undefined);
    watcher.socket.close();
  });

  it("queues lines typed before the upstream is open: the welcome comes first", async () => {
    const client = await TcpClient.open(gateway.port);
    clients.push(client);
    client.write("paramAdd early=yes\nparamView early\n");
    const welcome = (await client.next()) as Record<string, unknown>;
    expect(welcome).toMatchObject({ context: "api", room: "defaultRoom" });
    expect(typeof welcome.id).toBe("string");
    expect(await client.nextResponse()).toMatchObject({ status: "OK", messageCount: 1 });
    expect(await client.nextResponse()).toMatchObject({ data: "yes", messageCount: 2 });
  });

  it("forwards a line of exactly MAX_MESSAGE_BYTES (with or without CR) and answers one byte more with message_too_large", async () => {
    const a = await tcp();
    const watcher = await TestSocket.connect(`${worker.wsUrl}/connect`);
    const atLimit = `say ${"x".repeat(LIMIT - 4)}`;
    expect(Buffer.byteLength(atLimit)).toBe(LIMIT);
    expect(await a.client.request(atLimit)).toMatchObject({ status: "OK", messageCount: 1 });
    expect(((await watcher.socket.nextChat((m) => m.from === a.id)).message as string).length).toBe(LIMIT - 4);

    expect(await a.client.request(`${atLimit}x`)).toMatchObject({ status: "error", code: "message_too_large", messageCount: 2 });

    a.client.write(`${atLimit}\r\n`);
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 3 });

    const multibyte = `say ${"é".repeat((LIMIT - 4) / 2)}`;
    expect(Buffer.byteLength(multibyte)).toBe(LIMIT);
    expect(await a.client.request(multibyte)).toMatchObject({ status: "OK", messageCount: 4 });
    expect(await a.client.request(`${multibyte}é`)).toMatchObject({ status: "error", code: "message_too_large", messageCount: 5 });
    expect(await a.client.request("detailsView")).toMatchObject({ status: "OK", messageCount: 6 });
    watcher.socket.close();
  });

  it("answers an oversize line as soon as it passes the limit and drops the rest of it, in request order", async () => {
    const a = await tcp();
    a.client.write("paramAdd k=v\n");
    a.client.write(`say ${"y".repeat(LIMIT)}`); // over the limit, no newline yet
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 1 });
    expect(await a.client.nextResponse()).toMatchObject({ status: "error", code: "message_too_large", messageCount: 2 });
    // Megabytes more of the same line are dropped without being buffered or answered again.
    const chunk = "z".repeat(256 * 1024);
    for (let i = 0; i < 12; i++) a.client.write(chunk);
    a.client.write("\nparamView k\n");
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", data: "v", messageCount: 3 });
    await a.client.nothing((m) => typeof m === "object" && m.context === "response");
  });

  it("answers a last line without a newline before the client's half-close, then ends", async () => {
    const a = await tcp();
    const room = `halfclose-${process.pid}`;
    a.client.write(`roomChange ${room}\nparamAdd k=last\nparamView k`);
    a.client.end();
    const rest = await a.client.waitEnded();
    const responses = rest.filter((m) => typeof m === "object" && m.context === "response");
    expect(responses).toMatchObject([
      { status: "OK", messageCount: 1, data: { room } },
      { status: "OK", messageCount: 2 },
      { status: "OK", messageCount: 3, data: "last" },
    ]);
    // The upstream was closed too: the room no longer lists the connection.
    const status = await fetch(`${worker.url}/api/rooms/${room}`, { headers: { Authorization: "Bearer dev-admin-token" } });
    const body = (await status.json()) as { members: string[] };
    expect(body.members).not.toContain(a.id);
  });

  it("answers a ping before a half-close with pong and then ends", async () => {
    const client = await TcpClient.open(gateway.port);
    clients.push(client);
    client.write("ping");
    client.end();
    await client.waitEnded();
    expect(client.raw.endsWith("pong\n")).toBe(true);
  });

  for (const [name, bytes] of [
    ["IAC IP", Buffer.from([0xff, 0xf4, 0xff, 0xfd, 0x06])],
    ["raw Ctrl-C", Buffer.from([0x03])],
    ["raw Ctrl-D", Buffer.from([0x04])],
  ] as const) {
    it(`treats telnet ${name} as quit: goodbye, then the connection closes and the room sees the leave`, async () => {
      const room = `ctrlc-${name.replace(/\W/g, "")}-${process.pid}`;
      const a = await tcp();
      expect((await a.client.request(`roomChange ${room}`)).status).toBe("OK");
      const peer = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
      a.client.write("say half typed");
      a.client.write(bytes);
      const rest = await a.client.waitEnded();
      expect(rest.filter((m) => typeof m === "object" && m.status === "Bye!")).toEqual([
        { context: "api", status: "Bye!", reason: "quit" },
      ]);
      expect(await peer.socket.nextChat((m) => m.event === "leave")).toMatchObject({ from: a.id });
      await peer.socket.nothing((m) => typeof m === "object" && m.message === "half typed");
      peer.socket.close();
    });
  }

  it("strips telnet negotiation (IAC DO/WILL, subnegotiation) around lines", async () => {
    const a = await tcp();
    a.client.write(Buffer.concat([
      Buffer.from([0xff, 0xfd, 0x01, 0xff, 0xfb, 0x03]),
      Buffer.from("paramAdd t=1"),
      Buffer.from([0xff, 0xfa, 0x18, 0x00, 0x41, 0x4e, 0x53, 0x49, 0xff, 0xf0]),
      Buffer.from("2\r\n"),
    ]));
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 1 });
    expect(await a.client.request("paramView t")).toMatchObject({ data: "12" });
  });

  it("sends the server's goodbye once on quit and closes", async () => {
    const a = await tcp();
    a.client.line("quit");
    const rest = await a.client.waitEnded();
    expect(rest).toEqual([{ context: "api", status: "Bye!", reason: "quit" }]);
  });
});

describe("line splitter and telnet filter, byte by byte", () => {
  function split(chunks: Buffer[], max: number): (string | "OVERSIZE")[] {
    const out: (string | "OVERSIZE")[] = [];
    const splitter = new LineSplitter(max, { line: (b) => out.push(b.toString("utf8")), oversize: () => out.push("OVERSIZE") });
    for (const chunk of chunks) splitter.push(chunk);
    splitter.end();
    return out;
  }
  const input = Buffer.from("a😀b\r\n\r\n12345\n123456\r\n1234567\nxy\r\r\nlast");

  it("gives the same lines however the input is cut", () => {
    const expected = ["a😀b", "", "12345", "123456", "OVERSIZE", "xy\r", "last"];
    expect(split([input], 6)).toEqual(expected);
    for (let size = 1; size <= 8; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
      expect(split(chunks, 6)).toEqual(expected);
    }
  });

  it("buffers at most max+1 bytes of an oversize line and reports it once", () => {
    const out: string[] = [];
    const splitter = new LineSplitter(4, { line: (b) => out.push(b.toString()), oversize: () => out.push("OVERSIZE") });
    splitter.push(Buffer.from("abcd\r"));
    expect(out).toEqual([]);
    splitter.push(Buffer.from("x"));
    expect(out).toEqual(["OVERSIZE"]);
    for (let i = 0; i < 100; i++) splitter.push(Buffer.from("more"));
    splitter.push(Buffer.from("\nok\n"));
    expect(out).toEqual(["OVERSIZE", "ok"]);
  });

  it("strips telnet commands cut between reads and stops at an interrupt", () => {
    const filter = new TelnetFilter();
    expect(filter.process(Buffer.from([0x61, 0xff])).data.toString()).toBe("a");
    expect(filter.process(Buffer.from([0xfd])).data.toString()).toBe("");
    expect(filter.process(Buffer.from([0x01, 0x62, 0xff, 0xff, 0x63])).data).toEqual(Buffer.from([0x62, 0xff, 0x63]));
    const interrupted = filter.process(Buffer.from([0x64, 0xff, 0xf4, 0x65]));
    expect(interrupted).toEqual({ data: Buffer.from("d"), interrupt: true });
  });
});
