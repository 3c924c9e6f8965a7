// Push latency: from an OCPP StatusNotification leaving a charger to each
// subscribed Socket.IO client receiving the station_update.
//   node bench/sio-push.js HTTP_BASE OCPP_URL TOKEN STATION CLIENTS RATE COUNT
// One process plays the charger (raw WebSocket, OCPP 1.6) and the apps
// (socket.io-client over websocket), so both ends read the same clock.
const path = require("path");
const peers = path.join(__dirname, "..", "tests", "peers", "node_modules");
const { io } = require(path.join(peers, "socket.io-client"));
const WebSocket = require(path.join(peers, "ws"));

const [base, ocppUrl, token, station, clients, rate, count] = process.argv.slice(2);
const N = Number(clients);
const sent = [];
const latencies = [];
let received = 0;

function connectAll() {
  return Promise.all(
    Array.from({ length: N }, () => new Promise((resolve, reject) => {
      const s = io(base, { transports: ["websocket"], auth: { token }, reconnection: false });
      let seen = 0;
      s.on("connect_error", reject);
      s.on("station_update", (u) => {
        if (u.type !== "connector_status_update") return;
        const t = performance.now();
        if (seen < sent.length) latencies.push(t - sent[seen]);
        seen += 1;
        received += 1;
      });
      s.on("connected", async () => {
        const ack = await s.timeout(10000).emitWithAck("subscribe_station", { stationId: station });
        if (!ack.success) reject(new Error(JSON.stringify(ack)));
        resolve(s);
      });
    })),
  );
}

function charger() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(ocppUrl, "ocpp1.6");
    ws.on("error", reject);
    ws.on("open", () => {
      ws.send(JSON.stringify([2, "boot", "BootNotification", { chargePointVendor: "bench", chargePointModel: "push" }]));
    });
    ws.once("message", () => resolve(ws));
  });
}

(async () => {
  const sockets = await connectAll();
  const ws = await charger();
  const period = 1000 / Number(rate);
  for (let i = 0; i < Number(count); i++) {
    const status = i % 2 === 0 ? "Charging" : "Available";
    sent.push(performance.now());
    ws.send(JSON.stringify([2, `s${i}`, "StatusNotification", { connectorId: 1, errorCode: "NoError", status }]));
    await new Promise((r) => setTimeout(r, period));
  }
  await new Promise((r) => setTimeout(r, 2000));
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(2);
  const expected = N * Number(count);
  console.log(`${N} clients, ${count} notifications at ${rate}/s: ${received}/${expected} updates delivered; ` +
    `p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies[latencies.length - 1].toFixed(2)} ms`);
  sockets.forEach((s) => s.close());
  ws.close();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
