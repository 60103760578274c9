import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LineReader } from "../../src/gateway/lineReader.js";
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
    // A CR before the LF is part of the line end, not of the value.
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

  it("strips two-byte telnet commands (NOP, AYT, GA) and an escaped IAC IAC inside a line", async () => {
    const a = await tcp();
    a.client.write(Buffer.concat([
      Buffer.from("paramAdd n=a"),
      Buffer.from([0xff, 0xf1]), // NOP
      Buffer.from("b"),
      Buffer.from([0xff, 0xf6, 0xff, 0xf9]), // AYT, GA
      Buffer.from("c\n"),
    ]));
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 1 });
    expect(await a.client.request("paramView n")).toMatchObject({ data: "abc", messageCount: 2 });
  });

  describe("a 0xFF byte never merges or loses lines", () => {
    const isResponse = (m: unknown) => typeof m === "object" && m !== null && (m as { context?: unknown }).context === "response";
    const telnetError = { status: "error", code: "bad_request", error: expect.stringContaining("telnet") };
    const utf8Error = { status: "error", code: "bad_request", error: expect.stringContaining("UTF-8") };
    const rows: [string, number[], string, Record<string, unknown>][] = [
      ["a lone IAC at the end of the line", [0xff], "\n", telnetError],
      ["a lone IAC before CR LF", [0xff], "\r\n", telnetError],
      ["IAC WILL without its option byte", [0xff, 0xfb], "\n", telnetError],
      ["IAC DO without its option byte, before a bare CR", [0xff, 0xfd], "\r", telnetError],
      ["IAC SB without IAC SE", [0xff, 0xfa], "\n", telnetError],
      ["IAC SB with data but no IAC SE", [0xff, 0xfa, 0x18, 0x00, 0x41], "\n", telnetError],
      ["IAC followed by a byte that is not a telnet command", [0xff, 0x41], "\n", telnetError],
      ["an escaped IAC IAC followed by a lone IAC", [0xff, 0xff, 0xff], "\n", telnetError],
      ["an escaped IAC IAC (a 0xFF data byte: not UTF-8)", [0xff, 0xff], "\n", utf8Error],
    ];
    for (const [label, bytes, end, error] of rows) {
      it(`${label}: that line is bad_request, the next line is answered as usual, nothing reaches the room`, async () => {
        const room = `ff-${process.pid}-${rows.findIndex((row) => row[0] === label)}`;
        const a = await tcp();
        expect((await a.client.request(`roomChange ${room}`)).status).toBe("OK");
        const watcher = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
        a.client.write(Buffer.concat([Buffer.from("say x"), Buffer.from(bytes), Buffer.from(`${end}paramsView\n`)]));
        expect(await a.client.nextResponse()).toMatchObject({ ...error, messageCount: 2 });
        expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 3, data: {} });
        expect(await a.client.request("say after")).toMatchObject({ status: "OK", messageCount: 4 });
        await watcher.socket.nextChat((m) => m.message === "after");
        const said = watcher.socket.received.filter((m) => typeof m === "object" && m.context === "user" && m.event === undefined);
        expect(said.map((m) => (m as { message: unknown }).message)).toEqual(["after"]);
        await a.client.nothing(isResponse);
        watcher.socket.close();
      });
    }
  });

  it("CR LF, CR NUL, bare CR and LF each end one line, also when the CR and its LF or NUL come in another read", async () => {
    const a = await tcp();
    a.client.write("paramAdd a=1\r"); // a bare CR ends the line at once
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 1 });
    await separateRead();
    a.client.write("\0paramAdd b=2\r"); // that NUL completes the CR NUL before it: not part of the next line
    expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: 2 });
    await separateRead();
    a.client.write("\nparamAdd c=3\r\0paramAdd d=4\rparamAdd e=5\r\nparamAdd f=6\nparamAdd g=7\r\r\nparamsView\r");
    for (let count = 3; count <= 7; count++) expect(await a.client.nextResponse()).toMatchObject({ status: "OK", messageCount: count });
    expect(await a.client.nextResponse()).toMatchObject({
      status: "OK",
      messageCount: 8,
      data: { a: "1", b: "2", c: "3", d: "4", e: "5", f: "6", g: "7" },
    });
    await separateRead();
    a.client.write("\0"); // the NUL of that last CR NUL, late
    await a.client.nothing((m) => typeof m === "object" && m.context === "response");
    expect(await a.client.request("paramView a")).toMatchObject({ data: "1", messageCount: 9 });
  });

  it("sends the server's goodbye once on quit and closes", async () => {
    const a = await tcp();
    a.client.line("quit");
    const rest = await a.client.waitEnded();
    expect(rest).toEqual([{ context: "api", status: "Bye!", reason: "quit" }]);
  });
});

