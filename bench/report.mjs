// Renders bench results as Markdown tables (absolute figures + edgechat/baseline ratios, for each
// storage mode of edgechat), the cost tables of the cost pass, and an SVG chart.
import { LOGS_ON, RATES } from "./lib/cost.mjs";
import { STORAGE_MODES } from "./lib/storage.mjs";

const BASELINES = [
  ["ws", "ws"],
  ["socketio", "Socket.IO"],
];
// Memory-backed first: it is the mode that predicts production (see the storage section).
const MODE_ORDER = ["memory", "disk"];
const COLORS = { "edgechat-memory": "#f38020", "edgechat-disk": "#9c4221", ws: "#2b6cb0", socketio: "#2f855a" };

const fmt = (x, d = 0) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));
const ms = (x) => (x === null || x === undefined ? "–" : x < 10 ? fmt(x, 2) : x < 100 ? fmt(x, 1) : fmt(x, 0));
const ratio = (a, b) => (a === null || a === undefined || !b ? "–" : `${fmt(a / b, 2)}×`);
/** Two significant-ish digits for small numbers (units per message, dollars). */
const num = (x) => (x === null || x === undefined || Number.isNaN(x) ? "–" : x === 0 ? "0" : Math.abs(x) >= 100 ? fmt(x, 0) : Math.abs(x) >= 1 ? fmt(x, 2) : Math.abs(x) >= 0.01 ? fmt(x, 3) : x.toExponential(1));
const usd = (x) => (x === null || x === undefined ? "–" : x >= 1 ? `$${fmt(x, 2)}` : x >= 0.01 ? `$${fmt(x, 3)}` : x === 0 ? "$0" : `$${x.toPrecision(2)}`);

