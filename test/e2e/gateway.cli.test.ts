import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGatewayBundle, spawnGatewayProcess, TcpClient, type GatewayProcess } from "../support/gateway.js";
import { exampleDevVars } from "../support/devVars.js";
import { startWorker, type RunningWorker } from "../support/worker.js";

let worker: RunningWorker;
const children: GatewayProcess[] = [];
const clients: TcpClient[] = [];

beforeAll(async () => {
  worker = await startWorker();
  await buildGatewayBundle();
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  for (const child of children) child.child.kill("SIGKILL");
  await worker?.dispose();
});

describe("the edgechat-gateway command", () => {
  it("prints its options with --help and refuses a bad value", () => {
    const help = spawnSync(process.execPath, ["bin/edgechat-gateway.mjs", "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    for (const option of [
      "--port",
      "--host",
      "--upstream",
      "--gateway-secret",
      "--max-message-bytes",
      "--max-buffer-bytes",
      "--idle-timeout-seconds",
      "--line-timeout-seconds",
      "--max-connections-per-ip",
    ]) {
      expect(help.stdout).toContain(option);
    }
    for (const variable of [
      "GATEWAY_PORT",
      "GATEWAY_HOST",
      "UPSTREAM_URL",
      "GATEWAY_SECRET",
      "MAX_MESSAGE_BYTES",
      "MAX_BUFFER_BYTES",
      "IDLE_TIMEOUT_SECONDS",
      "LINE_TIMEOUT_SECONDS",
      "MAX_CONNECTIONS_PER_IP",
    ]) {
      expect(help.stdout).toContain(variable);
    }
    const bad = spawnSync(process.execPath, ["bin/edgechat-gateway.mjs", "--max-message-bytes", "lots"], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("max-message-bytes");
    const negative = spawnSync(process.execPath, ["bin/edgechat-gateway.mjs", "--idle-timeout-seconds", "-1"], { encoding: "utf8" });
    expect(negative.status).not.toBe(0);
    expect(negative.stderr).toContain("idle-timeout-seconds");
  });

  it("takes its settings from environment variables, and says goodbye on SIGINT", async () => {
    const child = await spawnGatewayProcess(undefined, [], {
      GATEWAY_PORT: "0",
      GATEWAY_HOST: "127.0.0.1",
      UPSTREAM_URL: worker.wsUrl,
      GATEWAY_SECRET: exampleDevVars().GATEWAY_SECRET,
      MAX_MESSAGE_BYTES: "12",
      MAX_CONNECTIONS_PER_IP: "1",
    });
    children.push(child);
    expect(child.output()).toContain(`-> ${worker.wsUrl}/connect`);
    const { client } = await TcpClient.connect(child.port);
    clients.push(client);
    // The secret came from GATEWAY_SECRET: the Worker trusts the forwarded address.
    expect((await client.request("detailsView")).data).toMatchObject({ remoteIP: "127.0.0.1" });
    // The line limit came from MAX_MESSAGE_BYTES (the Worker itself allows 65536).
    expect(await client.request("say 12345678")).toMatchObject({ status: "OK", messageCount: 2 });
    expect(await client.request("say 123456789")).toMatchObject({ status: "error", code: "message_too_large", messageCount: 3 });
    // The per-address limit came from MAX_CONNECTIONS_PER_IP.
    const second = await TcpClient.open(child.port);
    clients.push(second);
    expect(await second.waitEnded()).toMatchObject([{ status: "error", code: "too_many_connections" }]);
    child.child.kill("SIGINT");
    expect((await client.waitEnded()).at(-1)).toEqual({ context: "api", status: "Bye!", reason: "server shutting down" });
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });
});
