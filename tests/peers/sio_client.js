// A Socket.IO app client (npm socket.io-client 4.8.4) for evgate's tests.
//
//   node sio_client.js URL TOKEN TRANSPORT
//
// TRANSPORT: "websocket", or "polling" (starts on polling, upgrades to
// websocket). TOKEN "-" connects without one; "header:<jwt>" sends it as an
// Authorization header instead of the `auth` payload (polling only, as in
// browsers). Commands on stdin, one per line:
//   sub STATION_ID | unsub STATION_ID | raw EVENT JSON   (acknowledged)
//   big BYTES   (a subscribe_station carrying BYTES of junk)
// Everything that happens is printed as one JSON line:
//   {"connected": {...}, "transport": ...} | {"connect_error": message}
//   {"ack": ...} | {"ack_error": ...} | {"event": name, "data": ...}
//   {"upgraded": transport} | {"disconnected": reason}
const { io } = require("socket.io-client");
const readline = require("readline");

const [url, token, transport] = process.argv.slice(2);
const out = (v) => process.stdout.write(JSON.stringify(v) + "\n");
const options = { reconnection: false, timeout: 5000 };
if (transport === "websocket") {
  options.transports = ["websocket"];
} else {
  options.transports = ["polling", "websocket"];
}
if (token.startsWith("header:")) {
  options.extraHeaders = { Authorization: `Bearer ${token.slice(7)}` };
} else if (token !== "-") {
  options.auth = { token };
}
const socket = io(url, options);
socket.on("connected", (data) => out({ connected: data, transport: socket.io.engine.transport.name }));
socket.io.engine.on("upgrade", (t) => out({ upgraded: t.name }));
socket.on("connect_error", (err) => out({ connect_error: err.message }));
socket.on("disconnect", (reason) => out({ disconnected: reason }));
socket.onAny((event, data) => {
  if (event !== "connected") out({ event, data });
});
readline.createInterface({ input: process.stdin }).on("line", async (line) => {
  const [cmd, arg, ...rest] = line.trim().split(" ");
  let payload;
  let event;
  if (cmd === "sub") [event, payload] = ["subscribe_station", { stationId: arg }];
  else if (cmd === "unsub") [event, payload] = ["unsubscribe_station", { stationId: arg }];
  else if (cmd === "raw") [event, payload] = [arg, JSON.parse(rest.join(" "))];
  else if (cmd === "big") [event, payload] = ["subscribe_station", { stationId: "x".repeat(Number(arg)) }];
  else return out({ error: `unknown command ${cmd}` });
  try {
    out({ ack: await socket.timeout(5000).emitWithAck(event, payload) });
  } catch (e) {
    out({ ack_error: String(e) });
  }
}).on("close", () => {
  socket.close();
  process.exit(0);
});