function table(head, rows) {
  return [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** The edgechat servers of this run, memory-backed first: [{ key, mode, label }]. */
function edgechatServers(r) {
  const present = new Set([...Object.keys(r.fanout ?? {}), ...Object.keys(r.rooms ?? {}), ...Object.keys(r.connections ?? {})]);
  return MODE_ORDER.filter((mode) => present.has(`edgechat-${mode}`)).map((mode) => ({ key: `edgechat-${mode}`, mode, label: `edgechat ${STORAGE_MODES[mode]}` }));
}

/** All servers as columns: edgechat modes, then the baselines. */
function columns(r) {
  return [...edgechatServers(r).map(({ key, label }) => [key, label]), ...BASELINES];
}

const fanRow = (r, server, n) => r.fanout?.[server]?.find((x) => x.n === n);

/** "edgechat memory-backed: 0.80× ws, 0.61× Socket.IO; edgechat disk: ..." for one figure. */
function ratioLine(r, get, what) {
  const parts = edgechatServers(r).map(({ key, label }) => `${label}: ${BASELINES.map(([b, bl]) => `${ratio(get(key), get(b))} ${bl}`).join(", ")}`);
  return `${what}, edgechat ÷ baseline: ${parts.join("; ")}`;
}

function storageSection(r, out) {
  out.push("\n## Storage modes: disk and memory-backed\n");
  const where = Object.values(r.meta.storage ?? {})
    .map((s) => `${STORAGE_MODES[s.mode]}: \`${s.dir}\` on ${s.fsType} (${s.mountPoint}), ${fmt(s.sqliteFiles)} SQLite files written`)
    .join("; ");
  out.push(
    "edgechat runs twice against the same ws and Socket.IO runs, so every ratio is within one run. The only difference is where Miniflare keeps the " +
      "Durable Objects' SQLite files (`durableObjectsPersist`, set explicitly; left unset it would be a temp directory under `TMPDIR`):\n" +
      "- **disk**: a directory on the ordinary disk, as `npm start` runs (`wrangler dev` keeps `.wrangler/state` in the project). Every commit waits for the disk's flush.\n" +
      "- **memory-backed**: a directory on tmpfs (`/dev/shm`), so a commit costs no flush.\n\n" +
      (where ? `This run: ${where}.\n\n` : "") +
      "**Memory-backed predicts production.** A Durable Object's own sends wait for its storage writes to be confirmed (the output gate: outgoing messages are held until the " +
      "writes before them are durable; [Durable Objects glossary](https://developers.cloudflare.com/durable-objects/reference/glossary/)). On Cloudflare a SQLite-backed object's " +
      "write is made durable by replicating its WAL to followers in other data centres and waiting for a quorum of them, not by flushing a local disk " +
      "([Cloudflare blog: Zero-latency SQLite storage in every Durable Object](https://blog.cloudflare.com/sqlite-in-durable-objects/)); writes made while a confirmation is " +
      "in flight go out together in the next one. So a deployed room pays a network round trip of latency per confirmation, shared by a burst, but not a local fsync per commit " +
      "holding up its thread, which is what bounds the disk mode here. Neither mode has the replication round trip: production latency is the memory-backed figure plus a few ms; " +
      "production throughput is not bounded by local flushes. The disk mode is what a developer sees with `npm start`, and must not regress.",
  );
}

function fanoutSection(r, c, out) {
  const ns = [...new Set(Object.values(r.fanout ?? {}).flatMap((l) => l.map((x) => x.n)))].sort((a, b) => a - b);
  if (!ns.length) return;
  const cols = columns(r);
  const ecs = edgechatServers(r);
  out.push("\n## Fan-out: 1 sender → N receivers in one room\n");
  out.push(
    `**Sustained throughput** (closed loop: the sender keeps at most W = clamp(⌈${c.windowDeliveries}/N⌉, 8, 1024) messages not yet received by every receiver; ${c.measureMs / 1000} s measured after ${c.warmMs / 1000} s warm-up). ` +
      "**CPU per delivery** = the server's CPU time over the window (its whole process tree, from /proc) ÷ messages received by receivers, in µs. Ratios are edgechat ÷ baseline.\n",
  );
  out.push(
    table(
      ["N", "W", ...cols.map(([, l]) => `${l} deliveries/s`), ...ecs.flatMap(({ label }) => BASELINES.map(([, bl]) => `${label} ÷ ${bl}`))],
      ns.map((n) => {
        const get = (k) => fanRow(r, k, n)?.max?.deliveriesPerSec;
        const w = cols.map(([k]) => fanRow(r, k, n)?.max?.window).find((x) => x);
        return [n, w ?? "–", ...cols.map(([k]) => fmt(get(k))), ...ecs.flatMap(({ key }) => BASELINES.map(([b]) => ratio(get(key), get(b))))];
      }),
    ),
  );
  out.push("\n**CPU per delivery, µs** (sustained phase / fixed-load phase), and the ratio to each baseline at the fixed load (above 1 = edgechat uses more CPU per message):\n");
  out.push(
    table(
      ["N", ...cols.map(([, l]) => l), ...ecs.flatMap(({ label }) => BASELINES.map(([, bl]) => `${label} ÷ ${bl} (fixed)`))],
      ns.map((n) => {
        const cell = (k) => `${num(fanRow(r, k, n)?.max?.cpuUsPerDelivery)} / ${num(fanRow(r, k, n)?.fixed?.cpuUsPerDelivery)}`;
        const fixed = (k) => fanRow(r, k, n)?.fixed?.cpuUsPerDelivery;
        return [n, ...cols.map(([k]) => cell(k)), ...ecs.flatMap(({ key }) => BASELINES.map(([b]) => ratio(fixed(key), fixed(b))))];
      }),
    ),
  );
  out.push(
    `\n**Latency at a fixed load** (the sender sends min(${fmt(c.fixedDeliveries)}/N, ${fmt(c.fixedMaxMsgs)}) messages/s, i.e. ${ns.map((n) => fmt(Math.min(c.fixedDeliveries / n, c.fixedMaxMsgs ?? Infinity) * n)).join(" / ")} deliveries/s for N = ${ns.join(" / ")}; a load every server here carries). p50 / p99 in ms; "recv/sent" < 1 means the server fell behind.\n`,
  );
  out.push(
    table(
      ["N", "msgs/s", ...cols.map(([, l]) => `${l} p50 / p99`), ...ecs.flatMap(({ label }) => BASELINES.map(([, bl]) => `p99 ${label} ÷ ${bl}`)), "recv/sent"],
      ns.map((n) => {
        const f = (k) => fanRow(r, k, n)?.fixed;
        const rate = cols.map(([k]) => f(k)?.targetMsgsPerSec).find((x) => x !== undefined);
        return [
          n,
          fmt(rate, 0),
          ...cols.map(([k]) => `${ms(f(k)?.p50Ms)} / ${ms(f(k)?.p99Ms)}`),
          ...ecs.flatMap(({ key }) => BASELINES.map(([b]) => ratio(f(key)?.p99Ms, f(b)?.p99Ms))),
          cols.map(([k]) => fmt(f(k)?.deliveryRatio, 2)).join(" / "),
        ];
      }),
    ),
  );
  out.push("\n**Cores during the sustained phase** (server = its process tree, for edgechat workerd + the Miniflare host; generator = sum over its processes, busiest process in brackets; machine = all busy cores):\n");
  out.push(
    table(
      ["N", ...cols.map(([, l]) => `${l}: server / generator [max proc] / machine`)],
      ns.map((n) => [
        n,
        ...cols.map(([k]) => {
          const m = fanRow(r, k, n)?.max;
          if (!m) return "–";
          const top = Math.max(...m.generator.perAgent.map((p) => p.cores));
          return `${fmt(m.server.cores, 2)} / ${fmt(m.generator.cores, 2)} [${fmt(top, 2)}] / ${fmt(m.machineBusyCores, 2)}`;
        }),
      ]),
    ),
  );
  for (const { key, label } of ecs) {
    const ec = r.fanout?.[key];
    if (ec?.length) out.push(`\n${label} setup (connect N receivers, join notices to everyone already there): ` + ec.map((x) => `N=${x.n}: ${fmt(x.setupMs)} ms`).join(", ") + ".");
  }
}

function roomsSection(r, c, out) {
  if (!Object.keys(r.rooms ?? {}).length) return;
  const { rooms, members, perMemberRate } = c.rooms;
  out.push(`\n## Many rooms: ${rooms} rooms × ${members} members, every member says ${perMemberRate}/s\n`);
  out.push(
    table(
      ["", "deliveries/s", "expected", "p50 ms", "p99 ms", "CPU µs per delivery", "server cores", "generator cores", "machine busy cores"],
      columns(r).map(([k, l]) => {
        const x = r.rooms[k];
        return [l, fmt(x?.deliveriesPerSec), fmt(x?.expectedDeliveriesPerSec), ms(x?.p50Ms), ms(x?.p99Ms), num(x?.cpuUsPerDelivery), fmt(x?.server?.cores, 2), fmt(x?.generator?.cores, 2), fmt(x?.machineBusyCores, 2)];
      }),
    ),
  );
  out.push(
    `\n${ratioLine(r, (k) => r.rooms[k]?.deliveriesPerSec, "Deliveries/s")}.\n${ratioLine(r, (k) => r.rooms[k]?.p99Ms, "p99")}.\n${ratioLine(r, (k) => r.rooms[k]?.cpuUsPerDelivery, "CPU per delivery")}.`,
  );
}

function connectionsSection(r, c, out) {
  if (!Object.keys(r.connections ?? {}).length) return;
  const cc = c.connections;
  out.push(`\n## Connections: ${cc.count} idle connections over ${cc.roomsOver} rooms, ${c.connectConcurrency * c.receivers} connecting at a time\n`);
  out.push(
    table(
      ["", "connects/s (until welcome)", "server CPU ms per connect", "RSS before (MiB)", "RSS after (MiB)", "KiB per idle connection", "processes"],
      columns(r).map(([k, l]) => {
        const x = r.connections[k];
        const detail = x ? Object.entries(x.perComm).map(([comm, v]) => `${comm}: ${fmt(v.perConnKiB, 1)} KiB/conn`).join(", ") : "";
        return [l, fmt(x?.connectsPerSec), num(x?.cpuMsPerConnect), fmt(x ? x.rssBeforeKiB / 1024 : null, 1), fmt(x ? x.rssAfterKiB / 1024 : null, 1), fmt(x?.perConnKiB, 1), detail];
      }),
    ),
  );
  out.push(
    `\n${ratioLine(r, (k) => r.connections[k]?.connectsPerSec, "Connects/s")}.\n${ratioLine(r, (k) => r.connections[k]?.cpuMsPerConnect, "CPU per connect")}.\n${ratioLine(r, (k) => r.connections[k]?.perConnKiB, "Memory per connection")}. ` +
      "For edgechat, memory is that of the workerd process(es) (the Miniflare host process is listed separately).",
  );
  const floor = r.connections["workerd-floor"];
  if (floor) {
    const own = edgechatServers(r)
      .filter(({ key }) => r.connections[key])
      .map(({ key, label }) => `${label} ${fmt(r.connections[key].perConnKiB, 1)} KiB = ${fmt(floor.perConnKiB, 1)} + ${fmt(r.connections[key].perConnKiB - floor.perConnKiB, 1)} KiB`)
      .join("; ");
    out.push(
      `\n**The runtime's own share.** The same Miniflare and workerd with a Durable Object that only accepts hibernatable sockets (one per room, SQLite-backed, a small attachment and a welcome each; ` +
        "`bench/servers/workerd-floor.mjs`, no edgechat code): " +
        `${fmt(floor.perConnKiB, 1)} KiB per idle connection, ${fmt(floor.connectsPerSec)} connects/s. So, per idle connection, runtime + edgechat: ${own}. ` +
        (r.connections.socketio
          ? `Three times Socket.IO's figure is ${fmt(r.connections.socketio.perConnKiB * 3, 1)} KiB, ${floor.perConnKiB > r.connections.socketio.perConnKiB * 3 ? "less than" : "more than"} the ${fmt(floor.perConnKiB, 1)} KiB the runtime takes before any edgechat code runs.`
          : ""),
    );
  }
}

function gatewaySection(r, out) {
  out.push("\n## Gateway: receivers over TCP through the gateway vs WebSocket\n");
  const modes = MODE_ORDER.filter((m) => r.gateway?.[m]);
  if (!modes.length) {
    out.push("Not run.");
    return;
  }
  out.push(
    "edgechat only. Receivers: **ws** = WebSocket with `?room=R`, sockets hosted by R's object (the fan-out table above, for reference); **ws-moved** = WebSocket to the default room, then `roomChange R` " +
      "(what every gateway client does, spec §10: its socket stays hosted by a default-room host object, so R delivers to it by cross-object RPC); **tcp** = the same through the gateway (one upstream WebSocket per TCP client), measured right after ws-moved on the same server. " +
      "**Gateway cost = tcp − ws-moved.** Latency at the fixed load, throughput from the closed loop; CPU per delivery of the Worker's process tree, and of the gateway process.",
  );
  for (const mode of modes) {
    const g = r.gateway[mode];
    out.push(`\n### ${STORAGE_MODES[mode]}\n`);
    if (!g.available) {
      out.push(`Not available: ${g.reason}.`);
      continue;
    }
    out.push(
      table(
        ["N", "deliveries/s ws / ws-moved / tcp", "p50 ms ws / ws-moved / tcp", "p99 ms ws / ws-moved / tcp", "added by the gateway p50 / p99 ms", "tcp ÷ ws-moved deliveries/s", "CPU µs/delivery (fixed): Worker ws / ws-moved / tcp, + gateway", "gateway process cores (sustained / fixed)"],
        g.byN.map((row) => {
          const v = [fanRow(r, `edgechat-${mode}`, row.n), row.wsMoved, row.tcp];
          return [
            row.n,
            v.map((x) => fmt(x?.max?.deliveriesPerSec)).join(" / "),
            v.map((x) => ms(x?.fixed?.p50Ms)).join(" / "),
            v.map((x) => ms(x?.fixed?.p99Ms)).join(" / "),
            v[2]?.fixed && v[1]?.fixed ? `${ms(v[2].fixed.p50Ms - v[1].fixed.p50Ms)} / ${ms(v[2].fixed.p99Ms - v[1].fixed.p99Ms)}` : "–",
            ratio(v[2]?.max?.deliveriesPerSec, v[1]?.max?.deliveriesPerSec),
            `${v.map((x) => num(x?.fixed?.cpuUsPerDelivery)).join(" / ")}, + ${num(v[2]?.gatewayCpuUsPerDelivery?.fixed)}`,
            v[2]?.gatewayCores ? `${fmt(v[2].gatewayCores.max, 2)} / ${fmt(v[2].gatewayCores.fixed, 2)}` : "–",
          ];
        }),
      ),
    );
    const failed = g.byN.flatMap((row) => ["wsMoved", "tcp"].filter((k) => row[k]?.error).map((k) => `N=${row.n} ${k}: ${row[k].error}`));
    if (failed.length) out.push(`\nFailed: ${failed.join("; ")}.`);
  }
}

/** Issue 14: one room of N receivers, spread over host objects vs on one host, with the baselines at the same N. */
function bigRoomSection(r, c, out) {
  const b = r.bigRoom;
  if (!b) return;
  out.push(`\n## Big room: 1 sender → ${fmt(b.n)} receivers in one room, spread over host objects vs one host\n`);
  if (b.error || !b.variants) {
    out.push(`Not measured: ${b.error ?? "no result"}.`);
    return;
  }
  const label = {
    spread: `edgechat ${STORAGE_MODES[b.mode]}, HOST_CAPACITY ${fmt(b.spreadCapacity)} (spread)`,
    oneHost: `edgechat ${STORAGE_MODES[b.mode]}, HOST_CAPACITY ${fmt(b.oneHostCapacity)} (one host)`,
    ws: "ws",
    socketio: "Socket.IO",
  };
  out.push(
    "The same fan-out as above at one large N. edgechat runs twice, each on its own server: with a small `HOST_CAPACITY` the room's object places the receivers' sockets " +
      "over host objects (its own and `<room>#host-<k>`) and sends each host one delivery per burst naming nobody; with a large one every socket is on the room's own object. " +
      "Locally every object runs on workerd's one JavaScript thread, so the spread cannot use more cores here: the comparison shows what it costs. " +
      "**Per host** = the figure divided by the host objects the receivers' sockets were on (from their connection ids). " +
      "**CPU per broadcast** = CPU per delivery × N. At the fixed load every broadcast is its own delivery RPC to each host (no burst to share it). " +
      "The baselines mirror edgechat's `PRESENCE_NOTICE_LIMIT` (no join/leave notices above 500 members), so filling the room is not O(N²) for them either.\n",
  );
  const rows = Object.entries(b.variants);
  out.push(
    table(
      ["", "host objects (most sockets on one)", "deliveries/s sustained", "per host", "CPU µs per delivery sustained / fixed", "CPU µs per broadcast sustained / fixed", "p50 / p99 ms at the fixed load", "server cores sustained", `connect ${fmt(b.n)} (s)`],
      rows.map(([key, v]) => {
        if (v.error) return [label[key] ?? key, `failed: ${v.error}`, "", "", "", "", "", "", ""];
        const hosts = v.hosts?.objects;
        const perBroadcast = (x) => (x === null || x === undefined ? null : x * b.n);
        return [
          label[key] ?? key,
          hosts ? `${hosts} (${fmt(v.hosts.maxPerObject)})` : "–",
          fmt(v.max?.deliveriesPerSec),
          hosts ? fmt(v.max.deliveriesPerSec / hosts) : "–",
          `${num(v.max?.cpuUsPerDelivery)} / ${num(v.fixed?.cpuUsPerDelivery)}`,
          `${num(perBroadcast(v.max?.cpuUsPerDelivery))} / ${num(perBroadcast(v.fixed?.cpuUsPerDelivery))}`,
          `${ms(v.fixed?.p50Ms)} / ${ms(v.fixed?.p99Ms)}`,
          fmt(v.max?.server?.cores, 2),
          fmt(v.setupMs / 1000, 1),
        ];
      }),
    ),
  );
  const { spread, oneHost, ws, socketio } = b.variants;
  if (spread?.max && oneHost?.max) {
    const hostsSpread = spread.hosts?.objects ?? 0;
    const hostsOne = oneHost.hosts?.objects ?? 1;
    const extra = (phase) =>
      hostsSpread > hostsOne && spread[phase]?.cpuUsPerDelivery && oneHost[phase]?.cpuUsPerDelivery
        ? ((spread[phase].cpuUsPerDelivery - oneHost[phase].cpuUsPerDelivery) * b.n) / (hostsSpread - hostsOne)
        : null;
    out.push(
      `\nSpread ÷ one host: deliveries/s ${ratio(spread.max.deliveriesPerSec, oneHost.max.deliveriesPerSec)}, CPU per delivery ${ratio(spread.max.cpuUsPerDelivery, oneHost.max.cpuUsPerDelivery)} sustained and ` +
        `${ratio(spread.fixed?.cpuUsPerDelivery, oneHost.fixed?.cpuUsPerDelivery)} at the fixed load, p99 ${ratio(spread.fixed?.p99Ms, oneHost.fixed?.p99Ms)}. ` +
        (extra("fixed") > 0
          ? `Each host beyond the first: ${num(extra("fixed"))} µs of CPU per broadcast at the fixed load (one RPC per broadcast), ${num(extra("max"))} µs sustained (bursts share an RPC).`
          : "Here the spread costs no more CPU than one host: locally, an object that sends each broadcast to thousands of its own sockets spends more per delivery than several objects with a share each (bench/FINDINGS.md), which hides the cost of the extra RPCs.") +
        (ws?.max || socketio?.max
          ? ` Against the baselines at N = ${fmt(b.n)}: ` +
            [
              ["spread", spread],
              ["one host", oneHost],
            ]
              .map(([what, v]) => `${what} ${[ws && ratio(v.max.deliveriesPerSec, ws.max?.deliveriesPerSec) + " ws", socketio && ratio(v.max.deliveriesPerSec, socketio.max?.deliveriesPerSec) + " Socket.IO"].filter(Boolean).join(", ")}`)
              .join("; ") +
            " (deliveries/s)."
          : ""),
    );
  }
}

/** The cost tables: per million deliveries, per 1,000 connections, and what the units are made of. */
export function costSection(r, out, { brief = false } = {}) {
  const cost = r.cost;
  out.push("\n## Cost on Cloudflare\n");
  if (!cost || cost.available === false || !cost.rows?.length) {
    out.push(`Not measured${cost?.reason ? `: ${cost.reason}` : ""}.`);
    return;
  }
  out.push(
    `Billable units counted by a metered build of the same Worker (\`bench/instrumented/worker.mjs\`: the real classes, subclassed, with counters; memory-backed storage; a separate pass, ` +
      `so the throughput tables above come from the plain build), priced at Cloudflare's published rates (Workers Paid, beyond the included amounts; read ${RATES.read}): ` +
      `Durable Object requests $${RATES.doRequestsPerMillion}/million, duration $${RATES.doDurationPerMillionGBs}/million GB-s at ${RATES.gbPerObject} GB per active object-second, ` +
      `SQLite rows written $${fmt(RATES.rowsWrittenPerMillion, 2)}/million, rows read $${RATES.rowsReadPerMillion}/million ([Durable Objects pricing](${RATES.sources.durableObjects})); ` +
      `Worker requests $${RATES.workerRequestsPerMillion}/million, one per WebSocket upgrade, and Workers Logs $${RATES.logEventsPerMillion}/million log events ([Workers pricing](${RATES.sources.workers})): ` +
      `the console lines the code writes are counted, and priced because \`[observability]\` is ${LOGS_ON ? "on" : "off (so they are not priced)"} in wrangler.toml; log entries Workers Logs adds per invocation are not counted. ` +
      `DO requests = upgrades handed to an object (fetch) + RPC calls on stubs (each one request) + alarms + incoming WebSocket messages (and closes) ÷ ${RATES.wsMessagesPerRequest}. ` +
      "Duration = the larger of two measurements: the time each object had a handler or RPC method in flight, and workerd's CPU time (all objects share its one thread here); " +
      "an object waiting for new messages is hibernatable and not billed. The $5/month plan minimum and storage (GB-month; history is capped) are left out. " +
      `SQLite rows come from each cursor's \`rowsRead\`/\`rowsWritten\`; the meter's assumptions about when those are final were checked against the runtime in this run (\`bench/instrumented/check.mjs\`: ${cost.meterCheck?.ok ? "ok" : "FAILED"}), ` +
      "and every window's totals were audited against the final counters of all its cursors.\n",
  );
  const rows = cost.rows;
  out.push(
    "**Steady state, per million delivered messages** (units per broadcast counted over each scenario's measured window, times 1,000,000 ÷ deliveries per broadcast; " +
      "the fan-outs at their fixed load, the many-rooms scenario at its own load; alarms are left out here, they come with time, not messages: see the idle line below):\n",
  );
  out.push(
    table(
      ["scenario", "phase", "deliveries/s", "DO requests", "of which RPC", "rows written", "rows read", "duration GB-s", "log lines", "requests $", "rows written $", "duration $", "logs $", "total $ per million"],
      rows.map((x) => [
        x.scenario,
        x.phase,
        fmt(x.deliveriesPerSec),
        num(x.perMillion.doRequests),
        num(x.perMillion.rpc),
        num(x.perMillion.rowsWritten),
        num(x.perMillion.rowsRead),
        num(x.perMillion.durationGBs),
        num(x.perMillion.logLines),
        usd(x.price.doRequests),
        usd(x.price.rowsWritten),
        usd(x.price.duration),
        usd(x.price.logs),
        `**${usd(x.price.total)}**`,
      ]),
    ),
  );
  if (cost.connections) {
    const { connect, disconnect, roomsOver } = cost.connections;
    out.push(`\n**Per 1,000 connections** (${fmt(connect.count)} clients over ${fmt(roomsOver)} rooms, connecting, then closing):\n`);
    out.push(
      table(
        ["", "Worker requests", "DO requests", "of which RPC", "rows written", "rows read", "setAlarm / getAlarm", "duration GB-s", "log lines", "total $ per 1,000"],
        [
          ["connect", connect],
          ["disconnect", disconnect],
        ].map(([what, x]) => [
          what,
          num(x.perThousand.workerRequests),
          num(x.perThousand.doRequests),
          num(x.perThousand.rpc),
          num(x.perThousand.rowsWritten),
          num(x.perThousand.rowsRead),
          `${num(x.perThousand.setAlarm)} / ${num(x.perThousand.getAlarm)}`,
          num(x.perThousand.durationGBs),
          num(x.perThousand.logLines),
          usd(x.price.total),
        ]),
      ),
    );
  }
  const idle = cost.idle;
  if (idle?.perObjectHour && idle.units.alarms > 0) {
    const h = idle.perObjectHour;
    out.push(
      `\n**Idle, per room object per hour** (the ${fmt(idle.connections)} connections above left alone for ${fmt(idle.ms / 1000, 1)} s; ${fmt(idle.objects)} objects hosting them): ` +
        `${num(h.alarms)} alarm invocations, ${num(h.doRequests)} DO requests, ${num(h.rowsWritten)} rows written (setAlarm ${num(h.setAlarm)}), ${num(h.rowsRead)} rows read, ${num(h.durationGBs)} GB-s: ` +
        `**${usd(idle.price.total)} per object-hour**, ${usd(idle.price.total * 24 * 30)} per object-month. Messages are not needed for this: it is what a room with connected, silent members costs.`,
    );
  }
  if (brief) return;
  out.push("\n**What the units are made of**: per broadcast (per message the senders sent) in each window, and per connect/disconnect: rows written by statement, and RPC calls by method.\n");
  const detail = (units) =>
    [
      Object.entries(units.rowsByStatement ?? {})
        .filter(([, s]) => s.rowsWritten > 0)
        .sort((a, b) => b[1].rowsWritten - a[1].rowsWritten)
        .map(([k, s]) => `${k}: ${num(s.rowsWritten)}`)
        .join(", ") || "no rows written",
      Object.entries(units.rpcByMethod ?? {})
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k.replace(/^RoomObject\./, "")}: ${num(n)}`)
        .join(", ") || "no RPC",
    ];
  const lines = rows.filter((x) => x.phase !== "max").map((x) => [`${x.scenario} (${x.phase}), per broadcast`, ...detail(x.perBroadcast)]);
  if (cost.connections) {
    lines.push(["per connect", ...detail(cost.connections.connect.perConnection)]);
    lines.push(["per disconnect", ...detail(cost.connections.disconnect.perConnection)]);
  }
  out.push(table(["", "rows written, by statement", "RPC calls, by method"], lines));
  const starts = Object.entries(cost.connections?.connect?.units?.constructed ?? {}).filter(([, c]) => c.count > 0);
  if (starts.length) {
    out.push(
      `\nObject starts: a new object (first connect to a room) costs ` +
        starts.map(([cls, c]) => `${cls} ${num(c.rowsWritten / c.count)} rows written and ${num(c.rowsRead / c.count)} read`).join("; ") +
        " in its constructor" +
        (cost.wake
          ? `; an existing one, as on every wake from hibernation or after a deploy (measured by restarting the server on the same storage, ${fmt(cost.wake.starts)} rooms), ` +
            `**${num(cost.wake.rowsWrittenPerStart)} rows written** and ${num(cost.wake.rowsReadPerStart)} read (${Object.entries(cost.wake.byStatement)
              .filter(([, x]) => x.rowsWritten > 0)
              .map(([k, x]) => `${k}: ${num(x.rowsWritten / cost.wake.starts)}`)
              .join(", ")} per start, constructor and reconnect together).`
          : "."),
    );
  }
  // The meters cost CPU: compare with the plain memory-backed build at the same load.
  const overhead = rows
    .map((x) => {
      const big = x.kind === "bigRoom" ? r.bigRoom?.variants?.[x.hostCapacity === r.bigRoom.spreadCapacity ? "spread" : "oneHost"] : undefined;
      const plain =
        x.kind === "rooms"
          ? r.rooms?.["edgechat-memory"]?.cpuUsPerDelivery
          : x.kind === "bigRoom"
            ? big?.[x.phase]?.cpuUsPerDelivery
            : x.receivers === "ws"
              ? fanRow(r, "edgechat-memory", x.n)?.[x.phase]?.cpuUsPerDelivery
              : undefined;
      return plain ? `${x.scenario} ${x.phase}: ${num(x.cpuUsPerDelivery)} vs ${num(plain)} µs` : undefined;
    })
    .filter(Boolean);
  if (overhead.length) out.push(`\nCPU per delivery, metered build vs plain memory-backed build at the same load (what the meters cost; it inflates the duration figure at most by this ratio): ${overhead.join("; ")}.`);
}

export function renderMarkdown(r) {
  const c = r.meta.config;
  const out = [];
  out.push(`# edgechat benchmark (${r.meta.mode} run)`);
  out.push("");
  out.push(
    `${r.meta.date} · Node ${r.meta.node} · ${r.meta.cpus} × ${r.meta.cpuModel} · ${r.meta.memGiB} GiB · ${r.meta.durationSec} s · load average at the start ${(r.meta.loadAverage ?? []).join(" / ") || "–"} (1 / 5 / 15 min). ` +
      `Generated by \`npm run bench${r.meta.mode === "quick" ? " -- --quick" : ""}\` (bench/run.mjs); raw figures in the .json next to this file, chart in the .svg.` +
      (r.meta.mode === "quick" ? " **A quick run is a smoke test with short windows and small loads: its figures are not results.**" : ""),
  );
  out.push("");
  out.push(
    "Everything runs on loopback on the same machine. Servers: **edgechat** = the Worker bundled by esbuild and run by Miniflare in local workerd (one Durable Object per room, SQLite storage, hibernatable WebSockets), " +
      "in two storage modes (next section); `RATE_LIMIT` raised to 1,000,000 so the 20 req/s default does not cap the single sender; " +
      "**ws** = a minimal Node broadcast server on `ws` (same wire format: welcome, say → OK response, join/leave notices, chat messages); " +
      "**Socket.IO** 4.8.1 rooms, websocket transport only, `say` acked. Each server runs alone in its own child process. " +
      `Load generator: ${r.meta.generatorProcesses} Node processes (1 sender + ${c.receivers} receiver processes), ws clients with \`perMessageDeflate: false\`. ` +
      "Latency = receipt time − send time carried in the message, both read from CLOCK_MONOTONIC (one clock).",
  );
  out.push("");
  out.push(
    `**2 cores:** server, generator and anything else on the machine share ${r.meta.cpus} cores. Each Node server and workerd run their JavaScript on one thread, so a server can use about one core; ` +
      "the tables give the cores each side used, and the machine's total busy cores (anything above server + generator is outside load, e.g. other test runs).",
  );
  storageSection(r, out);
  fanoutSection(r, c, out);
  roomsSection(r, c, out);
  connectionsSection(r, c, out);
  gatewaySection(r, out);
  bigRoomSection(r, c, out);
  costSection(r, out);

  // ---- generator saturation
  out.push("\n## Did the load generator saturate?\n");
  const all = [];
  for (const [k] of columns(r)) for (const x of r.fanout?.[k] ?? []) for (const ph of ["max", "fixed"]) if (x[ph]) all.push({ where: `${k} fan-out N=${x.n} ${ph}`, ...x[ph] });
  for (const [k] of columns(r)) if (r.rooms?.[k]) all.push({ where: `${k} many rooms`, ...r.rooms[k] });
  if (all.length) {
    const worst = all.reduce((a, b) => (Math.max(...b.generator.perAgent.map((p) => p.cores)) > Math.max(...a.generator.perAgent.map((p) => p.cores)) ? b : a));
    const top = Math.max(...worst.generator.perAgent.map((p) => p.cores));
    const loop = Math.max(...all.flatMap((x) => x.generator.perAgent.map((p) => p.loopDelayP99Ms)));
    const sum = Math.max(...all.map((x) => x.generator.cores));
    out.push(
      `Measured with \`process.cpuUsage()\` in every generator process. Busiest single generator process: ${fmt(top * 100)}% of a core (${worst.where}); ` +
        `largest total over all generator processes: ${fmt(sum, 2)} cores; worst event-loop delay p99 in a generator process: ${fmt(loop, 1)} ms. ` +
        (top > 0.85
          ? "A generator process came close to a full core there, so that row is partly limited by the generator."
          : "No generator process was near a full core, so the generator was not the bottleneck; on 2 cores it does compete with the server for CPU (see the machine column)."),
    );
  }
  if (r.errors?.length) out.push(`\n## Errors\n\n${r.errors.map((e) => `- ${e}`).join("\n")}`);
  return out.join("\n") + "\n";
}

// ---- SVG: deliveries/s (sustained) and p99 at the fixed load, by N, log-log
export function renderSvg(r) {
  const ns = [...new Set(Object.values(r.fanout ?? {}).flatMap((l) => l.map((x) => x.n)))].sort((a, b) => a - b);
  const cols = columns(r);
  const W = 930;
  const H = 380;
  const panel = { w: 380, h: 260, top: 60 };
  const lefts = [70, 520];
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">edgechat vs ws vs Socket.IO — fan-out, 1 sender → N receivers (${r.meta.mode} run, ${r.meta.date.slice(0, 10)})</text>`);
  const charts = [
    { title: "sustained deliveries/s (higher is better)", get: (x) => x.max?.deliveriesPerSec },
    { title: "p99 latency ms at the fixed load (lower is better)", get: (x) => x.fixed?.p99Ms },
  ];
  charts.forEach((chart, ci) => {
    const left = lefts[ci];
    const values = [];
    for (const [k] of cols) for (const x of r.fanout?.[k] ?? []) if (chart.get(x) > 0) values.push(chart.get(x));
    if (!values.length || !ns.length) return;
    const lo = Math.floor(Math.log10(Math.min(...values)));
    let hi = Math.ceil(Math.log10(Math.max(...values)));
    if (hi === lo) hi++;
    const xOf = (n) => left + (ns.length === 1 ? panel.w / 2 : (ns.indexOf(n) / (ns.length - 1)) * (panel.w - 40) + 20);
    const yOf = (v) => panel.top + panel.h - ((Math.log10(v) - lo) / (hi - lo)) * panel.h;
    parts.push(`<text x="${left + panel.w / 2}" y="${panel.top - 12}" text-anchor="middle" font-weight="bold">${chart.title}</text>`);
    parts.push(`<rect x="${left}" y="${panel.top}" width="${panel.w}" height="${panel.h}" fill="none" stroke="#999"/>`);
    for (let e = lo; e <= hi; e++) {
      const y = yOf(10 ** e);
      parts.push(`<line x1="${left}" x2="${left + panel.w}" y1="${y}" y2="${y}" stroke="#eee"/>`);
      parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end">${fmt(10 ** e, e < 0 ? -e : 0)}</text>`);
    }
    for (const n of ns) parts.push(`<text x="${xOf(n)}" y="${panel.top + panel.h + 16}" text-anchor="middle">N=${n}</text>`);
    for (const [k, label] of cols) {
      const pts = (r.fanout?.[k] ?? []).filter((x) => chart.get(x) > 0).map((x) => [xOf(x.n), yOf(chart.get(x)), chart.get(x)]);
      if (!pts.length) continue;
      parts.push(`<polyline fill="none" stroke="${COLORS[k] ?? "#666"}" stroke-width="2.5" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}"/>`);
      for (const [x, y, v] of pts) {
        parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="4" fill="${COLORS[k] ?? "#666"}"><title>${label} ${ci === 0 ? fmt(v) + " deliveries/s" : ms(v) + " ms"}</title></circle>`);
      }
    }
  });
  cols.forEach(([k, label], i) => {
    const x = 120 + i * 190;
    parts.push(`<rect x="${x}" y="${H - 30}" width="14" height="14" fill="${COLORS[k] ?? "#666"}"/><text x="${x + 20}" y="${H - 19}">${label}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
