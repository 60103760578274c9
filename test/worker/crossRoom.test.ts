/**
 * One socket across rooms that live in different objects (spec sections 1, 3, 10): listenToRoom,
 * silenceRoom, roomView of a listened room, roomChange, without reconnecting.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { broadcast, connect, isChat, roomStatus, uniqueRoom, type Frame } from "./support.js";

describe("one connection across rooms in different objects", () => {
  it("listens, views, silences and moves between rooms over one socket", async () => {
    const r1 = uniqueRoom("x1");
    const r2 = uniqueRoom("x2");
    const r3 = uniqueRoom("x3");
    // Each room is its own object.
    const ids = new Set([r1, r2, r3].map((room) => env.ROOMS.idFromName(room).toString()));
    expect(ids.size).toBe(3);

    const traveller = await connect(r1);
    const inR1 = await connect(r1);
    const inR2 = await connect(r2);
    const inR3 = await connect(r3);
    await traveller.notice("join", inR1.id);

    // Listen to r2: its broadcasts arrive, tagged with r2.
    expect(await traveller.ok(`listenToRoom ${r2}`)).toEqual({ room: r2, seq: expect.any(Number), epoch: expect.any(String) });
    const said2 = (await inR2.ok("say in r2")) as Frame;
    expect(await traveller.chatWith("in r2")).toMatchObject({ room: r2, from: inR2.id, seq: said2.seq });
    expect(await traveller.ok(`roomView ${r2}`)).toEqual({ room: r2, members: [inR2.id], membersCount: 1 });

    // Its own say still goes to r1 only.
    await traveller.ok("say from r1");
    expect(await inR1.chatWith("from r1")).toMatchObject({ room: r1, from: traveller.id });
    await inR2.expectNothing((frame) => isChat(frame) && frame.message === "from r1");

    // Move to r3 while still listening to r2.
    expect(await traveller.ok(`roomChange ${r3}`)).toEqual({ room: r3, seq: expect.any(Number), epoch: expect.any(String) });
    await inR1.notice("leave", traveller.id);
    await inR3.notice("join", traveller.id);
    await inR2.ok("say r2 again");
    expect(await traveller.chatWith("r2 again")).toMatchObject({ room: r2 });
    await traveller.ok("say from r3");
    expect(await inR3.chatWith("from r3")).toMatchObject({ room: r3, from: traveller.id });
    await inR1.expectNothing((frame) => isChat(frame) && frame.message === "from r3");
    const sortIds = (view: unknown) => ({ ...(view as Frame), members: [...(view as Frame).members].sort() });
    expect(sortIds(await traveller.ok("roomView"))).toEqual(sortIds({ room: r3, members: [inR3.id, traveller.id], membersCount: 2 }));
    expect(await traveller.request(`roomView ${r1}`)).toMatchObject({ status: "error", code: "not_in_room" });

    // Silence r2: nothing more from it, and it can no longer be viewed.
    expect(await traveller.ok(`silenceRoom ${r2}`)).toEqual({ room: r2 });
    await inR2.ok("say r2 silenced");
    await traveller.expectNothing((frame) => isChat(frame) && frame.room === r2 && frame.message === "r2 silenced");
    expect((await traveller.request(`roomView ${r2}`)).code).toBe("not_in_room");

    // Same socket throughout: one welcome, never closed.
    expect(traveller.closed).toBeUndefined();
    expect(traveller.log.filter((frame) => typeof frame === "object" && frame.welcome !== undefined)).toHaveLength(1);
    expect(((await traveller.ok("detailsView")) as Frame)).toMatchObject({ id: traveller.id, room: r3, listening: [] });
  });

  it("a listener is not counted, not listed, and cannot say into the listened room", async () => {
    const room = uniqueRoom("xl");
    const member = await connect(room);
    const listener = await connect(uniqueRoom("xl-home"));
    await listener.ok(`listenToRoom ${room}`);
    expect(await member.ok("roomView")).toEqual({ room, members: [member.id], membersCount: 1 });
    expect(await listener.ok(`roomView ${room}`)).toEqual({ room, members: [member.id], membersCount: 1 });
    expect((await roomStatus(room)).body).toEqual({ room, members: [member.id], membersCount: 1 });
    // A listener's say goes to its own room, never the listened one.
    const said = (await listener.ok({ event: "say", message: "not for you" })) as Frame;
    expect(said.room).not.toBe(room);
    await member.expectNothing((frame) => isChat(frame) && frame.message === "not for you");
    // Listening does not join: no join notice was sent into the room.
    expect(member.log.filter((frame) => isChat(frame) && frame.from === listener.id)).toEqual([]);
    // Silencing sends no leave notice either.
    await listener.ok(`silenceRoom ${room}`);
    await member.expectNothing((frame) => isChat(frame) && frame.from === listener.id);
  });

  it("listening to the own current room is allowed and delivers once; moving away keeps the listen", async () => {
    const room = uniqueRoom("xself");
    const away = uniqueRoom("xself-away");
    const client = await connect(room);
    const talker = await connect(room);
    await client.notice("join", talker.id);
    expect(await client.ok(`listenToRoom ${room}`)).toEqual({ room, seq: expect.any(Number), epoch: expect.any(String) });
    expect((await client.request(`listenToRoom ${room}`)).code).toBe("already_listening");
    const view = (await client.ok("roomView")) as Frame;
    expect({ ...view, members: [...view.members].sort() }).toEqual({ room, members: [client.id, talker.id].sort(), membersCount: 2 });
    const first = (await talker.ok("say one")) as Frame;
    await client.chat((frame) => frame.seq === first.seq);
    // Move away: still a listener of the room, no longer a member.
    await client.ok(`roomChange ${away}`);
    expect(await talker.notice("leave", client.id)).toMatchObject({ room });
    expect(await talker.ok("roomView")).toEqual({ room, members: [talker.id], membersCount: 1 });
    const second = (await talker.ok("say two")) as Frame;
    expect(await client.chat((frame) => frame.seq === second.seq)).toMatchObject({ room, message: "two" });
    // And back: member and listener again, still once per broadcast.
    await client.ok(`roomChange ${room}`);
    await talker.notice("join", client.id);
    const third = (await talker.ok("say three")) as Frame;
    await client.chat((frame) => frame.seq === third.seq);
    const server = await broadcast(room, { message: "server" });
    await client.chat((frame) => frame.seq === server.body.seq);
    await client.expectNothing(isChat, 200);
    const seqs = client.log.filter((frame): frame is Frame => isChat(frame) && frame.room === room).map((frame) => frame.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(((await client.ok("detailsView")) as Frame).listening).toEqual([room]);
  });

  it("roomView of a listened room lists members hosted by several objects", async () => {
    const room = uniqueRoom("xview");
    const a = await connect(room);
    const b = await connect(uniqueRoom("xview-b"));
    await b.ok(`roomChange ${room}`);
    const c = await connect(uniqueRoom("xview-c"));
    await c.ok(`roomChange ${room}`);
    const viewer = await connect(uniqueRoom("xview-v"));
    await viewer.ok({ event: "listenToRoom", room });
    const view = (await viewer.ok({ event: "roomView", room })) as Frame;
    expect(view.room).toBe(room);
    expect(view.membersCount).toBe(3);
    expect([...view.members].sort()).toEqual([a.id, b.id, c.id].sort());
  });

  it("listening rooms are kept in the order added, in detailsView", async () => {
    const client = await connect(uniqueRoom("xorder"));
    const rooms = [uniqueRoom("xo-c"), uniqueRoom("xo-a"), uniqueRoom("xo-b")];
    for (const room of rooms) await client.ok(`listenToRoom ${room}`);
    expect(((await client.ok("detailsView")) as Frame).listening).toEqual(rooms);
    await client.ok(`silenceRoom ${rooms[1]}`);
    await client.ok(`listenToRoom ${rooms[1]}`);
    expect(((await client.ok("detailsView")) as Frame).listening).toEqual([rooms[0], rooms[2], rooms[1]]);
  });

  it("a listener of several rooms gets each room's broadcasts tagged with that room", async () => {
    const rooms = [uniqueRoom("xm-1"), uniqueRoom("xm-2"), uniqueRoom("xm-3")];
    const listener = await connect(uniqueRoom("xm-home"));
    for (const room of rooms) await listener.ok(`listenToRoom ${room}`);
    const results = await Promise.all(rooms.map((room) => broadcast(room, { message: `to ${room}` })));
    for (const [index, room] of rooms.entries()) {
      expect(results[index].body).toEqual({ room, seq: 1, delivered: 1 });
      expect(await listener.chatWith(`to ${room}`)).toMatchObject({ room, seq: 1, from: "edgechat" });
    }
  });
});
