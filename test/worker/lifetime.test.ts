/**
 * Lifetime (spec section 8): a disconnect, clean or not, takes the connection out of its room
 * (leave notice) and every room it listens to; no room lists a gone connection; room and
 * connection state survive the room objects hibernating.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  connectVia,
  broadcast,
  connect,
  isChat,
  roomStatus,
  roomStub,
  sendMessage,
  setAttributes,
  sleep,
  uniqueRoom,
  type Client,
  type Frame,
} from "./support.js";

/** A connection in `room`, hosted by another object, listening to two more rooms. */
async function busyConnection(room: string, listened: string[]): Promise<Client> {
  const client = await connectVia(uniqueRoom("life-host"), room);
  for (const other of listened) await client.ok(`listenToRoom ${other}`);
  return client;
}

/** Checks a gone connection is in no room: no leave owed, not listed, not counted, not delivered to. */
async function expectGone(gone: Client, room: string, listened: string[], watchers: Client[]): Promise<void> {
  for (const watcher of watchers) {
    const leave = await watcher.notice("leave", gone.id);
    expect(leave).toMatchObject({ room, event: "leave", message: "I have left the room" });
  }
  const status = await roomStatus(room);
  expect(status.body.members).not.toContain(gone.id);
  for (const watcher of watchers) {
    const view = (await watcher.ok("roomView")) as Frame;
    expect(view.members).not.toContain(gone.id);
    expect(view.membersCount).toBe(view.members.length);
  }
  // Listened rooms no longer deliver to it: nobody else is there, so delivered is 0.
  for (const other of listened) expect((await broadcast(other, { message: "anyone?" })).body.delivered).toBe(0);
  // And the room itself only counts the watchers.
  expect((await broadcast(room, { message: "still here" })).body.delivered).toBe(watchers.length);
  expect((await sendMessage(gone.id, { message: "x" })).status).toBe(404);
}

describe("disconnect", () => {
  it("a clean close (1000) leaves the room with a notice and stops every listen", async () => {
    const room = uniqueRoom("life-clean");
    const listened = [uniqueRoom("life-clean-l1"), uniqueRoom("life-clean-l2")];
    const local = await connect(room);
    const remote = await connectVia(uniqueRoom("life-clean-w"), room);
    const leaver = await busyConnection(room, listened);
    await local.notice("join", leaver.id);
    await remote.notice("join", leaver.id);
    expect((await broadcast(listened[0], { message: "before" })).body.delivered).toBe(1);
    leaver.close(1000, "bye");
    await expectGone(leaver, room, listened, [local, remote]);
  });

  it("a close with another code (going away, app code) does the same", async () => {
    for (const code of [1001, 4000]) {
      const room = uniqueRoom("life-code");
      const listened = [uniqueRoom("life-code-l")];
      const watcher = await connect(room);
      const leaver = await busyConnection(room, listened);
      await watcher.notice("join", leaver.id);
      leaver.close(code, "going");
      await expectGone(leaver, room, listened, [watcher]);
    }
  });

  it("quit does the same", async () => {
    const room = uniqueRoom("life-quit");
    const listened = [uniqueRoom("life-quit-l")];
    const watcher = await connect(room);
    const leaver = await busyConnection(room, listened);
    await watcher.notice("join", leaver.id);
    leaver.send("quit");
    await leaver.waitClosed();
    await expectGone(leaver, room, listened, [watcher]);
  });

  it("an abrupt disconnect (the runtime reports an error or an abnormal close 1006) does the same", async () => {
    for (const how of ["error", "close1006"] as const) {
      const room = uniqueRoom(`life-abrupt-${how}`);
      const listened = [uniqueRoom("life-abrupt-l1"), uniqueRoom("life-abrupt-l2")];
      const watcher = await connect(room);
      const leaver = await busyConnection(room, listened);
      await watcher.notice("join", leaver.id);
      // workerd gives no way to cut a test socket without a close frame, so the test delivers the
      // runtime's own callbacks for a vanished peer to the object hosting the socket.
      await runInDurableObject(leaver.hostStub, async (instance, state) => {
        const ws = state.getWebSockets().find((socket) => (socket.deserializeAttachment() as { id?: string } | null)?.id === leaver.id);
        expect(ws).toBeDefined();
        if (how === "error") await instance.webSocketError(ws!);
        else await instance.webSocketClose(ws!, 1006, "");
      });
      await expectGone(leaver, room, listened, [watcher]);
    }
  });

  it("a member hosted by the room's own object leaving is seen by members hosted elsewhere", async () => {
    const room = uniqueRoom("life-local");
    const leaver = await connect(room);
    const remote = await connectVia(uniqueRoom("life-local-w"), room);
    await leaver.notice("join", remote.id);
    leaver.close();
    await expectGone(leaver, room, [], [remote]);
  });

  it("a disconnect while requests are still queued: they finish or are dropped, and the room is left", async () => {
    const room = uniqueRoom("life-busy");
    const watcher = await connect(room);
    const leaver = await connectVia(uniqueRoom("life-busy-host"), room);
    await watcher.notice("join", leaver.id);
    const away = uniqueRoom("life-busy-away");
    leaver.send(`listenToRoom ${away}`);
    leaver.send("say last words");
    leaver.close();
    await expectGone(leaver, room, [away], [watcher]);
    expect((await roomStatus(away)).body.members).toEqual([]);
  });
});

