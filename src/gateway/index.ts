/** The raw TCP gateway: lets line clients (nc, telnet) join the same rooms as WebSocket clients. */
export { createGateway, type Gateway } from "./gatewayServer.js";
export { GATEWAY_DEFAULTS, resolveConfig, connectUrl, clientAddress, type GatewayConfig, type GatewayOptions } from "./config.js";
export { GATEWAY_GOODBYE_REASONS } from "./clientSession.js";
export { LineReader, type LineSink } from "./lineReader.js";
export { AnswerQueue } from "./answerQueue.js";
export { GatewayLog, type LogEvent, type LogFields, type LogLevel } from "./log.js";
