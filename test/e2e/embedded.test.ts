import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build, type Metafile } from "esbuild";
import { workerBundle } from "../../scripts/bundles.mjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { runBundledWorker, type FixtureWorker } from "../fixtures/runWorker.js";
import { TestSocket } from "../support/wsClient.js";

/**
 * examples/embedded as a user gets it: edgechat packed with `npm pack` (its prepack/prepare scripts
 * included), unpacked into a copy of the example as node_modules/edgechat, the example's worker
 * bundled the way wrangler bundles it, run in workerd with the example's own wrangler.toml
 * bindings (read by wrangler itself), and driven over real sockets.
 */

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../..", import.meta.url));
const example = join(repo, "examples", "embedded");

/**
 * What `npm pack` needs from the repo. It packs a copy, not the repo itself: its lifecycle scripts
 * rewrite dist/ and public/, which the tests running beside this one read.
 */
const PACKING_INPUTS = [
  "package.json",
  "README.md",
  "docs",
  "bin",
  "src",
  "scripts",
  "tsconfig.json",
  "tsconfig.node.json",
  "tsconfig.build.server.json",
  "tsconfig.build.node.json",
  "worker-configuration.d.ts",
];

let temp: string;
let app: string; // the example's copy, with the tarball unpacked in node_modules/edgechat
let tarball: string;
let bundleInputs: string[];
let worker: FixtureWorker;

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), "edgechat-embedded-"));
  const staged = join(temp, "package");
  await mkdir(staged);
  for (const entry of PACKING_INPUTS) await cp(join(repo, entry), join(staged, entry), { recursive: true });
  await symlink(join(repo, "node_modules"), join(staged, "node_modules"), "dir");
  await run("npm", ["pack", "--pack-destination", temp, "--no-audit", "--no-fund"], { cwd: staged, maxBuffer: 16 * 1024 * 1024 });
  const packed = (await readdir(temp)).filter((name) => name.endsWith(".tgz"));
  expect(packed).toHaveLength(1);
  expect(packed[0]).toMatch(/^edgechat-\d+\.\d+\.\d+.*\.tgz$/);
  tarball = join(temp, packed[0]);

  app = join(temp, "app");
  await cp(example, app, {
    recursive: true,
    filter: (path) => !/(^|[\\/])(node_modules|\.wrangler)([\\/]|$)/.test(relative(example, path)),
  });
  const installed = join(app, "node_modules", "edgechat");
  await mkdir(installed, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);

  // As `wrangler deploy` bundles a Worker; edgechat's own dependencies (jose) come from the repo's
  // node_modules, as if npm had installed them next to it.
  const { unstable_getMiniflareWorkerOptions, unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: join(app, "wrangler.toml") });
  const bundled = await build({
    // Bundled as wrangler deploy bundles a Worker (the same options edgechat's own build uses).
    ...workerBundle(),
    entryPoints: [config.main!],
    absWorkingDir: app,
    nodePaths: [join(repo, "node_modules")],
    metafile: true,
    write: false,
    logLevel: "error",
  });
  bundleInputs = Object.keys((bundled.metafile as Metafile).inputs);
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(app, "wrangler.toml"));
  worker = await runBundledWorker(bundled.outputFiles![0].text, { ...workerOptions, name: "embedded" } as never);
}, 240_000);

afterAll(async () => {
  await worker?.dispose();
  if (temp) await rm(temp, { recursive: true, force: true });
});

// ---- helpers ------------------------------------------------------------------------------

/** Logs in through the example's own route; returns the Cookie header value. */
async function login(name: string): Promise<string> {
  const answer = await fetch(`${worker.url}/login`, { method: "POST", body: JSON.stringify({ name }) });
  expect(answer.status).toBe(200);
  const setCookie = answer.headers.get("Set-Cookie") ?? "";
  expect(setCookie).toMatch(/^sid=[0-9a-f-]{36};.*HttpOnly/);
  return setCookie.split(";")[0];
}

