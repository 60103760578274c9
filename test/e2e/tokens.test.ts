import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  api,
  handBuiltToken,
  hourFromNow,
  hs256Token,
  hs512Token,
  isChat,
  rs256Token,
  uniqueRoom,
  WsChatClient,
} from "../support/hostile.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket, type Message } from "../support/wsClient.js";

/** Tokens and private rooms (spec section 6 and the matching part of section 10). */

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker();
});
afterAll(() => worker?.dispose());

async function privateRoom(): Promise<string> {
  const answer = await api(worker, "POST", "/api/private-rooms");
  expect(answer.status).toBe(200);
  return answer.body.room as string;
}

/** Connects with ?token= / ?room= and expects a refusal message and a close code. */
async function expectRefused(query: Record<string, string>, code: string, closeCode: number): Promise<void> {
  const socket = await TestSocket.open(`${worker.wsUrl}/connect?${new URLSearchParams(query)}`);
  const first = (await socket.next()) as Message;
  expect(first).toMatchObject({ context: "api", status: "error", code });
  expect(typeof first.error).toBe("string");
  expect(first.id).toBeUndefined();
  expect((await socket.waitClosed()).code).toBe(closeCode);
}

/** Bad tokens, each with the room it would grant (so a grant leaking through would show). */
async function badTokens(room: string): Promise<[string, string][]> {
  const claims = { rooms: [room], attributes: { team: "red" } };
  const now = Math.floor(Date.now() / 1000);
  return [
    ["expired (exp in the past)", await hs256Token({ ...claims, exp: now - 60 })],
    ["expired (now >= exp: exp is this very second)", await hs256Token({ ...claims, exp: now })],
    ["forged signature (another secret)", await hs256Token(claims, "not-the-secret")],
    ["forged signature (payload changed after signing)", tamper(await hs256Token({ rooms: ["lobby"] }), { ...claims, exp: hourFromNow() })],
    ['alg "none" without signature', handBuiltToken({ alg: "none", typ: "JWT" }, { ...claims, exp: hourFromNow() }, "none")],
    ['alg "none" with a valid HS256 signature', handBuiltToken({ alg: "none", typ: "JWT" }, { ...claims, exp: hourFromNow() })],
    ['alg "hs256" (not exactly HS256)', handBuiltToken({ alg: "hs256", typ: "JWT" }, { ...claims, exp: hourFromNow() })],
    ["alg HS512 with the right secret", await hs512Token(claims)],
    ["alg RS256", await rs256Token(claims)],
    ["missing exp", await hs256Token({ ...claims, exp: undefined })],
    ["exp as a string", handBuiltToken({ alg: "HS256", typ: "JWT" }, { ...claims, exp: String(hourFromNow()) })],
    ["rooms not an array", await hs256Token({ rooms: room, attributes: { team: "red" } })],
    ["rooms with a non-string", await hs256Token({ rooms: [room, 7], attributes: { team: "red" } })],
    ["attributes not an object", await hs256Token({ rooms: [room], attributes: ["team", "red"] })],
    ["attribute value a number", await hs256Token({ rooms: [room], attributes: { team: "red", level: 3 } })],
    ["attribute value null", await hs256Token({ rooms: [room], attributes: { team: "red", level: null } })],
    ["attribute value an object", await hs256Token({ rooms: [room], attributes: { team: { name: "red" } } })],
    ["not a JWT at all", "hello.world"],
    ["three empty parts", ".."],
    ["garbage base64", "!!!.@@@.###"],
  ];
}

function tamper(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split(".");
  return `${header}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`;
}

