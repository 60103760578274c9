import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, isChat, isResponse, sleep, uniqueRoom, WsChatClient } from "../support/hostile.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import type { Message } from "../support/wsClient.js";

/** Limits (spec sections 7 and 10): params, listening rooms, rate limit. */

let roomy: RunningWorker; // default limits, but a high rate limit so long sequences are not throttled
let tight: RunningWorker; // small limits set through the settings
beforeAll(async () => {
  [roomy, tight] = await Promise.all([
    startWorker({ RATE_LIMIT: "1000" }),
    startWorker({ MAX_PARAMS: "3", MAX_PARAM_KEY_LENGTH: "5", MAX_PARAM_VALUE_LENGTH: "7", MAX_LISTENING: "2", RATE_LIMIT: "1000" }),
  ]);
});
afterAll(async () => {
  await Promise.all([roomy?.dispose(), tight?.dispose()]);
});

async function paramsOf(client: WsChatClient): Promise<Record<string, string>> {
  const view = await client.request("paramsView");
  expect(view.status).toBe("OK");
  return view.data as Record<string, string>;
}

describe("params (MAX_PARAMS 32, key 64, value 1024 characters)", () => {
  it("too_many_params only when adding a new key beyond MAX_PARAMS", async () => {
    const client = await WsChatClient.connect(roomy, { room: uniqueRoom("params") });
    for (let i = 0; i < 32; i++) {
      const answer = await client.request(i % 2 ? `paramAdd k${i}=v${i}` : { event: "paramAdd", key: `k${i}`, value: `v${i}` });
      expect(answer, `param ${i}`).toMatchObject({ status: "OK", data: null });
    }
    expect(await client.request("paramAdd k32=v")).toMatchObject({ status: "error", code: "too_many_params", messageCount: 33 });
    expect(await client.request({ event: "paramAdd", key: "another", value: "v" })).toMatchObject({ status: "error", code: "too_many_params" });
    // Overwriting an existing key at the limit is fine.
    expect((await client.request("paramAdd k0=changed")).status).toBe("OK");
    expect((await client.request("paramAdd k31=")).status).toBe("OK");
    const params = await paramsOf(client);
    expect(Object.keys(params)).toHaveLength(32);
    expect(params.k0).toBe("changed");
    expect(params.k31).toBe("");
    expect(params.k32).toBeUndefined();
    // Deleting one makes room for one.
    expect((await client.request("paramDelete k5")).status).toBe("OK");
    expect((await client.request("paramAdd k32=now")).status).toBe("OK");
    expect(await client.request("paramAdd k33=no")).toMatchObject({ code: "too_many_params" });
    // Deleting a key that is not there is fine and frees nothing.
    expect((await client.request("paramDelete nothere")).status).toBe("OK");
    expect(await client.request("paramAdd k33=no")).toMatchObject({ code: "too_many_params" });
    expect((await client.request("paramsDelete")).status).toBe("OK");
    expect(await paramsOf(client)).toEqual({});
    expect((await client.request("paramAdd fresh=start")).status).toBe("OK");
    client.close();
  });

  it("key length counts characters, not bytes or UTF-16 units: 64 is fine, 65 is bad_request", async () => {
    const client = await WsChatClient.connect(roomy, { room: uniqueRoom("keys") });
    const keys64 = ["k".repeat(64), "é".repeat(64), "😀".repeat(64), `${"a".repeat(63)}😀`];
    for (const key of keys64) {
      expect(await client.request({ event: "paramAdd", key, value: "v" }), key).toMatchObject({ status: "OK" });
    }
    expect((await client.request(`paramAdd ${"😀".repeat(64)}=line`)).status).toBe("OK");
    const bad = ["k".repeat(65), "é".repeat(65), "😀".repeat(65)];
    for (const key of bad) {
      expect(await client.request({ event: "paramAdd", key, value: "v" }), key).toMatchObject({ status: "error", code: "bad_request" });
      expect(await client.request(`paramAdd ${key}=v`), key).toMatchObject({ status: "error", code: "bad_request" });
    }
    const params = await paramsOf(client);
    expect(Object.keys(params).sort()).toEqual([...keys64].sort());
    expect(params["😀".repeat(64)]).toBe("line");
    client.close();
  });

  it("value length counts characters: 1024 is fine, 1025 is bad_request and nothing changes", async () => {
    const client = await WsChatClient.connect(roomy, { room: uniqueRoom("values") });
    const ok = ["v".repeat(1024), "é".repeat(1024), "😀".repeat(1024)];
    for (const [i, value] of ok.entries()) {
      expect(await client.request({ event: "paramAdd", key: `k${i}`, value })).toMatchObject({ status: "OK" });
    }
    expect((await client.request(`paramAdd line ${"😀".repeat(1024)}`)).status).toBe("OK");
    for (const value of ["v".repeat(1025), "é".repeat(1025), "😀".repeat(1025)]) {
      expect(await client.request({ event: "paramAdd", key: "k0", value })).toMatchObject({ status: "error", code: "bad_request" });
      expect(await client.request(`paramAdd k1=${value}`)).toMatchObject({ status: "error", code: "bad_request" });
    }
    const params = await paramsOf(client);
    expect(params.k0).toBe("v".repeat(1024));
    expect(params.k1).toBe("é".repeat(1024));
    expect(params.k2).toBe("😀".repeat(1024));
    expect(params.line).toBe("😀".repeat(1024));
    client.close();
  });

  it("the param limits are settings (MAX_PARAMS 3, key 5, value 7)", async () => {
    const client = await WsChatClient.connect(tight, { room: uniqueRoom("tight") });
    expect((await client.request("paramAdd abcde=1234567")).status).toBe("OK");
    expect(await client.request("paramAdd abcdef=1")).toMatchObject({ code: "bad_request" });
    expect(await client.request("paramAdd b=12345678")).toMatchObject({ code: "bad_request" });
    expect((await client.request("paramAdd b=2")).status).toBe("OK");
    expect((await client.request("paramAdd c=3")).status).toBe("OK");
    expect(await client.request("paramAdd d=4")).toMatchObject({ code: "too_many_params" });
    // A too-long key at the limit is bad_request or too_many_params; either way nothing is stored.
    expect(["bad_request", "too_many_params"]).toContain((await client.request("paramAdd toolong=1")).code);
    expect((await client.request("paramAdd c=33")).status).toBe("OK");
    expect(await paramsOf(client)).toEqual({ abcde: "1234567", b: "2", c: "33" });
    client.close();
  });
});

