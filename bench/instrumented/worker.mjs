// The edgechat Worker with meters, for the bench's cost pass only (never deployed, never used for
// the throughput tables). It re-exports the real default handler and subclasses the real
// RoomObject / RoomDirectory, so what runs is src/ unchanged; the meters sit around it:
//  - requests to the objects: each handler call (fetch, webSocketMessage, webSocketClose,
//    webSocketError, alarm) on the callee side, and each method call on a stub on the caller side
//    (the env the real code sees has namespaces whose stubs count their calls: an RPC that a room
//    makes to itself as `this` is not a request and is not counted);
//  - SQLite rows: SqlStorage.prototype.exec is wrapped once, and every cursor's rowsRead /
//    rowsWritten are added up (sqlMeter.mjs, which says when they are final); the KV and alarm
//    methods of the storage are counted too (billed as rows: setAlarm is one row written);
//  - duration: per object, the wall time during which at least one of its methods is running or
//    has a promise not yet settled (every own method of the class is wrapped, private helpers
//    included, so the work of a timer callback such as a queued local send counts as well);
//  - Worker requests: calls of the default fetch handler;
//  - log lines: console calls (each a Workers Logs event when observability is on).
// GET /__bench/usage returns the totals since the last reset; ?reset=1 also starts a new window.
// All objects of this Worker run in the Worker's isolate under Miniflare (checked by the bench: it
// fails when the Worker's totals show no object events), so plain module state sums them all.
//
// The import below is resolved by the bench's build (servers/edgechat.mjs, BENCH_INSTRUMENTED=1) to
// src/worker/index.ts, or to BENCH_SRC_DIR's copy of it.
import real, { RoomDirectory as RealRoomDirectory, RoomObject as RealRoomObject } from "edgechat-bench:worker";
import { auditSql, patchSql, resetSql, setSqlAudit, settleSql, sqlTotals } from "./sqlMeter.mjs";

// BENCH_SQL_AUDIT (a binding): also keep every cursor and report the sum of their final counters,
// to check the running row totals (the bench fails when they disagree).
let audit = false;

/** @typedef {{ cls: string, depth: number, since: number, busyMs: number, calls: number }} ObjectMeter */

let usage = fresh();

function fresh() {
  return {
    startedAt: Date.now(),
    workerRequests: 0,
    workerRequestsByPath: {},
    /** console lines written (each one a log event when Workers Logs is on), by level. */
    logLines: {},
    /** Callee side: handler and method calls, "Class.method" -> count (local and remote calls alike). */
    calls: {},
    /** Caller side: calls made on stubs, "Class.method" -> count (each is one billed request). */
    stubCalls: {},
    /** KV rows, and alarm calls: made by a message or connect (setAlarm) or by an alarm handler (setAlarmInAlarm). */
    storage: { kvRowsRead: 0, kvRowsWritten: 0, setAlarm: 0, getAlarm: 0, deleteAlarm: 0, setAlarmInAlarm: 0, getAlarmInAlarm: 0, deleteAlarmInAlarm: 0 },
    /** Constructor runs by class: count, and the SQL rows they read and wrote. */
    constructed: {},
    /** @type {Set<ObjectMeter>} meters of the objects seen in this window */
    objects: new Set(),
  };
}

// ---- duration: per-object busy time ---------------------------------------------------------

/** @type {WeakMap<object, ObjectMeter>} one meter per object, kept across windows */
const meters = new WeakMap();

/** The same meters by the object's storage, so storage calls know whose they are. */
const meterByStorage = new WeakMap();

function newMeter(cls) {
  return { cls, depth: 0, since: 0, busyMs: 0, calls: 0, alarmDepth: 0 };
}

function meterOf(object, cls) {
  let meter = meters.get(object);
  if (!meter) {
    meter = newMeter(cls);
    meters.set(object, meter);
  }
  if (!usage.objects.has(meter)) {
    // First call in this window (objects busy at a reset were carried over by reset()).
    meter.busyMs = 0;
    meter.calls = 0;
    usage.objects.add(meter);
  }
  return meter;
}

function enter(meter) {
  meter.calls++;
  if (meter.depth++ === 0) meter.since = Date.now();
}

