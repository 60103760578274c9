import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { workerBundle } from "../../scripts/bundles.mjs";
import { FIXTURE_ADMIN_TOKEN } from "../fixtures/hooks/constants.js";
import { runBundledWorker, type FixtureWorker } from "../fixtures/runWorker.js";
import { TestSocket, type Message } from "../support/wsClient.js";

/**
 * Every hook of the library, from a fixture Worker (test/fixtures/hooks/worker.ts) whose ChatRoom
 * subclass overrides them all, bound under its own names, with settings passed in code, chat and
 * the admin API under their own prefixes; in workerd over real sockets. Hooks that throw must
 * answer in the protocol's shape or be logged, change nothing, and leave the room working.
 */

let worker: FixtureWorker;

beforeAll(async () => {
  const bundled = await build({ ...workerBundle(), entryPoints: ["test/fixtures/hooks/worker.ts"] });
  worker = await runBundledWorker(bundled.outputFiles[0].text, {
    name: "hooks",
    compatibilityDate: "2026-04-20",
    durableObjects: {
      HOOK_ROOMS: { className: "HookRooms", useSQLite: true },
      HOOK_DIRECTORY: { className: "HookDirectory", useSQLite: true },
    },
    kvNamespaces: ["HOOK_LOG"],
    // The standalone app's environment names, set against the fixture's settings and beside them:
    // with settingsFromEnv false none of them may take effect.
    bindings: {
      MAX_LISTENING: "1",
      MAX_MESSAGE_BYTES: "24",
      WELCOME_MESSAGE: "from the environment",
      DEFAULT_ROOM: "envRoom",
      MAX_PARAMS: "50",
      ADMIN_TOKEN: "env-admin-token",
      SERVER_NAME: "env-server",
    },
  });
});
afterAll(() => worker?.dispose());

// ---- helpers ------------------------------------------------------------------------------

interface Member {
  socket: TestSocket;
  id: string;
  room: string;
  user: string;
}

const headersOf = (user: string, vip = false): Record<string, string> => ({ "X-User": user, ...(vip ? { "X-Vip": "yes" } : {}) });

function chatUrl(query: Record<string, string> = {}): string {
  const search = new URLSearchParams(query).toString();
  return `${worker.wsUrl}/x/chat/connect${search ? `?${search}` : ""}`;
}

async function enter(user: string, room?: string, options: { vip?: boolean; since?: number } = {}): Promise<Member> {
  const query: Record<string, string> = {};
  if (room) query.room = room;
  if (options.since !== undefined) query.since = String(options.since);
  const { socket, id, room: entered } = await TestSocket.connect(chatUrl(query), headersOf(user, options.vip));
  return { socket, id, room: entered, user };
}

/** Enters several users into one room and waits until every earlier member saw every later join. */
async function enterAll(room: string, users: string[]): Promise<Member[]> {
  const members: Member[] = [];
  for (const user of users) {
    const member = await enter(user, room);
    for (const earlier of members) await earlier.socket.nextChat((m) => m.event === "join" && m.from === member.id, 10_000);
    members.push(member);
  }
  return members;
}

const closeAll = (members: Member[]) => members.forEach((member) => member.socket.close());

let roomCount = 0;
const freshRoom = (prefix: string) => `${prefix}${++roomCount}-${Date.now().toString(36)}`;

/** A refused connect: the refusal frame, then the close code. */
async function refusedConnect(url: string, headers: Record<string, string>): Promise<{ first: Message; code: number }> {
  const socket = await TestSocket.open(url, headers);
  const first = (await socket.next()) as Message;
  const { code } = await socket.waitClosed();
  return { first, code };
}

/** An upgrade answered without a WebSocket: its status and body. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.once("open", () => {
      ws.terminate();
      reject(new Error(`${url} was upgraded`));
    });
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once("error", reject);
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits for the runtime's structured error line of a failing hook. */
function loggedHookError(during: string, message: string): Promise<void> {
  return waitFor(() => worker.logs.some((line) => line.includes(`"during":"${during}"`) && line.includes(message)), `a log line for ${during}`);
}

async function members(room: string): Promise<string[]> {
  const answer = await fetch(`${worker.url}/x/status/${room}`);
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { members: string[] }).members;
}

