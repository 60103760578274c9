/**
 * Client requests over a WebSocket (spec sections 3, 4 and the "Requests" part of 10): the
 * welcome, every verb in line and JSON form, responses, messageCount, requestId, error codes.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  CONNECTION_ID,
  connect,
  connectRaw,
  DEFAULT_ROOM,
  isChat,
  isResponse,
  uniqueRoom,
  WELCOME_MESSAGE,
  type Client,
  type Frame,
} from "./support.js";

function expectError(response: Frame, code: string, messageCount?: number): void {
  expect(response).toMatchObject({ context: "response", status: "error", code });
  expect(typeof response.error).toBe("string");
  expect(response.error.length).toBeGreaterThan(0);
  expect(response).not.toHaveProperty("data");
  if (messageCount !== undefined) expect(response.messageCount).toBe(messageCount);
}

describe("welcome", () => {
  it("is the first frame: context api, the welcome text, the first room and the connection id", async () => {
    const room = uniqueRoom("welcome");
    const client = await connect(room);
    expect(client.welcome).toEqual({
      context: "api",
      welcome: WELCOME_MESSAGE,
      room,
      id: client.id,
      session: expect.stringMatching(/^s\.[0-9a-f]{32}$/),
      // Its own join notice took seq 1: the welcome's point is right after it.
      seq: 1,
      epoch: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(client.log[0]).toBe(client.welcome);
    expect(client.id).toMatch(CONNECTION_ID);
    // The id names the object that accepted the socket: the first room's object.
    expect(client.id.split(".")[0]).toBe(env.ROOMS.idFromName(room).toString());
  });

  it("uses DEFAULT_ROOM without ?room= and for an empty ?room=", async () => {
    const plain = await connect();
    expect(plain.welcome).toMatchObject({ context: "api", room: DEFAULT_ROOM });
    const { client: empty } = await connectRaw("room=");
    const welcome = (await empty.next()) as Frame;
    expect(welcome).toMatchObject({ context: "api", welcome: WELCOME_MESSAGE, room: DEFAULT_ROOM });
    expect(welcome.id).toMatch(CONNECTION_ID);
    const details = (await empty.ok("detailsView")) as Frame;
    expect(details.room).toBe(DEFAULT_ROOM);
  });

  it("gives every connection a different id", async () => {
    const room = uniqueRoom("ids");
    const clients = await Promise.all([connect(room), connect(room), connect(room)]);
    expect(new Set(clients.map((client) => client.id)).size).toBe(3);
  });
});

describe("responses, messageCount and requestId", () => {
  it("numbers responses from 1 and counts every request, rejected ones included", async () => {
    const client = await connect(uniqueRoom("count"));
    expect(await client.request("paramsView")).toEqual({ context: "response", status: "OK", messageCount: 1, data: {} });
    expectError(await client.request("nonsense"), "unknown_verb", 2);
    expectError(await client.request("{broken"), "bad_request", 3);
    expectError(await client.request(""), "bad_request", 4);
    expectError(await client.request("roomChange bad!room"), "invalid_room", 5);
    expect(await client.request("paramView nothing")).toEqual({ context: "response", status: "OK", messageCount: 6, data: null });
    const details = await client.request("detailsView");
    expect(details.messageCount).toBe(7);
    expect(details.data.messageCount).toBe(7);
  });

  it("answers the exact frame ping with the text frame pong, without counting it", async () => {
    const client = await connect(uniqueRoom("ping"));
    client.send("ping");
    expect(await client.next()).toBe("pong");
    client.send("ping");
    client.send("ping");
    expect(await client.next()).toBe("pong");
    expect(await client.next()).toBe("pong");
    const response = await client.request("detailsView");
    expect(response.messageCount).toBe(1);
    expect(response.data.messageCount).toBe(1);
    // Only the exact frame: anything else is a request (and verbs are case-sensitive).
    expectError(await client.request("Ping"), "unknown_verb", 2);
    expectError(await client.request("ping "), "unknown_verb", 3);
    expectError(await client.request(new TextEncoder().encode("ping")), "bad_request", 4); // binary
    expect(client.log.filter((frame) => frame === "pong")).toHaveLength(3);
  });

  it("echoes requestId on OK responses, whatever JSON value it is", async () => {
    const client = await connect(uniqueRoom("rid"));
    expect(await client.request({ event: "paramsView", requestId: "abc" })).toEqual({
      context: "response",
      status: "OK",
      messageCount: 1,
      data: {},
      requestId: "abc",
    });
    expect((await client.request({ event: "paramAdd", key: "k", value: "v", requestId: 42 })).requestId).toBe(42);
    expect((await client.request({ event: "paramView", key: "k", requestId: { n: [1, 2] } })).requestId).toEqual({ n: [1, 2] });
    // Without a requestId the response has none.
    expect(await client.request({ event: "paramView", key: "k" })).not.toHaveProperty("requestId");
    expect(await client.request("paramView k")).not.toHaveProperty("requestId");
  });

  it("echoes requestId on error responses whenever the JSON parsed", async () => {
    const client = await connect(uniqueRoom("rid-err"));
    const unknown = await client.request({ event: "shout", requestId: "r1" });
    expectError(unknown, "unknown_verb", 1);
    expect(unknown.requestId).toBe("r1");
    const noEvent = await client.request({ requestId: "r2" });
    expectError(noEvent, "bad_request", 2);
    expect(noEvent.requestId).toBe("r2");
    const numericEvent = await client.request({ event: 7, requestId: "r3" });
    expectError(numericEvent, "bad_request", 3);
    expect(numericEvent.requestId).toBe("r3");
    const noMessage = await client.request({ event: "say", requestId: 4 });
    expectError(noMessage, "bad_request", 4);
    expect(noMessage.requestId).toBe(4);
    const badRoom = await client.request({ event: "roomChange", room: "no spaces", requestId: "r5" });
    expectError(badRoom, "invalid_room", 5);
    expect(badRoom.requestId).toBe("r5");
    const notListening = await client.request({ event: "silenceRoom", room: "somewhere", requestId: "r6" });
    expectError(notListening, "not_listening", 6);
    expect(notListening.requestId).toBe("r6");
    // Unparseable JSON has no requestId to echo.
    const broken = await client.request('{"event":"paramsView","requestId":"r7"');
    expectError(broken, "bad_request", 7);
    expect(broken).not.toHaveProperty("requestId");
  });

  /*
   * Request order. Under vitest-pool-workers a burst of frames sent by the test's in-isolate
   * socket can reach the room object's webSocketMessage permuted (observed: the frames arrive at
   * the handler already out of order; the same bursts over real sockets under Miniflare arrive in
   * order). So these tests take the order in which the server took the requests from messageCount,
   * and check that responses come in that order and that each request saw exactly the state the
   * requests taken before it left: requests of one connection run one at a time, in order.
   */
  async function burstInArrivalOrder(client: Client, frames: Frame[], home: string): Promise<void> {
    frames.forEach((frame, index) => client.send({ ...frame, requestId: index }));
    const responses: Frame[] = [];
    for (let i = 0; i < frames.length; i++) responses.push(await client.response());
    const first = responses[0].messageCount as number;
    expect(responses.map((response) => response.messageCount)).toEqual(frames.map((_, index) => first + index));
    expect(responses.map((response) => response.requestId as number).sort((a, b) => a - b)).toEqual(frames.map((_, index) => index));
    let room = home;
    const params: Record<string, string> = {};
    for (const response of responses) {
      const frame = frames[response.requestId as number];
      const where = `${JSON.stringify(frame)} taken as request ${response.messageCount}`;
      expect(response.status, where).toBe("OK");
      switch (frame.event) {
        case "roomChange":
          expect(response.data, where).toEqual({ room: frame.room, seq: expect.any(Number), epoch: expect.any(String) });
          room = frame.room;
          break;
        case "paramAdd":
          expect(response.data, where).toBeNull();
          params[frame.key] = frame.value;
          break;
        case "paramView":
          expect(response.data, where).toBe(params[frame.key] ?? null);
          break;
        case "say":
          expect(response.data, where).toMatchObject({ room });
          break;
        case "roomView":
          expect(response.data, where).toMatchObject({ room, members: expect.arrayContaining([client.id]) });
          break;
        case "detailsView":
          expect(response.data, where).toMatchObject({ room, params, messageCount: response.messageCount });
          break;
        default:
          throw new Error(`no model for ${frame.event}`);
      }
    }
  }

  it("answers a burst in order, one request at a time, slow cross-object ones included", async () => {
    const home = uniqueRoom("order-home");
    const client = await connect(home);
    const frames: Frame[] = [];
    for (let k = 0; k < 5; k++) {
      frames.push({ event: "roomChange", room: uniqueRoom(`order-${k}`) });
      frames.push({ event: "paramAdd", key: "a", value: String(k) });
      frames.push({ event: "paramView", key: "a" });
      frames.push({ event: "say", message: `m${k}` });
      frames.push({ event: "roomView" });
      frames.push({ event: "detailsView" });
    }
    await burstInArrivalOrder(client, frames, home);
  });

  it("answers a burst in order also after the connection moved to a room in another object", async () => {
    const home = uniqueRoom("order-moved-home");
    const away = uniqueRoom("order-moved-away");
    const client = await connect(home);
    await client.ok(`roomChange ${away}`);
    const frames: Frame[] = [];
    for (let n = 0; n < 12; n++) {
      frames.push({ event: "paramAdd", key: "k", value: `v${n}` });
      frames.push({ event: "paramView", key: "k" });
      frames.push({ event: "detailsView" });
    }
    await burstInArrivalOrder(client, frames, away);
  });
});

