// What a usage window of the metered Worker costs on Cloudflare: billable units and their price.
import { readFileSync } from "node:fs";
//
// Rates: Workers Paid plan, the price per unit beyond the monthly included amounts (the $5/month
// minimum and the included allowances are not subtracted: these are marginal costs). Read from
// Cloudflare's published pricing pages (stored copies of cloudflare/cloudflare-docs), 2026-11-30:
//   https://developers.cloudflare.com/durable-objects/platform/pricing/
//     requests $0.15/million ("HTTP requests, RPC sessions, WebSocket messages, and alarm invocations";
//       every RPC method call on a stub is one request; incoming WebSocket messages at 20:1);
//     duration $12.50/million GB-s, 128 MB per object while active ("1,000,000 seconds * 128 MB / 1 GB
//       = 128,000 GB-s" in the page's own example, so 0.128 GB-s per object-second);
//     SQLite rows read $0.001/million, rows written $1.00/million (KV methods are billed as rows,
//       "each setAlarm() is billed as a single row written", deletes count as rows written);
//   https://developers.cloudflare.com/workers/platform/pricing/
//     requests $0.30/million ("WebSocket connections made to a Worker are charged as a request ...
//       WebSocket messages routed through a Worker do not count"); CPU time $0.02/million CPU ms
//       (not estimated here: a connect's Worker CPU is well under a millisecond's worth of price);
//     Workers Logs $0.60/million log events written (when [observability] is enabled in
//       wrangler.toml; the page says Cloudflare Observability pricing applies from 2026-12-01).
//       Counted: the console lines the code writes; the per-invocation entries Workers Logs may
//       add on its own are not counted.

export const RATES = {
  read: "2026-11-30",
  sources: {
    durableObjects: "https://developers.cloudflare.com/durable-objects/platform/pricing/",
    workers: "https://developers.cloudflare.com/workers/platform/pricing/",
  },
  doRequestsPerMillion: 0.15,
  doDurationPerMillionGBs: 12.5,
  rowsReadPerMillion: 0.001,
  rowsWrittenPerMillion: 1.0,
  workerRequestsPerMillion: 0.3,
  logEventsPerMillion: 0.6,
  wsMessagesPerRequest: 20,
  gbPerObject: 0.128,
};

const HANDLERS = ["fetch", "webSocketMessage", "webSocketClose", "webSocketError", "alarm"];

/** Sums "Class.method" counts over classes for one method name. */
function byMethod(counts, method) {
  let n = 0;
  for (const [label, count] of Object.entries(counts ?? {})) if (label.endsWith(`.${method}`)) n += count;
  return n;
}

/**
 * Billable units of one usage segment (a /__bench/usage answer). Duration is left at the objects'
 * busy time; withDuration() settles it once workerd's CPU time for the same span is known.
 * messagesOnly: leave out the alarms (their handler calls, and the setAlarm/getAlarm made inside
 * them) — they come with time, not with messages (a sweep every SWEEP_INTERVAL_SECONDS per object
 * that hosts sockets, including objects of earlier scenarios), and are accounted per idle hour
 * instead. The setAlarm a connect makes (scheduling the first sweep) stays.
 */
export function billableUnits(u, { messagesOnly = false } = {}) {
  const wsIncoming = byMethod(u.calls, "webSocketMessage") + byMethod(u.calls, "webSocketClose") + byMethod(u.calls, "webSocketError");
  const fetches = byMethod(u.calls, "fetch");
  const st = u.storage ?? {};
  const alarms = messagesOnly ? 0 : byMethod(u.calls, "alarm");
  // setAlarm is one row written each; those an alarm handler makes (rescheduling) come with time.
  const setAlarm = (st.setAlarm ?? 0) + (messagesOnly ? 0 : st.setAlarmInAlarm ?? 0);
  const getAlarm = (st.getAlarm ?? 0) + (messagesOnly ? 0 : st.getAlarmInAlarm ?? 0);
  const rpcByMethod = {};
  let rpc = 0;
  for (const [label, count] of Object.entries(u.stubCalls ?? {})) {
    if (label.endsWith(".fetch")) continue; // counted on the callee side, as `fetches`
    rpcByMethod[label] = count;
    rpc += count;
  }
  const busyMs = u.objects?.busyMs ?? 0;
  return {
    windowMs: u.windowMs,
    activeObjects: u.objects?.active ?? 0,
    constructed: u.constructed ?? {},
    wsIncoming,
    wsMessages: byMethod(u.calls, "webSocketMessage"),
    fetches,
    alarms,
    rpc,
    rpcByMethod,
    doRequests: fetches + rpc + alarms + wsIncoming / RATES.wsMessagesPerRequest,
    rowsWritten: (u.sql?.rowsWritten ?? 0) + (u.storage?.kvRowsWritten ?? 0) + setAlarm,
    rowsRead: (u.sql?.rowsRead ?? 0) + (u.storage?.kvRowsRead ?? 0),
    rowsByStatement: u.sql?.byStatement ?? {},
    setAlarm,
    getAlarm,
    busyMs,
    cpuMs: null,
    durationGBs: (busyMs / 1000) * RATES.gbPerObject,
    workerRequests: u.workerRequests ?? 0,
    logLines: Object.values(u.logLines ?? {}).reduce((a, b) => a + b, 0),
  };
}

