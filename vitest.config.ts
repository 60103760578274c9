import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { exampleDevVars } from "./test/support/devVars.js";

/** The Worker's structured log lines (one JSON object each) would drown the test report. */
const quietStructuredLogs = (log: string): false | void => (log.startsWith('{"ts":') ? false : undefined);

export default defineConfig({
  test: {
    onConsoleLog: quietStructuredLogs,
    projects: [
      {
        // The room object and the Worker, inside workerd, with the committed example settings
        // (never a developer's own .dev.vars) so every machine runs the same thing.
        plugins: [
          cloudflareTest({
            main: "./src/app/worker.ts",
            wrangler: { configPath: "./wrangler.toml" },
            // A slow sweep here: the hibernation tests need objects left idle long enough for local
            // workerd to evict them, and every sweep alarm wakes its object. (The e2e tests run the default.)
            miniflare: { bindings: { ...exampleDevVars(), SWEEP_INTERVAL_SECONDS: "60" } },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        // Real processes over real sockets: Worker under Miniflare, the gateway, clients, Chromium.
        test: {
          name: "e2e",
          environment: "node",
          include: ["test/e2e/**/*.test.ts", "test/browser/**/*.test.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
