// Builds what runs outside workerd: the TCP gateway (Node) and the browser client bundle that the
// demo page and other sites load. wrangler runs this before `dev` and `deploy` ([build] in wrangler.toml).
import { build } from "esbuild";
import { clientBundle, demoBundle, gatewayBundle } from "./bundles.mjs";

for (const options of [gatewayBundle, clientBundle, demoBundle]) await build(options);