describe("listening (MAX_LISTENING 32)", () => {
  it("the 33rd room is too_many_rooms; silencing one makes room", async () => {
    const own = uniqueRoom("own");
    const client = await WsChatClient.connect(roomy, { room: own });
    const rooms = [own, ...Array.from({ length: 31 }, (_, i) => `${own}-l${i}`)];
    for (const room of rooms) expect(await client.request(`listenToRoom ${room}`), room).toMatchObject({ status: "OK", data: { room } });
    expect(await client.request(`listenToRoom ${own}-extra`)).toMatchObject({ status: "error", code: "too_many_rooms", messageCount: 33 });
    expect(((await client.request("detailsView")).data as Message).listening).toEqual(rooms);
    expect((await client.request(`silenceRoom ${rooms[10]}`)).status).toBe("OK");
    expect((await client.request(`listenToRoom ${own}-extra`)).status).toBe("OK");
    expect(await client.request(`listenToRoom ${own}-extra2`)).toMatchObject({ code: "too_many_rooms" });
    // The refused room really is not listened to: a broadcast there does not arrive.
    const speaker = await WsChatClient.connect(roomy, { room: `${own}-extra2` });
    expect((await speaker.request("say unheard")).status).toBe("OK");
    const other = await WsChatClient.connect(roomy, { room: `${own}-extra` });
    expect((await other.request("say heard")).status).toBe("OK");
    await client.nextChat((m) => m.message === "heard");
    expect(client.received.filter(isChat).map((m) => m.message)).not.toContain("unheard");
    for (const c of [client, speaker, other]) c.close();
  });

  it("MAX_LISTENING is a setting (2)", async () => {
    const client = await WsChatClient.connect(tight, { room: uniqueRoom("tl") });
    expect((await client.request("listenToRoom one")).status).toBe("OK");
    expect((await client.request("listenToRoom two")).status).toBe("OK");
    expect(await client.request("listenToRoom three")).toMatchObject({ code: "too_many_rooms" });
    client.close();
  });
});