/**
 * Duration: an object is billed while it runs or cannot hibernate. Measured two ways, the larger
 * priced: the time each object had a handler or RPC method in flight (summed over objects), and
 * workerd's CPU time over the same span (all objects run on its one JS thread here, so every CPU
 * ms is some object running; this catches work a handler left running after it returned).
 */
export function withDuration(units, cpuMs) {
  const activeMs = Math.max(units.busyMs, cpuMs ?? 0);
  return { ...units, cpuMs: cpuMs ?? null, durationGBs: (activeMs / 1000) * RATES.gbPerObject };
}

/** The same units scaled by `factor` (e.g. 1e6 / deliveries). Counts by statement/method too. */
export function scaleUnits(units, factor) {
  const scaleMap = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v === "number" ? v * factor : scaleMap(v)]));
  const out = {};
  for (const [k, v] of Object.entries(units)) {
    if (k === "windowMs" || k === "activeObjects" || k === "constructed") out[k] = v;
    else if (typeof v === "number") out[k] = v * factor;
    else if (v && typeof v === "object") out[k] = scaleMap(v);
    else out[k] = v;
  }
  return out;
}

/** Whether Workers Logs is on for this project ([observability] enabled = true in wrangler.toml). */
export function workersLogsEnabled(path = "wrangler.toml") {
  try {
    const section = /^\[observability\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(readFileSync(path, "utf8"))?.[1] ?? "";
    return /^\s*enabled\s*=\s*true\b/m.test(section);
  } catch {
    return false;
  }
}
/** Whether log lines are priced in this checkout. */
export const LOGS_ON = workersLogsEnabled();

/** Price in USD of some units, by kind, at RATES (log lines only when Workers Logs is on). */
export function price(units) {
  const doRequests = (units.doRequests / 1e6) * RATES.doRequestsPerMillion;
  const duration = (units.durationGBs / 1e6) * RATES.doDurationPerMillionGBs;
  const rowsWritten = (units.rowsWritten / 1e6) * RATES.rowsWrittenPerMillion;
  const rowsRead = (units.rowsRead / 1e6) * RATES.rowsReadPerMillion;
  const workerRequests = (units.workerRequests / 1e6) * RATES.workerRequestsPerMillion;
  const logs = LOGS_ON ? ((units.logLines ?? 0) / 1e6) * RATES.logEventsPerMillion : 0;
  return { doRequests, duration, rowsWritten, rowsRead, workerRequests, logs, total: doRequests + duration + rowsWritten + rowsRead + workerRequests + logs };
}

/** Whether the segment shows the meters saw the objects at all (they must share the Worker's isolate). */
export function assertMetered(u, what) {
  if (HANDLERS.every((h) => byMethod(u.calls, h) === 0) && Object.keys(u.stubCalls ?? {}).length === 0) {
    throw new Error(`${what}: the metered Worker saw no Durable Object events (objects in another isolate?): cost figures would be wrong`);
  }
  if (u.audit && (u.audit.rowsRead !== u.sql.rowsRead || u.audit.rowsWritten !== u.sql.rowsWritten)) {
    throw new Error(`${what}: SQL row totals disagree with the audit (running ${u.sql.rowsRead}/${u.sql.rowsWritten}, audit ${u.audit.rowsRead}/${u.audit.rowsWritten} read/written)`);
  }
}
