/**
 * Broadcasts into a room (spec sections 4 and 5, "Broadcasts" in 10): who receives a say, the chat
 * message and notice shapes, the per-room seq, order across host objects, at-most-once delivery.
 */
import { describe, expect, it } from "vitest";
import { connectVia, broadcast, connect, isChat, SERVER_NAME, seqsOf, uniqueRoom, type Client, type Frame } from "./support.js";

/** Connects into `via`, then moves into `room`: the socket is hosted by `via`'s object. */
function expectGapFree(seqs: number[]): void {
  expect(seqs.length).toBeGreaterThan(0);
  const expected = seqs.map((_, index) => seqs[0] + index);
  expect(seqs).toEqual(expected);
}

describe("say", () => {
  it("reaches every other member and every listener, wherever their sockets are hosted, never the sender, nothing elsewhere", async () => {
    const room = uniqueRoom("fanout");
    const elsewhere = uniqueRoom("fanout-other");
    const sender = await connect(room);
    const sameHost = await connect(room);
    const otherHost = await connectVia(uniqueRoom("fanout-host"), room);
    const listener = await connect(uniqueRoom("fanout-listener"));
    await listener.ok(`listenToRoom ${room}`);
    const outsider = await connect(elsewhere);
    const outsiderListener = await connect(uniqueRoom("fanout-ol"));
    await outsiderListener.ok(`listenToRoom ${elsewhere}`);

    const said = (await sender.ok("say hello everyone")) as Frame;
    for (const client of [sameHost, otherHost, listener]) {
      const heard = await client.chatWith("hello everyone");
      expect(heard).toMatchObject({ room, from: sender.id, seq: said.seq });
    }
    await sender.expectNothing((frame) => isChat(frame) && frame.from === sender.id);
    await outsider.expectNothing((frame) => isChat(frame) && frame.room === room, 0);
    await outsiderListener.expectNothing((frame) => isChat(frame) && frame.room === room, 0);
    expect(outsider.log.filter(isChat).filter((frame) => frame.message === "hello everyone")).toEqual([]);
    expect(outsiderListener.log.filter(isChat).filter((frame) => frame.message === "hello everyone")).toEqual([]);
  });

  it("arrives as {context,message,room,from,sentAt,seq} and nothing else", async () => {
    const room = uniqueRoom("shape");
    const sender = await connect(room);
    const receiver = await connect(room);
    const before = Date.now();
    const said = (await sender.ok({ event: "say", message: { text: "hi", n: 1 } })) as Frame;
    const after = Date.now();
    const heard = await receiver.chat((frame) => frame.seq === said.seq);
    expect(heard).toEqual({ context: "user", message: { text: "hi", n: 1 }, room, from: sender.id, sentAt: heard.sentAt, seq: said.seq });
    expect(typeof heard.sentAt).toBe("number");
    expect(heard.sentAt).toBeGreaterThanOrEqual(before);
    expect(heard.sentAt).toBeLessThanOrEqual(after);
    expect(said).toEqual({ room, seq: said.seq });
  });

  it("a say by a connection alone in its room reaches nobody but still answers OK with a seq", async () => {
    const lonely = await connect(uniqueRoom("alone"));
    const said = (await lonely.ok("say anyone?")) as Frame;
    expect(said.seq).toBe(2); // 1 was its own join notice
    await lonely.expectNothing(isChat);
  });
});

