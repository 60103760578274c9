// Load levels of the default (full) run and of --quick (CI: keeps the harness from rotting).
export const FULL = {
  mode: "full",
  /** edgechat runs once per storage mode (lib/storage.mjs), against the same baseline runs. */
  storageModes: ["disk", "memory"],
  fanoutNs: [10, 100, 1000],
  rounds: 1, // --rounds=2: each fan-out / many-rooms measurement twice, servers alternating, best kept
  warmMs: 500,
  measureMs: 3000,
  windowDeliveries: 20000, // max phase: W = clamp(ceil(20000/N), 8, 1024) messages in flight
  fixedDeliveries: 10000, // fixed phase: min(10000/N, fixedMaxMsgs) messages/s: a load every server carries
  fixedMaxMsgs: 200,
  connectConcurrency: 25, // per receiver process
  rooms: { rooms: 100, members: 10, perMemberRate: 2 },
  connections: { count: 1000, roomsOver: 100 },
  gatewayNs: [10, 100, 1000],
  /** Storage modes the gateway scenario runs in. */
  gatewayModes: ["disk", "memory"],
  /**
   * The cost pass (scenarios/cost.mjs): the metered build, memory-backed. Fan-outs at the fixed load
   * only: units per message do not depend on the load, and under saturation the usage marks (served
   * by the same busy workerd) would land late. idleMs: how long the connections scenario's
   * clients then stay idle, to measure the housekeeping alarms (more than SWEEP_INTERVAL_SECONDS).
   * wake: what an object's constructor costs on existing data (a restart on the same storage).
   */
  // bigRoomDeliveries: the fixed load of the big-room cost rows (5 messages/s at N = 5,000).
  cost: { connections: true, idleMs: 12000, fanoutNs: [10, 100, 1000], movedNs: [100], phases: ["fixed"], rooms: true, wake: true, bigRoom: true, bigRoomDeliveries: 25000 },
  /**
   * The big-room scenario (issue 14): N receivers in one room, edgechat's sockets spread over host
   * objects of spreadCapacity sockets each (N / spreadCapacity hosts) vs all on one host
   * (oneHostCapacity ≥ N), in one storage mode, with the baselines at the same N for reference.
   */
  bigRoom: { n: 5000, spreadCapacity: 500, oneHostCapacity: 10000, mode: "memory", baselines: ["ws", "socketio"] },
  receivers: 2,
};

// Quick: every code path once (both storage modes, the gateway, the cost pass with its row audit)
// at small loads and short windows, so CI on 2 cores stays under 60 s. Its figures are a smoke
// test, not results.
export const QUICK = {
  ...FULL,
  mode: "quick",
  fanoutNs: [10],
  rounds: 1,
  warmMs: 200,
  measureMs: 500,
  rooms: { rooms: 10, members: 10, perMemberRate: 2 },
  connections: { count: 100, roomsOver: 10 },
  gatewayNs: [10],
  gatewayModes: ["memory"],
  cost: { connections: true, idleMs: 0, fanoutNs: [10], movedNs: [], phases: ["fixed"], rooms: false, wake: true, bigRoom: false },
  bigRoom: { n: 200, spreadCapacity: 20, oneHostCapacity: 10000, mode: "memory", baselines: [] },
};
