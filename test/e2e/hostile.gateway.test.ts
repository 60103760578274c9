import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, eventually, hs256Token, isChat, isResponse, roomMembers, TcpChatClient, uniqueRoom, WsChatClient } from "../support/hostile.js";
import { hostileCases, MAX } from "../support/hostileCases.js";
import { runHostileCase, type HostileConnector } from "../support/hostileRunner.js";
import { startGateway, type RunningGateway } from "../support/gateway.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import type { Message } from "../support/wsClient.js";

/** Hostile input through the TCP gateway: the same table as over WebSocket, plus line-level abuse. */

let worker: RunningWorker;
let gateway: RunningGateway;
const open: TcpChatClient[] = [];
beforeAll(async () => {
  worker = await startWorker();
  gateway = await startGateway(worker.wsUrl, { log: () => {} });
});
afterAll(async () => {
  for (const client of open) client.terminate();
  await gateway?.close();
  await worker?.dispose();
});

async function tcp(): Promise<TcpChatClient> {
  const client = await TcpChatClient.connect("127.0.0.1", gateway.port);
  open.push(client);
  return client;
}

/** A TCP client starts in DEFAULT_ROOM; one roomChange brings it into the case's room. */
const connectTcp: HostileConnector = async (room) => {
  const client = await tcp();
  const moved = await client.request(`roomChange ${room}`);
  expect(moved).toMatchObject({ status: "OK", messageCount: 1, data: { room } });
  return { client, used: 1 };
};

describe("hostile input through the TCP gateway: the table", () => {
  for (const c of hostileCases().filter((c) => c.only !== "ws")) {
    it(c.name, async () => {
      await runHostileCase(worker, connectTcp, c);
    });
  }
});

describe("a gateway without GATEWAY_SECRET (optional: it only vouches for client addresses)", () => {
  it("oversize and invalid UTF-8 lines still get their documented codes, and nothing is trusted", async () => {
    const plain = await startWorker({ GATEWAY_SECRET: "" });
    const bare = await startGateway(plain.wsUrl, { log: () => {}, gatewaySecret: undefined });
    try {
      const client = await TcpChatClient.connect("127.0.0.1", bare.port);
      open.push(client);
      client.sendRaw(Buffer.from(`say ${"o".repeat(MAX)}\n`));
      expect(await client.next(isResponse)).toMatchObject({ status: "error", code: "message_too_large", messageCount: 1 });
      client.sendRaw(Buffer.from([0x73, 0x61, 0x79, 0x20, 0xc3, 0x28, 0x0a]));
      expect(await client.next(isResponse)).toMatchObject({ status: "error", code: "bad_request", messageCount: 2 });
      expect(await client.request("roomView")).toMatchObject({ status: "OK", messageCount: 3 });
      // A browser still cannot send the control frame to this Worker.
      const browser = await WsChatClient.connect(plain);
      browser.sendRaw(Buffer.from([1]));
      expect(await browser.next(isResponse)).toMatchObject({ code: "bad_request" });
      browser.close();
      client.close();
    } finally {
      await bare.close();
      await plain.dispose();
    }
  });
});