describe("seq", () => {
  it("starts at 1 per room and is taken by every broadcast, notices and unheard ones included", async () => {
    const room = uniqueRoom("seq");
    const a = await connect(room); // join notice of a: seq 1, nobody to receive it
    const b = await connect(room); // join notice of b: seq 2
    const joinB = await a.notice("join", b.id);
    expect(joinB.seq).toBe(2);
    expect(((await a.ok("say one")) as Frame).seq).toBe(3);
    expect((await b.chatWith("one")).seq).toBe(3);
    const server = await broadcast(room, { message: "from the server" });
    expect(server.body).toEqual({ room, seq: 4, delivered: 2 });
    expect((await a.chatWith("from the server")).seq).toBe(4);
    expect((await b.chatWith("from the server")).seq).toBe(4);
    expect(await b.ok(`roomChange ${uniqueRoom("seq-away")}`)).toBeTruthy(); // leave notice: seq 5
    expect((await a.notice("leave", b.id)).seq).toBe(5);
    expect(((await a.ok("say nobody hears this")) as Frame).seq).toBe(6);
    expect((await broadcast(room, { message: "nor this" })).body).toEqual({ room, seq: 7, delivered: 1 });
    expect(seqsOf(a.log, room)).toEqual([2, 4, 5, 7]); // never its own say (3) or (6)
    expect(seqsOf(b.log, room)).toEqual([3, 4]);

    // Another room counts on its own from 1.
    const other = uniqueRoom("seq-other");
    expect((await broadcast(other, { message: "first" })).body).toEqual({ room: other, seq: 1, delivered: 0 });
    expect((await broadcast(other, { message: "second" })).body).toEqual({ room: other, seq: 2, delivered: 0 });
    const c = await connect(other);
    expect(((await c.ok("say third")) as Frame).seq).toBe(4); // 3 was c's join
  });

  it("every receiver gets a room's messages in strictly increasing, gap-free seq order, across host objects", async () => {
    const room = uniqueRoom("order-c");
    // Receivers whose sockets live in three different objects, and a listener in a fourth.
    const viaA = await connectVia(uniqueRoom("order-a"), room);
    const viaB = await connectVia(uniqueRoom("order-b"), room);
    const local = await connect(room);
    const listener = await connect(uniqueRoom("order-l"));
    await listener.ok(`listenToRoom ${room}`);
    // Eight sayers (the rate limit allows a burst of 40 requests per connection), half of them
    // hosted by the room's object and half by others, together say 200 messages as fast as they can,
    // while the server API broadcasts 20 more.
    const sayers: Client[] = [];
    for (let i = 0; i < 8; i++) sayers.push(i % 2 === 0 ? await connect(room) : await connectVia(uniqueRoom(`order-s${i}`), room));
    const receivers = [viaA, viaB, local, listener];
    const perSayer = 25;
    const texts: string[] = [];
    for (let n = 0; n < perSayer; n++) {
      sayers.forEach((sayer, index) => {
        const text = `m${index}-${n}`;
        texts.push(text);
        sayer.send({ event: "say", message: text, requestId: n });
      });
    }
    const serverBroadcasts = Promise.all(Array.from({ length: 20 }, (_, n) => broadcast(room, { message: `server-${n}` })));
    const responses = await Promise.all(sayers.map(async (sayer) => Promise.all(Array.from({ length: perSayer }, () => sayer.response()))));
    for (const response of responses.flat()) expect(response).toMatchObject({ status: "OK", data: { room } });
    // Each sayer's requests run one at a time in the order the server took them (messageCount;
    // the test pool may hand a burst to the object permuted, see requests.test.ts), so its seqs
    // rise with its messageCount, and that is the order every receiver must see its messages in.
    const orderOf = sayers.map((_, index) => {
      const mine = responses[index];
      expect(mine.map((response) => response.messageCount)).toEqual(mine.map((_, n) => (mine[0].messageCount as number) + n));
      for (let n = 1; n < mine.length; n++) expect(mine[n].data.seq).toBeGreaterThan(mine[n - 1].data.seq);
      return mine.map((response) => `m${index}-${response.requestId}`);
    });
    const serverResults = await serverBroadcasts;
    for (const result of serverResults) expect(result.status).toBe(200);

    const allSeqs = [...responses.flat().map((response) => response.data.seq as number), ...serverResults.map((result) => result.body.seq as number)];
    expect(new Set(allSeqs).size).toBe(220);
    const lastSeq = Math.max(...allSeqs);
    expect(Math.min(...allSeqs)).toBe(lastSeq - 219);

    for (const receiver of receivers) {
      await receiver.chat((frame) => frame.room === room && frame.seq === lastSeq, 10_000);
      const seqs = seqsOf(receiver.log, room);
      expectGapFree(seqs);
      const heard = new Set(receiver.log.filter(isChat).map((frame) => frame.message));
      for (const text of texts) expect(heard.has(text)).toBe(true);
      for (let n = 0; n < 20; n++) expect(heard.has(`server-${n}`)).toBe(true);
      sayers.forEach((_, index) => {
        const mine = receiver.log
          .filter(isChat)
          .map((frame) => frame.message)
          .filter((message): message is string => typeof message === "string" && message.startsWith(`m${index}-`));
        expect(mine).toEqual(orderOf[index]);
      });
    }
    // A sayer hears everyone but itself, still in order: wait for one more server broadcast as a marker.
    const marker = await broadcast(room, { message: "end" });
    for (const [index, sayer] of sayers.entries()) {
      await sayer.chat((frame) => frame.seq === marker.body.seq, 10_000);
      const seqs = seqsOf(sayer.log, room);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      expect(sayer.log.filter(isChat).some((frame) => frame.from === sayer.id)).toBe(false);
      expect(sayer.log.filter(isChat).filter((frame) => typeof frame.message === "string" && frame.message.startsWith(`m${index}-`))).toEqual([]);
    }
  });

  it("one connection saying 200 messages as fast as it can: each receiver gets the accepted ones in gap-free seq order", async () => {
    const room = uniqueRoom("burst-c");
    const viaA = await connectVia(uniqueRoom("burst-a"), room);
    const viaB = await connectVia(uniqueRoom("burst-b"), room);
    const sayer = await connectVia(uniqueRoom("burst-s"), room);
    for (let n = 0; n < 200; n++) sayer.send({ event: "say", message: `burst-${n}`, requestId: n });
    const responses: Frame[] = [];
    for (let n = 0; n < 200; n++) responses.push(await sayer.response());
    // The rate limit (section 7) rejects part of the burst; every response still comes in the order taken.
    expect(responses.map((response) => response.messageCount)).toEqual(Array.from({ length: 200 }, (_, n) => n + 2));
    const accepted = responses.filter((response) => response.status === "OK");
    for (const response of responses) if (response.status !== "OK") expect(response.code).toBe("rate_limited");
    expect(accepted.length).toBeGreaterThanOrEqual(30);
    const acceptedSeqs = accepted.map((response) => response.data.seq as number);
    expectGapFree(acceptedSeqs);
    const lastSeq = acceptedSeqs[acceptedSeqs.length - 1];
    // In the order the server took them (see requests.test.ts on the test pool and burst order).
    const acceptedTexts = accepted.map((response) => `burst-${response.requestId}`);
    for (const receiver of [viaA, viaB]) {
      await receiver.chat((frame) => frame.seq === lastSeq, 10_000);
      const said = receiver.log.filter((frame): frame is Frame => isChat(frame) && frame.from === sayer.id && frame.event === undefined);
      expect(said.map((frame) => frame.message)).toEqual(acceptedTexts);
      expect(said.map((frame) => frame.seq)).toEqual(acceptedSeqs);
      expectGapFree(seqsOf(receiver.log, room));
    }
  });
});

