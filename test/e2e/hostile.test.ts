import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, eventually, hs256Token, isChat, isResponse, listenerCounts, roomMembers, sleep, uniqueRoom, WsChatClient } from "../support/hostile.js";
import { deep, depthOf, hostileCases } from "../support/hostileCases.js";
import { runHostileCase } from "../support/hostileRunner.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket, type Message } from "../support/wsClient.js";

/** Hostile input over WebSocket (spec sections 3, 4, 7, 10). The TCP half is hostile.gateway.test.ts. */

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker();
});
afterAll(() => worker?.dispose());

describe("hostile input over WebSocket: the table", () => {
  for (const c of hostileCases().filter((c) => c.only !== "tcp")) {
    it(c.name, async () => {
      await runHostileCase(worker, async (room) => ({ client: await WsChatClient.connect(worker, { room }), used: 0 }), c);
    });
  }
});

describe("hostile input over WebSocket: beyond the table", () => {
  it("a frame above the 1 MiB hard cap gets message_too_large or a 1009 close, and the server survives", async () => {
    const room = uniqueRoom("huge");
    const observer = await WsChatClient.connect(worker, { room });
    const hostile = await WsChatClient.connect(worker, { room });
    await observer.nextChat((m) => m.event === "join" && m.from === hostile.id);
    hostile.send(`say ${"h".repeat(1536 * 1024)}`);
    let closedWith: number | undefined;
    try {
      const answer = (await hostile.next(isResponse, 15_000)) as Message;
      expect(answer).toMatchObject({ status: "error", code: "message_too_large", messageCount: 1 });
      expect((await hostile.request("roomView")).status).toBe("OK");
    } catch (error) {
      if (!hostile.isClosed()) throw error;
      closedWith = (await hostile.waitClosed()).code;
    }
    if (closedWith !== undefined) {
      expect(closedWith).toBe(1009);
      await observer.nextChat((m) => m.event === "leave" && m.from === hostile.id);
    }
    // Nothing of the frame reached the observer, and the room still works for everyone.
    expect(observer.received.filter(isChat).some((m) => typeof m.message === "string" && m.message.startsWith("hhh"))).toBe(false);
    const third = await WsChatClient.connect(worker, { room });
    const said = await third.request("say still alive");
    expect(said.status).toBe("OK");
    await observer.nextChat((m) => m.message === "still alive");
    const expectedMembers = closedWith === undefined ? [observer.id, hostile.id, third.id] : [observer.id, third.id];
    await eventually(async () => (await roomMembers(worker, room)).sort().join() === expectedMembers.sort().join(), "members after the huge frame");
    for (const c of [observer, hostile, third]) c.close();
  });

  it("a text frame of invalid UTF-8 is refused (error or 1007 close) or relayed with U+FFFD, and the server survives", async () => {
    const room = uniqueRoom("utf8");
    const observer = await WsChatClient.connect(worker, { room });
    const hostile = await WsChatClient.connect(worker, { room });
    await observer.nextChat((m) => m.event === "join" && m.from === hostile.id);
    // "say " followed by 0xff 0xfe (never valid) and 0xc3 0x28 (a broken two-byte sequence).
    hostile.socket.ws.send(Buffer.from([0x73, 0x61, 0x79, 0x20, 0xff, 0xfe, 0xc3, 0x28]), { binary: false });
    let outcome: "error" | "closed" | "relayed";
    try {
      const answer = (await hostile.next(isResponse, 5_000)) as Message;
      outcome = answer.status === "OK" ? "relayed" : "error";
      if (outcome === "error") expect(answer.code).toBe("bad_request");
    } catch (error) {
      if (!hostile.isClosed()) throw error;
      outcome = "closed";
      expect((await hostile.waitClosed()).code).toBe(1007);
    }
    if (outcome !== "closed") expect((await hostile.request("roomView")).status).toBe("OK");
    if (outcome === "relayed") {
      // The runtime decoded with replacement characters: the observer gets a valid string.
      const relayed = await observer.nextChat((m) => m.from === hostile.id && m.event === undefined);
      expect(relayed.message).toContain("\uFFFD");
    }
    const third = await WsChatClient.connect(worker, { room });
    expect((await third.request("say fine")).status).toBe("OK");
    await observer.nextChat((m) => m.message === "fine");
    const others = observer.received.filter(isChat).filter((m) => m.event === undefined && m.from !== hostile.id);
    expect(others.map((m) => m.message)).toEqual(["fine"]);
    for (const c of [observer, hostile, third]) c.close();
  });

  it("__proto__, constructor and prototype are plain param keys and pollute nothing", async () => {
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("proto") });
    expect((await client.request("paramAdd __proto__=polluted")).status).toBe("OK");
    expect((await client.request({ event: "paramAdd", key: "constructor", value: "c" })).status).toBe("OK");
    expect((await client.request("paramAdd prototype p")).status).toBe("OK");
    const view = await client.request("paramsView");
    expect(view.status).toBe("OK");
    const params = view.data as Record<string, unknown>;
    expect(Object.keys(params).sort()).toEqual(["__proto__", "constructor", "prototype"]);
    expect(Object.getOwnPropertyDescriptor(params, "__proto__")?.value).toBe("polluted");
    expect(params.constructor).toBe("c");
    expect(params.prototype).toBe("p");
    expect((await client.request("paramView __proto__")).data).toBe("polluted");
    expect((await client.request({ event: "paramView", key: "constructor" })).data).toBe("c");
    // Keys never set are null, even those every object inherits.
    for (const key of ["toString", "hasOwnProperty", "valueOf", "__defineGetter__"]) {
      expect((await client.request({ event: "paramView", key })).data).toBeNull();
    }
    const details = await client.request("detailsView");
    expect(Object.keys((details.data as Message).params as object).sort()).toEqual(["__proto__", "constructor", "prototype"]);
    expect((await client.request("paramDelete __proto__")).status).toBe("OK");
    expect(Object.keys((await client.request("paramsView")).data as object).sort()).toEqual(["constructor", "prototype"]);
    // Another connection sees none of it.
    const other = await WsChatClient.connect(worker, { room: uniqueRoom("proto") });
    expect((await other.request("paramsView")).data).toEqual({});
    expect((await other.request("paramView prototype")).data).toBeNull();
    expect((await other.request("paramView constructor")).data).toBeNull();
    client.close();
    other.close();
  });

  it("__proto__, constructor and prototype work as ordinary room names", async () => {
    const a = await WsChatClient.connect(worker, { room: uniqueRoom("pre") });
    const b = await WsChatClient.connect(worker, { room: "__proto__" });
    expect(b.room).toBe("__proto__");
    for (const room of ["__proto__", "constructor", "prototype", "hasOwnProperty"]) {
      const changed = await a.request({ event: "roomChange", room });
      expect(changed).toMatchObject({ status: "OK", data: { room } });
      const view = await a.request("roomView");
      expect((view.data as Message).room).toBe(room);
      expect((view.data as Message).members).toContain(a.id);
      const status = await api(worker, "GET", `/api/rooms/${room}`);
      expect(status.status).toBe(200);
      expect(status.body.room).toBe(room);
      expect(status.body.members).toContain(a.id);
    }
    // b sat in __proto__ all along: it saw a come and go, and nothing else.
    await b.nextChat((m) => m.event === "leave" && m.from === a.id);
    const chats = b.received.filter(isChat);
    expect(chats.map((m) => m.event)).toEqual(["join", "leave"]);
    expect(chats.every((m) => m.room === "__proto__")).toBe(true);
    expect(await roomMembers(worker, "__proto__")).toEqual([b.id]);
    a.close();
    b.close();
  });

  it("__proto__ keys inside messages arrive as plain keys, across objects, via say, broadcast and sendMessage", async () => {
    const room = uniqueRoom("protomsg");
    const observer = await WsChatClient.connect(worker, { room });
    // Hosted by another object than the room: its say travels to the room over RPC.
    const sender = await WsChatClient.connect(worker, { room: uniqueRoom("elsewhere") });
    expect((await sender.request({ event: "roomChange", room })).status).toBe("OK");
    const text = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"x":1}},"plain":1}';
    sender.send(`{"event":"say","message":${text}}`);
    expect(((await sender.next(isResponse)) as Message).status).toBe("OK");
    const said = await observer.nextChat((m) => m.from === sender.id && m.event === undefined);
    const message = said.message as Record<string, unknown>;
    expect(Object.keys(message).sort()).toEqual(["__proto__", "constructor", "plain"]);
    expect(Object.getOwnPropertyDescriptor(message, "__proto__")?.value).toEqual({ polluted: "yes" });
    expect((message as { polluted?: unknown }).polluted).toBeUndefined();

    const broadcast = await api(worker, "POST", `/api/rooms/${room}/broadcast`, `{"message":${text}}`);
    expect(broadcast.status).toBe(200);
    const server = await observer.nextChat((m) => m.from === "edgechat");
    expect(Object.keys(server.message as object).sort()).toEqual(["__proto__", "constructor", "plain"]);

    const direct = await api(worker, "POST", `/api/connections/${observer.id}/messages`, `{"message":${text},"type":"t"}`);
    expect(direct.status).toBe(200);
    const got = (await observer.next((m) => typeof m === "object" && m.type === "t")) as Message;
    expect(Object.keys(got).sort()).toEqual(["__proto__", "constructor", "context", "event", "plain", "type"]);
    expect(Object.getOwnPropertyDescriptor(got, "__proto__")?.value).toEqual({ polluted: "yes" });
    observer.close();
    sender.close();
  });

  it("nested messages from a connection hosted by another room object: depth 200 is relayed; depth 30000 is relayed or bad_request, never half-done", async () => {
    const room = uniqueRoom("deepx");
    const observer = await WsChatClient.connect(worker, { room });
    const sender = await WsChatClient.connect(worker, { room: uniqueRoom("deephost") });
    expect((await sender.request({ event: "roomChange", room })).status).toBe("OK");
    let lastSeq = ((await sender.request("say start")).data as Message).seq as number;
    for (const depth of [200, 30000]) {
      const frame = `{"event":"say","message":${deep(depth)}}`;
      expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(65536);
      sender.send(frame);
      const answer = (await sender.next(isResponse)) as Message;
      if (depth === 200 || answer.status === "OK") {
        expect(answer, `depth ${depth}: ${JSON.stringify(answer)}`).toMatchObject({ status: "OK", data: { seq: lastSeq + 1 } });
        lastSeq += 1;
        const relayed = await observer.nextChat((m) => m.seq === lastSeq);
        expect(depthOf(relayed.message)).toBe(depth);
      } else {
        expect(answer, `depth ${depth}`).toMatchObject({ status: "error", code: "bad_request" });
      }
      // A refused message used no seq and reached nobody.
      const after = await sender.request(`say after ${depth}`);
      expect(after).toMatchObject({ status: "OK", data: { seq: lastSeq + 1 } });
      lastSeq += 1;
      await observer.nextChat((m) => m.message === `after ${depth}` && m.seq === lastSeq);
    }
    observer.close();
    sender.close();
  });

  it("nested messages in a room's history do not break history for connections hosted elsewhere", async () => {
    const room = uniqueRoom("deephist");
    // Hosted by the room itself.
    const author = await WsChatClient.connect(worker, { room });
    expect((await author.request(`{"event":"say","message":${deep(200)}}`)).status).toBe("OK");
    const deepest = await author.request(`{"event":"say","message":${deep(30000)}}`);
    expect(["OK", "error"]).toContain(deepest.status);
    if (deepest.status === "error") expect(deepest.code).toBe("bad_request");
    expect((await author.request("say plain")).status).toBe("OK");
    // A reader hosted by another object asks for the history.
    const reader = await WsChatClient.connect(worker, { room: uniqueRoom("deepreader") });
    expect((await reader.request({ event: "roomChange", room })).status).toBe("OK");
    const history = await reader.request("history");
    expect(history, JSON.stringify(history).slice(0, 300)).toMatchObject({ status: "OK" });
    const said = ((history.data as Message).messages as Message[]).filter((m) => m.event === undefined);
    const expected = deepest.status === "OK" ? [200, 30000, 0] : [200, 0];
    expect(said.map((m) => depthOf(m.message))).toEqual(expected);
    expect(said[said.length - 1].message).toBe("plain");
    author.close();
    reader.close();
  });

  it("room names of 64 characters work; 65 are invalid_room at connect, in verbs and on the API", async () => {
    const name64 = `R${"a".repeat(62)}Z`;
    expect(name64.length).toBe(64);
    const a = await WsChatClient.connect(worker, { room: name64 });
    expect(a.room).toBe(name64);
    const b = await WsChatClient.connect(worker);
    expect(await b.request({ event: "listenToRoom", room: name64 })).toMatchObject({ status: "OK", data: { room: name64 } });
    expect((await a.request("say at the limit")).status).toBe("OK");
    await b.nextChat((m) => m.message === "at the limit" && m.room === name64);
    expect((await api(worker, "GET", `/api/rooms/${name64}`)).body.members).toEqual([a.id]);

    const name65 = `${name64}x`;
    expect(await a.request(`roomChange ${name65}`)).toMatchObject({ status: "error", code: "invalid_room" });
    expect(await api(worker, "GET", `/api/rooms/${name65}`)).toMatchObject({ status: 400, body: { code: "invalid_room" } });
    const refused = await TestSocket.open(`${worker.wsUrl}/connect?room=${name65}`);
    expect(await refused.next()).toMatchObject({ context: "api", status: "error", code: "invalid_room" });
    expect((await refused.waitClosed()).code).toBe(4400);
    a.close();
    b.close();
  });

  it("every allowed character works in a room name (case-sensitive); an empty ?room= means the default room", async () => {
    const name = `Az09_-.:${uniqueRoom("x").replace(/[^A-Za-z0-9]/g, "")}`.slice(0, 64);
    const a = await WsChatClient.connect(worker, { room: name });
    expect(a.room).toBe(name);
    const b = await WsChatClient.connect(worker, { room: name.toLowerCase() });
    expect(b.room).toBe(name.toLowerCase());
    expect((await api(worker, "GET", `/api/rooms/${encodeURIComponent(name)}`)).body.members).toEqual([a.id]);
    expect((await api(worker, "GET", `/api/rooms/${encodeURIComponent(name.toLowerCase())}`)).body.members).toEqual([b.id]);
    const c = await WsChatClient.connect(worker, { room: "" });
    expect(c.room).toBe("defaultRoom");
    for (const client of [a, b, c]) client.close();
  });

  it("forbidden characters in ?room= are refused with 4400", async () => {
    for (const room of ["a b", "a/b", "café", "a#b", "<x>", "x".repeat(65)]) {
      const refused = await TestSocket.open(`${worker.wsUrl}/connect?room=${encodeURIComponent(room)}`);
      expect(await refused.next()).toMatchObject({ context: "api", status: "error", code: "invalid_room" });
      expect((await refused.waitClosed()).code).toBe(4400);
    }
  });

  it("a client claiming to be a gateway with a wrong secret gets no spoofed address (its control frames only pick an error)", async () => {
    const room = uniqueRoom("spoof");
    const spoof = await WsChatClient.connect(worker, { room }, { "X-Edgechat-Gateway-Secret": "wrong-secret", "X-Edgechat-Client-IP": "6.6.6.6" });
    // Gateway control frames need no secret: all they can do is choose which error answers them.
    spoof.sendRaw(Buffer.from([1]));
    expect(await spoof.next(isResponse)).toMatchObject({ status: "error", code: "message_too_large", messageCount: 1 });
    spoof.sendRaw(Buffer.from([9]));
    expect(await spoof.next(isResponse)).toMatchObject({ status: "error", code: "bad_request", messageCount: 2 });
    const details = await spoof.request("detailsView");
    expect((details.data as Message).remoteIP).not.toBe("6.6.6.6");
    const noSecret = await WsChatClient.connect(worker, { room }, { "X-Edgechat-Client-IP": "6.6.6.6" });
    expect(((await noSecret.request("detailsView")).data as Message).remoteIP).not.toBe("6.6.6.6");
    spoof.close();
    noSecret.close();
  });

  it("a forged connect-intent header grants nothing", async () => {
    const room = `private-${"ab".repeat(16)}`;
    const forged = JSON.stringify({ room, grant: { rooms: [room], attributes: { auth: "true" } }, remoteIP: "6.6.6.6", viaGateway: true });
    const client = await WsChatClient.connect(worker, {}, { "X-Edgechat-Connect-Intent": forged });
    expect(client.room).toBe("defaultRoom");
    const details = (await client.request("detailsView")).data as Message;
    expect(details.attributes).toEqual({});
    expect(details.remoteIP).not.toBe("6.6.6.6");
    expect(await client.request(`roomChange ${room}`)).toMatchObject({ code: "not_authorized" });
    client.sendRaw(Buffer.from([1]));
    expect(await client.next(isResponse)).toMatchObject({ code: "bad_request" });
    const refused = await TestSocket.open(`${worker.wsUrl}/connect?room=${room}`, { "X-Edgechat-Connect-Intent": forged });
    expect(await refused.next()).toMatchObject({ code: "not_authorized" });
    expect((await refused.waitClosed()).code).toBe(4403);
    client.close();
  });

  it("a client that stops reading does not hold up the others in its room", async () => {
    const room = uniqueRoom("slow");
    const slow = await WsChatClient.connect(worker, { room });
    const healthy = await WsChatClient.connect(worker, { room });
    const sender = await WsChatClient.connect(worker, { room });
    // Stop reading: the slow client's TCP window fills and the server has to buffer or drop it.
    const raw = (slow.socket.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const payload = "p".repeat(60 * 1024);
    const seqs: number[] = [];
    for (let i = 0; i < 150; i++) {
      const answer = await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: { i, payload } });
      expect(answer.status).toBe(200);
      seqs.push(answer.body.seq as number);
    }
    await healthy.nextChat((m) => (m.message as { i?: number })?.i === 149, 30_000);
    const got = healthy.received.filter(isChat).filter((m) => m.from === "edgechat");
    expect(got.map((m) => m.seq)).toEqual(seqs);
    expect((await sender.request("say still flowing")).status).toBe("OK");
    await healthy.nextChat((m) => m.message === "still flowing");
    raw.resume();
    // Once it reads again the slow client gets everything in order, or it was closed: never a gap.
    try {
      await slow.nextChat((m) => m.message === "still flowing", 30_000);
      const slowGot = slow.received.filter(isChat).filter((m) => m.from === "edgechat");
      expect(slowGot.map((m) => m.seq)).toEqual(seqs);
    } catch (error) {
      if (!slow.isClosed()) throw error;
    }
    for (const c of [slow, healthy, sender]) c.close();
  });

  it("clients closing with any close code and reason leave their rooms", async () => {
    const room = uniqueRoom("closecodes");
    const observer = await WsChatClient.connect(worker, { room });
    const closes: [number, string][] = [[1000, ""], [1001, "going away"], [1011, "oops"], [3000, "app"], [4000, "x".repeat(123)], [4999, "é".repeat(61)]];
    for (const [code, reason] of closes) {
      const client = await WsChatClient.connect(worker, { room });
      expect((await client.request({ event: "listenToRoom", room: `${room}-l` })).status).toBe("OK");
      client.socket.ws.close(code, reason);
      await observer.nextChat((m) => m.event === "leave" && m.from === client.id);
    }
    expect(await roomMembers(worker, room)).toEqual([observer.id]);
    await eventually(async () => (await listenerCounts(worker, [`${room}-l`])).get(`${room}-l`) === 0, "no listeners left");
    expect((await observer.request("say alone")).status).toBe("OK");
    observer.close();
  });

  it("nothing sent after quit is carried out", async () => {
    const room = uniqueRoom("afterquit");
    const observer = await WsChatClient.connect(worker, { room });
    const client = await WsChatClient.connect(worker, { room });
    client.send("say before quit");
    client.send("quit");
    for (let i = 0; i < 5; i++) client.send(`say ghost ${i}`);
    client.send({ event: "roomChange", room: uniqueRoom("ghost") });
    expect(await client.next((m) => typeof m === "object" && m.status === "Bye!")).toMatchObject({ reason: "quit" });
    expect((await client.waitClosed()).code).toBe(1000);
    await observer.nextChat((m) => m.event === "leave" && m.from === client.id);
    await observer.nothing((m) => isChat(m) && m.from === client.id, 300);
    expect(observer.received.filter(isChat).filter((m) => m.from === client.id && m.event === undefined).map((m) => m.message)).toEqual(["before quit"]);
    // Answers stop at the goodbye.
    const afterBye = client.received.slice(client.received.findIndex((m) => typeof m === "object" && m.status === "Bye!") + 1);
    expect(afterBye).toEqual([]);
    expect(await roomMembers(worker, room)).toEqual([observer.id]);
    observer.close();
  });

  it("pipelined requests run in order, including an auth before a private roomChange", async () => {
    const privateRoom = (await api(worker, "POST", "/api/private-rooms")).body.room as string;
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("pipe") });
    const token = await hs256Token({ rooms: [privateRoom], attributes: { team: "red" } });
    client.send("auth not-a-token");
    client.send(`roomChange ${privateRoom}`);
    client.send(`auth ${token}`);
    client.send(`roomChange ${privateRoom}`);
    client.send("paramAdd k=1");
    client.send("paramAdd k=2");
    client.send("paramView k");
    const answers: Message[] = [];
    for (let i = 0; i < 7; i++) answers.push((await client.next(isResponse)) as Message);
    expect(answers.map((a) => a.messageCount)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(answers.map((a) => a.code ?? a.status)).toEqual(["invalid_token", "not_authorized", "OK", "OK", "OK", "OK", "OK"]);
    expect(answers[6].data).toBe("2");
    client.close();
  });

  it("ping is the keep-alive: answered pong, not counted, not broadcast", async () => {
    const room = uniqueRoom("ping");
    const observer = await WsChatClient.connect(worker, { room });
    const client = await WsChatClient.connect(worker, { room });
    client.send("ping");
    expect(await client.next()).toBe("pong");
    expect(await client.request("roomView")).toMatchObject({ status: "OK", messageCount: 1 });
    expect((await client.request("say hi")).status).toBe("OK");
    await observer.nextChat((m) => m.message === "hi");
    expect(observer.received.filter((m) => m === "pong" || (isChat(m) && m.message === "ping"))).toEqual([]);
    client.close();
    observer.close();
  });

  it("a flood of invalid frames is answered in order, each counted, and the connection survives", async () => {
    const room = uniqueRoom("flood");
    const observer = await WsChatClient.connect(worker, { room });
    const hostile = await WsChatClient.connect(worker, { room });
    await observer.nextChat((m) => m.event === "join" && m.from === hostile.id);
    const junk = ["{", "nope", "{}", "", "say", '{"event":5}', "roomChange a/b", '["x"]'];
    const total = 200;
    for (let i = 0; i < total; i++) hostile.send(junk[i % junk.length]);
    const answers: Message[] = [];
    for (let i = 0; i < total; i++) answers.push((await hostile.next(isResponse, 10_000)) as Message);
    expect(answers.map((a) => a.messageCount)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(answers.every((a) => a.status === "error")).toBe(true);
    // The first 2 × RATE_LIMIT (40) fit the bucket; everything refused is refused with a documented code.
    expect(answers.slice(0, 40).every((a) => a.code !== "rate_limited")).toBe(true);
    expect(answers.some((a) => a.code === "rate_limited")).toBe(true);
    for (const a of answers) expect(["bad_request", "unknown_verb", "invalid_room", "rate_limited"]).toContain(a.code);
    // Once the bucket refills, the connection works as before.
    await sleep(300);
    let view: Message | undefined;
    await eventually(async () => {
      view = await hostile.request("roomView");
      return view.status === "OK";
    }, "an OK roomView after the flood");
    expect(view?.messageCount).toBeGreaterThan(total);
    expect(((view?.data as Message).members as string[]).sort()).toEqual([observer.id, hostile.id].sort());
    await observer.nothing((m) => isChat(m) && m.from === hostile.id, 200);
    hostile.close();
    observer.close();
  });

  it("a flood of says from one client reaches the observer exactly for the OK ones, in seq order", async () => {
    const room = uniqueRoom("sayflood");
    const observer = await WsChatClient.connect(worker, { room });
    const hostile = await WsChatClient.connect(worker, { room });
    await observer.nextChat((m) => m.event === "join" && m.from === hostile.id);
    const total = 120;
    for (let i = 0; i < total; i++) hostile.send(`say n${i}`);
    const answers: Message[] = [];
    for (let i = 0; i < total; i++) answers.push((await hostile.next(isResponse, 10_000)) as Message);
    const ok = answers.map((a, i) => ({ a, i })).filter(({ a }) => a.status === "OK");
    expect(ok.length).toBeGreaterThanOrEqual(40);
    expect(answers.filter((a) => a.status !== "OK").every((a) => a.code === "rate_limited")).toBe(true);
    const last = ok[ok.length - 1];
    await observer.nextChat((m) => m.message === `n${last.i}`);
    const got = observer.received.filter(isChat).filter((m) => m.from === hostile.id && m.event === undefined);
    expect(got.map((m) => m.message)).toEqual(ok.map(({ i }) => `n${i}`));
    expect(got.map((m) => m.seq)).toEqual(ok.map(({ a }) => (a.data as Message).seq));
    const seqs = got.map((m) => m.seq as number);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    hostile.close();
    observer.close();
  });

  it("connections dropped right after the upgrade, or in the middle of roomChange/listenToRoom, leave no ghosts", async () => {
    const a = uniqueRoom("churnA");
    const b = uniqueRoom("churnB");
    const observer = await WsChatClient.connect(worker, { room: a });
    const bListener = await WsChatClient.connect(worker, { room: uniqueRoom("churnL") });
    expect((await bListener.request(`listenToRoom ${b}`)).status).toBe("OK");
    const dropped: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      // Gone as soon as the upgrade completes.
      dropped.push(TestSocket.open(`${worker.wsUrl}/connect?room=${a}`).then((socket) => socket.terminate()));
      // Gone in the middle of moving or listening.
      dropped.push(
        WsChatClient.connect(worker, { room: a }).then((client) => {
          client.send(`roomChange ${b}`);
          client.send(`listenToRoom ${a}`);
          client.send("say last words");
          client.terminate();
        }),
      );
      // Gone after listening to both rooms.
      dropped.push(
        WsChatClient.connect(worker, { room: a }).then(async (client) => {
          await client.request(`listenToRoom ${b}`);
          client.send(`listenToRoom ${a}`);
          client.terminate();
        }),
      );
    }
    await Promise.all(dropped);
    await eventually(async () => (await roomMembers(worker, a)).join() === observer.id, `only the observer left in ${a}`, 20_000, 200);
    await eventually(async () => (await roomMembers(worker, b)).length === 0, `nobody left in ${b}`, 20_000, 200);
    // The room's notices pair up: everyone who joined a left again (as seen by the observer).
    await eventually(
      async () => {
        const notices = observer.received.filter(isChat).filter((m) => m.room === a && m.event !== undefined);
        const joined = new Set(notices.filter((m) => m.event === "join").map((m) => m.from));
        const left = new Set(notices.filter((m) => m.event === "leave").map((m) => m.from));
        return joined.size > 0 && [...joined].every((id) => left.has(id));
      },
      "a leave notice for every join",
      20_000,
      200,
    );
    // Nobody listens to b any more: a say there reaches only the real listener and the room still works.
    const speaker = await WsChatClient.connect(worker, { room: b });
    const said = await speaker.request("say anyone?");
    expect(said.status).toBe("OK");
    await bListener.nextChat((m) => m.message === "anyone?");
    const broadcast = await api(worker, "POST", `/api/rooms/${b}/broadcast`, { message: "count" });
    expect(broadcast.body.delivered).toBe(2);
    await eventually(async () => (await listenerCounts(worker, [a, b])).get(b) === 1, `one listener left in ${b}`, 20_000, 200);
    expect((await listenerCounts(worker, [a, b])).get(a)).toBe(0);
    for (const c of [observer, bListener, speaker]) c.close();
  });

  it("a flood of 150 simultaneous connections into one room: everyone joins, speaks, is listed and leaves", async () => {
    const room = uniqueRoom("stampede");
    const observer = await WsChatClient.connect(worker, { room });
    const clients = await Promise.all(Array.from({ length: 150 }, () => WsChatClient.connect(worker, { room })));
    const answers = await Promise.all(clients.map((client, i) => client.request(`say hello ${i}`)));
    expect(answers.every((a) => a.status === "OK" && a.messageCount === 1)).toBe(true);
    const seqs = answers.map((a) => (a.data as Message).seq as number);
    expect(new Set(seqs).size).toBe(150);
    await eventually(async () => observer.received.filter(isChat).filter((m) => m.event === undefined).length === 150, "150 says at the observer");
    const members = await roomMembers(worker, room);
    expect(members.sort()).toEqual([observer.id, ...clients.map((c) => c.id)].sort());
    const received = observer.received.filter(isChat).map((m) => m.seq as number);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    for (const [i, client] of clients.entries()) (i % 2 ? client.close() : client.terminate());
    await eventually(async () => (await roomMembers(worker, room)).join() === observer.id, "only the observer left", 20_000, 200);
    expect((await observer.request("say survived")).status).toBe("OK");
    observer.close();
  });

  it("MAX_MESSAGE_BYTES is a setting: a worker with 100 allows exactly 100 bytes", async () => {
    const small = await startWorker({ MAX_MESSAGE_BYTES: "100" });
    try {
      const client = await WsChatClient.connect(small);
      expect((await client.request(`say ${"x".repeat(96)}`)).status).toBe("OK");
      expect(await client.request(`say ${"x".repeat(97)}`)).toMatchObject({ status: "error", code: "message_too_large", messageCount: 2 });
      expect((await client.request("roomView")).status).toBe("OK");
      client.close();
    } finally {
      await small.dispose();
    }
  });
});