describe("rate limit (token bucket: capacity 2 × RATE_LIMIT, starts full)", () => {
  async function burst(client: WsChatClient, frames: (string | Message)[]): Promise<Message[]> {
    for (const frame of frames) client.send(frame);
    const answers: Message[] = [];
    for (let i = 0; i < frames.length; i++) answers.push((await client.next(isResponse, 10_000)) as Message);
    return answers;
  }

  for (const rate of [20, 5]) {
    it(`RATE_LIMIT ${rate}: a burst of ${3 * rate} requests gets the first ${2 * rate} OK, then rate_limited; the connection stays`, async () => {
      const worker = rate === 20 ? await startWorker() : await startWorker({ RATE_LIMIT: String(rate) });
      try {
        const room = uniqueRoom("rate");
        const observer = await WsChatClient.connect(worker, { room });
        const client = await WsChatClient.connect(worker, { room });
        const frames = Array.from({ length: 3 * rate }, (_, i) => (i % 2 ? { event: "roomView", requestId: i } : `say m${i}`));
        const answers = await burst(client, frames);
        expect(answers.map((a) => a.messageCount)).toEqual(frames.map((_, i) => i + 1));
        expect(answers.slice(0, 2 * rate).every((a) => a.status === "OK")).toBe(true);
        const limited = answers.filter((a) => a.status !== "OK");
        expect(limited.length).toBeGreaterThanOrEqual(1);
        for (const a of limited) expect(a).toMatchObject({ status: "error", code: "rate_limited" });
        // requestId is echoed on rate_limited answers too.
        answers.forEach((a, i) => {
          if (i % 2) expect(a.requestId).toBe(i);
        });
        // Only the says that were answered OK reached the observer.
        const okSays = answers.map((a, i) => ({ a, i })).filter(({ a, i }) => i % 2 === 0 && a.status === "OK").map(({ i }) => `m${i}`);
        await observer.nextChat((m) => m.message === okSays[okSays.length - 1]);
        await observer.nothing(() => false, 100);
        expect(observer.received.filter(isChat).filter((m) => m.from === client.id && m.event === undefined).map((m) => m.message)).toEqual(okSays);
        // Another connection has its own bucket.
        expect((await observer.request("roomView")).status).toBe("OK");
        // The bucket refills: the connection works again.
        await eventually(async () => (await client.request("roomView")).status === "OK", "an OK request after the refill");
        expect(client.isClosed()).toBe(false);
        observer.close();
        client.close();
      } finally {
        await worker.dispose();
      }
    });
  }

  it("a fractional RATE_LIMIT (0.5/s) does not lock every connection out: the first request is answered OK", async () => {
    const half = await startWorker({ RATE_LIMIT: "0.5" });
    try {
      const client = await WsChatClient.connect(half, { room: uniqueRoom("half") });
      const answers = await burst(client, ["roomView", "roomView"]);
      expect(answers[0], JSON.stringify(answers[0])).toMatchObject({ status: "OK", messageCount: 1 });
      // A bucket of 1 refuses the second; a setting read as invalid (default 20) would not: either is sane.
      expect(answers[1].messageCount).toBe(2);
      expect(["OK", "rate_limited"]).toContain(answers[1].code ?? answers[1].status);
      client.close();
    } finally {
      await half.dispose();
    }
  });

  describe("RATE_LIMIT 1 (bucket of 2)", () => {
    let slow: RunningWorker;
    beforeAll(async () => {
      slow = await startWorker({ RATE_LIMIT: "1" });
    });
    afterAll(() => slow?.dispose());

    it("rejected requests take tokens too", async () => {
      const client = await WsChatClient.connect(slow, { room: uniqueRoom("rej") });
      const answers = await burst(client, ["{", "nope", "roomView", "roomView", "roomView"]);
      expect(answers[0]).toMatchObject({ code: "bad_request", messageCount: 1 });
      expect(answers[1]).toMatchObject({ code: "unknown_verb", messageCount: 2 });
      expect(answers.slice(2).some((a) => a.code === "rate_limited")).toBe(true);
      client.close();
    });

    it("ping takes no token and is not counted", async () => {
      const client = await WsChatClient.connect(slow, { room: uniqueRoom("pings") });
      for (let i = 0; i < 10; i++) client.send("ping");
      for (let i = 0; i < 10; i++) expect(await client.next()).toBe("pong");
      const answers = await burst(client, ["roomView", "detailsView"]);
      expect(answers[0]).toMatchObject({ status: "OK", messageCount: 1 });
      expect(answers[1]).toMatchObject({ status: "OK", messageCount: 2 });
      client.close();
    });

    it("quit still works with an empty bucket: goodbye, close 1000", async () => {
      const room = uniqueRoom("quit");
      const observer = await WsChatClient.connect(slow, { room });
      const client = await WsChatClient.connect(slow, { room });
      const answers = await burst(client, ["roomView", "roomView", "roomView", "roomView"]);
      expect(answers.some((a) => a.code === "rate_limited")).toBe(true);
      client.send("quit");
      expect(await client.next((m) => typeof m === "object" && m.status === "Bye!")).toMatchObject({ context: "api", reason: "quit" });
      expect((await client.waitClosed()).code).toBe(1000);
      await observer.nextChat((m) => m.event === "leave" && m.from === client.id);
      observer.close();
    });

    it("exit still works with an empty bucket", async () => {
      const client = await WsChatClient.connect(slow, { room: uniqueRoom("exit") });
      await burst(client, ["roomView", "roomView", "roomView"]);
      client.send({ event: "exit" });
      expect(await client.next((m) => typeof m === "object" && m.status === "Bye!")).toMatchObject({ reason: "exit" });
      expect((await client.waitClosed()).code).toBe(1000);
    });

    it("the bucket refills at RATE_LIMIT per second and never beyond its capacity", async () => {
      const client = await WsChatClient.connect(slow, { room: uniqueRoom("refill") });
      // Idle well beyond a full refill: still only 2 tokens.
      await sleep(3000);
      const answers = await burst(client, ["roomView", "roomView", "roomView", "roomView"]);
      expect(answers.slice(0, 2).every((a) => a.status === "OK")).toBe(true);
      expect(answers.slice(2).some((a) => a.code === "rate_limited")).toBe(true);
      client.close();
    });
  });
});
