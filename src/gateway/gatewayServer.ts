import { createServer, type AddressInfo, type Server } from "node:net";
import { GOODBYE_REASONS } from "../protocol/index.js";
import { ClientSession } from "./clientSession.js";
import { resolveConfig, type GatewayConfig, type GatewayOptions } from "./config.js";

export interface Gateway {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: AddressInfo;
  readonly config: GatewayConfig;
  /** Connected TCP clients right now. */
  readonly clientCount: number;
  /** Stops accepting, says goodbye (default "server shutting down") to every client, closes everything. */
  close(reason?: string): Promise<void>;
}

/**
 * The stateless TCP gateway: every TCP client gets its own upstream WebSocket to the Worker's
 * /connect, so any number of gateways can serve the same rooms.
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const config = resolveConfig(options);
  const sessions = new Set<ClientSession>();
  // allowHalfOpen: a client's FIN must not end our side before its last line is answered.
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const session = new ClientSession(socket, config);
    sessions.add(session);
    void session.closed.then(() => sessions.delete(session));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => config.log(`server error: ${error.message}`));
  const keepalive =
    config.keepaliveMs > 0
      ? setInterval(() => {
          const now = Date.now();
          for (const session of sessions) session.keepAlive(now);
        }, Math.max(50, Math.floor(config.keepaliveMs / 4)))
      : undefined;
  keepalive?.unref();

  let closing: Promise<void> | undefined;
  return {
    address: server.address() as AddressInfo,
    config,
    get clientCount() {
      return sessions.size;
    },
    close(reason: string = GOODBYE_REASONS.shuttingDown) {
      closing ??= (async () => {
        clearInterval(keepalive);
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([...sessions].map((session) => session.shutdown(reason)));
        await stopped;
      })();
      return closing;
    },
  };
}
