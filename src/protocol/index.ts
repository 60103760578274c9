/** The edgechat wire protocol, shared by the room object, the Worker, the gateway and the client. */
export * from "./errors.js";
export * from "./limits.js";
export * from "./rooms.js";
export * from "./text.js";
export * from "./resume.js";
export * from "./cursor.js";
export * from "./verbs.js";
export * from "./requests.js";
export * from "./frames.js";
export * from "./messages.js";
export * from "./filters.js";
export * from "./transport.js";