const seqOf = (response: Message) => (response.data as { seq: number }).seq;
const texts = (frames: Message[]) => frames.map((frame) => frame.message);
const chats = (member: Member) => member.socket.received.filter((f): f is Message => typeof f === "object" && f.context === "user" && !f.event);

async function kvKeys(prefix: string): Promise<string[]> {
  const log = await worker.mf.getKVNamespace("HOOK_LOG");
  return (await log.list({ prefix })).keys.map((key) => key.name);
}

// ---- options: settings, bindings, prefixes ------------------------------------------------

describe("options: settings in code, the app's binding names, prefixes", () => {
  it("settings come from the options object and no environment name counts (settingsFromEnv: false)", async () => {
    const socket = await TestSocket.open(chatUrl(), headersOf("ann"));
    const welcome = (await socket.next()) as Message;
    expect(welcome).toMatchObject({ welcome: "the hooks fixture says hi", room: "hall" });
    expect((await socket.request("paramAdd a=1")).status).toBe("OK");
    expect((await socket.request("paramAdd b=2")).status).toBe("OK");
    expect(await socket.request("paramAdd c=3")).toMatchObject({ status: "error", code: "too_many_params" });
    // Settings the options do not name keep their defaults, whatever MAX_LISTENING and MAX_MESSAGE_BYTES say.
    for (const room of [freshRoom("listen-"), freshRoom("listen-")]) {
      expect((await socket.request({ event: "listenToRoom", room })).status).toBe("OK");
    }
    expect((await socket.request({ event: "say", message: "a message well over twenty-four bytes" })).status).toBe("OK");
    socket.close();
  });

  it("chat answers only at its prefix; the admin API only at its own (/ops/), with the settings' admin token", async () => {
    expect(await refusedUpgrade(`${worker.wsUrl}/connect`, headersOf("ann"))).toEqual({ status: 404, body: "fixture: not found" });
    const room = freshRoom("opts-");
    const ann = await enter("ann", room);
    const auth = { Authorization: `Bearer ${FIXTURE_ADMIN_TOKEN}` };

    await waitFor(async () => {
      const listed = await fetch(`${worker.url}/ops/api/rooms`, { headers: auth });
      return listed.status === 200 && ((await listed.json()) as { rooms: { room: string }[] }).rooms.some((r) => r.room === room);
    }, "the room in /ops/api/rooms");
    expect((await fetch(`${worker.url}/ops/api/rooms`, { headers: { Authorization: "Bearer env-admin-token" } })).status).toBe(401);
    for (const path of ["/api/rooms", "/x/chat/api/rooms"]) {
      const answer = await fetch(`${worker.url}${path}`, { headers: auth });
      expect(answer.status, path).toBe(404);
      expect(await answer.text(), path).toBe("fixture: not found");
    }

    const sent = await fetch(`${worker.url}/ops/api/rooms/${room}/broadcast`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ message: "from ops" }),
    });
    expect(sent.status).toBe(200);
    // serverName from the options, not SERVER_NAME.
    expect(await ann.socket.nextChat((m) => !m.event)).toMatchObject({ from: "fixture", message: "from ops" });
    ann.socket.close();
  });

  it("the typed server API (chatRooms(env, options)) reaches the rooms under the app's binding names", async () => {
    const room = freshRoom("typed-");
    const ann = await enter("ann", room);
    const announced = await fetch(`${worker.url}/x/announce/${room}`, { method: "POST", body: JSON.stringify({ message: { text: "typed" } }) });
    expect(await announced.json()).toMatchObject({ room, delivered: 1 });
    expect(await ann.socket.nextChat((m) => !m.event)).toMatchObject({ from: "fixture", message: { text: "typed" } });
    expect(await members(room)).toEqual([ann.id]);
    ann.socket.close();
  });
});

// ---- onBeforeConnect ----------------------------------------------------------------------

