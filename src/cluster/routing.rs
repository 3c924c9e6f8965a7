//! Commands for chargers connected to another instance. A charger's socket
//! lives on one instance; every instance records the chargers it holds in
//! Redis (`evgate:owner:<chargePointId>` → instance id, a lease refreshed
//! while the socket lives). A command for a charger held elsewhere —
//! ReserveNow or CancelReservation from the booking core, or an operator's
//! command — goes to the owner's own channel (`evgate:commands:<instance>`,
//! not a broadcast), runs there, and the typed answer comes back on the
//! caller's channel within the caller's deadline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use booking::charger_control::{ChargerControl, Refusal, ReserveRequest};
use csms::OcppChargers;
use csms::commands::CommandError;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

/// How often an instance renews the leases of the chargers it holds, and
/// how long one lasts: a dead instance's chargers are unowned within it.
const REFRESH: Duration = Duration::from_secs(2);
const LEASE_MS: u64 = 10_000;

fn owner_key(charge_point_id: &str) -> String {
    format!("evgate:owner:{charge_point_id}")
}
fn commands_channel(instance: &str) -> String {
    format!("evgate:commands:{instance}")
}
fn replies_channel(instance: &str) -> String {
    format!("evgate:replies:{instance}")
}

/// Chargers as the booking core and operators see them: the ones connected
/// here, and — in cluster mode — the ones connected to any other instance.
#[derive(Debug, Clone)]
pub struct Chargers {
    local: OcppChargers,
    cluster: Option<Arc<Cluster>>,
}

#[derive(Debug)]
struct Cluster {
    instance: String,
    conn: ConnectionManager,
    /// Calls waiting for another instance's answer, by request id.
    waiting: Mutex<HashMap<Uuid, oneshot::Sender<Value>>>,
    deadline: Duration,
}

/// Why a relayed call failed before any charger answered.
enum Relay {
    Offline,
    Timeout,
}

impl Chargers {
    /// One instance: only local chargers.
    pub fn local(local: OcppChargers) -> Self {
        Self {
            local,
            cluster: None,
        }
    }

    /// Joins the cluster: starts announcing the chargers held here and
    /// serving other instances' commands. `deadline` bounds a relayed call
    /// (the charger's own call timeout, plus the way there and back).
    pub async fn clustered(
        local: OcppChargers,
        redis: &super::Redis,
        instance: String,
        deadline: Duration,
    ) -> redis::RedisResult<Self> {
        let conn = redis.conn.clone();
        let channels = vec![commands_channel(&instance), replies_channel(&instance)];
        let cluster = Arc::new(Cluster {
            instance,
            conn,
            waiting: Mutex::new(HashMap::new()),
            deadline,
        });
        let chargers = Self {
            local,
            cluster: Some(cluster.clone()),
        };
        tokio::spawn(announce(chargers.local.clone(), cluster.clone()));
        tokio::spawn(claim_on_connect(chargers.local.clone(), cluster.clone()));
        let server = chargers.clone();
        super::subscribe_forever(&redis.url, channels, move |channel, payload| {
            let (server, cluster) = (server.clone(), cluster.clone());
            async move {
                let Ok(message) = serde_json::from_str::<Value>(&payload) else {
                    tracing::warn!("cluster: unreadable message on {channel}");
                    return;
                };
                if message.get("op").is_some() {
                    tokio::spawn(async move { server.serve(message).await });
                } else {
                    cluster.deliver(message);
                }
            }
        })
        .await?;
        Ok(chargers)
    }

    /// An operator command, wherever the charger is connected.
    pub async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CommandError> {
        match self.remote_target(charge_point_id) {
            None => self.local.command(charge_point_id, action, payload).await,
            Some(cluster) => {
                let args = json!({ "action": action, "payload": payload });
                let reply = cluster
                    .call(charge_point_id, "command", args)
                    .await
                    .map_err(|r| match r {
                        Relay::Offline => CommandError::Offline,
                        Relay::Timeout => CommandError::Timeout,
                    })?;
                decode_command(reply)
            }
        }
    }

    /// Closes the charger's connection wherever it is (it reconnects, and
    /// its new session reads its registration afresh).
    pub async fn disconnect(&self, charge_point_id: &str) {
        if self.local.registry.close(charge_point_id) {
            return;
        }
        let Some(cluster) = &self.cluster else { return };
        let mut conn = cluster.conn.clone();
        let owner: redis::RedisResult<Option<String>> = conn.get(owner_key(charge_point_id)).await;
        if let Ok(Some(owner)) = owner {
            ask_to_close(&mut conn, &owner, charge_point_id).await;
        }
    }

