/**
 * Match filters (spec section 5 and "Broadcasts and filters" in 10): roomMatchKey/roomMatchValue
 * from params or a JSON say, matched against a recipient's id, current room and server-trusted
 * attributes, never against client params.
 */
import { describe, expect, it } from "vitest";
import { connectVia, broadcast, connect, isChat, setAttributes, uniqueRoom, type Client, type Frame } from "./support.js";

async function withAttributes(client: Client, attributes: Frame): Promise<Client> {
  const result = await setAttributes(client.id, attributes);
  expect(result.status).toBe(200);
  return client;
}

/** Says `text` and returns its seq; then checks exactly `expected` (of `candidates`) received it. */
async function sayAndCheck(sender: Client, say: string | Frame, text: unknown, candidates: Client[], expected: Client[]): Promise<number> {
  const seq = ((await sender.ok(say)) as Frame).seq as number;
  await expectOnly(seq, text, candidates, expected);
  return seq;
}

async function expectOnly(seq: number, text: unknown, candidates: Client[], expected: Client[]): Promise<void> {
  for (const client of expected) {
    const heard = await client.chat((frame) => frame.seq === seq);
    expect(heard.message).toEqual(text);
  }
  const others = candidates.filter((client) => !expected.includes(client));
  for (const [index, client] of others.entries()) {
    await client.expectNothing((frame) => isChat(frame) && frame.seq === seq, index === 0 ? 300 : 0);
  }
}

