/** Bundle entry for browsers: `import { EdgechatClient } from "/client/edgechat.js"`. */
export * from "./index.js";
