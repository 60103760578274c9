import { mkdirSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { buildBrowserBundles, launchChromium, startDropProxy, type DropProxy } from "../support/browser.js";
import { api, uniqueRoom } from "../support/edgechatClient.js";
import { startGateway, TcpClient, type RunningGateway } from "../support/gateway.js";
import { startWorker, type RunningWorker } from "../support/worker.js";

const ARTIFACTS = "test/artifacts";

let worker: RunningWorker;
let proxy: DropProxy;
let gateway: RunningGateway;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];
const tcpClients: TcpClient[] = [];

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  await buildBrowserBundles();
  worker = await startWorker();
  proxy = await startDropProxy(worker.url);
  gateway = await startGateway(worker.wsUrl, { log: () => {} });
  browser = await launchChromium();
});

afterEach(async () => {
  for (const client of tcpClients.splice(0)) client.destroy();
  for (const context of contexts.splice(0)) await context.close();
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await proxy?.close();
  await worker?.dispose();
});

/** A fresh browser profile (own localStorage) with one page on the demo. */
async function openPage(origin: string, viewport = { width: 1100, height: 720 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") pageErrors.push(message.text());
  });
  await page.goto(`${origin}/`);
  return page;
}

/** Fills the join form with the keyboard the way a person would, and waits to be connected. */
async function join(page: Page, name: string, room: string): Promise<void> {
  await page.getByLabel("Your name", { exact: true }).fill(name);
  await page.getByLabel("Room", { exact: true }).fill(room);
  await page.getByLabel("Room", { exact: true }).press("Enter");
  await page.locator('#status[data-status="open"]').waitFor();
  await page.locator("#chat-view").waitFor();
  await expectText(page, "#room-name", room);
  expect(await page.title()).toBe(`${room} · edgechat`);
  expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(`Chat in ${room}`);
}

async function say(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
  await page.locator("#messages li.mine:not(.pending)", { hasText: text }).waitFor();
}

/** Waits for a chat bubble (not a notice) with this text; returns who it shows as the sender. */
async function bubble(page: Page, text: string): Promise<{ who: string; where: string | null; time: string }> {
  const item = page.locator("#messages li.msg:not(.notice)", { hasText: text }).last();
  await item.waitFor();
  return {
    who: (await item.locator(".who").textContent()) ?? "",
    where: (await item.locator(".where").count()) > 0 ? await item.locator(".where").textContent() : null,
    time: (await item.locator("time").getAttribute("datetime")) ?? "",
  };
}

async function expectText(page: Page, selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel)?.textContent?.trim() === want,
    [selector, text] as const,
    { timeout: 10_000 },
  );
}

async function memberNames(page: Page): Promise<string[]> {
  return page.locator("#members li > span:first-child").allTextContents();
}