describe("tokens at connect (?token=)", () => {
  it("a valid token grants its private room and attributes", async () => {
    const room = await privateRoom();
    const token = await hs256Token({ rooms: [room], attributes: { team: "red", auth: "true" } });
    const client = await WsChatClient.connect(worker, { room, token });
    expect(client.room).toBe(room);
    const details = (await client.request("detailsView")).data as Message;
    expect(details).toMatchObject({ room, attributes: { team: "red", auth: "true" } });
    expect(await api(worker, "GET", `/api/rooms/${room}`)).toMatchObject({ status: 200, body: { members: [client.id] } });
    client.close();
  });

  it("every bad token is refused: refusal message, close 4401, and nothing joined", async () => {
    const room = await privateRoom();
    for (const [label, token] of await badTokens(room)) {
      await expect(expectRefused({ room, token }, "invalid_token", 4401), label).resolves.toBeUndefined();
      await expect(expectRefused({ token }, "invalid_token", 4401), `${label} (default room)`).resolves.toBeUndefined();
    }
    expect((await api(worker, "GET", `/api/rooms/${room}`)).body.members).toEqual([]);
  });

  it("a private ?room= without a token, or with a token for another room, is refused with 4403", async () => {
    const room = await privateRoom();
    const other = await privateRoom();
    await expectRefused({ room }, "not_authorized", 4403);
    await expectRefused({ room, token: await hs256Token({ rooms: [other] }) }, "not_authorized", 4403);
    await expectRefused({ room, token: await hs256Token({ attributes: { auth: "true" } }) }, "not_authorized", 4403);
    expect((await api(worker, "GET", `/api/rooms/${room}`)).body.members).toEqual([]);
  });

  it("an empty ?token= counts as absent", async () => {
    const client = await WsChatClient.connect(worker, { token: "" });
    expect(client.room).toBe("defaultRoom");
    client.close();
  });

  it("attributes named id or room in a token are ignored; the rest are granted", async () => {
    const room = uniqueRoom("attrs");
    const token = await hs256Token({ attributes: { id: "spoofed-id", room: "spoofed-room", team: "blue" } });
    const client = await WsChatClient.connect(worker, { room, token });
    const details = (await client.request("detailsView")).data as Message;
    expect(details.attributes).toEqual({ team: "blue" });
    expect(details.id).toBe(client.id);
    expect(details.room).toBe(room);
    // A filter on the spoofed id or room reaches nobody; the real ones still work.
    const sender = await WsChatClient.connect(worker, { room });
    expect((await sender.request({ event: "say", message: "to spoof id", roomMatchKey: "id", roomMatchValue: "spoofed-id" })).status).toBe("OK");
    expect((await sender.request({ event: "say", message: "to spoof room", roomMatchKey: "room", roomMatchValue: "spoofed-room" })).status).toBe("OK");
    expect((await sender.request({ event: "say", message: "to real id", roomMatchKey: "id", roomMatchValue: client.id })).status).toBe("OK");
    await client.nextChat((m) => m.message === "to real id");
    expect(client.received.filter(isChat).map((m) => m.message)).not.toContain("to spoof id");
    expect(client.received.filter(isChat).map((m) => m.message)).not.toContain("to spoof room");
    client.close();
    sender.close();
  });
});