describe("every verb, line form and JSON form", () => {
  it("say: line form keeps spaces after the first space; JSON form carries any JSON message", async () => {
    const room = uniqueRoom("say");
    const sender = await connect(room);
    const receiver = await connect(room);
    const line = await sender.request("say  Hello   World  ");
    expect(line).toMatchObject({ context: "response", status: "OK", messageCount: 1, data: { room, seq: expect.any(Number) } });
    expect(Object.keys(line.data).sort()).toEqual(["room", "seq"]);
    const heard = await receiver.chat((frame) => frame.seq === line.data.seq);
    expect(heard.message).toBe(" Hello   World  ");

    const json = await sender.request({ event: "say", message: { any: ["json", 1, null, true] } });
    expect(json.data).toEqual({ room, seq: line.data.seq + 1 });
    expect((await receiver.chat((frame) => frame.seq === json.data.seq)).message).toEqual({ any: ["json", 1, null, true] });

    for (const message of ["", null, 0, false, [1, "two"]]) {
      const response = await sender.request({ event: "say", message });
      expect(response.status).toBe("OK");
      expect((await receiver.chat((frame) => frame.seq === response.data.seq)).message).toEqual(message);
    }
  });

  it("roomChange: line form (argument trimmed) and JSON form answer {room}", async () => {
    const first = uniqueRoom("rc");
    const second = uniqueRoom("rc");
    const third = uniqueRoom("rc");
    const client = await connect(first);
    expect(await client.request(`roomChange   ${second}  `)).toEqual({ context: "response", status: "OK", messageCount: 1, data: { room: second, seq: expect.any(Number), epoch: expect.any(String) } });
    expect(((await client.ok("detailsView")) as Frame).room).toBe(second);
    expect(await client.request({ event: "roomChange", room: third })).toEqual({
      context: "response",
      status: "OK",
      messageCount: 3,
      data: { room: third, seq: expect.any(Number), epoch: expect.any(String) },
    });
    expect(await client.ok("roomView")).toEqual({ room: third, members: [client.id], membersCount: 1 });
  });

  it("listenToRoom and silenceRoom in both forms answer {room}", async () => {
    const home = uniqueRoom("listen");
    const a = uniqueRoom("listen-a");
    const b = uniqueRoom("listen-b");
    const client = await connect(home);
    expect(await client.ok(`listenToRoom ${a}`)).toEqual({ room: a, seq: expect.any(Number), epoch: expect.any(String) });
    expect(await client.ok({ event: "listenToRoom", room: b })).toEqual({ room: b, seq: expect.any(Number), epoch: expect.any(String) });
    expect(((await client.ok("detailsView")) as Frame).listening).toEqual([a, b]);
    expect(await client.ok(`silenceRoom  ${a} `)).toEqual({ room: a });
    expect(await client.ok({ event: "silenceRoom", room: b })).toEqual({ room: b });
    expect(((await client.ok("detailsView")) as Frame).listening).toEqual([]);
  });

  it("roomView: current room without an argument, a named room in both forms", async () => {
    const room = uniqueRoom("view");
    const listened = uniqueRoom("view-l");
    const one = await connect(room);
    const two = await connect(room);
    const inListened = await connect(listened);
    const expected = { room, members: [one.id, two.id], membersCount: 2 };
    const sorted = (data: unknown) => ({ ...(data as Frame), members: [...(data as Frame).members].sort() });
    expect(sorted(await one.ok("roomView"))).toEqual(sorted(expected));
    expect(sorted(await one.ok(`roomView ${room}`))).toEqual(sorted(expected));
    expect(sorted(await one.ok({ event: "roomView" }))).toEqual(sorted(expected));
    expect(sorted(await one.ok({ event: "roomView", room }))).toEqual(sorted(expected));
    await one.ok(`listenToRoom ${listened}`);
    expect(await one.ok(`roomView ${listened}`)).toEqual({ room: listened, members: [inListened.id], membersCount: 1 });
    expect(await one.ok({ event: "roomView", room: listened })).toEqual({ room: listened, members: [inListened.id], membersCount: 1 });
  });

  it("detailsView in both forms: every field, listening in order added, messageCount including itself", async () => {
    const room = uniqueRoom("details");
    const before = Date.now();
    const client = await connect(room);
    const after = Date.now();
    const l1 = uniqueRoom("details-z");
    const l2 = uniqueRoom("details-a");
    const l3 = uniqueRoom("details-m");
    await client.ok(`listenToRoom ${l1}`);
    await client.ok(`listenToRoom ${l2}`);
    await client.ok(`listenToRoom ${l3}`);
    await client.ok(`silenceRoom ${l2}`);
    await client.ok(`listenToRoom ${l2}`);
    await client.ok("paramAdd team=team_a");
    const line = await client.request("detailsView");
    expect(line.messageCount).toBe(7);
    expect(Object.keys(line.data).sort()).toEqual(
      ["id", "room", "listening", "params", "attributes", "connectedAt", "remoteIP", "messageCount", "session"].sort(),
    );
    expect(line.data).toMatchObject({
      id: client.id,
      session: expect.stringMatching(/^s\.[0-9a-f]{32}$/),
      room,
      listening: [l1, l3, l2],
      params: { team: "team_a" },
      attributes: {},
      messageCount: 7,
    });
    expect(typeof line.data.remoteIP).toBe("string");
    expect(typeof line.data.connectedAt).toBe("number");
    expect(line.data.connectedAt).toBeGreaterThanOrEqual(before);
    expect(line.data.connectedAt).toBeLessThanOrEqual(after);
    const json = await client.request({ event: "detailsView" });
    expect(json.data).toEqual({ ...line.data, messageCount: 8 });
    expect(json.messageCount).toBe(8);
  });

  it("paramAdd / paramView / paramsView / paramDelete / paramsDelete in line form", async () => {
    const client = await connect(uniqueRoom("params-line"));
    expect(await client.request("paramAdd team=team_a")).toEqual({ context: "response", status: "OK", messageCount: 1, data: null });
    expect(await client.ok("paramAdd colour blue")).toBeNull();
    expect(await client.ok("paramAdd empty=")).toBeNull();
    expect(await client.ok("paramAdd eq=a=b")).toBeNull(); // the first = separates
    expect(await client.ok("paramAdd sp a=b")).toBeNull(); // the first space separates
    expect(await client.ok("paramAdd mix=a b")).toBeNull(); // '=' comes first here
    expect(await client.ok("paramAdd   padded=value   ")).toBeNull(); // arguments are trimmed
    expect(await client.ok("paramAdd words one two")).toBeNull();
    expect(await client.ok("paramView team")).toBe("team_a");
    expect(await client.ok("paramView colour")).toBe("blue");
    expect(await client.ok("paramView empty")).toBe("");
    expect(await client.ok("paramView missing")).toBeNull();
    expect(await client.ok("paramsView")).toEqual({
      team: "team_a",
      colour: "blue",
      empty: "",
      eq: "a=b",
      sp: "a=b",
      mix: "a b",
      padded: "value",
      words: "one two",
    });
    expect(await client.ok("paramAdd team=team_b")).toBeNull(); // overwrite
    expect(await client.ok("paramView team")).toBe("team_b");
    expect(await client.ok("paramDelete team")).toBeNull();
    expect(await client.ok("paramView team")).toBeNull();
    expect(await client.ok("paramDelete never-set")).toBeNull();
    expect(await client.ok("paramsDelete")).toBeNull();
    expect(await client.ok("paramsView")).toEqual({});
    expect(((await client.ok("detailsView")) as Frame).params).toEqual({});
  });

  it("paramAdd / paramView / paramsView / paramDelete / paramsDelete in JSON form", async () => {
    const client = await connect(uniqueRoom("params-json"));
    expect(await client.request({ event: "paramAdd", key: "team", value: "team_a" })).toEqual({
      context: "response",
      status: "OK",
      messageCount: 1,
      data: null,
    });
    expect(await client.ok({ event: "paramAdd", key: "with=sign and space", value: " spaced = " })).toBeNull();
    expect(await client.ok({ event: "paramAdd", key: "blank", value: "" })).toBeNull();
    expect(await client.ok({ event: "paramView", key: "team" })).toBe("team_a");
    expect(await client.ok({ event: "paramView", key: "with=sign and space" })).toBe(" spaced = ");
    expect(await client.ok({ event: "paramView", key: "blank" })).toBe("");
    expect(await client.ok({ event: "paramView", key: "missing" })).toBeNull();
    expect(await client.ok({ event: "paramsView" })).toEqual({ team: "team_a", "with=sign and space": " spaced = ", blank: "" });
    expect(await client.ok({ event: "paramDelete", key: "team" })).toBeNull();
    expect(await client.ok({ event: "paramsView" })).toEqual({ "with=sign and space": " spaced = ", blank: "" });
    expect(await client.ok({ event: "paramsDelete" })).toBeNull();
    expect(await client.ok({ event: "paramsView" })).toEqual({});
  });

  it("quit: a goodbye with reason quit, no response, then close code 1000", async () => {
    const room = uniqueRoom("quit");
    const client = await connect(room);
    const other = await connect(room);
    await client.notice("join", other.id);
    client.send("quit");
    expect(await client.next()).toEqual({ context: "api", status: "Bye!", reason: "quit" });
    const closed = await client.waitClosed();
    expect(closed.code).toBe(1000);
    expect(client.log.filter(isResponse)).toHaveLength(0);
    await other.notice("leave", client.id);
  });

  it("exit: a goodbye with reason exit, then close code 1000", async () => {
    const client = await connect(uniqueRoom("exit"));
    client.send("exit");
    expect(await client.next()).toEqual({ context: "api", status: "Bye!", reason: "exit" });
    expect((await client.waitClosed()).code).toBe(1000);
  });

  it("quit and exit in JSON form", async () => {
    const a = await connect(uniqueRoom("quit-json"));
    a.send({ event: "quit", requestId: "q" });
    expect(await a.next()).toEqual({ context: "api", status: "Bye!", reason: "quit" });
    expect((await a.waitClosed()).code).toBe(1000);
    const b = await connect(uniqueRoom("exit-json"));
    b.send({ event: "exit" });
    expect(await b.next()).toEqual({ context: "api", status: "Bye!", reason: "exit" });
    expect((await b.waitClosed()).code).toBe(1000);
  });

  it("quit after other requests: every request taken before it is answered first, nothing after the goodbye", async () => {
    const client = await connect(uniqueRoom("quit-late"));
    client.send("paramAdd a=1");
    client.send("paramsView");
    client.send("quit");
    client.send("paramsView");
    await client.waitClosed();
    const frames = client.log.slice(1);
    const goodbyeAt = frames.findIndex((frame) => typeof frame === "object" && frame.status === "Bye!");
    expect(frames[goodbyeAt]).toEqual({ context: "api", status: "Bye!", reason: "quit" });
    // Everything before the goodbye is a response, numbered 1, 2, ... in order; nothing follows it.
    const before = frames.slice(0, goodbyeAt);
    expect(before.every(isResponse)).toBe(true);
    expect(before.map((frame) => (frame as Frame).messageCount)).toEqual(before.map((_, index) => index + 1));
    expect(frames.slice(goodbyeAt + 1)).toEqual([]);
    expect(client.closed?.code).toBe(1000);
  });

  it("auth in both forms reaches the token check (a bad token is invalid_token)", async () => {
    const client = await connect(uniqueRoom("auth"));
    expectError(await client.request("auth not-a-token"), "invalid_token", 1);
    const json = await client.request({ event: "auth", token: "still.not.valid", requestId: "t" });
    expectError(json, "invalid_token", 2);
    expect(json.requestId).toBe("t");
    expectError(await client.request("auth"), "bad_request", 3);
    expectError(await client.request({ event: "auth" }), "bad_request", 4);
  });
});

