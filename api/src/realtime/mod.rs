//! Realtime for apps: Socket.IO on the HTTP port at `/socket.io/`, as the
//! seed specified. A JWT (in the `auth` payload `{token}`, or an
//! `Authorization: Bearer` header) is checked before the connection is
//! accepted; each socket joins its user's room for `booking_update`, and
//! station rooms on `subscribe_station`.

mod bus;
mod relay;
pub mod updates;

use std::sync::Arc;
use std::time::Duration;

use booking::store::StationStore;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Extension, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use uuid::Uuid;

pub use bus::EventBus;
pub use relay::spawn as spawn_relay;
use updates::{station_room, user_room};

use crate::jwt::{Claims, JwtKeys};

/// Subscriptions one socket may hold (station rooms).
pub const MAX_SUBSCRIPTIONS: usize = 50;
/// Largest message a client may send; subscriptions are tiny.
pub const MAX_PAYLOAD_BYTES: u64 = 16 * 1024;
/// Emits queued per socket before a slow one starts missing updates.
pub const MAX_BUFFERED: usize = 256;
/// Engine.IO ping period (the Socket.IO default).
pub const PING_INTERVAL: Duration = Duration::from_secs(25);
/// A client that has not answered a ping in this long is gone.
pub const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// What the socket handlers can reach.
#[derive(Clone, Debug)]
pub struct Realtime {
    /// Checks the token a socket connects with.
    pub jwt: Arc<JwtKeys>,
    /// Looks up the station a socket subscribes to (unknown ones are refused).
    pub store: Arc<dyn StationStore>,
}

/// The Socket.IO layer for the HTTP router, and the handle that emits.
pub fn layer(realtime: Realtime) -> (SocketIoLayer, SocketIo) {
    let (layer, io) = SocketIo::builder()
        // Polling bodies and websocket messages alike.
        .max_payload(MAX_PAYLOAD_BYTES)
        .ws_max_message_size(MAX_PAYLOAD_BYTES as usize)
        .ws_max_frame_size(MAX_PAYLOAD_BYTES as usize)
        .max_buffer_size(MAX_BUFFERED)
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .with_state(realtime)
        .build_layer();
    io.ns("/", on_connect.with(authenticate));
    (layer, io)
}

#[derive(Debug, serde::Deserialize)]
struct AuthPayload {
    token: Option<String>,
}

/// Refuses the connection unless a valid token comes with it; the client
/// reads the reason in `connect_error`'s `message`.
async fn authenticate(
    socket: SocketRef,
    TryData(auth): TryData<Value>,
    State(rt): State<Realtime>,
) -> Result<(), String> {
    let from_auth = auth
        .ok()
        .and_then(|v| serde_json::from_value::<AuthPayload>(v).ok())
        .and_then(|a| a.token);
    let from_header = socket
        .req_parts()
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let token = from_auth
        .or(from_header)
        .ok_or_else(|| "UNAUTHORIZED: a token is required (auth: {token})".to_owned())?;
    let claims = rt
        .jwt
        .verify(&token)
        .map_err(|e| format!("UNAUTHORIZED: {e}"))?;
    socket.extensions.insert(claims);
    Ok(())
}

async fn on_connect(socket: SocketRef, Extension(claims): Extension<Claims>) {
    socket.join(user_room(claims.user_id));
    let _ = socket.emit(
        "connected",
        &json!({ "socketId": socket.id.to_string(), "timestamp": chrono::Utc::now().to_rfc3339() }),
    );
    socket.on("subscribe_station", subscribe);
    socket.on("unsubscribe_station", unsubscribe);
    metrics::gauge!(crate::metrics::SOCKETS).increment(1.0);
    socket.on_disconnect(async || metrics::gauge!(crate::metrics::SOCKETS).decrement(1.0));
}

fn error_ack(code: &str, message: &str) -> Value {
    json!({ "success": false, "error": { "code": code, "message": message } })
}

/// `{stationId}` from a payload, or the error ack to send.
fn station_id(raw: Result<Value, impl std::fmt::Display>) -> Result<Uuid, Value> {
    raw.ok()
        .as_ref()
        .and_then(|v| v.get("stationId"))
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| error_ack("VALIDATION_ERROR", "expected {\"stationId\": \"<uuid>\"}"))
}

async fn subscribe(
    socket: SocketRef,
    TryData(raw): TryData<Value>,
    ack: AckSender,
    State(rt): State<Realtime>,
) {
    let reply = match station_id(raw) {
        Err(e) => e,
        Ok(id) => {
            let room = station_room(id);
            let rooms = socket.rooms();
            // The user's own room is one of the socket's rooms too.
            let held = rooms.len().saturating_sub(1);
            if !rooms.iter().any(|r| *r == room) && held >= MAX_SUBSCRIPTIONS {
                error_ack("LIMIT_EXCEEDED", "at most 50 stations per connection")
            } else {
                match rt.store.station(id).await {
                    Ok(Some(_)) => {
                        socket.join(room);
                        json!({ "success": true, "data": { "stationId": id } })
                    }
                    Ok(None) => error_ack("NOT_FOUND", &format!("station {id} not found")),
                    Err(e) => {
                        tracing::warn!(error = %e, "realtime: station lookup failed");
                        error_ack("SERVICE_UNAVAILABLE", "try again later")
                    }
                }
            }
        }
    };
    let _ = ack.send(&reply);
}

async fn unsubscribe(socket: SocketRef, TryData(raw): TryData<Value>, ack: AckSender) {
    let reply = match station_id(raw) {
        Err(e) => e,
        Ok(id) => {
            socket.leave(station_room(id));
            json!({ "success": true, "data": { "stationId": id } })
        }
    };
    let _ = ack.send(&reply);
}
