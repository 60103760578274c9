// The orchestrator's side of the load generator: forks agent processes and talks to them.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { merge, newHist, unpack } from "./hist.mjs";

const AGENT = fileURLToPath(new URL("../gen/agent.mjs", import.meta.url));

export class Agent {
  constructor(name) {
    this.name = name;
    this.child = fork(AGENT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.pid = this.child.pid;
    this.pending = new Map();
    this.nextId = 1;
    this.onProgress = undefined;
    this.exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.on("message", (msg) => {
      if (msg.type === "progress") this.onProgress?.(msg.min);
      else if (msg.type === "reply") {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${this.name}: ${msg.error}`));
        else p?.resolve(msg.result);
      }
    });
    this.child.on("error", () => {}); // a send after exit; the exit handler below rejects what waits
    this.child.once("exit", () => {
      for (const p of this.pending.values()) p.reject(new Error(`${this.name} exited`));
      this.pending.clear();
    });
  }

  call(cmd, args = {}) {
    const id = this.nextId++;
    if (!this.child.connected) return Promise.reject(new Error(`${this.name} is not running`));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...args, cmd, id }, (error) => {
        if (error && this.pending.delete(id)) reject(error);
      });
    });
  }

  notify(cmd, args = {}) {
    if (this.child.connected) this.child.send({ ...args, cmd });
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.notify("exit");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 2000);
    await this.exited;
    clearTimeout(t);
  }
}

/** A sender agent plus `receivers` receiver agents. */
export class AgentPool {
  constructor(receivers) {
    this.sender = new Agent("sender");
    this.receivers = Array.from({ length: receivers }, (_, i) => new Agent(`recv${i}`));
  }
  get all() {
    return [this.sender, ...this.receivers];
  }
  get pids() {
    return this.all.map((a) => a.pid);
  }
  async stop() {
    await Promise.all(this.all.map((a) => a.stop()));
  }
  /** Merged stats of some agents. */
  static combine(list) {
    const hist = newHist();
    let received = 0;
    let sent = 0;
    let cpuMs = 0;
    let wallMs = 0;
    const perAgent = [];
    for (const s of list) {
      merge(hist, unpack(s.hist));
      received += s.received;
      sent += s.sent;
      cpuMs += s.cpuMs;
      wallMs = Math.max(wallMs, s.wallMs);
      perAgent.push({ name: s.name, cores: s.wallMs > 0 ? s.cpuMs / s.wallMs : 0, loopDelayP99Ms: s.loopDelayP99Ms, clients: s.clients });
    }
    return { hist, received, sent, cpuMs, wallMs, perAgent, cores: wallMs > 0 ? cpuMs / wallMs : 0 };
  }
}