describe("onBeforeConnect", () => {
  it("its Response refuses, its grant sets attributes, and one that throws is a logged 500 that breaks nothing", async () => {
    const refused = await refusedUpgrade(chatUrl());
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ error: "who are you?", code: "no_user" });

    const exploded = await refusedUpgrade(chatUrl(), headersOf("boom"));
    expect(exploded.status).toBe(500);
    expect(JSON.parse(exploded.body)).toMatchObject({ code: "internal_error" });
    await loggedHookError("request", "onBeforeConnect exploded");

    const ann = await enter("ann", undefined, { vip: true });
    expect((await ann.socket.request("detailsView")).data).toMatchObject({ attributes: { user: "ann", vip: "yes" } });
    ann.socket.close();
  });
});

// ---- authorizeJoin ------------------------------------------------------------------------

describe("authorizeJoin", () => {
  it("refuses a first room at connect with a refusal frame and close 4403; nobody joined", async () => {
    const room = freshRoom("vip-");
    const { first, code } = await refusedConnect(chatUrl({ room }), headersOf("ann"));
    expect(first).toEqual({ context: "api", status: "error", code: "not_authorized", error: "vip rooms are for vip members" });
    expect(code).toBe(4403);
    expect(await members(room)).toEqual([]);

    const vip = await enter("vic", room, { vip: true });
    expect(vip.room).toBe(room);
    expect(await members(room)).toEqual([vip.id]);
    vip.socket.close();
  });

  it("refuses roomChange and listenToRoom with not_authorized and the hook's reason; the connection stays where it was", async () => {
    const home = freshRoom("home-");
    const vipRoom = freshRoom("vip-");
    const ann = await enter("ann", home);
    expect(await ann.socket.request({ event: "roomChange", room: vipRoom, requestId: 1 })).toMatchObject({
      status: "error",
      code: "not_authorized",
      error: "vip rooms are for vip members",
      requestId: 1,
    });
    expect(await ann.socket.request({ event: "listenToRoom", room: vipRoom })).toMatchObject({ status: "error", code: "not_authorized" });
    expect((await ann.socket.request("detailsView")).data).toMatchObject({ room: home, listening: [] });
    expect(await members(vipRoom)).toEqual([]);
    expect(await members(home)).toEqual([ann.id]);
    ann.socket.close();
  });

  it("sees how the connection enters (kind): a listen-only room refuses connect and roomChange, admits listenToRoom", async () => {
    const stage = freshRoom("stage-");
    expect((await refusedConnect(chatUrl({ room: stage }), headersOf("ann"))).code).toBe(4403);
    const ann = await enter("ann", freshRoom("home-"));
    expect(await ann.socket.request({ event: "roomChange", room: stage })).toMatchObject({ code: "not_authorized", error: "the stage is listen-only" });
    expect(await ann.socket.request({ event: "listenToRoom", room: stage })).toMatchObject({ status: "OK", data: { room: stage } });
    await fetch(`${worker.url}/x/announce/${stage}`, { method: "POST", body: JSON.stringify({ message: "on stage" }) });
    expect(await ann.socket.nextChat((m) => m.room === stage)).toMatchObject({ message: "on stage" });
    ann.socket.close();
  });

  it("one that throws: a first room's upgrade fails with 503 (retryable, logged), roomChange/listenToRoom answer bad_request, nothing changes and the room goes on", async () => {
    const boom = freshRoom("boom-join-");
    // Not the client's fault: the upgrade fails (a client retries it) rather than a final refusal.
    await expect(TestSocket.open(chatUrl({ room: boom }), headersOf("ann"))).rejects.toThrow(/503/);
    await loggedHookError("hook authorizeJoin", "authorizeJoin exploded");

    const home = freshRoom("home-");
    const [ann, bob] = await enterAll(home, ["ann", "bob"]);
    const changed = await ann.socket.request({ event: "roomChange", room: boom });
    expect(changed).toMatchObject({ context: "response", status: "error", code: "bad_request" });
    expect(changed.error).toMatch(/try again/);
    expect(await ann.socket.request({ event: "listenToRoom", room: boom })).toMatchObject({ status: "error", code: "bad_request" });
    expect((await ann.socket.request("detailsView")).data).toMatchObject({ room: home, listening: [] });
    expect(await members(boom)).toEqual([]);
    expect((await members(home)).sort()).toEqual([ann.id, bob.id].sort());
    // The room and the connection keep working both ways.
    expect((await ann.socket.request("say still here")).status).toBe("OK");
    expect(await bob.socket.nextChat((m) => !m.event)).toMatchObject({ from: ann.id, message: "[ann] still here" });
    expect((await bob.socket.request("say me too")).status).toBe("OK");
    expect(await ann.socket.nextChat((m) => !m.event)).toMatchObject({ from: bob.id, message: "[bob] me too" });
    closeAll([ann, bob]);
  });
});