describe("demo page in Chromium", () => {
  it("two pages chat, a third page listens to the room, and a TCP client sees the same messages", async () => {
    const room = uniqueRoom("lobby");
    const elsewhere = uniqueRoom("elsewhere");
    const ada = await openPage(worker.url);
    const bob = await openPage(worker.url);
    const cy = await openPage(worker.url);
    await join(ada, "Ada", room);
    await join(bob, "Bob", room);
    await join(cy, "Cy", elsewhere);
    await cy.getByLabel("Room to listen to").fill(room);
    await cy.getByLabel("Room to listen to").press("Enter");
    await cy.locator("#listening li", { hasText: `#${room}` }).waitFor();

    // A TCP client through the gateway joins the same room.
    const { client: tcp, id: tcpId } = await TcpClient.connect(gateway.port);
    tcpClients.push(tcp);
    expect(await tcp.request(`roomChange ${room}`)).toMatchObject({ status: "OK", data: { room } });

    // Ada's member list follows joins live: herself, Bob, and the TCP client.
    await expectText(ada, "#member-count", "3");
    expect(await ada.locator("#members li").count()).toBe(3);
    expect(await ada.locator("#members li", { hasText: "(you)" }).textContent()).toContain("Ada");

    await say(ada, "Hello from Ada");
    const seenByBob = await bubble(bob, "Hello from Ada");
    expect(seenByBob.who).toBe("Ada");
    expect(seenByBob.where).toBeNull();
    expect(Math.abs(Date.parse(seenByBob.time) - Date.now())).toBeLessThan(60_000);
    const seenByCy = await bubble(cy, "Hello from Ada");
    expect(seenByCy).toMatchObject({ who: "Ada", where: `#${room}` });
    const seenByTcp = await tcp.nextChat((m) => (m.message as { text?: string }).text === "Hello from Ada");
    expect(seenByTcp).toMatchObject({ room, message: { text: "Hello from Ada", name: "Ada" } });

    await say(bob, "Hi Ada, Bob here");
    expect((await bubble(ada, "Hi Ada, Bob here")).who).toBe("Bob");
    expect((await bubble(cy, "Hi Ada, Bob here")).who).toBe("Bob");
    await tcp.nextChat((m) => (m.message as { text?: string }).text === "Hi Ada, Bob here");

    // The TCP client speaks plain text; pages show it under its id (no name known).
    tcp.line("say hello from the terminal");
    const fromTcp = await bubble(ada, "hello from the terminal");
    expect(fromTcp.who).toBe(`${tcpId.split(".")[1].slice(0, 8)}…`);
    await bubble(bob, "hello from the terminal");
    await bubble(cy, "hello from the terminal");

    // Names learned from messages show up in the member list.
    await ada.waitForFunction(() => Array.from(document.querySelectorAll("#members li")).some((li) => li.textContent?.includes("Bob")));
    expect((await memberNames(ada)).sort()).toEqual(["Ada", "Bob", `${tcpId.split(".")[1].slice(0, 8)}…`].sort());

    // Cy silences the room: nothing more from it.
    await cy.getByRole("button", { name: `Silence ${room}` }).click();
    await cy.locator("#listening li").waitFor({ state: "detached" });
    await say(ada, "after the silence");
    await bubble(bob, "after the silence");
    expect(await cy.locator("#messages li", { hasText: "after the silence" }).count()).toBe(0);

    // Bob leaves: Ada's count drops live.
    await bob.context().close();
    contexts.splice(contexts.indexOf(bob.context()), 1);
    await expectText(ada, "#member-count", "2");
    await ada.locator("#messages li.notice", { hasText: "Bob left" }).waitFor();

    await ada.screenshot({ path: `${ARTIFACTS}/demo-desktop.png` });
  });

  it("shows reconnecting when its socket drops and comes back in the same room, still listening", async () => {
    const room = uniqueRoom("steady");
    const side = uniqueRoom("side");
    const dropped = await openPage(proxy.url);
    const steady = await openPage(worker.url);
    await join(dropped, "Dee", room);
    await join(steady, "Sam", room);
    await dropped.getByLabel("Room to listen to").fill(side);
    await dropped.getByRole("button", { name: "Listen" }).click();
    await dropped.locator("#listening li", { hasText: `#${side}` }).waitFor();
    await expectText(steady, "#member-count", "2");
    const idBefore = await dropped.evaluate(() => (window as unknown as { edgechat: { id: string } }).edgechat.id);

    proxy.setBlocked(true);
    proxy.dropAll();
    await dropped.locator('#status[data-status="reconnecting"]').waitFor();
    await expectText(dropped, "#status-text", "Reconnecting…");
    await dropped.locator("#messages li.notice", { hasText: "Connection lost" }).waitFor();
    // While the network is down, a message typed now waits and is sent after the reconnect.
    await dropped.getByLabel("Message", { exact: true }).fill("typed while offline");
    await dropped.getByLabel("Message", { exact: true }).press("Enter");
    await dropped.locator("#messages li.mine.pending", { hasText: "typed while offline" }).waitFor();
    await dropped.screenshot({ path: `${ARTIFACTS}/demo-reconnecting.png` });

    proxy.setBlocked(false);
    await dropped.locator('#status[data-status="open"]').waitFor({ timeout: 20_000 });
    await dropped.locator("#messages li.notice", { hasText: `Reconnected to ${room}` }).waitFor();
    const idAfter = await dropped.evaluate(() => (window as unknown as { edgechat: { id: string } }).edgechat.id);
    expect(idAfter).not.toBe(idBefore);

    expect((await bubble(steady, "typed while offline")).who).toBe("Dee");
    await expectText(steady, "#member-count", "2");
    await say(steady, "welcome back");
    expect((await bubble(dropped, "welcome back")).who).toBe("Sam");
    const broadcast = await api(worker.url, "POST", `/api/rooms/${side}/broadcast`, { message: "still listening?" });
    expect(broadcast.status).toBe(200);
    expect(await bubble(dropped, "still listening?")).toMatchObject({ who: "edgechat", where: `#${side}` });
    expect(await dropped.locator("#listening li").allTextContents()).toEqual([expect.stringContaining(`#${side}`)]);
    await expectText(dropped, "#member-count", "2");
  });

  it("across a drop: nothing said while away is lost in a quiet room, its own messages are not shown twice, its filter holds on rejoin", async () => {
    const room = uniqueRoom("quiet");
    const page = await openPage(proxy.url);
    await join(page, "Eve", room);
    // Nothing has been said in the room yet: the page still has a point to resume from.
    await say(page, "mine before the drop");
    await page.evaluate(async () => {
      const chat = (window as unknown as { edgechat: { paramAdd(k: string, v: string): Promise<unknown> } }).edgechat;
      await chat.paramAdd("roomMatchKey", "team");
      await chat.paramAdd("roomMatchValue", "a");
    });
    const { client: line, id: lineId } = await TcpClient.connect(gateway.port);
    tcpClients.push(line);
    expect((await api(worker.url, "PATCH", `/api/connections/${encodeURIComponent(lineId)}/attributes`, { team: "b" })).status).toBe(200);
    await line.request(`roomChange ${room}`);
    const idBefore = await page.evaluate(() => (window as unknown as { edgechat: { id: string } }).edgechat.id);

    proxy.setBlocked(true);
    proxy.dropAll();
    await page.locator('#status[data-status="reconnecting"]').waitFor();
    await line.request("say said while you were away");
    proxy.setBlocked(false);
    await page.locator('#status[data-status="open"]').waitFor({ timeout: 20_000 });
    const idAfter = await page.evaluate(() => (window as unknown as { edgechat: { id: string } }).edgechat.id);
    expect(idAfter).not.toBe(idBefore);

    expect((await bubble(page, "said while you were away")).who).not.toBe("Eve");
    await line.request("say and after");
    await bubble(page, "and after");
    expect(await page.locator("#messages li.msg:not(.notice)", { hasText: "said while you were away" }).count()).toBe(1);
    expect(await page.locator("#messages li.msg:not(.notice)", { hasText: "mine before the drop" }).count()).toBe(1);
    // The team-b line client heard nothing of the page coming back (its filter was in force first).
    const notices = line.received.filter((m) => typeof m === "object" && (m.event === "join" || m.event === "leave") && (m.from === idAfter || m.from === idBefore));
    expect(notices).toEqual([]);
  });

  it("refuses a bad room name on the page and works on a phone-sized screen", async () => {
    const phone = await openPage(worker.url, { width: 390, height: 780 });
    await phone.getByLabel("Your name", { exact: true }).fill("Pip");
    await phone.getByLabel("Room", { exact: true }).fill("no spaces please");
    await phone.getByRole("button", { name: "Join room" }).click();
    expect(await phone.getByRole("alert").textContent()).toContain("Room names");
    const room = uniqueRoom("phone");
    await join(phone, "Pip", room);
    const other = await openPage(worker.url);
    await join(other, "Quinn", room);
    await say(other, "a long message that should wrap nicely on a small screen without overflowing sideways");
    await bubble(phone, "a long message that should wrap");
    await say(phone, "looks fine here");
    // Nothing is wider than the screen.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: `${ARTIFACTS}/demo-phone.png` });
    // On a phone the room panel starts folded; it opens with the keyboard.
    await phone.locator("#room-panel summary").focus();
    await phone.keyboard.press("Enter");
    await phone.locator("#members li", { hasText: "Quinn" }).or(phone.locator("#members li").nth(1)).waitFor();
    await phone.screenshot({ path: `${ARTIFACTS}/demo-phone-panel.png` });
  });
});