describe("tokens with the auth verb", () => {
  it("every bad token is invalid_token, counted, and grants nothing", async () => {
    const room = await privateRoom();
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("authbad") });
    let count = 0;
    for (const [label, token] of await badTokens(room)) {
      const answer = await client.request(`auth ${token}`);
      count += 1;
      expect(answer, label).toMatchObject({ status: "error", code: "invalid_token", messageCount: count });
      const json = await client.request({ event: "auth", token, requestId: label });
      count += 1;
      expect(json, label).toMatchObject({ status: "error", code: "invalid_token", messageCount: count, requestId: label });
      // Stay under the rate limit (2 × 20 burst).
      if (count % 30 === 0) await new Promise((resolve) => setTimeout(resolve, 1600));
    }
    expect(await client.request(`roomChange ${room}`)).toMatchObject({ status: "error", code: "not_authorized" });
    expect(await client.request(`listenToRoom ${room}`)).toMatchObject({ status: "error", code: "not_authorized" });
    expect(((await client.request("detailsView")).data as Message).attributes).toEqual({});
    client.close();
  });

  it("grants add up, a later bad token keeps them, and data is everything granted", async () => {
    const a = await privateRoom();
    const b = await privateRoom();
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("authgood") });
    const first = await client.request(`auth ${await hs256Token({ rooms: [a], attributes: { team: "red", level: "1" } })}`);
    expect(first).toMatchObject({ status: "OK", messageCount: 1 });
    expect((first.data as Message).rooms).toEqual([a]);
    expect((first.data as Message).attributes).toEqual({ team: "red", level: "1" });

    const second = await client.request({ event: "auth", token: await hs256Token({ rooms: [b], attributes: { team: "blue" } }), requestId: 2 });
    expect(second).toMatchObject({ status: "OK", messageCount: 2, requestId: 2 });
    expect([...((second.data as Message).rooms as string[])].sort()).toEqual([a, b].sort());
    expect((second.data as Message).attributes).toEqual({ team: "blue", level: "1" });

    const bad = await client.request(`auth ${await hs256Token({ rooms: [b], attributes: { team: "green" } }, "wrong")}`);
    expect(bad).toMatchObject({ status: "error", code: "invalid_token", messageCount: 3 });
    expect(((await client.request("detailsView")).data as Message).attributes).toEqual({ team: "blue", level: "1" });

    // Repeating a room does not duplicate it.
    const again = await client.request(`auth ${await hs256Token({ rooms: [a] })}`);
    expect([...((again.data as Message).rooms as string[])].sort()).toEqual([a, b].sort());

    expect(await client.request(`roomChange ${a}`)).toMatchObject({ status: "OK", data: { room: a } });
    expect(await client.request(`listenToRoom ${b}`)).toMatchObject({ status: "OK", data: { room: b } });
    expect(await client.request(`roomChange ${b}`)).toMatchObject({ status: "OK", data: { room: b } });
    client.close();
  });

  it("a grant at connect and a grant by auth add up", async () => {
    const a = await privateRoom();
    const b = await privateRoom();
    const client = await WsChatClient.connect(worker, { room: a, token: await hs256Token({ rooms: [a], attributes: { x: "1" } }) });
    const answer = await client.request(`auth ${await hs256Token({ rooms: [b], attributes: { y: "2" } })}`);
    expect([...((answer.data as Message).rooms as string[])].sort()).toEqual([a, b].sort());
    expect((answer.data as Message).attributes).toEqual({ x: "1", y: "2" });
    client.close();
  });

  it("a token is checked when presented and its grant lasts for the connection (exp in 2 s)", async () => {
    const room = await privateRoom();
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("short") });
    const token = await hs256Token({ rooms: [room], exp: Math.floor(Date.now() / 1000) + 2 });
    expect((await client.request(`auth ${token}`)).status).toBe("OK");
    // After expiry the grant still holds for this connection, but the token is no good any more.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await client.request(`roomChange ${room}`)).toMatchObject({ status: "OK", data: { room } });
    expect(await client.request(`auth ${token}`)).toMatchObject({ status: "error", code: "invalid_token" });
    await expectRefused({ room, token }, "invalid_token", 4401);
    client.close();
  });

  it("the wrong room: a token for one private room opens no other", async () => {
    const a = await privateRoom();
    const b = await privateRoom();
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("wrong") });
    expect((await client.request(`auth ${await hs256Token({ rooms: [a] })}`)).status).toBe("OK");
    expect(await client.request(`roomChange ${b}`)).toMatchObject({ status: "error", code: "not_authorized" });
    expect(await client.request({ event: "listenToRoom", room: b })).toMatchObject({ status: "error", code: "not_authorized" });
    expect(await client.request(`roomChange ${a}x`)).toMatchObject({ status: "error", code: "not_authorized" });
    // Room names are case-sensitive: the grant is for the exact name.
    expect(await client.request(`roomChange ${a.toUpperCase().replace("PRIVATE-", "private-")}`)).toMatchObject({ status: "error", code: "not_authorized" });
    await expectRefused({ room: a.toUpperCase().replace("PRIVATE-", "private-"), token: await hs256Token({ rooms: [a] }) }, "not_authorized", 4403);
    client.close();
  });
});

