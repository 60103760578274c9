import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { exampleDevVars } from "./test/support/devVars.js";

export default defineConfig({
  test: {
    projects: [
      {
        // The room object and the Worker, inside workerd, with the committed example settings
        // (never a developer's own .dev.vars) so every machine runs the same thing.
        plugins: [
          cloudflareTest({
            main: "./src/worker/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: exampleDevVars() },
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
