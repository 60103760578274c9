/** The raw TCP gateway: lets line clients (nc, telnet) join the same rooms as WebSocket clients. */
export { createGateway, type Gateway } from "./gatewayServer.js";
export { GATEWAY_DEFAULTS, resolveConfig, connectUrl, clientAddress, type GatewayConfig, type GatewayOptions } from "./config.js";
export { GATEWAY_GOODBYE_REASONS } from "./clientSession.js";
export { LineSplitter } from "./lineSplitter.js";
export { TelnetFilter } from "./telnet.js";