// ---- the app's own refusals and admin rule ------------------------------------------------

describe("onBeforeConnect and authorizeAdmin", () => {
  it("refuseConnect refuses the way edgechat does (a refusal frame and 4403, which clients do not retry)", async () => {
    const { first, code } = await refusedConnect(chatUrl({ room: freshRoom("banned-") }), headersOf("banned"));
    expect(first).toMatchObject({ context: "api", status: "error", code: "not_authorized", error: "banned from chat" });
    expect(code).toBe(4403);
  });

  it("authorizeAdmin replaces the bearer check with the app's rule", async () => {
    const room = freshRoom("staff-");
    const denied = await fetch(`${worker.url}/staff/api/rooms/${room}`);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({ error: "staff only", code: "forbidden" });
    const allowed = await fetch(`${worker.url}/staff/api/rooms/${room}`, { headers: { "X-Staff": "yes" } });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toMatchObject({ room, members: [], membersCount: 0 });
  });
});

// ---- onSay --------------------------------------------------------------------------------

describe("onSay", () => {
  it("rewrites a message, refuses one with its ProtocolError, answers a throw with bad_request; refused ones are never numbered or sent", async () => {
    const room = freshRoom("say-");
    const [ann, bob] = await enterAll(room, ["ann", "bob"]);

    const first = await ann.socket.request("say hello");
    expect(first.status).toBe("OK");
    expect(await bob.socket.nextChat((m) => !m.event)).toMatchObject({ from: ann.id, message: "[ann] hello" });

    expect(await ann.socket.request({ event: "say", message: "a forbidden word", requestId: 5 })).toEqual({
      context: "response",
      status: "error",
      code: "rejected",
      error: "that word is forbidden here",
      messageCount: 2,
      requestId: 5,
    });
    const thrown = await ann.socket.request({ event: "say", message: "throw" });
    expect(thrown).toMatchObject({ status: "error", code: "bad_request", error: "the message could not be checked: try again" });
    await loggedHookError("hook onSay", "onSay exploded");

    const object = await ann.socket.request({ event: "say", message: { n: 1 } });
    expect(seqOf(object)).toBe(seqOf(first) + 1);
    expect(await bob.socket.nextChat((m) => !m.event)).toMatchObject({ message: { n: 1 } });
    expect(texts(chats(bob))).toEqual(["[ann] hello", { n: 1 }]);
    const history = (await bob.socket.request("history")).data as { messages: Message[] };
    expect(texts(history.messages.filter((m) => !m.event))).toEqual(["[ann] hello", { n: 1 }]);
    closeAll([ann, bob]);
  });
});

// ---- shouldDeliver ------------------------------------------------------------------------

