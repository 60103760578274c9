import { REFUSAL_CLOSE_CODES, refusal, type RefusalCode } from "../protocol/index.js";
import { logEvent } from "./log.js";

/**
 * A refused connect still completes the upgrade so a browser can read why: one message, then a
 * close with the code for the reason (spec section 10). Used by the router and by a room object
 * whose `authorizeJoin` refuses a first room. Logged as one info line.
 */
export function refusalResponse(code: RefusalCode, text: string, room: string): Response {
  logEvent("info", "refusal", { code, room: room.slice(0, 80), error: text });
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  // The peer may go before it reads the refusal: nothing of ours to report then.
  server.addEventListener("error", () => {});
  server.addEventListener("close", () => {});
  server.send(JSON.stringify(refusal(code, text)));
  server.close(REFUSAL_CLOSE_CODES[code], code);
  return new Response(null, { status: 101, webSocket: client });
}

/**
 * For `onBeforeConnect`: refuse a connect the way edgechat refuses its own, so the client reads
 * why and does not retry (the client library stops reconnecting on 4400/4401/4403; a plain HTTP
 * 401 looks like a network failure to a browser, which then retries). `code` picks the close code.
 */
export function refuseConnect(code: RefusalCode, text: string): Response {
  return refusalResponse(code, text, "");
}
