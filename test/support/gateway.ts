import { spawn, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { StringDecoder } from "node:string_decoder";
import { build } from "esbuild";
import { gatewayBundle } from "../../scripts/bundles.mjs";
import { createGateway, type Gateway, type GatewayOptions } from "../../src/gateway/index.js";
import { exampleDevVars } from "./devVars.js";
import { Inbox, parseFrame, type Frame, type Message } from "./inbox.js";

export type { Message };

/** One structured gateway log line (connect, disconnect, refusal, error). */
export type LogEvent = Record<string, unknown>;

/** A log line as JSON, or `{ unparsable: line }`. */
export function parseLogLine(line: string): LogEvent {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as LogEvent;
  } catch {
    // not JSON
  }
  return { unparsable: line };
}

export interface RunningGateway {
  gateway: Gateway;
  port: number;
  /** Every log line so far, as written. */
  logs: string[];
  /** Every log line so far, JSON parsed (a line that is not JSON shows up as `{ unparsable: line }`). */
  events: LogEvent[];
  /** Waits for a log line (already logged or still to come) that matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Waits for a log event (already logged or still to come) that matches. */
  waitForEvent(match: (event: LogEvent) => boolean, timeoutMs?: number): Promise<LogEvent>;
  close(): Promise<void>;
}

/** The gateway in-process on a free loopback port, in front of `upstream` (a Worker's ws:// URL). */
export async function startGateway(upstream: string, options: Partial<GatewayOptions> = {}): Promise<RunningGateway> {
  const logs: string[] = [];
  const events: LogEvent[] = [];
  const listeners = new Set<() => void>();
  const waitFor = <T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> => {
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no log line ${what}; got ${JSON.stringify(logs.slice(-5))}`));
      }, timeoutMs);
      const check = () => {
        const hit = find();
        if (hit === undefined) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(hit);
      };
      listeners.add(check);
    });
  };
  const gateway = await createGateway({
    upstream,
    port: 0,
    host: "127.0.0.1",
    gatewaySecret: exampleDevVars().GATEWAY_SECRET,
    log: (line) => {
      logs.push(line);
      events.push(parseLogLine(line));
      for (const wake of [...listeners]) wake();
    },
    ...options,
  });
  return {
    gateway,
    port: gateway.address.port,
    logs,
    events,
    waitForLog: (pattern, timeoutMs = 10_000) => waitFor(() => logs.find((line) => pattern.test(line)), `matching ${pattern}`, timeoutMs),
    waitForEvent: (match, timeoutMs = 10_000) => waitFor(() => events.find(match), "with that event", timeoutMs),
    close: () => gateway.close(),
  };
}

/**
 * A raw TCP line client (what nc is): every line the gateway sends is kept in order, and tests
 * wait for the next one that matches instead of sleeping.
 */
export class TcpClient {
  /** Every byte received, as text, for exact checks. */
  raw = "";
  ended = false;
  closed = false;
  private partial = "";
  private readonly decoder = new StringDecoder("utf8");
  private readonly inbox = new Inbox(() => (this.ended || this.closed ? "connection ended" : undefined));

  /** Our end's port: the gateway logs the client as 127.0.0.1:<localPort>. */
  readonly localPort: number;

  private constructor(readonly socket: Socket) {
    this.localPort = socket.localPort ?? 0;
    socket.on("data", (chunk: Buffer) => this.onData(this.decoder.write(chunk)));
    socket.on("end", () => {
      // Like nc: when the gateway ends, we are done too.
      this.ended = true;
      socket.end();
      this.inbox.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.inbox.wake();
    });
  }

  /** Every line received so far, in order (JSON parsed; `pong` stays a string). */
  get received(): Frame[] {
    return this.inbox.received;
  }

  static open(port: number, host = "127.0.0.1"): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, allowHalfOpen: true }, () => {
        socket.off("error", reject);
        resolve(new TcpClient(socket));
      });
      socket.once("error", reject);
    });
  }

  /** Connects and waits for the welcome. */
  static async connect(port: number): Promise<{ client: TcpClient; id: string; room: string }> {
    const client = await TcpClient.open(port);
    const welcome = (await client.next()) as Message;
    if (typeof welcome.id !== "string") throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
    return { client, id: welcome.id, room: welcome.room as string };
  }

  /** Writes bytes exactly as given. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Writes one line (adds `\n`). */
  line(text: string): void {
    this.socket.write(`${text}\n`);
  }

  /** Sends one line and returns the next response. */
  async request(text: string): Promise<Message> {
    this.line(text);
    return this.nextResponse();
  }

  async nextResponse(timeoutMs?: number): Promise<Message> {
    return (await this.next((m) => typeof m === "object" && m.context === "response", timeoutMs)) as Message;
  }

  async nextChat(match: (message: Message) => boolean = () => true, timeoutMs?: number): Promise<Message> {
    return (await this.next((m) => typeof m === "object" && m.context === "user" && match(m), timeoutMs)) as Message;
  }

  /** The next line (after those already taken) that matches, waiting up to timeoutMs. */
  next(match?: (message: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.inbox.next(match, timeoutMs);
  }

  /** Waits for a line anywhere in what was received (taken or not) that matches; does not move the cursor. */
  seen(match: (message: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.inbox.seen(match, timeoutMs);
  }

  /** Asserts nothing matching arrives within the window. */
  nothing(match?: (message: Frame) => boolean, windowMs?: number): Promise<void> {
    return this.inbox.nothing(match, windowMs);
  }

  /** Waits until the gateway ends the connection; returns every line received from now on. */
  waitEnded(timeoutMs?: number): Promise<Frame[]> {
    return this.inbox.untilClosed(timeoutMs);
  }

  /** Half-close: no more lines from us, but keep reading. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(text: string): void {
    this.raw += text;
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.inbox.push(parseFrame(line));
  }
}

export interface GatewayProcess {
  child: ChildProcess;
  port: number;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let gatewayBuild: Promise<void> | undefined;

/** Builds dist/gateway.mjs the way scripts/build.mjs does (only the gateway part), once per test process. */
export function buildGatewayBundle(): Promise<void> {
  gatewayBuild ??= build(gatewayBundle).then(() => undefined);
  return gatewayBuild;
}

/**
 * Runs the real CLI (`bin/edgechat-gateway.mjs`) as a child process on a free port in front of
 * `upstream`; with `upstream` undefined, only `args` and `env` configure it (GATEWAY_PORT=0 for a free port).
 */
export async function spawnGatewayProcess(upstream: string | undefined, args: string[] = [], env: Record<string, string> = {}): Promise<GatewayProcess> {
  await buildGatewayBundle();
  const target = upstream === undefined ? [] : ["--port", "0", "--upstream", upstream];
  const child = spawn(process.execPath, ["bin/edgechat-gateway.mjs", ...target, ...args], {
    env: { ...process.env, GATEWAY_SECRET: exampleDevVars().GATEWAY_SECRET, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on tcp:\/\/[^\s]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before listening: ${output}`));
    });
  });
  return { child, port, output: () => output, exited };
}
