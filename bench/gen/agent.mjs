// One load-generator process: holds a share of the clients, sends and receives bench messages,
// records latency, and reports its own CPU use. Driven over IPC by bench/lib/agents.mjs.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { nowMs, open } from "../lib/clients.mjs";
import { newHist, pack, record } from "../lib/hist.mjs";

const clients = [];
let tracking = false;
let hist = newHist();
let received = 0;
let sent = 0;
let cpu0 = process.cpuUsage();
let wall0 = nowMs();
const loopDelay = monitorEventLoopDelay({ resolution: 2 });
let progressTimer;
let lastProgress = -1;
let doneUpTo = -1;
let pump; // the running sender's "try to send more" function

function onKey(client, key) {
  const t = parseFloat(key);
  const at = nowMs();
  client.last = Number(key.slice(key.indexOf("|") + 1));
  if (tracking) {
    received++;
    record(hist, at - t);
  }
}

async function connect({ proto, base, rooms, concurrency }) {
  const started = nowMs();
  let next = 0;
  let failures = 0;
  let firstError;
  const opened = [];
  const worker = async () => {
    while (next < rooms.length) {
      const room = rooms[next++];
      try {
        const client = await open(proto, base, room);
        client.last = -1;
        client.onKey = (key) => onKey(client, key);
        opened.push(client);
      } catch (error) {
        failures++;
        firstError ??= String(error?.message ?? error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, rooms.length)) }, worker));
  clients.push(...opened);
  // Which server object hosts each socket, where the id says (edgechat: "<host object hex>.<random>").
  const hosts = {};
  for (const c of opened) {
    const dot = typeof c.id === "string" ? c.id.indexOf(".") : -1;
    if (dot > 0) hosts[c.id.slice(0, dot)] = (hosts[c.id.slice(0, dot)] ?? 0) + 1;
  }
  return { opened: opened.length, failures, firstError, ms: nowMs() - started, hosts };
}

function startTracking({ progress }) {
  hist = newHist();
  received = 0;
  sent = 0;
  cpu0 = process.cpuUsage();
  wall0 = nowMs();
  loopDelay.reset();
  loopDelay.enable();
  tracking = true;
  clearInterval(progressTimer);
  lastProgress = -1;
  if (progress && clients.length > 0) {
    progressTimer = setInterval(() => {
      let min = Infinity;
      for (const c of clients) if (c.last < min) min = c.last;
      if (min !== lastProgress) {
        lastProgress = min;
        process.send({ type: "progress", min });
      }
    }, 2);
  }
}

function stats() {
  const cpu = process.cpuUsage(cpu0);
  const wallMs = nowMs() - wall0;
  loopDelay.disable();
  return {
    received,
    sent,
    hist: pack(hist),
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
    loopDelayP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0,
    clients: clients.length,
  };
}

function key(i) {
  return `${nowMs().toFixed(3)}|${i}`;
}

/** One sender keeps at most `window` messages not yet received by every receiver. */
function sendWindow({ window, durationMs, startIndex }) {
  const sender = clients[0];
  let i = startIndex;
  doneUpTo = startIndex - 1;
  const until = nowMs() + durationMs;
  return new Promise((resolve) => {
    pump = () => {
      if (nowMs() >= until) {
        pump = undefined;
        resolve({ nextIndex: i });
        return;
      }
      while (i - 1 - doneUpTo < window) {
        sender.say(key(i++));
        sent++;
      }
    };
    pump();
    // Guard against a stalled pipeline: re-check the clock even if no progress arrives.
    const guard = setInterval(() => {
      if (!pump) clearInterval(guard);
      else pump();
    }, 50);
  });
}

/** One sender at a fixed rate (messages/s). */
function sendRate({ rate, durationMs, startIndex }) {
  const sender = clients[0];
  let i = startIndex;
  const start = nowMs();
  const until = start + durationMs;
  return new Promise((resolve) => {
    const tick = () => {
      const now = nowMs();
      const due = Math.min(durationMs, now - start) * (rate / 1000);
      while (i - startIndex < due) {
        sender.say(key(i++));
        sent++;
      }
      if (now >= until) resolve({ nextIndex: i });
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/** Every client of this agent says at `perClient` messages/s, with random phases. */
function sendAll({ perClient, durationMs }) {
  const period = 1000 / perClient;
  const start = nowMs();
  const until = start + durationMs;
  const due = clients.map(() => start + Math.random() * period);
  let i = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = nowMs();
      for (let c = 0; c < clients.length; c++) {
        // Catch up at most a few periods, so a stalled process does not burst forever.
        let n = 0;
        while (due[c] <= now && n++ < 4) {
          clients[c].say(key(i++));
          sent++;
          due[c] += period;
        }
        if (due[c] <= now) due[c] = now + period;
      }
      if (now >= until) resolve({ sent: i });
      else setTimeout(tick, 2);
    };
    tick();
  });
}

const handlers = {
  connect,
  track: startTracking,
  stats,
  sendWindow,
  sendRate,
  sendAll,
  done({ upTo }) {
    doneUpTo = upTo;
    pump?.();
  },
  untrack() {
    tracking = false; // progress reports go on: the orchestrator waits for the tail to drain
  },
  closeAll() {
    clearInterval(progressTimer);
    tracking = false;
    for (const c of clients) c.close();
    const n = clients.length;
    clients.length = 0;
    return { closed: n };
  },
  exit() {
    for (const c of clients) c.close();
    setTimeout(() => process.exit(0), 50);
  },
};

process.on("message", async (msg) => {
  if (msg.cmd === "done") return handlers.done(msg); // hot path: no reply
  try {
    const result = await handlers[msg.cmd](msg);
    process.send({ type: "reply", id: msg.id, result });
  } catch (error) {
    process.send({ type: "reply", id: msg.id, error: String(error?.stack ?? error) });
  }
});
process.on("disconnect", () => process.exit(0));