describe("filters on say", () => {
  it("roomMatchKey=id, roomMatchValue=<id> reaches exactly one connection", async () => {
    const room = uniqueRoom("f-id");
    const sender = await connect(room);
    const target = await connectVia(uniqueRoom("f-id-host"), room);
    const other = await connect(room);
    const listener = await connect(uniqueRoom("f-id-l"));
    await listener.ok(`listenToRoom ${room}`);
    const everyone = [target, other, listener];
    await sender.ok("paramAdd roomMatchKey=id");
    await sender.ok(`paramAdd roomMatchValue=${target.id}`);
    await sayAndCheck(sender, "say just for you", "just for you", everyone, [target]);
    // The listener can be targeted too.
    await sender.ok(`paramAdd roomMatchValue ${listener.id}`);
    await sayAndCheck(sender, "say listener only", "listener only", everyone, [listener]);
  });

  it("matches server-trusted attributes set with PATCH /api/connections/:id/attributes", async () => {
    const room = uniqueRoom("f-team");
    const sender = await connect(room);
    const a1 = await withAttributes(await connect(room), { team: "team_a" });
    const a2 = await withAttributes(await connectVia(uniqueRoom("f-team-host"), room), { team: "team_a" });
    const b = await withAttributes(await connect(room), { team: "team_b" });
    const none = await connect(room);
    const listenerA = await withAttributes(await connect(uniqueRoom("f-team-l")), { team: "team_a" });
    await listenerA.ok(`listenToRoom ${room}`);
    const everyone = [a1, a2, b, none, listenerA];
    await sender.ok("paramAdd roomMatchKey=team");
    await sender.ok("paramAdd roomMatchValue=team_a");
    await sayAndCheck(sender, "say team a", "team a", everyone, [a1, a2, listenerA]);
    await sender.ok("paramAdd roomMatchValue=team_b");
    await sayAndCheck(sender, "say team b", "team b", everyone, [b]);
    // Attributes change at once; null deletes.
    await withAttributes(a1, { team: "team_b" });
    await withAttributes(b, { team: null });
    await sayAndCheck(sender, "say team b again", "team b again", everyone, [a1]);
  });

  it("a client param can never satisfy a filter: paramAdd auth true does not make a connection auth=true", async () => {
    const room = uniqueRoom("f-auth");
    const sender = await connect(room);
    const pretender = await connect(room);
    await pretender.ok("paramAdd auth true");
    await pretender.ok("paramAdd team=team_a");
    const trusted = await withAttributes(await connect(room), { auth: "true" });
    const everyone = [pretender, trusted];
    await sender.ok({ event: "paramAdd", key: "roomMatchKey", value: "auth" });
    await sender.ok({ event: "paramAdd", key: "roomMatchValue", value: "true" });
    await sayAndCheck(sender, "say members only", "members only", everyone, [trusted]);
    await sayAndCheck(sender, { event: "say", message: "team only", roomMatchKey: "team", roomMatchValue: "team_a" }, "team only", everyone, []);
    const server = await broadcast(room, { message: "server auth", roomMatchKey: "auth", roomMatchValue: "true" });
    expect(server.body.delivered).toBe(1);
    await expectOnly(server.body.seq, "server auth", everyone, [trusted]);
  });

  it("a JSON say overrides each of the two params on its own", async () => {
    const room = uniqueRoom("f-override");
    const sender = await connect(room);
    const teamA = await withAttributes(await connect(room), { team: "team_a" });
    const teamB = await withAttributes(await connect(room), { team: "team_b" });
    const squadA = await withAttributes(await connect(room), { squad: "team_a" });
    const everyone = [teamA, teamB, squadA];
    await sender.ok("paramAdd roomMatchKey=team");
    await sender.ok("paramAdd roomMatchValue=team_a");
    // Value overridden, key from the params: team=team_b.
    await sayAndCheck(sender, { event: "say", message: "v", roomMatchValue: "team_b" }, "v", everyone, [teamB]);
    // Key overridden, value from the params: squad=team_a.
    await sayAndCheck(sender, { event: "say", message: "k", roomMatchKey: "squad" }, "k", everyone, [squadA]);
    // Both overridden.
    await sayAndCheck(sender, { event: "say", message: "kv", roomMatchKey: "id", roomMatchValue: teamA.id }, "kv", everyone, [teamA]);
    // Neither: the params apply.
    await sayAndCheck(sender, { event: "say", message: "params" }, "params", everyone, [teamA]);
  });

  it("applies only when both key and value are set", async () => {
    const room = uniqueRoom("f-both");
    const sender = await connect(room);
    const a = await withAttributes(await connect(room), { team: "team_a" });
    const b = await connect(room);
    const everyone = [a, b];
    await sender.ok("paramAdd roomMatchKey=team");
    await sayAndCheck(sender, "say key only", "key only", everyone, [a, b]);
    await sender.ok("paramsDelete");
    await sender.ok("paramAdd roomMatchValue=team_a");
    await sayAndCheck(sender, "say value only", "value only", everyone, [a, b]);
    await sayAndCheck(sender, { event: "say", message: "json value only" }, "json value only", everyone, [a, b]);
    await sender.ok("paramsDelete");
    await sayAndCheck(sender, { event: "say", message: "json key only", roomMatchKey: "team" }, "json key only", everyone, [a, b]);
    await sayAndCheck(sender, { event: "say", message: "json value alone", roomMatchValue: "team_a" }, "json value alone", everyone, [a, b]);
    await sayAndCheck(sender, { event: "say", message: "json both", roomMatchKey: "team", roomMatchValue: "team_a" }, "json both", everyone, [a]);
    // Deleting one param turns the filter off again.
    await sender.ok("paramAdd roomMatchKey=team");
    await sender.ok("paramAdd roomMatchValue=team_a");
    await sayAndCheck(sender, "say filtered", "filtered", everyone, [a]);
    await sender.ok("paramDelete roomMatchValue");
    await sayAndCheck(sender, "say open again", "open again", everyone, [a, b]);
  });

  it("field room is the recipient's current room: a listener matches its own room, not the listened one", async () => {
    const room = uniqueRoom("f-room");
    const home = uniqueRoom("f-room-home");
    const sender = await connect(room);
    const member = await connectVia(uniqueRoom("f-room-host"), room);
    const listener = await connect(home);
    await listener.ok(`listenToRoom ${room}`);
    const everyone = [member, listener];
    await sayAndCheck(sender, { event: "say", message: "members", roomMatchKey: "room", roomMatchValue: room }, "members", everyone, [member]);
    await sayAndCheck(sender, { event: "say", message: "home", roomMatchKey: "room", roomMatchValue: home }, "home", everyone, [listener]);
    // After the listener moves into the room, it matches it.
    await listener.ok(`roomChange ${room}`);
    await member.notice("join", listener.id);
    await sayAndCheck(sender, { event: "say", message: "now both", roomMatchKey: "room", roomMatchValue: room }, "now both", everyone, [member, listener]);
  });

  it("a missing recipient field never matches, whatever the value", async () => {
    const room = uniqueRoom("f-missing");
    const sender = await connect(room);
    const without = await connect(room);
    const emptyTeam = await withAttributes(await connect(room), { team: "" });
    const everyone = [without, emptyTeam];
    for (const value of ["undefined", "null", ""]) {
      const expected = value === "" ? [emptyTeam] : [];
      await sayAndCheck(sender, { event: "say", message: `v=${value}`, roomMatchKey: "team", roomMatchValue: value }, `v=${value}`, everyone, expected);
    }
    await sayAndCheck(sender, { event: "say", message: "no such field", roomMatchKey: "nothing", roomMatchValue: "x" }, "no such field", everyone, []);
    // Inherited object properties are not fields either.
    await sayAndCheck(
      sender,
      { event: "say", message: "proto", roomMatchKey: "constructor", roomMatchValue: "function Object() { [native code] }" },
      "proto",
      everyone,
      [],
    );
  });

  it("compares values with String(): a JSON number or boolean value matches the attribute text", async () => {
    const room = uniqueRoom("f-string");
    const sender = await connect(room);
    const level = await withAttributes(await connect(room), { level: "42", auth: "true" });
    const other = await withAttributes(await connect(room), { level: "420", auth: "false" });
    const everyone = [level, other];
    await sayAndCheck(sender, { event: "say", message: "num", roomMatchKey: "level", roomMatchValue: 42 }, "num", everyone, [level]);
    await sayAndCheck(sender, { event: "say", message: "bool", roomMatchKey: "auth", roomMatchValue: true }, "bool", everyone, [level]);
  });
});

