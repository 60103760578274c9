// The cost pass's view of the metered Worker (bench/instrumented/worker.mjs): each mark reads the
// usage totals since the previous mark and starts a new window, so a segment is named after the
// mark that ends it (scenarios place the marks: "connected", "<phase>", "closed", ...).

/** @param {{ url: string }} server a running edgechat-cost server */
export function usageProbe(server) {
  const segments = {};
  return {
    segments,
    /** Ends the current window as segment `label` and starts the next one. */
    async mark(label) {
      const response = await fetch(`${server.url}/__bench/usage?reset=1`);
      if (!response.ok) throw new Error(`usage probe: HTTP ${response.status} (is this the metered build?)`);
      segments[label] = await response.json();
    },
    /** Forgets the segments so far (between scenarios). */
    clear() {
      for (const key of Object.keys(segments)) delete segments[key];
    },
  };
}