describe("shouldDeliver", () => {
  it("decides live delivery with its own rule, and the built-in filter still applies through super", async () => {
    const room = freshRoom("deliver-");
    const [ann, bob, cy] = await enterAll(room, ["ann", "bob", "cy"]);
    expect((await ann.socket.request({ event: "say", message: { to: "bob", text: "psst" } })).status).toBe("OK");
    expect((await ann.socket.request({ event: "say", message: "cy only", roomMatchKey: "user", roomMatchValue: "cy" })).status).toBe("OK");
    expect((await ann.socket.request("say everyone")).status).toBe("OK");
    await bob.socket.nextChat((m) => m.message === "[ann] everyone");
    await cy.socket.nextChat((m) => m.message === "[ann] everyone");
    expect(texts(chats(bob))).toEqual([{ to: "bob", text: "psst" }, "[ann] everyone"]);
    expect(texts(chats(cy))).toEqual(["[ann] cy only", "[ann] everyone"]);
    closeAll([ann, bob, cy]);
  });

  it("runs where each connection is hosted: members that moved in by roomChange (hosted by other objects) follow the same rules", async () => {
    const room = freshRoom("moved-");
    const [cy] = await enterAll(room, ["cy"]);
    const moved: Member[] = [];
    for (const user of ["ann", "bob"]) {
      const member = await enter(user, freshRoom("home-"));
      expect((await member.socket.request({ event: "roomChange", room })).status).toBe("OK");
      for (const watcher of [cy, ...moved]) await watcher.socket.nextChat((m) => m.event === "join" && m.from === member.id && m.room === room);
      moved.push(member);
    }
    const [ann, bob] = moved;
    // ann's say runs onSay on ann's host; delivery to bob runs shouldDeliver on bob's host.
    expect((await ann.socket.request({ event: "say", message: { to: "bob", text: "psst" } })).status).toBe("OK");
    expect((await ann.socket.request("say everyone")).status).toBe("OK");
    await bob.socket.nextChat((m) => m.message === "[ann] everyone");
    await cy.socket.nextChat((m) => m.message === "[ann] everyone");
    expect(texts(chats(bob).filter((m) => m.room === room))).toEqual([{ to: "bob", text: "psst" }, "[ann] everyone"]);
    expect(texts(chats(cy))).toEqual(["[ann] everyone"]);
    const history = (await bob.socket.request("history")).data as { messages: Message[] };
    expect(texts(history.messages.filter((m) => !m.event))).toEqual([{ to: "bob", text: "psst" }, "[ann] everyone"]);
    closeAll([ann, bob, cy]);
  });

  it("the same rule filters a replay (since) and `history`", async () => {
    const room = freshRoom("replay-");
    const [ann] = await enterAll(room, ["ann"]);
    const psst = await ann.socket.request({ event: "say", message: { to: "bob", text: "psst" } });
    await ann.socket.request({ event: "say", message: "cy only", roomMatchKey: "user", roomMatchValue: "cy" });
    const last = await ann.socket.request("say everyone");
    expect(psst.status).toBe("OK");

    const replayed = async (user: string) => {
      const member = await enter(user, room, { since: 0 });
      await member.socket.nextChat((m) => m.seq === seqOf(last));
      const history = (await member.socket.request("history")).data as { messages: Message[] };
      member.socket.close();
      return { live: texts(chats(member)), history: texts(history.messages.filter((m) => !m.event)) };
    };
    const all = [{ to: "bob", text: "psst" }, "[ann] cy only", "[ann] everyone"];
    expect(await replayed("bob")).toEqual({ live: [all[0], all[2]], history: [all[0], all[2]] });
    expect(await replayed("cy")).toEqual({ live: [all[1], all[2]], history: [all[1], all[2]] });
    expect(await replayed("dee")).toEqual({ live: [all[2]], history: [all[2]] });
    ann.socket.close();
  });

  it("one that throws delivers that broadcast to nobody (logged); the room goes on, live, in replay and in history", async () => {
    const room = freshRoom("explode-");
    const [ann, bob] = await enterAll(room, ["ann", "bob"]);
    const exploded = await ann.socket.request({ event: "say", message: { explode: true } });
    expect(exploded.status).toBe("OK");
    const after = await ann.socket.request("say after");
    expect(seqOf(after)).toBe(seqOf(exploded) + 1);
    await bob.socket.nextChat((m) => m.message === "[ann] after");
    expect(texts(chats(bob))).toEqual(["[ann] after"]);
    await loggedHookError("hook shouldDeliver", "shouldDeliver exploded");

    const history = await bob.socket.request("history");
    expect(history.status).toBe("OK");
    expect(texts((history.data as { messages: Message[] }).messages.filter((m) => !m.event))).toEqual(["[ann] after"]);
    const late = await enter("cy", room, { since: 0 });
    await late.socket.nextChat((m) => m.seq === seqOf(after));
    expect(texts(chats(late))).toEqual(["[ann] after"]);
    closeAll([ann, bob, late]);
  });
});

// ---- onJoin, onLeave, onBroadcast ---------------------------------------------------------