describe("hostile input through the TCP gateway: line-level abuse", () => {
  // Invalid UTF-8 without 0xFF / 0x03 / 0x04 (those are telnet commands and interrupts).
  const invalidUtf8: [string, number[]][] = [
    ["a broken two-byte sequence", [0xc3, 0x28]],
    ["a lone continuation byte", [0x80]],
    ["an overlong slash", [0xc0, 0xaf]],
    ["an encoded surrogate", [0xed, 0xa0, 0x80]],
    ["a five-byte sequence", [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ["a truncated three-byte sequence at the end of the line", [0xe2, 0x82]],
  ];
  it("invalid UTF-8 in a line is bad_request (README: invalid UTF-8 gets an error response); nothing reaches the room", async () => {
    const room = uniqueRoom("badutf8");
    const observer = await WsChatClient.connect(worker, { room });
    const { client } = await connectTcp(room);
    await observer.nextChat((m) => m.event === "join" && m.from === client.id);
    const outcomes: string[] = [];
    let count = 1;
    for (const [label, bytes] of invalidUtf8) {
      client.sendRaw(Buffer.concat([Buffer.from(`say ${label}:`), Buffer.from(bytes), Buffer.from("\n")]));
      const answer = (await client.next(isResponse)) as Message;
      count += 1;
      expect(answer.messageCount).toBe(count);
      outcomes.push(`${label}: ${answer.status === "OK" ? "OK (relayed)" : answer.code}`);
    }
    expect(await client.request("say fine")).toMatchObject({ status: "OK", messageCount: count + 1 });
    await observer.nextChat((m) => m.message === "fine");
    expect(outcomes).toEqual(invalidUtf8.map(([label]) => `${label}: bad_request`));
    expect(observer.received.filter(isChat).filter((m) => m.event === undefined).map((m) => m.message)).toEqual(["fine"]);
    client.close();
    observer.close();
  });

  it("sizes exclude the line end: MAX bytes + CRLF or CR NUL is allowed, MAX + 1 bytes + CRLF is message_too_large; a second CR ends an empty line", async () => {
    const room = uniqueRoom("crlf");
    const observer = await WsChatClient.connect(worker, { room });
    const { client } = await connectTcp(room);
    await observer.nextChat((m) => m.event === "join" && m.from === client.id);
    const exact = "x".repeat(MAX - 4);
    client.sendRaw(Buffer.from(`say ${exact}\r\n`));
    expect(await client.next(isResponse)).toMatchObject({ status: "OK", messageCount: 2 });
    client.sendRaw(Buffer.from(`say ${exact}y\r\n`));
    expect(await client.next(isResponse)).toMatchObject({ status: "error", code: "message_too_large", messageCount: 3 });
    client.sendRaw(Buffer.from(`say ${exact}\r\r\n`));
    expect(await client.next(isResponse)).toMatchObject({ status: "OK", messageCount: 4 });
    client.sendRaw(Buffer.from(`say ${exact}\r\u0000`));
    expect(await client.next(isResponse)).toMatchObject({ status: "OK", messageCount: 5 });
    expect(await client.request("roomView")).toMatchObject({ status: "OK", messageCount: 6 });
    for (let i = 0; i < 3; i++) await observer.nextChat((m) => m.from === client.id && m.event === undefined);
    await observer.nothing((m) => isChat(m) && m.from === client.id && m.event === undefined, 200);
    const said = observer.received.filter(isChat).filter((m) => m.from === client.id && m.event === undefined);
    expect(said.map((m) => m.message)).toEqual([exact, exact, exact]);
    client.close();
    observer.close();
  });

  it("an oversize line is answered before its end arrives; the rest is discarded and never reaches the room", async () => {
    const room = uniqueRoom("oversize");
    const observer = await WsChatClient.connect(worker, { room });
    const { client } = await connectTcp(room);
    await observer.nextChat((m) => m.event === "join" && m.from === client.id);
    client.sendRaw(Buffer.from(`say ${"a".repeat(MAX + 10)}`));
    expect(await client.next(isResponse)).toMatchObject({ status: "error", code: "message_too_large", messageCount: 2 });
    // The rest of that line, however long, including things that look like requests, is dropped.
    client.sendRaw(Buffer.from(`${"b".repeat(3 * MAX)} say injected {"event":"say","message":"injected"}`));
    client.sendRaw(Buffer.from("\nsay after\n"));
    expect(await client.next(isResponse)).toMatchObject({ status: "OK", messageCount: 3 });
    await observer.nextChat((m) => m.message === "after");
    const said = observer.received.filter(isChat).filter((m) => m.event === undefined);
    expect(said.map((m) => m.message)).toEqual(["after"]);
    expect(await roomMembers(worker, room)).toEqual(expect.arrayContaining([observer.id, client.id]));
    client.close();
    observer.close();
  });

  it("a 4 MiB line in pieces gets one message_too_large and the connection stays", async () => {
    const { client } = await connectTcp(uniqueRoom("huge"));
    const piece = Buffer.alloc(256 * 1024, 0x7a);
    for (let i = 0; i < 16; i++) client.sendRaw(piece);
    client.sendRaw(Buffer.from("\nroomView\n"));
    const first = (await client.next(isResponse, 15_000)) as Message;
    expect(first).toMatchObject({ status: "error", code: "message_too_large", messageCount: 2 });
    expect(await client.next(isResponse, 15_000)).toMatchObject({ status: "OK", messageCount: 3 });
    expect(client.received.filter(isResponse)).toHaveLength(3);
  });

  it("a flood of 300 junk lines in one write is answered in order and the connection survives", async () => {
    const room = uniqueRoom("tcpflood");
    const observer = await WsChatClient.connect(worker, { room });
    const { client } = await connectTcp(room);
    await observer.nextChat((m) => m.event === "join" && m.from === client.id);
    const junk = ["{", "nope", "{}", "say", '{"event":5}', "roomChange a/b", '["x"]', "\t", ""];
    const lines = Array.from({ length: 300 }, (_, i) => junk[i % junk.length]);
    client.sendRaw(Buffer.from(`${lines.join("\r\n")}\r\n`));
    const counted = lines.filter((line) => line.trim() !== "").length;
    const answers: Message[] = [];
    for (let i = 0; i < counted; i++) answers.push((await client.next(isResponse, 10_000)) as Message);
    expect(answers.map((a) => a.messageCount)).toEqual(Array.from({ length: counted }, (_, i) => i + 2));
    for (const a of answers) expect(["bad_request", "unknown_verb", "invalid_room", "rate_limited"]).toContain(a.code);
    expect(answers.some((a) => a.code === "rate_limited")).toBe(true);
    await eventually(async () => (await client.request("roomView")).status === "OK", "an OK roomView after the flood");
    expect(observer.received.filter(isChat).filter((m) => m.from === client.id && m.event !== "join")).toEqual([]);
    client.close();
    observer.close();
  });

  it("private rooms over TCP: auth opens them, a bad or missing token does not, grants add up", async () => {
    const room = (await api(worker, "POST", "/api/private-rooms")).body.room as string;
    const member = await WsChatClient.connect(worker, { room, token: await hs256Token({ rooms: [room] }) });
    const holder = await tcp();
    const outsider = await tcp();
    expect(await outsider.request(`roomChange ${room}`)).toMatchObject({ code: "not_authorized", messageCount: 1 });
    expect(await outsider.request(`auth ${await hs256Token({ rooms: [room] }, "forged")}`)).toMatchObject({ code: "invalid_token", messageCount: 2 });
    expect(await outsider.request(`listenToRoom ${room}`)).toMatchObject({ code: "not_authorized", messageCount: 3 });
    const granted = await holder.request(`auth ${await hs256Token({ rooms: [room], attributes: { team: "red" } })}\r`);
    expect(granted).toMatchObject({ status: "OK", data: { rooms: [room], attributes: { team: "red" } } });
    expect(await holder.request(`roomChange ${room}`)).toMatchObject({ status: "OK", data: { room } });
    expect((await member.request("say tcp can hear")).status).toBe("OK");
    await holder.nextChat((m) => m.message === "tcp can hear" && m.room === room);
    await outsider.nothing((m) => isChat(m) && m.room === room, 200);
    expect(outsider.received.filter((m) => typeof m === "object" && m.room === room)).toEqual([]);
    member.close();
    holder.close();
    outsider.close();
  });

  it("nothing sent after quit in the same write is carried out", async () => {
    const room = uniqueRoom("tcpquit");
    const observer = await WsChatClient.connect(worker, { room });
    const { client } = await connectTcp(room);
    await observer.nextChat((m) => m.event === "join" && m.from === client.id);
    client.sendRaw(Buffer.from(`say before quit\nquit\nsay ghost\n{"event":"say","message":"ghost json"}\nroomChange elsewhere\n`));
    expect(await client.next((m) => typeof m === "object" && m.status === "Bye!")).toMatchObject({ reason: "quit" });
    await client.waitClosed(10_000);
    await observer.nextChat((m) => m.event === "leave" && m.from === client.id);
    await observer.nothing((m) => isChat(m) && m.from === client.id, 300);
    expect(observer.received.filter(isChat).filter((m) => m.from === client.id && m.event === undefined).map((m) => m.message)).toEqual(["before quit"]);
    expect(await roomMembers(worker, room)).toEqual([observer.id]);
    observer.close();
  });

  it("a flood of 500 ping lines is answered pong each, counts nothing and takes no tokens", async () => {
    const { client } = await connectTcp(uniqueRoom("pings"));
    client.sendRaw(Buffer.from("ping\r\n".repeat(500)));
    for (let i = 0; i < 500; i++) expect(await client.next()).toBe("pong");
    const burst = Array.from({ length: 39 }, () => "roomView").join("\n");
    client.sendRaw(Buffer.from(`${burst}\n`));
    const answers: Message[] = [];
    for (let i = 0; i < 39; i++) answers.push((await client.next(isResponse)) as Message);
    // 40 tokens to start with, one spent on the roomChange into the room: all 39 fit.
    expect(answers.map((a) => a.status)).toEqual(Array(39).fill("OK"));
    expect(answers.map((a) => a.messageCount)).toEqual(Array.from({ length: 39 }, (_, i) => i + 2));
  });

  it("an abrupt TCP reset (RST) mid-line removes the client from its room, and the room keeps working", async () => {
    const room = uniqueRoom("reset");
    const observer = await WsChatClient.connect(worker, { room });
    const { client } = await connectTcp(room);
    await observer.nextChat((m) => m.event === "join" && m.from === client.id);
    client.sendRaw(Buffer.from("say half a li"));
    (client as TcpChatClient).socket.resetAndDestroy();
    await observer.nextChat((m) => m.event === "leave" && m.from === client.id, 10_000);
    await eventually(async () => (await roomMembers(worker, room)).join() === observer.id, "the reset client gone from the members");
    const next = await connectTcp(room);
    expect((await next.client.request("say still here")).status).toBe("OK");
    await observer.nextChat((m) => m.message === "still here");
    next.client.close();
    observer.close();
  });
});
