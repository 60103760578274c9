// A minimal Chrome DevTools Protocol client over the inspector WebSocket (workerd's --inspector-addr).
import WebSocket from "ws";

export async function connectCdp(url) {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let next = 1;
  const pending = new Map();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.id && pending.has(msg.id)) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
      else p.resolve(msg.result);
    }
  });
  return {
    send(method, params = {}, timeoutMs = 60000) {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
      });
    },
    close() {
      ws.close();
    },
  };
}

/** Self and inclusive sample time by function, from a V8 CPU profile. */
export function summarize(profile) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfCount = new Map();
  for (const s of profile.samples) selfCount.set(s, (selfCount.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  const label = (n) => {
    const f = n.callFrame;
    return f.functionName ? `${f.functionName}${f.url ? ` (${f.url.split("/").pop()}:${f.lineNumber + 1})` : ""}` : f.url ? `(anonymous ${f.url.split("/").pop()}:${f.lineNumber + 1})` : "(anonymous)";
  };
  const self = new Map();
  const incl = new Map();
  // Inclusive: each sample counts once for every distinct function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  for (const [id, count] of selfCount) {
    const node = nodes.get(id);
    const l = label(node);
    self.set(l, (self.get(l) ?? 0) + count);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const lab = label(nodes.get(cur));
      if (seen.has(lab)) continue;
      seen.add(lab);
      incl.set(lab, (incl.get(lab) ?? 0) + count);
    }
  }
  const pct = (x) => Math.round((x / total) * 1000) / 10;
  const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, c]) => ({ name, pct: pct(c) }));
  return { samples: total, durationMs: (profile.endTime - profile.startTime) / 1000, self: top(self, 30), inclusive: top(incl, 40) };
}