function exit(meter) {
  if (--meter.depth === 0) meter.busyMs += Date.now() - meter.since;
}

function wrapMethod(cls, name, fn) {
  const label = `${cls}.${name}`;
  // While an alarm runs, the object's alarm calls (setAlarm, getAlarm) are housekeeping that
  // comes with time, not with messages: counted apart (see lib/cost.mjs, messagesOnly).
  const isAlarm = name === "alarm";
  return function metered(...args) {
    usage.calls[label] = (usage.calls[label] ?? 0) + 1;
    const meter = meterOf(this, cls);
    enter(meter);
    if (isAlarm) meter.alarmDepth++;
    const done = () => {
      if (isAlarm) meter.alarmDepth--;
      exit(meter);
    };
    let result;
    try {
      result = fn.apply(this, args);
    } catch (error) {
      done();
      throw error;
    }
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      return result.then(
        (value) => {
          done();
          return value;
        },
        (error) => {
          done();
          throw error;
        },
      );
    }
    done();
    return result;
  };
}

let storagePatched = false;
function patchStorage(storage) {
  if (storagePatched) return;
  storagePatched = true;
  const proto = Object.getPrototypeOf(storage);
  const keysIn = (arg) => (Array.isArray(arg) ? arg.length : arg !== null && typeof arg === "object" ? Object.keys(arg).length : 1);
  const wrap = (name, count) => {
    const fn = proto[name];
    if (typeof fn !== "function") return;
    proto[name] = function (...args) {
      count(args);
      return fn.apply(this, args);
    };
  };
  wrap("get", (args) => (usage.storage.kvRowsRead += keysIn(args[0])));
  wrap("put", (args) => (usage.storage.kvRowsWritten += keysIn(args[0])));
  wrap("delete", (args) => (usage.storage.kvRowsWritten += keysIn(args[0])));
  const inAlarm = (storage) => (meterByStorage.get(storage)?.alarmDepth ?? 0) > 0;
  proto.setAlarm = wrapAlarmCall(proto.setAlarm, "setAlarm", inAlarm);
  proto.getAlarm = wrapAlarmCall(proto.getAlarm, "getAlarm", inAlarm);
  proto.deleteAlarm = wrapAlarmCall(proto.deleteAlarm, "deleteAlarm", inAlarm);
}

function wrapAlarmCall(fn, name, inAlarm) {
  return function (...args) {
    const key = inAlarm(this) ? `${name}InAlarm` : name;
    usage.storage[key] = (usage.storage[key] ?? 0) + 1;
    return fn.apply(this, args);
  };
}

// ---- stubs: RPC calls and fetches made on them -----------------------------------------------

function onPrototypeChain(object, prop) {
  for (let p = Object.getPrototypeOf(object); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    if (Object.prototype.hasOwnProperty.call(p, prop)) return true;
  }
  return false;
}

function wrapStub(stub, cls) {
  return new Proxy(stub, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof prop !== "string" || prop === "then" || typeof value !== "function") return value;
      const label = `${cls}.${prop}`;
      // The stub's own methods (fetch) need the stub as `this`; an RPC method is a property the
      // stub makes up for any name, and must be called plainly: given a `this`, it tries to send
      // that along too (DataCloneError on the stub).
      const native = onPrototypeChain(target, prop);
      return (...args) => {
        usage.stubCalls[label] = (usage.stubCalls[label] ?? 0) + 1;
        return native ? value.apply(target, args) : value(...args);
      };
    },
  });
}

function wrapNamespace(namespace, cls) {
  const bound = new Map();
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      let fn = bound.get(prop);
      if (!fn) {
        fn = prop === "get" || prop === "getByName" ? (...args) => wrapStub(value.apply(target, args), cls) : value.bind(target);
        bound.set(prop, fn);
      }
      return fn;
    },
  });
}

/** The env the real code sees: the same bindings, with metered namespaces. One per env object. */
const wrappedEnvs = new WeakMap();
function meteredEnv(env) {
  let wrapped = wrappedEnvs.get(env);
  if (!wrapped) {
    audit = env.BENCH_SQL_AUDIT === "1";
    setSqlAudit(audit);
    wrapped = { ...env, ROOMS: wrapNamespace(env.ROOMS, "RoomObject"), DIRECTORY: wrapNamespace(env.DIRECTORY, "RoomDirectory") };
    wrappedEnvs.set(env, wrapped);
  }
  return wrapped;
}