describe("the line reader, byte by byte", () => {
  type Out = string | "OVERSIZE" | "MALFORMED" | "INTERRUPT";
  function read(chunks: Buffer[], max: number): Out[] {
    const out: Out[] = [];
    const reader = new LineReader(max, {
      line: (b) => out.push(b.toString("latin1")),
      oversize: () => out.push("OVERSIZE"),
      malformed: () => out.push("MALFORMED"),
      interrupt: () => out.push("INTERRUPT"),
    });
    for (const chunk of chunks) reader.push(chunk);
    reader.end();
    return out;
  }
  /** The same input cut into pieces of every size from 1 to `upTo` bytes. */
  function everyCut(input: Buffer, upTo = 9): Buffer[][] {
    const cuts: Buffer[][] = [[input]];
    for (let size = 1; size <= upTo; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < input.length; i += size) chunks.push(input.subarray(i, i + size));
      cuts.push(chunks);
    }
    return cuts;
  }
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

  it("gives the same lines however the input is cut: every line end, telnet commands, malformed lines, oversize lines", () => {
    const input = bytes(
      "ab\r\n", "\r\n", "12345\n", "123456\r\n", "1234567\n", "xy\r\r\n", "cr\r", "nul\r\0", "lf\n",
      "a", [0xff, 0xfb, 0x01], "b", [0xff, 0xf1], "c", [0xff, 0xfa, 0x18, 0x00, 0x41, 0xff, 0xff, 0xff, 0xf0], "d", [0xff, 0xff], "\n",
      "bad", [0xff], "\n", "bad", [0xff, 0xfd], "\r", "bad", [0xff, 0xfa, 0x01], "\r\n", "bad", [0xff, 0x41], "x\n", "ok\n",
      [0xff, 0xfd, 0x03], "\n", "n\0ul\n", "last",
    );
    const expected: Out[] = [
      "ab", "", "12345", "123456", "OVERSIZE", "xy", "", "cr", "nul", "lf",
      "abcd\xff",
      "MALFORMED", "MALFORMED", "MALFORMED", "MALFORMED", "ok",
      "", "n\0ul", "last",
    ];
    for (const chunks of everyCut(input)) expect(read(chunks, 6)).toEqual(expected);
  });

  it("keeps a CR and the LF or NUL after it one line end across reads, and a NUL after anything else is data", () => {
    expect(read([bytes("a\r"), bytes("\n"), bytes("b\r"), bytes("\0"), bytes("\0c\n")], 10)).toEqual(["a", "b", "\0c"]);
  });

  it("reports an oversize line once, as soon as it passes the limit, buffering at most the limit", () => {
    const out: Out[] = [];
    const reader = new LineReader(4, {
      line: (b) => out.push(b.toString()),
      oversize: () => out.push("OVERSIZE"),
      malformed: () => out.push("MALFORMED"),
      interrupt: () => out.push("INTERRUPT"),
    });
    reader.push(bytes("ab", [0xff, 0xfb, 0x01], "cd"));
    expect(out).toEqual([]);
    reader.push(bytes("e"));
    expect(out).toEqual(["OVERSIZE"]);
    for (let i = 0; i < 100; i++) reader.push(bytes("more", [0xff]));
    reader.push(bytes("\nok\n"));
    expect(out).toEqual(["OVERSIZE", "ok"]);
  });

  it("stops at Ctrl-C / Ctrl-D, dropping the line being typed, but not at 0x03 as an option or inside a subnegotiation", () => {
    for (const interrupt of [[0x03], [0x04], [0xff, 0xf4], [0xff, 0xec], [0xff, 0xee]]) {
      for (const chunks of everyCut(bytes("one\ntw", interrupt, "o\nthree\n"))) expect(read(chunks, 100)).toEqual(["one", "INTERRUPT"]);
    }
    expect(read([bytes("a", [0xff, 0xfb, 0x03], "b", [0xff, 0xfa, 0x03, 0x04, 0xff, 0xf0], "c\n")], 100)).toEqual(["abc"]);
  });

  it("counts a line as started from its first byte, not for complete telnet commands alone", () => {
    const reader = new LineReader(100, { line: () => {}, oversize: () => {}, malformed: () => {}, interrupt: () => {} });
    reader.push(bytes([0xff, 0xfd, 0x01, 0xff, 0xf1]), 1000);
    expect(reader.startedAt).toBeUndefined();
    reader.push(bytes([0xff]), 2000); // a command under way
    expect(reader.startedAt).toBe(2000);
    reader.push(bytes([0xf1]), 3000);
    expect(reader.startedAt).toBeUndefined();
    reader.push(bytes("say"), 4000);
    reader.push(bytes(" hi"), 5000);
    expect(reader.startedAt).toBe(4000);
    reader.push(bytes("\nnext"), 6000);
    expect(reader.startedAt).toBe(6000);
    reader.push(bytes("\r\n"), 7000);
    expect(reader.startedAt).toBeUndefined();
  });
});