    /// The cluster, when the charger is not here and there is one.
    fn remote_target(&self, charge_point_id: &str) -> Option<&Arc<Cluster>> {
        self.cluster
            .as_ref()
            .filter(|_| !self.local.registry.is_connected(charge_point_id))
    }

    /// Runs another instance's command on a charger held here, and answers.
    async fn serve(&self, message: Value) {
        let Some(cluster) = &self.cluster else { return };
        if message["op"] == "close" {
            if let Some(cp) = message["chargePointId"].as_str()
                && self.local.registry.close(cp)
            {
                tracing::info!(charger.id = %cp,
                    "cluster: the charger reconnected to another instance; closing it here");
            }
            return;
        }
        let (Some(id), Some(from), Some(cp)) = (
            message["id"].as_str(),
            message["from"].as_str(),
            message["chargePointId"].as_str(),
        ) else {
            return;
        };
        let args = &message["args"];
        let answer = match message["op"].as_str() {
            Some("reserve") => match reserve_request(cp, args) {
                Some(request) => encode_refusal(self.local.reserve_now(&request).await),
                None => json!({ "ok": false, "kind": "call_error", "message": "bad request" }),
            },
            Some("cancel") => {
                let reservation_id = args["reservationId"]
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .unwrap_or_default();
                encode_refusal(self.local.cancel_reservation(cp, reservation_id).await)
            }
            Some("command") => encode_command(
                self.local
                    .command(
                        cp,
                        args["action"].as_str().unwrap_or_default(),
                        args["payload"].clone(),
                    )
                    .await,
            ),
            _ => return,
        };
        let mut reply = answer;
        reply["id"] = json!(id);
        let mut conn = cluster.conn.clone();
        if let Err(e) = conn
            .publish::<_, _, ()>(replies_channel(from), reply.to_string())
            .await
        {
            tracing::warn!(error = %e, "cluster: cannot answer a relayed command");
        }
    }
}