describe("error responses", () => {
  it("unknown_verb for an unknown verb in line and JSON form", async () => {
    const client = await connect(uniqueRoom("unknown"));
    expectError(await client.request("shout hello"), "unknown_verb", 1);
    expectError(await client.request({ event: "shout", message: "hello" }), "unknown_verb", 2);
    expectError(await client.request({ event: "" }), "unknown_verb", 3);
    expectError(await client.request("[1,2]"), "unknown_verb", 4); // not '{': line form
  });

  it("verbs are case-sensitive", async () => {
    const client = await connect(uniqueRoom("case"));
    const other = await connect(client.welcome!.room);
    let count = 0;
    for (const frame of ["Say hello", "SAY hello", "roomchange lobby", "ParamAdd a=b", "detailsview", "QUIT", "Exit"]) {
      expectError(await client.request(frame), "unknown_verb", ++count);
    }
    expectError(await client.request({ event: "Say", message: "x" }), "unknown_verb", ++count);
    expectError(await client.request({ event: "paramsview" }), "unknown_verb", ++count);
    expect(client.closed).toBeUndefined();
    expect(await client.ok("paramsView")).toEqual({});
    await other.expectNothing(isChat, 100);
  });

  it("bad_request: invalid JSON, missing or non-string event, JSON that is not an object", async () => {
    const client = await connect(uniqueRoom("badjson"));
    let count = 0;
    for (const frame of ["{", '{"event":"say"', "{event: 'say'}", '{"event":"say","message":}', "  {oops"]) {
      expectError(await client.request(frame), "bad_request", ++count);
    }
    for (const body of [{}, { event: 5 }, { event: null }, { event: ["say"] }, { event: { verb: "say" } }, { event: true }]) {
      expectError(await client.request(JSON.stringify(body)), "bad_request", ++count);
    }
    // Leading blanks before '{' still make it JSON form.
    expect(await client.request('  \t{"event":"paramsView"}')).toMatchObject({ status: "OK", data: {} });
  });

  it("bad_request: empty and whitespace-only text frames, binary frames", async () => {
    const client = await connect(uniqueRoom("empty"));
    expectError(await client.request(""), "bad_request", 1);
    expectError(await client.request("   "), "bad_request", 2);
    expectError(await client.request(" \t\r\n "), "bad_request", 3);
    expectError(await client.request(new Uint8Array([115, 97, 121, 32, 104, 105])), "bad_request", 4); // "say hi" as bytes
    expectError(await client.request(new ArrayBuffer(0)), "bad_request", 5);
    expect(client.closed).toBeUndefined();
    expect(await client.ok("paramsView")).toEqual({});
  });

  it("bad_request: say without a message", async () => {
    const room = uniqueRoom("say-empty");
    const client = await connect(room);
    const other = await connect(room);
    expectError(await client.request("say"), "bad_request", 1);
    expectError(await client.request("say "), "bad_request", 2);
    expectError(await client.request({ event: "say" }), "bad_request", 3);
    await other.expectNothing((frame) => isChat(frame) && frame.from === client.id, 100);
  });

  it("bad_request: missing or empty arguments in line form", async () => {
    const client = await connect(uniqueRoom("missing-line"));
    let count = 0;
    for (const frame of [
      "roomChange",
      "roomChange    ",
      "listenToRoom",
      "listenToRoom \t ",
      "silenceRoom",
      "paramAdd",
      "paramAdd   ",
      "paramDelete",
      "paramDelete  ",
      "paramView",
      "paramView ",
      "auth",
      "auth  ",
    ]) {
      expectError(await client.request(frame), "bad_request", ++count);
    }
  });

  it("bad_request: missing, empty or mistyped arguments in JSON form", async () => {
    const client = await connect(uniqueRoom("missing-json"));
    let count = 0;
    for (const frame of [
      { event: "roomChange" },
      { event: "roomChange", room: "" },
      { event: "listenToRoom" },
      { event: "silenceRoom" },
      { event: "paramAdd", key: "k" },
      { event: "paramAdd", value: "v" },
      { event: "paramAdd", key: "k", value: 5 },
      { event: "paramAdd", key: "k", value: null },
      { event: "paramAdd", key: "", value: "v" },
      { event: "paramDelete" },
      { event: "paramDelete", key: "" },
      { event: "paramView" },
      { event: "paramView", key: "" },
      { event: "auth", token: "" },
    ]) {
      expectError(await client.request(frame), "bad_request", ++count);
    }
    expect(await client.ok("paramsView")).toEqual({});
  });

  it("bad_request: an empty paramAdd key in line form", async () => {
    const client = await connect(uniqueRoom("empty-key"));
    expectError(await client.request("paramAdd =value"), "bad_request", 1);
    expectError(await client.request("paramAdd ="), "bad_request", 2);
    expect(await client.ok("paramsView")).toEqual({});
  });

  it("invalid_room for a bad room name, in every verb that takes one", async () => {
    const client = await connect(uniqueRoom("badroom"));
    const tooLong = "r".repeat(65);
    let count = 0;
    for (const frame of [
      "roomChange bad!room",
      `roomChange ${tooLong}`,
      "roomChange sl/ash",
      "roomChange émoji",
      "listenToRoom a*b",
      "silenceRoom a?b",
      "roomView a#b",
      { event: "roomChange", room: "a b" },
      { event: "listenToRoom", room: tooLong },
      { event: "silenceRoom", room: "x!" },
      { event: "roomView", room: "x y" },
    ]) {
      expectError(await client.request(frame), "invalid_room", ++count);
    }
    // 64 characters of every allowed kind is fine.
    const longest = `Az09_-.:${"x".repeat(56)}`;
    expect(await client.ok(`roomChange ${longest}`)).toEqual({ room: longest, seq: expect.any(Number), epoch: expect.any(String) });
  });

  it("already_listening, not_listening and not_in_room", async () => {
    const home = uniqueRoom("lerr");
    const other = uniqueRoom("lerr-o");
    const client = await connect(home);
    await client.ok(`listenToRoom ${other}`);
    expectError(await client.request(`listenToRoom ${other}`), "already_listening", 2);
    expectError(await client.request({ event: "listenToRoom", room: other }), "already_listening", 3);
    expectError(await client.request(`silenceRoom ${uniqueRoom("never")}`), "not_listening", 4);
    await client.ok(`silenceRoom ${other}`);
    expectError(await client.request(`silenceRoom ${other}`), "not_listening", 6);
    expectError(await client.request(`roomView ${other}`), "not_in_room", 7);
    expectError(await client.request({ event: "roomView", room: uniqueRoom("elsewhere") }), "not_in_room", 8);
    // invalid_room is checked before already_listening.
    expectError(await client.request("listenToRoom no/way"), "invalid_room", 9);
  });

  it("check order invalid_room, then not_authorized, then already_listening (private rooms without a token)", async () => {
    const client = await connect(uniqueRoom("order-checks"));
    const privateRoom = `private-${"0a".repeat(16)}`;
    expectError(await client.request(`listenToRoom ${privateRoom}`), "not_authorized", 1);
    expectError(await client.request(`listenToRoom ${privateRoom}`), "not_authorized", 2); // never already_listening
    expectError(await client.request({ event: "roomChange", room: privateRoom }), "not_authorized", 3);
    expectError(await client.request(`listenToRoom private-${"x".repeat(60)}`), "invalid_room", 4); // 68 characters
    expect(((await client.ok("detailsView")) as Frame).listening).toEqual([]);
  });

  it("an error never closes the connection and never reaches anyone else", async () => {
    const room = uniqueRoom("quiet-errors");
    const client = await connect(room);
    const other = await connect(room);
    for (const frame of ["bogus", "{", "", "say", "roomChange x y", `silenceRoom ${room}`, `roomView ${uniqueRoom("x")}`]) {
      expect((await client.request(frame)).status).toBe("error");
    }
    expect(client.closed).toBeUndefined();
    const said = (await client.ok("say still here")) as Frame;
    const heard = await other.chatWith("still here");
    expect(heard.seq).toBe(said.seq);
    // The other connection saw nothing but that message: no error frames, no notices.
    expect(other.log.slice(1)).toEqual([heard]);
  });
});