describe("onJoin, onLeave, onBroadcast", () => {
  it("run for every join, leave and numbered broadcast (server broadcasts too), with what the room numbered", async () => {
    const room = freshRoom("notes-");
    const [ann, bob] = await enterAll(room, ["ann", "bob"]);
    const said = await ann.socket.request("say noted");
    bob.socket.close();
    await ann.socket.nextChat((m) => m.event === "leave" && m.from === bob.id);
    await fetch(`${worker.url}/x/announce/${room}`, { method: "POST", body: JSON.stringify({ message: "server says" }) });

    const expected = [
      `join:${room}:${ann.id}`,
      `join:${room}:${bob.id}`,
      `leave:${room}:${bob.id}`,
      ...[1, 2, 3, 4, 5].map((seq) => `bcast:${room}:${seq}`),
    ].sort();
    const keys = async () => [...(await kvKeys(`join:${room}:`)), ...(await kvKeys(`leave:${room}:`)), ...(await kvKeys(`bcast:${room}:`))].sort();
    await waitFor(async () => (await keys()).length >= expected.length, "every hook's KV entry");
    expect(await keys()).toEqual(expected);

    const log = await worker.mf.getKVNamespace("HOOK_LOG");
    expect(await log.get(`join:${room}:${ann.id}`)).toMatch(/^s\.[0-9a-f]{32}$/); // the member's session (a secret, never its id)
    expect(seqOf(said)).toBe(3);
    const broadcast = JSON.parse((await log.get(`bcast:${room}:3`)) ?? "null");
    expect(broadcast).toMatchObject({ room, seq: 3, from: ann.id, message: "[ann] noted" });
    expect(typeof broadcast.epoch).toBe("string");
    expect(JSON.parse((await log.get(`bcast:${room}:2`)) ?? "null")).toMatchObject({ from: bob.id, event: "join" });
    expect(JSON.parse((await log.get(`bcast:${room}:5`)) ?? "null")).toMatchObject({ from: "fixture", message: "server says" });
    ann.socket.close();
  });

  it("an onJoin that throws is logged; the join, its notice and the room are untouched", async () => {
    const room = freshRoom("boom-onjoin-");
    const [ann, bob] = await enterAll(room, ["ann", "bob"]); // waits for bob's join notice at ann
    await loggedHookError("hook onJoin", "onJoin exploded");
    expect((await members(room)).sort()).toEqual([ann.id, bob.id].sort());
    expect((await bob.socket.request("say hi")).status).toBe("OK");
    expect(await ann.socket.nextChat((m) => !m.event)).toMatchObject({ from: bob.id, message: "[bob] hi" });
    expect(await kvKeys(`join:${room}:`)).toEqual([]);
    closeAll([ann, bob]);
  });

  it("an onLeave that rejects is logged; the leave, its notice and the room are untouched", async () => {
    const room = freshRoom("boom-onleave-");
    const [ann, bob, cy] = await enterAll(room, ["ann", "bob", "cy"]);
    bob.socket.close();
    await ann.socket.nextChat((m) => m.event === "leave" && m.from === bob.id);
    await loggedHookError("hook onLeave", "onLeave exploded");
    expect((await members(room)).sort()).toEqual([ann.id, cy.id].sort());
    expect((await ann.socket.request("say still on")).status).toBe("OK");
    expect(await cy.socket.nextChat((m) => !m.event)).toMatchObject({ message: "[ann] still on" });
    closeAll([ann, cy]);
  });

  it("an onBroadcast that rejects is logged; the broadcast is numbered, kept and delivered all the same", async () => {
    const room = freshRoom("boom-bcast-");
    const [ann, bob] = await enterAll(room, ["ann", "bob"]);
    const first = await ann.socket.request("say one");
    const second = await ann.socket.request("say two");
    expect(seqOf(second)).toBe(seqOf(first) + 1);
    await bob.socket.nextChat((m) => m.message === "[ann] two");
    expect(texts(chats(bob))).toEqual(["[ann] one", "[ann] two"]);
    await loggedHookError("hook onBroadcast", "onBroadcast exploded");
    const history = (await bob.socket.request("history")).data as { messages: Message[] };
    expect(texts(history.messages.filter((m) => !m.event))).toEqual(["[ann] one", "[ann] two"]);
    expect(await kvKeys(`bcast:${room}:`)).toEqual([]);
    closeAll([ann, bob]);
  });
});