impl Cluster {
    async fn call(&self, charge_point_id: &str, op: &str, args: Value) -> Result<Value, Relay> {
        let mut conn = self.conn.clone();
        let key = owner_key(charge_point_id);
        let owner: Option<String> = super::retry_once(|| {
            let mut conn = conn.clone();
            let key = key.clone();
            async move { conn.get(key).await }
        })
        .await
        .map_err(|_| Relay::Offline)?;
        let Some(owner) = owner.filter(|o| *o != self.instance) else {
            return Err(Relay::Offline);
        };
        let id = Uuid::new_v4();
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, tx);
        let request = json!({
            "id": id, "from": self.instance, "op": op,
            "chargePointId": charge_point_id, "args": args,
        });
        let receivers: Result<i64, _> = conn
            .publish(commands_channel(&owner), request.to_string())
            .await;
        if !matches!(receivers, Ok(n) if n > 0) {
            // The owner's lease outlived it: nobody listens there.
            self.lock().remove(&id);
            return Err(Relay::Offline);
        }
        match tokio::time::timeout(self.deadline, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            _ => {
                self.lock().remove(&id);
                Err(Relay::Timeout)
            }
        }
    }

    fn deliver(&self, reply: Value) {
        let Some(id) = reply["id"].as_str().and_then(|s| Uuid::parse_str(s).ok()) else {
            return;
        };
        if let Some(waiting) = self.lock().remove(&id) {
            let _ = waiting.send(reply);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, oneshot::Sender<Value>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Renews or takes a lease only where it is ours or nobody's; answers the
/// 1-based positions of the keys another instance owns.
const RENEW: &str = r"
local lost = {}
for i, k in ipairs(KEYS) do
  local owner = redis.call('GET', k)
  if (not owner) or owner == ARGV[1] then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
  else
    table.insert(lost, i)
  end
end
return lost
";

/// Renews, every `REFRESH`, the ownership lease of each charger held here.
/// A charger another instance has taken (it reconnected there: the newer
/// socket wins) is closed here.
async fn announce(local: OcppChargers, cluster: Arc<Cluster>) {
    let script = redis::Script::new(RENEW);
    let mut ticks = tokio::time::interval(REFRESH);
    loop {
        ticks.tick().await;
        let held = local.registry.identities();
        if held.is_empty() {
            continue;
        }
        let mut invocation = script.prepare_invoke();
        for cp in &held {
            invocation.key(owner_key(cp));
        }
        invocation.arg(&cluster.instance).arg(LEASE_MS);
        let mut conn = cluster.conn.clone();
        match invocation.invoke_async::<Vec<usize>>(&mut conn).await {
            Ok(lost) => {
                for i in lost {
                    if let Some(cp) = held.get(i.wrapping_sub(1)) {
                        tracing::info!(charger.id = %cp,
                            "cluster: the charger reconnected to another instance; closing it here");
                        local.registry.close(cp);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cluster: cannot renew charger ownership"),
        }
    }
}

/// Takes ownership the moment a charger connects here, and tells the
/// instance that held it to close its (older) socket.
/// Asks `instance` to close its socket of the charger (it holds an older one).
async fn ask_to_close(conn: &mut ConnectionManager, instance: &str, charge_point_id: &str) {
    let close = json!({ "op": "close", "chargePointId": charge_point_id });
    let _ = conn
        .publish::<_, _, ()>(commands_channel(instance), close.to_string())
        .await;
}

async fn claim_on_connect(local: OcppChargers, cluster: Arc<Cluster>) {
    let mut connects = local.registry.connects();
    loop {
        let cp = match connects.recv().await {
            Ok(connected) => connected.charger.charge_point_id,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let mut conn = cluster.conn.clone();
        let previous: redis::RedisResult<Option<String>> = redis::cmd("SET")
            .arg(owner_key(&cp))
            .arg(&cluster.instance)
            .arg("PX")
            .arg(LEASE_MS)
            .arg("GET")
            .query_async(&mut conn)
            .await;
        match previous {
            Ok(Some(previous)) if previous != cluster.instance => {
                ask_to_close(&mut conn, &previous, &cp).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cluster: cannot take charger ownership"),
        }
    }
}

#[async_trait]
impl csms::HeldElsewhere for Chargers {
    async fn held_elsewhere(&self, charge_point_id: &str) -> bool {
        let Some(cluster) = &self.cluster else {
            return false;
        };
        let mut conn = cluster.conn.clone();
        let owner: redis::RedisResult<Option<String>> = conn.get(owner_key(charge_point_id)).await;
        matches!(owner, Ok(Some(o)) if o != cluster.instance)
    }
}

#[async_trait]
impl ChargerControl for Chargers {
    async fn reserve_now(&self, request: &ReserveRequest) -> Result<(), Refusal> {
        match self.remote_target(&request.charge_point_id) {
            None => self.local.reserve_now(request).await,
            Some(cluster) => {
                let args = json!({
                    "evseId": request.evse_id,
                    "connectorId": request.connector_id,
                    "connectorType": request.connector_type,
                    "reservationId": request.reservation_id,
                    "idTag": request.id_tag,
                    "expiresAt": request.expires_at.to_rfc3339(),
                });
                let reply = cluster
                    .call(&request.charge_point_id, "reserve", args)
                    .await
                    .map_err(relay_refusal)?;
                decode_refusal(&reply)
            }
        }
    }

    async fn cancel_reservation(
        &self,
        charge_point_id: &str,
        reservation_id: i32,
    ) -> Result<(), Refusal> {
        match self.remote_target(charge_point_id) {
            None => {
                self.local
                    .cancel_reservation(charge_point_id, reservation_id)
                    .await
            }
            Some(cluster) => {
                let args = json!({ "reservationId": reservation_id });
                let reply = cluster
                    .call(charge_point_id, "cancel", args)
                    .await
                    .map_err(relay_refusal)?;
                decode_refusal(&reply)
            }
        }
    }
}

fn reserve_request(charge_point_id: &str, args: &Value) -> Option<ReserveRequest> {
    let int = |k: &str| args[k].as_i64().and_then(|n| i32::try_from(n).ok());
    Some(ReserveRequest {
        charge_point_id: charge_point_id.to_owned(),
        evse_id: int("evseId")?,
        connector_id: int("connectorId")?,
        connector_type: args["connectorType"].as_str()?.to_owned(),
        reservation_id: int("reservationId")?,
        id_tag: args["idTag"].as_str()?.to_owned(),
        expires_at: chrono::DateTime::parse_from_rfc3339(args["expiresAt"].as_str()?)
            .ok()?
            .with_timezone(&chrono::Utc),
    })
}

fn relay_refusal(r: Relay) -> Refusal {
    match r {
        Relay::Offline => Refusal::Offline,
        Relay::Timeout => Refusal::Timeout,
    }
}

fn encode_refusal(outcome: Result<(), Refusal>) -> Value {
    let (kind, message) = match outcome {
        Ok(()) => return json!({ "ok": true }),
        Err(Refusal::Occupied) => ("occupied", String::new()),
        Err(Refusal::Faulted) => ("faulted", String::new()),
        Err(Refusal::Unavailable) => ("unavailable", String::new()),
        Err(Refusal::Rejected) => ("rejected", String::new()),
        Err(Refusal::CallError(m)) => ("call_error", m),
        Err(Refusal::Timeout) => ("timeout", String::new()),
        Err(Refusal::Offline) => ("offline", String::new()),
    };
    json!({ "ok": false, "kind": kind, "message": message })
}

fn decode_refusal(reply: &Value) -> Result<(), Refusal> {
    if reply["ok"] == true {
        return Ok(());
    }
    Err(match reply["kind"].as_str() {
        Some("occupied") => Refusal::Occupied,
        Some("faulted") => Refusal::Faulted,
        Some("unavailable") => Refusal::Unavailable,
        Some("rejected") => Refusal::Rejected,
        Some("timeout") => Refusal::Timeout,
        Some("offline") => Refusal::Offline,
        _ => Refusal::CallError(reply["message"].as_str().unwrap_or_default().to_owned()),
    })
}

fn encode_command(outcome: Result<Value, CommandError>) -> Value {
    match outcome {
        Ok(v) => json!({ "ok": true, "value": v }),
        Err(e) => {
            let kind = match &e {
                CommandError::Invalid(_) => "invalid",
                CommandError::Offline => "offline",
                CommandError::Timeout => "timeout",
                CommandError::Busy => "busy",
                CommandError::Charger(_) | CommandError::Relayed(_) => "charger",
            };
            let message = match e {
                CommandError::Invalid(m) | CommandError::Relayed(m) => m,
                CommandError::Charger(rpc) => rpc.to_string(),
                other => other.to_string(),
            };
            json!({ "ok": false, "kind": kind, "message": message })
        }
    }
}

fn decode_command(reply: Value) -> Result<Value, CommandError> {
    if reply["ok"] == true {
        return Ok(reply["value"].clone());
    }
    let message = reply["message"].as_str().unwrap_or_default().to_owned();
    Err(match reply["kind"].as_str() {
        Some("invalid") => CommandError::Invalid(message),
        Some("offline") => CommandError::Offline,
        Some("timeout") => CommandError::Timeout,
        Some("busy") => CommandError::Busy,
        _ => CommandError::Relayed(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_survives_the_trip() {
        for r in [
            Refusal::Occupied,
            Refusal::Faulted,
            Refusal::Unavailable,
            Refusal::Rejected,
            Refusal::CallError("NotSupported: no".into()),
            Refusal::Timeout,
            Refusal::Offline,
        ] {
            assert_eq!(decode_refusal(&encode_refusal(Err(r.clone()))), Err(r));
        }
        assert_eq!(decode_refusal(&encode_refusal(Ok(()))), Ok(()));
    }

    #[test]
    fn command_answers_survive_the_trip() {
        let ok = decode_command(encode_command(Ok(json!({"status": "Accepted"})))).unwrap();
        assert_eq!(ok["status"], "Accepted");
        assert!(matches!(
            decode_command(encode_command(Err(CommandError::Invalid("bad".into())))),
            Err(CommandError::Invalid(m)) if m == "bad"
        ));
        assert!(matches!(
            decode_command(encode_command(Err(CommandError::Offline))),
            Err(CommandError::Offline)
        ));
    }

    #[test]
    fn a_reserve_request_round_trips() {
        let now = chrono::Utc::now();
        let args = json!({"evseId": 1, "connectorId": 2, "connectorType": "CCS",
            "reservationId": 7, "idTag": "T", "expiresAt": now.to_rfc3339()});
        let r = reserve_request("CP", &args).unwrap();
        assert_eq!((r.evse_id, r.connector_id, r.reservation_id), (1, 2, 7));
        assert!(reserve_request("CP", &json!({})).is_none());
    }
}