describe("hibernation", () => {
  it(
    "members, listeners, params, attributes, messageCount, seq and filters survive the objects being evicted",
    async () => {
      const room = uniqueRoom("hib");
      const local = await connect(room); // hosted by the room's object
      const remote = await connectVia(uniqueRoom("hib-host"), room); // hosted by another object
      const listenerHome = uniqueRoom("hib-l");
      const listener = await connect(listenerHome); // a listener hosted by a third object
      await listener.ok(`listenToRoom ${room}`);
      await local.notice("join", remote.id);
      await remote.ok("paramAdd roomMatchKey=team");
      await remote.ok("paramAdd roomMatchValue=team_a");
      await listener.ok("paramAdd auth=true"); // a client param: must never match
      expect((await setAttributes(listener.id, { team: "team_a" })).status).toBe(200);
      expect((await setAttributes(local.id, { team: "team_b", level: "2" })).status).toBe(200);
      const before = (await local.ok("say before sleeping")) as Frame;
      await remote.chat((frame) => frame.seq === before.seq);
      await listener.chat((frame) => frame.seq === before.seq);
      const detailsBefore = await Promise.all([local, remote, listener].map(async (client) => (await client.request("detailsView")) as Frame));
      const statusBefore = (await roomStatus(room)).body;

      // Mark the live instances, then leave everything idle (sockets open, no traffic) past the
      // ~10 s after which local workerd evicts an idle object.
      const stubs = [roomStub(room), remote.hostStub, listener.hostStub];
      const marker = `marker-${Math.random()}`;
      for (const stub of stubs) {
        await runInDurableObject(stub, (instance) => {
          (instance as unknown as Record<string, unknown>).__testMarker = marker;
        });
      }
      await sleep(13_000);
      for (const client of [local, remote, listener]) expect(client.closed).toBeUndefined();
      const markers = [];
      for (const stub of stubs) {
        markers.push(await runInDurableObject(stub, (instance) => (instance as unknown as Record<string, unknown>).__testMarker));
      }
      // Every object was re-constructed: the fields of the old instances are gone.
      expect(markers).toEqual([undefined, undefined, undefined]);

      // The keep-alive still answers.
      listener.send("ping");
      expect(await listener.next((frame) => frame === "pong")).toBe("pong");

      // Connection state: the same details, with messageCount carrying on.
      for (const [index, client] of [local, remote, listener].entries()) {
        const after = (await client.request("detailsView")) as Frame;
        expect(after.messageCount).toBe(detailsBefore[index].messageCount + 1);
        expect(after.data).toEqual({ ...detailsBefore[index].data, messageCount: detailsBefore[index].data.messageCount + 1 });
      }
      expect(((await listener.ok("detailsView")) as Frame).listening).toEqual([room]);
      expect(await remote.ok("paramsView")).toEqual({ roomMatchKey: "team", roomMatchValue: "team_a" });

      // Room state: members (not the listener), and seq continuing from where it was.
      const statusAfter = (await roomStatus(room)).body;
      expect({ ...statusAfter, members: [...statusAfter.members].sort() }).toEqual({ ...statusBefore, members: [...statusBefore.members].sort() });
      expect(statusAfter.membersCount).toBe(2);
      const after = (await local.ok("say awake")) as Frame;
      expect(after.seq).toBe(before.seq + 1);
      expect(await remote.chat((frame) => frame.seq === after.seq)).toMatchObject({ message: "awake", room });
      expect(await listener.chat((frame) => frame.seq === after.seq)).toMatchObject({ message: "awake", room });

      // Filters: remote's params (team=team_a) reach the listener's attribute only.
      const filtered = (await remote.ok("say team a only")) as Frame;
      expect(filtered.seq).toBe(after.seq + 1);
      expect(await listener.chat((frame) => frame.seq === filtered.seq)).toMatchObject({ message: "team a only" });
      await local.expectNothing((frame) => isChat(frame) && frame.seq === filtered.seq);
      // A client param still matches nothing; an attribute still does.
      const auth = await broadcast(room, { message: "auth only", roomMatchKey: "auth", roomMatchValue: "true" });
      expect(auth.body).toEqual({ room, seq: filtered.seq + 1, delivered: 0 });
      const level = await broadcast(room, { message: "level 2", roomMatchKey: "level", roomMatchValue: "2" });
      expect(level.body).toEqual({ room, seq: filtered.seq + 2, delivered: 1 });
      expect(await local.chat((frame) => frame.seq === level.body.seq)).toMatchObject({ message: "level 2" });

      // Direct messages and attribute changes still find the sockets.
      expect((await sendMessage(remote.id, { message: { hello: "again" } })).status).toBe(200);
      expect(await remote.next((frame) => typeof frame === "object" && frame.hello === "again")).toEqual({ context: "user", hello: "again", event: "direct" });

      // Leaving still works: a notice to the others, and the listen ends.
      // (remote's leave notice is filtered by its params, team=team_a: the listener gets it, local not.)
      remote.close();
      expect(await listener.notice("leave", remote.id)).toMatchObject({ room, seq: level.body.seq + 1 });
      await local.expectNothing((frame) => isChat(frame) && frame.from === remote.id);
      expect((await local.ok("roomView")) as Frame).toEqual({ room, members: [local.id], membersCount: 1 });
      listener.close();
      await local.expectNothing((frame) => isChat(frame) && frame.from === listener.id);
      await expect.poll(async () => (await broadcast(room, { message: "last" })).body.delivered).toBe(1);
    },
    40_000,
  );
});