/** A WebSocket upgrade of /chat/connect: 101, or the refusal's status and body. */
function upgrade(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${worker.wsUrl}${path}`, { headers, perMessageDeflate: false });
    ws.once("open", () => {
      ws.terminate();
      resolve({ status: 101, body: "" });
    });
    ws.once("unexpected-response", (_request, response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    ws.once("error", (error) => reject(error));
  });
}

/** A connect that is refused with a refusal frame and a close code: what it read, and the code. */
async function refused(path: string, headers: Record<string, string> = {}): Promise<{ code: number; first: unknown }> {
  const socket = await TestSocket.open(`${worker.wsUrl}${path}`, headers);
  const first = await socket.next();
  return { code: (await socket.waitClosed()).code, first };
}

interface Member {
  socket: TestSocket;
  id: string;
  room: string;
}

async function enter(cookie: string, room?: string): Promise<Member> {
  const query = room ? `?room=${encodeURIComponent(room)}` : "";
  return TestSocket.connect(`${worker.wsUrl}/chat/connect${query}`, { Cookie: cookie });
}

let roomCount = 0;
const freshRoom = (label: string) => `${label}-${++roomCount}-${Date.now().toString(36)}`;

/** Waits for a member's join notice to reach `to`, so later messages are not raced by joins. */
async function joined(to: Member, who: Member): Promise<void> {
  await to.socket.nextChat((m) => m.event === "join" && m.from === who.id, 10_000);
}

// ---- the package --------------------------------------------------------------------------

describe("the packed tarball", () => {
  it("holds every exports entry with its types, the gateway bin, and no sources or tests", async () => {
    const installed = join(app, "node_modules", "edgechat");
    const pkg = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
    expect(pkg.private).toBeUndefined();
    expect(Object.keys(pkg.exports)).toEqual([".", "./client", "./gateway", "./protocol", "./package.json"]);
    const files = new Set<string>();
    const walk = async (dir: string) => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else files.add(relative(installed, path).split(sep).join("/"));
      }
    };
    await walk(installed);
    for (const target of Object.values(pkg.exports as Record<string, { types: string; default: string } | string>)) {
      if (typeof target === "string") continue;
      expect(files.has(target.types.slice(2)), target.types).toBe(true);
      expect(files.has(target.default.slice(2)), target.default).toBe(true);
    }
    expect(files.has(pkg.bin["edgechat-gateway"])).toBe(true);
    expect(files.has("dist/gateway.mjs")).toBe(true);
    expect([...files].filter((file) => /^(src|test|bench|examples|scripts)\//.test(file) || file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
    expect(Object.keys(pkg.dependencies).sort()).toEqual(["commander", "jose", "ws"]);
    // The server keeps the runtime's module for wrangler to resolve.
    expect(await readFile(join(installed, "dist/server/objects/ChatRoom.js"), "utf8")).toContain('from "cloudflare:workers"');
  });

  it("the example's worker was bundled from the unpacked tarball, not from the repo's sources", () => {
    expect(bundleInputs).toContain("node_modules/edgechat/dist/server/index.js");
    expect(bundleInputs.filter((input) => input.includes("src/server") || input.includes("src/protocol"))).toEqual([]);
    expect(bundleInputs.some((input) => input.includes("/jose/"))).toBe(true);
  });

  it("the example type-checks against the packed .d.ts files", async () => {
    await mkdir(join(app, "node_modules", "@cloudflare"), { recursive: true });
    await symlink(join(repo, "node_modules", "@cloudflare", "workers-types"), join(app, "node_modules", "@cloudflare", "workers-types"), "dir");
    const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
    const checked = await run(process.execPath, [tsc, "-p", join(app, "tsconfig.json")], { cwd: app }).then(
      () => "",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe("");
  }, 60_000);
});

// ---- the app's own routes -----------------------------------------------------------------

describe("the app's own routes", () => {
  it("serve its page, log in with a session cookie kept in KV, and answer /me", async () => {
    const page = await fetch(`${worker.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toContain("text/html");
    expect(await page.text()).toContain("/chat/connect");

    expect((await fetch(`${worker.url}/me`)).status).toBe(401);
    const refused = await fetch(`${worker.url}/login`, { method: "POST", body: JSON.stringify({ name: "no spaces allowed" }) });
    expect(refused.status).toBe(400);

    const cookie = await login("ada");
    const me = await fetch(`${worker.url}/me`, { headers: { Cookie: cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ name: "ada" });
    const sessions = await worker.mf.getKVNamespace("SESSIONS");
    expect(await sessions.get(`session:${cookie.slice("sid=".length)}`)).toBe("ada");

    expect((await fetch(`${worker.url}/nope`)).status).toBe(404);
  });
});