describe("filters on server broadcasts and notices", () => {
  it("a server broadcast with a filter reaches matching members and listeners; delivered counts them", async () => {
    const room = uniqueRoom("f-server");
    const a = await withAttributes(await connect(room), { team: "team_a" });
    const aRemote = await withAttributes(await connectVia(uniqueRoom("f-server-host"), room), { team: "team_a" });
    const b = await withAttributes(await connect(room), { team: "team_b" });
    const listenerA = await withAttributes(await connect(uniqueRoom("f-server-l")), { team: "team_a" });
    await listenerA.ok(`listenToRoom ${room}`);
    const everyone = [a, aRemote, b, listenerA];
    const teamA = await broadcast(room, { message: { to: "a" }, roomMatchKey: "team", roomMatchValue: "team_a" });
    expect(teamA.body).toMatchObject({ room, delivered: 3 });
    await expectOnly(teamA.body.seq, { to: "a" }, everyone, [a, aRemote, listenerA]);
    const one = await broadcast(room, { message: "one", roomMatchKey: "id", roomMatchValue: aRemote.id });
    expect(one.body).toEqual({ room, seq: teamA.body.seq + 1, delivered: 1 });
    await expectOnly(one.body.seq, "one", everyone, [aRemote]);
    const keyOnly = await broadcast(room, { message: "all", roomMatchKey: "team" });
    expect(keyOnly.body.delivered).toBe(4);
    await expectOnly(keyOnly.body.seq, "all", everyone, everyone);
    const nobody = await broadcast(room, { message: "nobody", roomMatchKey: "team", roomMatchValue: "team_z" });
    expect(nobody.body).toEqual({ room, seq: keyOnly.body.seq + 1, delivered: 0 });
  });

  it("join and leave notices are filtered by the joiner's params at that moment", async () => {
    const from = uniqueRoom("f-notice-from");
    const to = uniqueRoom("f-notice-to");
    const joiner = await connect(from);
    const fromA = await withAttributes(await connect(from), { team: "team_a" });
    const fromB = await withAttributes(await connect(from), { team: "team_b" });
    const toA = await withAttributes(await connectVia(uniqueRoom("f-notice-host"), to), { team: "team_a" });
    const toB = await withAttributes(await connect(to), { team: "team_b" });
    const toListenerA = await withAttributes(await connect(uniqueRoom("f-notice-l")), { team: "team_a" });
    await toListenerA.ok(`listenToRoom ${to}`);
    const toListenerB = await withAttributes(await connect(uniqueRoom("f-notice-l")), { team: "team_b" });
    await toListenerB.ok(`listenToRoom ${to}`);
    await joiner.ok("paramAdd roomMatchKey=team");
    await joiner.ok("paramAdd roomMatchValue=team_a");
    await joiner.ok(`roomChange ${to}`);
    const leave = await fromA.notice("leave", joiner.id);
    expect(leave).toMatchObject({ event: "leave", room: from });
    const join = await toA.notice("join", joiner.id);
    expect(join).toMatchObject({ event: "join", room: to });
    expect(await toListenerA.notice("join", joiner.id)).toEqual(join);
    await fromB.expectNothing((frame) => isChat(frame) && frame.from === joiner.id);
    await toB.expectNothing((frame) => isChat(frame) && frame.from === joiner.id, 0);
    await toListenerB.expectNothing((frame) => isChat(frame) && frame.from === joiner.id, 0);

    // The params at the moment of leaving count: now only team_b hears the disconnect.
    await joiner.ok("paramAdd roomMatchValue=team_b");
    joiner.close();
    await toB.notice("leave", joiner.id);
    await toListenerB.notice("leave", joiner.id);
    await toA.expectNothing((frame) => isChat(frame) && frame.event === "leave" && frame.from === joiner.id);
    await toListenerA.expectNothing((frame) => isChat(frame) && frame.event === "leave" && frame.from === joiner.id, 0);
  });
});
