import { Command, InvalidArgumentError, Option } from "commander";
import { GATEWAY_DEFAULTS, type GatewayOptions } from "./config.js";
import { createGateway } from "./gatewayServer.js";

function integer(name: string, min: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return number;
  };
}

const program = new Command()
  .name("edgechat-gateway")
  .description(
    "TCP gateway for edgechat: lets nc/telnet line clients join the same rooms as WebSocket clients.\n" +
      "Each TCP client gets its own upstream WebSocket to <upstream>/connect and starts in the default room.",
  )
  .addOption(new Option("-p, --port <port>", "TCP port to listen on (0: any free port)").env("GATEWAY_PORT").default(GATEWAY_DEFAULTS.port).argParser(integer("port", 0)))
  .addOption(new Option("-H, --host <host>", "address to listen on").env("GATEWAY_HOST").default(GATEWAY_DEFAULTS.host))
  .addOption(new Option("-u, --upstream <url>", "the Worker's base URL").env("UPSTREAM_URL").default(GATEWAY_DEFAULTS.upstream))
  .addOption(new Option("--gateway-secret <secret>", "the Worker's GATEWAY_SECRET, so it trusts the client addresses").env("GATEWAY_SECRET"))
  .addOption(
    new Option("--max-message-bytes <bytes>", "longest line in UTF-8 bytes (match the Worker's MAX_MESSAGE_BYTES)")
      .env("MAX_MESSAGE_BYTES")
      .default(GATEWAY_DEFAULTS.maxMessageBytes)
      .argParser(integer("max-message-bytes", 1)),
  )
  .addOption(
    new Option("--max-buffer-bytes <bytes>", "unread bytes a client may have before it is dropped as too slow")
      .env("MAX_BUFFER_BYTES")
      .default(GATEWAY_DEFAULTS.maxBufferBytes)
      .argParser(integer("max-buffer-bytes", 1)),
  )
  .addOption(
    new Option("--max-stall-ms <ms>", "how long a client may leave a full buffer unread before it is dropped (0: no limit)")
      .env("MAX_STALL_MS")
      .default(GATEWAY_DEFAULTS.maxStallMs)
      .argParser(integer("max-stall-ms", 0)),
  )
  .addOption(
    new Option("--keepalive-ms <ms>", "send ping upstream for a client quiet this long, so the Worker's idle timeout spares it (0: off)")
      .env("KEEPALIVE_MS")
      .default(GATEWAY_DEFAULTS.keepaliveMs)
      .argParser(integer("keepalive-ms", 0)),
  )
  .addOption(
    new Option("--idle-timeout-seconds <seconds>", "close a client that sent no line (a request or ping) for this long, with the goodbye \"idle timeout\" (0: off)")
      .env("IDLE_TIMEOUT_SECONDS")
      .default(GATEWAY_DEFAULTS.idleTimeoutSeconds)
      .argParser(integer("idle-timeout-seconds", 0)),
  )
  .addOption(
    new Option("--line-timeout-seconds <seconds>", "close a client whose line is not finished this long after its first byte, with the goodbye \"line timeout\" (0: off)")
      .env("LINE_TIMEOUT_SECONDS")
      .default(GATEWAY_DEFAULTS.lineTimeoutSeconds)
      .argParser(integer("line-timeout-seconds", 0)),
  )
  .addOption(
    new Option("--max-connections-per-ip <count>", "connections one client address may hold; the next is refused with too_many_connections (0: no limit)")
      .env("MAX_CONNECTIONS_PER_IP")
      .default(GATEWAY_DEFAULTS.maxConnectionsPerIp)
      .argParser(integer("max-connections-per-ip", 0)),
  )
  .addOption(
    new Option("--connect-timeout-ms <ms>", "how long the upstream handshake may take before a client is told the server is unavailable")
      .env("CONNECT_TIMEOUT_MS")
      .default(GATEWAY_DEFAULTS.connectTimeoutMs)
      .argParser(integer("connect-timeout-ms", 1)),
  )
  .showHelpAfterError();

program.parse();
const options = program.opts<GatewayOptions>();

let gateway;
try {
  gateway = await createGateway(options);
} catch (error) {
  console.error(`edgechat-gateway: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const { address, port } = gateway.address;
const shown = address.includes(":") ? `[${address}]` : address;
console.log(`edgechat gateway listening on tcp://${shown}:${port} -> ${gateway.config.upstreamConnectUrl}`);
if (!options.gatewaySecret) console.log("no --gateway-secret: the Worker will not see client addresses");

let stopping = false;
function stop(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: saying goodbye to ${gateway!.clientCount} client(s)`);
  setTimeout(() => process.exit(0), 4_000).unref();
  void gateway!.close().then(() => process.exit(0));
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
