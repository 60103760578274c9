// Load levels of the default (full) run and of --quick (CI: keeps the harness from rotting).
export const FULL = {
  mode: "full",
  fanoutNs: [10, 100, 1000],
  rounds: 2, // each fan-out / many-rooms measurement runs this often, servers alternating; best kept
  warmMs: 500,
  measureMs: 2500,
  windowDeliveries: 20000, // max phase: W = clamp(ceil(20000/N), 8, 1024) messages in flight
  fixedDeliveries: 10000, // fixed phase: N x rate = 10k deliveries/s
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