// ---- chat under /chat/ --------------------------------------------------------------------

describe("chat mounted under /chat/ behind the app's session", () => {
  it("refuses /chat/connect without a session (refuseConnect from onBeforeConnect: 4403) and admits a logged-in user as `user`", async () => {
    expect(await refused("/chat/connect")).toEqual({ code: 4403, first: { context: "api", status: "error", code: "not_authorized", error: "log in first" } });
    expect((await refused("/chat/connect", { Cookie: "sid=00000000-0000-4000-8000-000000000000" })).code).toBe(4403);

    const cookie = await login("grace");
    expect((await upgrade("/chat/connect", { Cookie: cookie })).status).toBe(101);
    const grace = await enter(cookie);
    expect(grace.room).toBe("lobby"); // settings.defaultRoom of the example
    const details = await grace.socket.request("detailsView");
    expect(details.data).toMatchObject({ room: "lobby", attributes: { user: "grace" } });
    grace.socket.close();

    // Logged out: refused again.
    await fetch(`${worker.url}/logout`, { method: "POST", headers: { Cookie: cookie } });
    expect((await refused("/chat/connect", { Cookie: cookie })).code).toBe(4403);
  });

  it("chat works only at the prefix: /connect and other /chat/ paths are the app's 404", async () => {
    const cookie = await login("linus");
    expect(await upgrade("/connect", { Cookie: cookie })).toMatchObject({ status: 404 });
    expect(await upgrade("/chat/connect/x", { Cookie: cookie })).toMatchObject({ status: 404 });
  });

  it("two sessions chat: `from` is the sender's connection, onSay adds `user` and masks a word; filters match the `user` attribute, not params", async () => {
    const room = freshRoom("talk");
    const alice = await enter(await login("alice"), room);
    const bob = await enter(await login("bob"), room);
    const carol = await enter(await login("carol"), room);
    await joined(alice, carol);
    await joined(bob, carol);

    const said = await alice.socket.request({ event: "say", message: "well darn, hello" });
    expect(said.status).toBe("OK");
    for (const other of [bob, carol]) {
      const heard = await other.socket.nextChat((m) => !m.event);
      expect(heard).toMatchObject({ from: alice.id, room, message: { user: "alice", text: "well ****, hello" } });
    }

    // Carol claims bob's name as a client param: params never decide delivery.
    expect((await carol.socket.request("paramAdd user=bob")).status).toBe("OK");
    const toBob = await alice.socket.request({ event: "say", message: "just for bob", roomMatchKey: "user", roomMatchValue: "bob" });
    expect(toBob.status).toBe("OK");
    expect(await bob.socket.nextChat((m) => !m.event)).toMatchObject({ from: alice.id, message: { user: "alice", text: "just for bob" } });
    const everyone = await alice.socket.request({ event: "say", message: "for everyone" });
    expect(everyone.status).toBe("OK");
    // Carol's next message from alice is the one for everyone: the filtered one never reached her.
    expect(await carol.socket.nextChat((m) => m.from === alice.id && !m.event)).toMatchObject({ message: { text: "for everyone" } });
    for (const member of [alice, bob, carol]) member.socket.close();
  });

  it("a link (or a non-text message) is refused with `rejected` and reaches nobody, and the room goes on", async () => {
    const room = freshRoom("links");
    const alice = await enter(await login("alice"), room);
    const bob = await enter(await login("bob"), room);
    await joined(alice, bob);

    const before = await alice.socket.request({ event: "say", message: "first" });
    const link = await alice.socket.request({ event: "say", message: "see https://spam.example/x", requestId: 7 });
    expect(link).toMatchObject({ context: "response", status: "error", code: "rejected", error: "no links, please", requestId: 7 });
    const object = await alice.socket.request({ event: "say", message: { text: "www.spam.example" } });
    expect(object).toMatchObject({ status: "error", code: "rejected", error: "send text" });
    const after = await alice.socket.request("say still here");
    expect(after.status).toBe("OK");
    // Nothing was numbered for the refused ones.
    expect((after.data as { seq: number }).seq).toBe((before.data as { seq: number }).seq + 1);

    const heard = [await bob.socket.nextChat((m) => !m.event), await bob.socket.nextChat((m) => !m.event)];
    expect(heard.map((m) => (m.message as { text: string }).text)).toEqual(["first", "still here"]);
    const history = await bob.socket.request({ event: "history" });
    expect(JSON.stringify(history.data)).not.toContain("spam.example");
    alice.socket.close();
    bob.socket.close();
  });

  it("onBroadcast wrote every broadcast of a room to the CHAT_LOG binding as `${room}:${seq}`", async () => {
    const room = freshRoom("logged");
    const alice = await enter(await login("alice"), room);
    const bob = await enter(await login("bob"), room);
    await joined(alice, bob);
    const said = await alice.socket.request({ event: "say", message: "oh darn" });
    const refused = await alice.socket.request({ event: "say", message: "http://nope.example" });
    expect(refused.code).toBe("rejected");
    const seq = (said.data as { seq: number }).seq;
    bob.socket.close();
    await alice.socket.nextChat((m) => m.event === "leave" && m.from === bob.id);

    const log = await worker.mf.getKVNamespace("CHAT_LOG");
    const keys = async () => (await log.list({ prefix: `${room}:` })).keys.map((key) => key.name);
    // Written after the room numbered each broadcast (waitUntil), so wait for the last one: bob's leave.
    const deadline = Date.now() + 10_000;
    while ((await keys()).length < seq + 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    // alice's join, bob's join, the say, bob's leave: seq 1..4, nothing for the refused link.
    expect((await keys()).sort()).toEqual([1, 2, 3, 4].map((n) => `${room}:${n}`).sort());
    expect(seq).toBe(3);
    const entry = JSON.parse((await log.get(`${room}:${seq}`)) ?? "null");
    expect(entry).toMatchObject({ room, seq, from: alice.id, message: { user: "alice", text: "oh ****" } });
    expect(typeof entry.epoch).toBe("string");
    expect(typeof entry.sentAt).toBe("number");
    const leave = JSON.parse((await log.get(`${room}:4`)) ?? "null");
    expect(leave).toMatchObject({ from: bob.id, event: "leave" });
    alice.socket.close();
  });

  it("the admin API is not mounted: /chat/api/* and /api/* are the app's own 404", async () => {
    const bearer = { Authorization: "Bearer anything" };
    for (const [method, path] of [
      ["GET", "/chat/api/rooms"],
      ["GET", "/chat/api/rooms/lobby"],
      ["POST", "/chat/api/rooms/lobby/broadcast"],
      ["POST", "/chat/api/tokens"],
      ["GET", "/api/rooms"],
    ]) {
      const answer = await fetch(`${worker.url}${path}`, { method, headers: bearer, body: method === "POST" ? "{}" : undefined });
      expect(answer.status, path).toBe(404);
      expect(await answer.text(), path).toBe("not found");
    }
  });
});
