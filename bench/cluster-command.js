// Cross-instance command round trip: an operator command sent to the
// instance that holds the charger, and to another instance that relays it.
//   node bench/cluster-command.js HTTP_A HTTP_B OCPP_URL_ON_A TOKEN CP COUNT
// The charger is a raw OCPP 1.6 WebSocket in this process that answers
// every CALL at once, so the figures are evgate's (and Redis's) own.
const path = require("path");
const WebSocket = require(path.join(__dirname, "..", "tests", "peers", "node_modules", "ws"));

const [httpA, httpB, ocppUrl, token, cp, count] = process.argv.slice(2);

function charger() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(ocppUrl, "ocpp1.6");
    ws.on("error", reject);
    ws.on("open", () => ws.send(JSON.stringify([2, "boot", "BootNotification", { chargePointVendor: "bench", chargePointModel: "relay" }])));
    ws.on("message", (raw) => {
      const frame = JSON.parse(raw);
      if (frame[0] === 3 && frame[1] === "boot") resolve(ws);
      if (frame[0] === 2) ws.send(JSON.stringify([3, frame[1], { status: "Accepted" }]));
    });
  });
}

async function run(base) {
  const latencies = [];
  for (let i = 0; i < Number(count); i++) {
    const t = performance.now();
    const r = await fetch(`${base}/v1/admin/chargers/${cp}/commands`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ action: "TriggerMessage", payload: { requestedMessage: "Heartbeat" } }),
    });
    await r.text();
    if (r.status !== 200) throw new Error(`status ${r.status}`);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(2);
  return `p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${latencies[latencies.length - 1].toFixed(2)} ms`;
}

(async () => {
  const ws = await charger();
  // Let the owner announce the charger (it renews every 2 s).
  await new Promise((r) => setTimeout(r, 2500));
  await run(httpA); // warm-up
  console.log(`via the owner (A), ${count} commands: ${await run(httpA)}`);
  console.log(`via another instance (B → Redis → A), ${count} commands: ${await run(httpB)}`);
  ws.close();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