// ---- log lines: every console call the real code makes -------------------------------------------
for (const level of ["log", "info", "warn", "error", "debug"]) {
  const write = console[level];
  console[level] = function (...args) {
    usage.logLines[level] = (usage.logLines[level] ?? 0) + 1;
    return write.apply(this, args);
  };
}

// ---- the classes --------------------------------------------------------------------------------

function metered(Real, cls) {
  class Metered extends Real {
    constructor(ctx, env) {
      patchSql(ctx.storage.sql);
      patchStorage(ctx.storage);
      settleSql();
      const read = sqlTotals.rowsRead;
      const written = sqlTotals.rowsWritten;
      const meter = newMeter(cls);
      meterByStorage.set(ctx.storage, meter);
      super(ctx, meteredEnv(env));
      meters.set(this, meter);
      // What the constructor costs: it runs on every wake from hibernation, not once per object.
      settleSql();
      const c = usage.constructed[cls] ?? (usage.constructed[cls] = { count: 0, rowsRead: 0, rowsWritten: 0 });
      c.count++;
      c.rowsRead += sqlTotals.rowsRead - read;
      c.rowsWritten += sqlTotals.rowsWritten - written;
    }
  }
  // Every own method, found by reflection, so renames and new RPC methods are metered too.
  for (const name of Object.getOwnPropertyNames(Real.prototype)) {
    if (name === "constructor") continue;
    const descriptor = Object.getOwnPropertyDescriptor(Real.prototype, name);
    if (!descriptor || typeof descriptor.value !== "function") continue;
    Object.defineProperty(Metered.prototype, name, { ...descriptor, value: wrapMethod(cls, name, descriptor.value) });
  }
  Object.defineProperty(Metered, "name", { value: cls });
  return Metered;
}

export const RoomObject = metered(RealRoomObject, "RoomObject");
export const RoomDirectory = metered(RealRoomDirectory, "RoomDirectory");

// ---- the Worker -----------------------------------------------------------------------------------

/** Totals since the last reset. Busy time of objects still running is counted up to now. */
function snapshot() {
  settleSql();
  const now = Date.now();
  const objects = { active: 0, busyMs: 0, calls: 0, byClass: {} };
  for (const meter of usage.objects) {
    let busy = meter.busyMs;
    if (meter.depth > 0) busy += now - meter.since;
    const c = objects.byClass[meter.cls] ?? (objects.byClass[meter.cls] = { active: 0, busyMs: 0, calls: 0 });
    objects.active++;
    objects.busyMs += busy;
    objects.calls += meter.calls;
    c.active++;
    c.busyMs += busy;
    c.calls += meter.calls;
  }
  const out = {
    windowMs: now - usage.startedAt,
    workerRequests: usage.workerRequests,
    workerRequestsByPath: usage.workerRequestsByPath,
    calls: usage.calls,
    stubCalls: usage.stubCalls,
    sql: sqlTotals,
    logLines: usage.logLines,
    storage: usage.storage,
    constructed: usage.constructed,
    objects,
  };
  if (audit) out.audit = auditSql();
  return out;
}

/** Starts a new window. Objects busy right now stay in it, their busy time counted from now. */
function reset() {
  resetSql();
  const now = Date.now();
  const carried = [...usage.objects].filter((meter) => meter.depth > 0);
  usage = fresh();
  for (const meter of carried) {
    meter.since = now;
    meter.busyMs = 0;
    meter.calls = 0;
    usage.objects.add(meter);
  }
}

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__bench/usage") {
      const body = snapshot();
      if (url.searchParams.has("reset")) reset();
      return Response.json(body);
    }
    usage.workerRequests++;
    usage.workerRequestsByPath[url.pathname] = (usage.workerRequestsByPath[url.pathname] ?? 0) + 1;
    return real.fetch(request, meteredEnv(env), ctx);
  },
};