describe("private rooms", () => {
  it("POST /api/private-rooms gives private- + 32 hex characters, different every time", async () => {
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const answer = await api(worker, "POST", "/api/private-rooms");
      expect(answer.status).toBe(200);
      expect(answer.body.room).toMatch(/^private-[0-9a-f]{32}$/);
      names.add(answer.body.room as string);
    }
    expect(names.size).toBe(5);
  });

  it("roomChange and listenToRoom without a grant are not_authorized; nothing said there leaks to a non-holder", async () => {
    const room = await privateRoom();
    const member = await WsChatClient.connect(worker, { room, token: await hs256Token({ rooms: [room] }) });
    const outsider = await WsChatClient.connect(worker, { room: uniqueRoom("outside") });
    expect(await outsider.request(`roomChange ${room}`)).toMatchObject({ status: "error", code: "not_authorized", messageCount: 1 });
    expect(await outsider.request(`listenToRoom ${room}`)).toMatchObject({ status: "error", code: "not_authorized", messageCount: 2 });
    expect(await outsider.request(`roomView ${room}`)).toMatchObject({ status: "error", code: "not_in_room" });
    // A client-set param cannot stand in for a grant.
    expect((await outsider.request(`paramAdd rooms ${room}`)).status).toBe("OK");
    expect(await outsider.request(`roomChange ${room}`)).toMatchObject({ status: "error", code: "not_authorized" });

    // A listener with a token hears the room; the outsider hears nothing of it.
    const listener = await WsChatClient.connect(worker, { room: uniqueRoom("listener") });
    expect((await listener.request(`auth ${await hs256Token({ rooms: [room] })}`)).status).toBe("OK");
    expect((await listener.request(`listenToRoom ${room}`)).status).toBe("OK");
    expect((await member.request("say secret")).status).toBe("OK");
    await listener.nextChat((m) => m.message === "secret" && m.room === room);
    const broadcast = await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "server says hi" });
    expect(broadcast).toMatchObject({ status: 200, body: { room, delivered: 2 } });
    await member.nextChat((m) => m.message === "server says hi" && m.from === "edgechat");
    await listener.nextChat((m) => m.message === "server says hi");
    await outsider.nothing((m) => isChat(m) && m.room === room, 300);
    expect(outsider.received.filter(isChat).filter((m) => m.room === room)).toEqual([]);
    expect(await api(worker, "GET", `/api/rooms/${room}`)).toMatchObject({ status: 200, body: { members: [member.id], membersCount: 1 } });
    for (const c of [member, outsider, listener]) c.close();
  });

  it("check order: invalid_room, not_authorized, already_listening, too_many_rooms", async () => {
    const small = await startWorker({ MAX_LISTENING: "2" });
    try {
      const res = await fetch(`${small.url}/api/private-rooms`, { method: "POST", headers: { Authorization: "Bearer dev-admin-token" } });
      const granted = ((await res.json()) as { room: string }).room;
      const ungranted = `private-${"0".repeat(32)}`;
      const client = await WsChatClient.connect(small, { token: await hs256Token({ rooms: [granted] }) });
      expect((await client.request(`listenToRoom ${granted}`)).status).toBe("OK");
      expect((await client.request("listenToRoom public-one")).status).toBe("OK");
      // Full: every check that comes before too_many_rooms wins.
      expect(await client.request(`listenToRoom private-${"a".repeat(60)}`)).toMatchObject({ code: "invalid_room" });
      expect(await client.request({ event: "listenToRoom", room: "private-bad room" })).toMatchObject({ code: "invalid_room" });
      expect(await client.request(`listenToRoom ${ungranted}`)).toMatchObject({ code: "not_authorized" });
      expect(await client.request(`listenToRoom ${granted}`)).toMatchObject({ code: "already_listening" });
      expect(await client.request("listenToRoom public-one")).toMatchObject({ code: "already_listening" });
      expect(await client.request("listenToRoom public-two")).toMatchObject({ code: "too_many_rooms" });
      // Not full: not_authorized still comes before anything else.
      expect((await client.request("silenceRoom public-one")).status).toBe("OK");
      expect(await client.request(`listenToRoom ${ungranted}`)).toMatchObject({ code: "not_authorized" });
      expect((await client.request("listenToRoom public-two")).status).toBe("OK");
      expect(((await client.request("detailsView")).data as Message).listening).toEqual([granted, "public-two"]);
      client.close();
    } finally {
      await small.dispose();
    }
  });

  it("token attributes are matchable by filters; client-set params are not", async () => {
    const room = uniqueRoom("teams");
    const red = await WsChatClient.connect(worker, { room, token: await hs256Token({ attributes: { team: "red" } }) });
    const blue = await WsChatClient.connect(worker, { room });
    expect((await blue.request(`auth ${await hs256Token({ attributes: { team: "blue" } })}`)).status).toBe("OK");
    const pretender = await WsChatClient.connect(worker, { room });
    expect((await pretender.request("paramAdd team=red")).status).toBe("OK");
    const sender = await WsChatClient.connect(worker, { room });
    expect((await sender.request("paramAdd roomMatchKey=team")).status).toBe("OK");
    expect((await sender.request("paramAdd roomMatchValue=red")).status).toBe("OK");
    expect((await sender.request("say for red")).status).toBe("OK");
    expect((await sender.request({ event: "say", message: "for blue", roomMatchValue: "blue" })).status).toBe("OK");
    const broadcast = await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "server to red", roomMatchKey: "team", roomMatchValue: "red" });
    expect(broadcast.body.delivered).toBe(1);
    await red.nextChat((m) => m.message === "server to red");
    await blue.nextChat((m) => m.message === "for blue");
    const said = (c: WsChatClient) => c.received.filter(isChat).filter((m) => m.event === undefined).map((m) => m.message);
    expect(said(red)).toEqual(["for red", "server to red"]);
    expect(said(blue)).toEqual(["for blue"]);
    await pretender.nothing((m) => isChat(m) && m.event === undefined, 200);
    expect(said(pretender)).toEqual([]);
    for (const c of [red, blue, pretender, sender]) c.close();
  });
});

