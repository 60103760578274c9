/**
 * Lifetime (spec section 8) when the objects themselves restart under open sockets: every socket
 * is cut without a close handshake from the client, and no room may keep listing the connections
 * that are gone. In its own file because it aborts every object of the file's runtime.
 */
import { abortAllDurableObjects } from "cloudflare:test";
import { expect, it } from "vitest";
import { broadcast, connect, roomStatus, sendMessage, uniqueRoom } from "./support.js";

it("after every object restarts under open sockets, no room lists or delivers to the connections that are gone", async () => {
  const room = uniqueRoom("restart");
  const listened = uniqueRoom("restart-l");
  const local = await connect(room);
  const remote = await connect(uniqueRoom("restart-host"));
  await remote.ok(`roomChange ${room}`);
  await remote.ok(`listenToRoom ${listened}`);
  const before = (await roomStatus(room)).body;
  expect([...before.members].sort()).toEqual([local.id, remote.id].sort());

  await abortAllDurableObjects();
  await local.waitClosed();
  await remote.waitClosed();

  // A newcomer's view never lists the vanished connections.
  const newcomer = await connect(room);
  const view = await newcomer.ok("roomView");
  expect(view).toEqual({ room, members: [newcomer.id], membersCount: 1 });
  expect((await roomStatus(room)).body).toEqual({ room, members: [newcomer.id], membersCount: 1 });
  // Nothing is delivered to them any more, in the room or the listened room.
  expect((await broadcast(room, { message: "who is here" })).body.delivered).toBe(1);
  expect((await broadcast(listened, { message: "anyone" })).body.delivered).toBe(0);
  expect((await sendMessage(local.id, { message: "x" })).status).toBe(404);
  expect((await sendMessage(remote.id, { message: "x" })).status).toBe(404);
});