describe("join and leave notices", () => {
  it("have the chat message shape with event join/leave, go to members and listeners, never to the subject", async () => {
    const room = uniqueRoom("notices");
    const member = await connect(room);
    const listener = await connect(uniqueRoom("notices-l"));
    await listener.ok(`listenToRoom ${room}`);
    const before = Date.now();
    const joiner = await connect(room);
    const join = await member.notice("join", joiner.id);
    expect(join).toEqual({
      context: "user",
      message: "I have entered the room",
      room,
      from: joiner.id,
      sentAt: join.sentAt,
      seq: join.seq,
      event: "join",
    });
    expect(join.sentAt).toBeGreaterThanOrEqual(before);
    expect(await listener.notice("join", joiner.id)).toEqual(join);

    joiner.close(1000, "bye");
    const leave = await member.notice("leave", joiner.id);
    expect(leave).toEqual({
      context: "user",
      message: "I have left the room",
      room,
      from: joiner.id,
      sentAt: leave.sentAt,
      seq: join.seq + 1,
      event: "leave",
    });
    expect(await listener.notice("leave", joiner.id)).toEqual(leave);
    expect(joiner.log.filter(isChat)).toEqual([]);
  });

  it("are sent on roomChange: leave to the old room, join to the new, none to the mover", async () => {
    const from = uniqueRoom("move-from");
    const to = uniqueRoom("move-to");
    const mover = await connect(from);
    const stayer = await connect(from);
    const waiter = await connect(to);
    const fromListener = await connect(uniqueRoom("move-fl"));
    await fromListener.ok(`listenToRoom ${from}`);
    const toListener = await connect(uniqueRoom("move-tl"));
    await toListener.ok(`listenToRoom ${to}`);
    await mover.notice("join", stayer.id);
    await mover.ok(`roomChange ${to}`);
    const leave = await stayer.notice("leave", mover.id);
    expect(leave).toMatchObject({ room: from, event: "leave", message: "I have left the room" });
    expect(await fromListener.notice("leave", mover.id)).toEqual(leave);
    const join = await waiter.notice("join", mover.id);
    expect(join).toMatchObject({ room: to, event: "join", message: "I have entered the room" });
    expect(await toListener.notice("join", mover.id)).toEqual(join);
    await stayer.expectNothing((frame) => isChat(frame) && frame.room === to, 100);
    await waiter.expectNothing((frame) => isChat(frame) && frame.room === from, 0);
    expect(mover.log.filter(isChat).filter((frame) => frame.from === mover.id)).toEqual([]);
  });

  it("roomChange to the current room: OK {room}, no notices, no seq used", async () => {
    const room = uniqueRoom("same");
    const mover = await connect(room);
    const other = await connect(room);
    await mover.notice("join", other.id);
    const first = (await mover.ok("say before")) as Frame;
    expect(await mover.request(`roomChange ${room}`)).toMatchObject({ status: "OK", data: { room } });
    expect(await mover.ok({ event: "roomChange", room })).toEqual({ room, seq: expect.any(Number), epoch: expect.any(String) });
    const second = (await mover.ok("say after")) as Frame;
    expect(second.seq).toBe(first.seq + 1);
    await other.chatWith("after");
    expect(other.log.filter((frame) => isChat(frame) && frame.event !== undefined)).toEqual([]);
    expect(await other.ok("roomView")).toMatchObject({ membersCount: 2 });
  });
});

describe("at-most-once delivery", () => {
  it("a connection that is both member and listener of a room receives each broadcast once", async () => {
    const room = uniqueRoom("once");
    const both = await connect(room);
    expect(await both.ok(`listenToRoom ${room}`)).toEqual({ room, seq: expect.any(Number), epoch: expect.any(String) });
    const viaOther = await connectVia(uniqueRoom("once-host"), room);
    await viaOther.ok(`listenToRoom ${room}`);
    const sender = await connect(room);
    const joinSeq = (await both.notice("join", sender.id)).seq;
    const said = (await sender.ok("say only once")) as Frame;
    const server = await broadcast(room, { message: "server once" });
    expect(server.body.delivered).toBe(3); // both, viaOther and sender, each once
    const last = server.body.seq as number;
    for (const client of [both, viaOther]) {
      await client.chat((frame) => frame.seq === last);
      const got = client.log.filter((frame): frame is Frame => isChat(frame) && frame.seq >= joinSeq);
      expect(got.map((frame) => frame.seq)).toEqual([joinSeq, said.seq, last]);
    }
    expect(server.body.seq).toBe(said.seq + 1);
    expect(sender.log.filter((frame) => isChat(frame) && frame.from === SERVER_NAME)).toHaveLength(1);
  });
});
