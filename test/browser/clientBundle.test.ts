import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { buildBrowserBundles, launchChromium } from "../support/browser.js";
import { uniqueRoom } from "../support/edgechatClient.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
let browser: Browser;

beforeAll(async () => {
  await buildBrowserBundles();
  worker = await startWorker();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await worker?.dispose();
});

describe("the client bundle (/client/edgechat.js) in Chromium with the native WebSocket", () => {
  it("imports as an ES module, chats with a Node peer, rejects with protocol codes, and closes", async () => {
    const room = uniqueRoom("bundle");
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${worker.url}/`);
      const { socket: peer } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);

      type Lib = typeof import("../../src/client/index.js");
      type Win = { lib: Lib; client: InstanceType<Lib["EdgechatClient"]>; statuses: string[]; heard: Promise<unknown> };
      // Loaded the way a site would: a module script importing the bundle.
      await page.addScriptTag({ type: "module", content: 'import * as lib from "/client/edgechat.js"; window.lib = lib;' });
      await page.waitForFunction(() => "lib" in window);
      const result = await page.evaluate(async (roomName) => {
        const w = window as unknown as Win;
        w.statuses = [];
        w.client = new w.lib.EdgechatClient(w.lib.sameOriginConnectUrl(), { room: roomName });
        w.client.on("status", ({ status }) => {
          w.statuses.push(status);
        });
        w.heard = new Promise((resolve) => w.client.once("message", resolve));
        const welcome = await w.client.connect();
        const said = await w.client.say({ text: "from the browser" });
        const error = await w.client.listenToRoom("not a room").catch((e: InstanceType<Lib["EdgechatError"]>) => ({
          name: e.name,
          code: e.code,
          isEdgechatError: e instanceof w.lib.EdgechatError,
        }));
        return { welcome, said, error, exports: Object.keys(w.lib).sort() };
      }, room);

      expect(result.welcome).toMatchObject({ room, context: "api" });
      expect(result.said).toEqual({ room, seq: expect.any(Number) });
      expect(result.error).toEqual({ name: "EdgechatError", code: "invalid_room", isEdgechatError: true });
      expect(result.exports).toEqual(["EdgechatClient", "EdgechatError", "backoffDelay", "connectUrl", "sameOriginConnectUrl"]);
      const got = await peer.nextChat((m) => m.from === result.welcome.id && m.event === undefined);
      expect(got).toMatchObject({ room, message: { text: "from the browser" }, seq: result.said.seq });

      peer.send({ event: "say", message: "from node" });
      const heard = await page.evaluate(async () => {
        const w = window as unknown as Win;
        const message = await w.heard;
        w.client.close();
        return { message, statuses: w.statuses };
      });
      expect(heard.message).toMatchObject({ room, message: "from node", seq: result.said.seq + 1 });
      expect(heard.statuses).toEqual(["connecting", "open", "closed"]);
      expect(errors).toEqual([]);
      peer.close();
    } finally {
      await context.close();
    }
  });
});