describe("replay and history (README: they follow the live rules)", () => {
  it("a filtered message is replayed and listed only to those who match; a private room's history needs a grant", async () => {
    const room = await privateRoom();
    const grant = (attributes: Record<string, string>) => hs256Token({ rooms: [room], attributes });
    const sender = await WsChatClient.connect(worker, { room, token: await grant({ team: "red" }) });
    expect((await sender.request({ event: "say", message: "red only", roomMatchKey: "team", roomMatchValue: "red" })).status).toBe("OK");
    expect((await sender.request("say for all")).status).toBe("OK");

    // A blue member joining with since=0 gets the room's story without the red-only message.
    const blue = await WsChatClient.connect(worker, { room: uniqueRoom("blue"), token: await grant({ team: "blue" }) });
    expect((await blue.request({ event: "roomChange", room, since: 0 })).status).toBe("OK");
    const red = await WsChatClient.connect(worker, { room: uniqueRoom("red"), token: await grant({ team: "red" }) });
    expect((await red.request({ event: "listenToRoom", room, since: 0 })).status).toBe("OK");
    await blue.nextChat((m) => m.message === "for all");
    await red.nextChat((m) => m.message === "for all");
    const said = (c: WsChatClient) => c.received.filter(isChat).filter((m) => m.event === undefined && m.room === room).map((m) => m.message);
    expect(said(blue)).toEqual(["for all"]);
    expect(said(red)).toEqual(["red only", "for all"]);
    const history = await blue.request("history");
    expect(((history.data as Message).messages as Message[]).filter((m) => m.event === undefined).map((m) => m.message)).toEqual(["for all"]);

    // Without a grant there is no way in: no since replay, no listen, no history.
    const outsider = await WsChatClient.connect(worker, { room: uniqueRoom("out") });
    expect(await outsider.request({ event: "roomChange", room, since: 0 })).toMatchObject({ code: "not_authorized" });
    expect(await outsider.request(`listenToRoom ${room} since=0`)).toMatchObject({ code: "not_authorized" });
    await expectRefused({ room, since: "0" }, "not_authorized", 4403);
    await outsider.nothing((m) => isChat(m) && m.room === room, 200);
    expect(outsider.received.filter((m) => typeof m === "object" && m.room === room)).toEqual([]);
    for (const c of [sender, blue, red, outsider]) c.close();
  });
});

