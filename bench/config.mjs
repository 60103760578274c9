// Load levels of the default (full) run and of --quick (CI: keeps the harness from rotting).
export const FULL = {
  mode: "full",
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
  receivers: 2,
};

export const QUICK = {
  ...FULL,
  mode: "quick",
  fanoutNs: [10, 100],
  rounds: 1,
  warmMs: 250,
  measureMs: 750,
  rooms: { rooms: 20, members: 10, perMemberRate: 2 },
  connections: { count: 200, roomsOver: 20 },
  gatewayNs: [10],
};