describe("POST /api/tokens", () => {
  it("mints a working HS256 token; expiresAt is epoch ms, default ttl 3600 s", async () => {
    const room = await privateRoom();
    const before = Date.now();
    const answer = await api(worker, "POST", "/api/tokens", { rooms: [room], attributes: { team: "red" } });
    const after = Date.now();
    expect(answer.status).toBe(200);
    const { token, expiresAt } = answer.body as { token: string; expiresAt: number };
    expect(typeof token).toBe("string");
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    // Whole seconds in the JWT: expiresAt may be rounded to the second either way.
    expect(expiresAt).toBeLessThanOrEqual(after + 3600_000 + 1000);
    const claims = decodeJwt(token);
    expect(claims.exp! * 1000).toBe(expiresAt);
    expect(claims.rooms).toEqual([room]);
    expect(JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString()).alg).toBe("HS256");
    const client = await WsChatClient.connect(worker, { room, token });
    expect(client.room).toBe(room);
    expect(((await client.request("detailsView")).data as Message).attributes).toEqual({ team: "red" });
    client.close();
  });

  it("honours ttlSeconds", async () => {
    const before = Date.now();
    const answer = await api(worker, "POST", "/api/tokens", { rooms: ["lobby"], ttlSeconds: 60 });
    expect(answer.status).toBe(200);
    expect(answer.body.expiresAt as number).toBeGreaterThanOrEqual(before + 60_000 - 1000);
    expect(answer.body.expiresAt as number).toBeLessThanOrEqual(Date.now() + 60_000 + 1000);
  });

  it("a token minted with a tiny ttlSeconds (0.001) is not born expired (or the ttl is refused)", async () => {
    const before = Date.now();
    const answer = await api(worker, "POST", "/api/tokens", { rooms: ["lobby"], ttlSeconds: 0.001 });
    if (answer.status === 400) {
      expect(answer.body.code).toBe("bad_request");
      return;
    }
    expect(answer.status).toBe(200);
    // The bearer was promised at least ttlSeconds: the token must not expire before the request even started.
    expect(answer.body.expiresAt as number, `expiresAt ${answer.body.expiresAt} vs request start ${before}`).toBeGreaterThan(before);
  });

  it("a token with only exp is valid and grants nothing", async () => {
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("bare"), token: await hs256Token({}) });
    const answer = await client.request(`auth ${await hs256Token({ rooms: [], attributes: {} })}`);
    expect(answer).toMatchObject({ status: "OK", data: { rooms: [], attributes: {} } });
    client.close();
  });

  it("refuses bad bodies with 400", async () => {
    const bodies: [string, unknown, string[]][] = [
      ["rooms missing", {}, ["bad_request"]],
      ["rooms null", { rooms: null }, ["bad_request"]],
      ["rooms a string", { rooms: "lobby" }, ["bad_request"]],
      ["rooms with a number", { rooms: ["lobby", 5] }, ["bad_request"]],
      ["rooms with an invalid name", { rooms: ["not a room"] }, ["invalid_room", "bad_request"]],
      ["rooms with a 65-character name", { rooms: ["a".repeat(65)] }, ["invalid_room", "bad_request"]],
      ["rooms with an empty name", { rooms: [""] }, ["invalid_room", "bad_request"]],
      ["attributes an array", { rooms: ["lobby"], attributes: ["a"] }, ["bad_request"]],
      ["attributes a string", { rooms: ["lobby"], attributes: "team=red" }, ["bad_request"]],
      ["attribute value a number", { rooms: ["lobby"], attributes: { level: 3 } }, ["bad_request"]],
      ["attribute value null", { rooms: ["lobby"], attributes: { level: null } }, ["bad_request"]],
      ["attribute value an object", { rooms: ["lobby"], attributes: { level: {} } }, ["bad_request"]],
      ["attribute named id", { rooms: ["lobby"], attributes: { id: "x" } }, ["bad_request"]],
      ["attribute named room", { rooms: ["lobby"], attributes: { room: "x" } }, ["bad_request"]],
      ["ttlSeconds 0", { rooms: ["lobby"], ttlSeconds: 0 }, ["bad_request"]],
      ["ttlSeconds negative", { rooms: ["lobby"], ttlSeconds: -5 }, ["bad_request"]],
      ["ttlSeconds a string", { rooms: ["lobby"], ttlSeconds: "60" }, ["bad_request"]],
      ["ttlSeconds infinite (1e400)", '{"rooms":["lobby"],"ttlSeconds":1e400}', ["bad_request"]],
      ["ttlSeconds an object", { rooms: ["lobby"], ttlSeconds: {} }, ["bad_request"]],
      ["not JSON", "{rooms:", ["bad_request"]],
      ["a JSON array", "[]", ["bad_request"]],
    ];
    for (const [label, body, codes] of bodies) {
      const answer = await api(worker, "POST", "/api/tokens", body);
      expect(answer.status, label).toBe(400);
      expect(codes, label).toContain(answer.body.code);
      expect(typeof answer.body.error, label).toBe("string");
      expect(answer.body.token, label).toBeUndefined();
    }
  });
});
