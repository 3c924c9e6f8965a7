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
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::RELAYED;
use crate::relay::{
    Call, CancelArgs, CommandArgs, Failure, JournalArgs, Reply, ReserveArgs, Sender, ToOwner,
};
use booking::sync::lock;

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
    waiting: Mutex<HashMap<Uuid, oneshot::Sender<Reply>>>,
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

    /// A member of the cluster: commands for chargers held elsewhere go
    /// through Redis. `deadline` bounds a relayed call (the charger's own
    /// call timeout, plus the way there and back). Nothing runs until
    /// [`Chargers::join`].
    pub fn clustered(
        local: OcppChargers,
        redis: &super::Redis,
        instance: String,
        deadline: Duration,
    ) -> Self {
        let cluster = Arc::new(Cluster {
            instance,
            conn: redis.conn.clone(),
            waiting: Mutex::new(HashMap::new()),
            deadline,
        });
        Self {
            local,
            cluster: Some(cluster),
        }
    }

    /// Starts announcing the chargers held here, claiming each one that
    /// connects, and serving other instances' commands and replies. The
    /// caller owns the tasks (and aborts them at shutdown); a single
    /// instance has none.
    pub async fn join(&self, redis: &super::Redis) -> redis::RedisResult<Vec<JoinHandle<()>>> {
        let Some(cluster) = self.cluster.clone() else {
            return Ok(Vec::new());
        };
        let channels = vec![
            commands_channel(&cluster.instance),
            replies_channel(&cluster.instance),
        ];
        let requests = commands_channel(&cluster.instance);
        let server = self.clone();
        let relay = {
            let cluster = cluster.clone();
            super::subscribe_forever(&redis.url, channels, move |channel, payload| {
                let (server, cluster) = (server.clone(), cluster.clone());
                let from_callers = channel == requests;
                async move {
                    if from_callers {
                        // Each request waits on its charger; one slow charger
                        // must not hold the others' requests.
                        tokio::spawn(async move { server.serve(&payload).await });
                    } else {
                        match serde_json::from_str::<Reply>(&payload) {
                            Ok(reply) => cluster.deliver(reply),
                            Err(e) => {
                                tracing::warn!(error = %e, "cluster: unreadable reply refused")
                            }
                        }
                    }
                }
            })
            .await?
        };
        Ok(vec![
            relay,
            tokio::spawn(announce(self.local.clone(), cluster.clone())),
            tokio::spawn(claim_on_connect(self.local.clone(), cluster)),
        ])
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
                let args = CommandArgs {
                    action: action.to_owned(),
                    payload,
                };
                let reply = cluster
                    .call(charge_point_id, ToOwner::Command, args)
                    .await
                    .map_err(|r| match r {
                        Relay::Offline => CommandError::Offline,
                        Relay::Timeout => CommandError::Timeout,
                    })?;
                reply
                    .map(Option::unwrap_or_default)
                    .map_err(Failure::into_command_error)
            }
        }
    }

    /// Whether the charger is connected here or, in a cluster, to another
    /// instance (its ownership lease is held). Redis unreachable: only here.
    pub async fn is_connected(&self, charge_point_id: &str) -> bool {
        if self.local.registry.is_connected(charge_point_id) {
            return true;
        }
        let Some(cluster) = &self.cluster else {
            return false;
        };
        let mut conn = cluster.conn.clone();
        let owner: redis::RedisResult<Option<String>> = conn.get(owner_key(charge_point_id)).await;
        matches!(owner, Ok(Some(_)))
    }

    /// The charger's message journal, newest first, from the instance that
    /// holds it (here, or its owner in the cluster); `None` when no journal
    /// of it is kept.
    pub async fn journal(
        &self,
        charge_point_id: &str,
        limit: usize,
        action: Option<&str>,
    ) -> Result<Option<Value>, CommandError> {
        let Some(cluster) = self.remote_target(charge_point_id) else {
            return Ok(self
                .local
                .registry
                .journals()
                .read(charge_point_id, limit, action));
        };
        let args = JournalArgs {
            limit,
            action: action.map(str::to_owned),
        };
        match cluster.call(charge_point_id, ToOwner::Journal, args).await {
            Ok(reply) => reply.map_err(Failure::into_command_error),
            // Held nowhere: a journal kept here since it left is the latest.
            Err(Relay::Offline) => {
                Ok(self
                    .local
                    .registry
                    .journals()
                    .read(charge_point_id, limit, action))
            }
            Err(Relay::Timeout) => Err(CommandError::Timeout),
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

    /// Runs another instance's request on a charger held here, and answers
    /// it. A request that does not read is refused: answered at once when
    /// its sender can be told, logged either way.
    async fn serve(&self, payload: &str) {
        let Some(cluster) = &self.cluster else { return };
        metrics::counter!(RELAYED, "direction" => "served", "outcome" => "received").increment(1);
        let request = match serde_json::from_str::<ToOwner>(payload) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %e, "cluster: unreadable relay request refused");
                if let Ok(sender) = serde_json::from_str::<Sender>(payload) {
                    let reply = Reply {
                        id: sender.id,
                        outcome: Err(Failure::unreadable(e)),
                    };
                    cluster.answer(&sender.from, &reply).await;
                }
                return;
            }
        };
        let (id, from, outcome) = match request {
            ToOwner::Close { charge_point_id } => {
                if self.local.registry.close(&charge_point_id) {
                    tracing::info!(charger.id = %charge_point_id,
                        "cluster: the charger reconnected to another instance; closing it here");
                }
                return;
            }
            ToOwner::Reserve(Call {
                id,
                from,
                charge_point_id,
                args,
            }) => {
                let request = args.into_request(charge_point_id);
                let outcome = self.local.reserve_now(&request).await;
                (id, from, outcome.map(|()| None).map_err(Failure::from))
            }
            ToOwner::Cancel(Call {
                id,
                from,
                charge_point_id,
                args,
            }) => {
                let outcome = self
                    .local
                    .cancel_reservation(&charge_point_id, args.reservation_id)
                    .await;
                (id, from, outcome.map(|()| None).map_err(Failure::from))
            }
            ToOwner::Command(Call {
                id,
                from,
                charge_point_id,
                args,
            }) => {
                let outcome = self
                    .local
                    .command(&charge_point_id, &args.action, args.payload)
                    .await;
                (id, from, outcome.map(Some).map_err(Failure::from))
            }
            ToOwner::Journal(Call {
                id,
                from,
                charge_point_id,
                args,
            }) => {
                let frames = self.local.registry.journals().read(
                    &charge_point_id,
                    args.limit,
                    args.action.as_deref(),
                );
                (id, from, Ok(frames))
            }
        };
        cluster.answer(&from, &Reply { id, outcome }).await;
    }
}

impl Cluster {
    /// Sends `args` to the charger's owner as the request `op` makes of a
    /// [`Call`], and waits for the owner's outcome within the deadline.
    async fn call<A>(
        &self,
        charge_point_id: &str,
        op: fn(Call<A>) -> ToOwner,
        args: A,
    ) -> Result<Result<Option<Value>, Failure>, Relay> {
        let result = self.relay(charge_point_id, op, args).await;
        let outcome = match &result {
            Ok(Ok(_)) => "answered",
            Ok(Err(_)) => "refused",
            Err(Relay::Offline) => "offline",
            Err(Relay::Timeout) => "timeout",
        };
        metrics::counter!(RELAYED, "direction" => "sent", "outcome" => outcome).increment(1);
        result
    }

    async fn relay<A>(
        &self,
        charge_point_id: &str,
        op: fn(Call<A>) -> ToOwner,
        args: A,
    ) -> Result<Result<Option<Value>, Failure>, Relay> {
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
        let request = op(Call {
            id,
            from: self.instance.clone(),
            charge_point_id: charge_point_id.to_owned(),
            args,
        });
        let Ok(request) = serde_json::to_string(&request) else {
            return Err(Relay::Offline);
        };
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, tx);
        let receivers: Result<i64, _> = conn.publish(commands_channel(&owner), request).await;
        if !matches!(receivers, Ok(n) if n > 0) {
            // The owner's lease outlived it: nobody listens there.
            self.lock().remove(&id);
            return Err(Relay::Offline);
        }
        match tokio::time::timeout(self.deadline, rx).await {
            Ok(Ok(reply)) => Ok(reply.outcome),
            _ => {
                self.lock().remove(&id);
                Err(Relay::Timeout)
            }
        }
    }

    /// Publishes `reply` on the caller's channel.
    async fn answer(&self, caller: &str, reply: &Reply) {
        let Ok(reply) = serde_json::to_string(reply) else {
            return;
        };
        let mut conn = self.conn.clone();
        if let Err(e) = conn
            .publish::<_, _, ()>(replies_channel(caller), reply)
            .await
        {
            tracing::warn!(error = %e, "cluster: cannot answer a relayed command");
        }
    }

    fn deliver(&self, reply: Reply) {
        if let Some(waiting) = self.lock().remove(&reply.id) {
            let _ = waiting.send(reply);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, oneshot::Sender<Reply>>> {
        lock(&self.waiting)
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

/// Asks `instance` to close its socket of the charger (it holds an older one).
async fn ask_to_close(conn: &mut ConnectionManager, instance: &str, charge_point_id: &str) {
    let close = ToOwner::Close {
        charge_point_id: charge_point_id.to_owned(),
    };
    let Ok(close) = serde_json::to_string(&close) else {
        return;
    };
    let _ = conn
        .publish::<_, _, ()>(commands_channel(instance), close)
        .await;
}

/// Takes ownership the moment a charger connects here, and tells the
/// instance that held it to close its (older) socket.
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

/// What evgate sends on its own (station power caps, local lists) reaches
/// chargers on any instance.
#[async_trait]
impl csms::commands::SendCommand for Chargers {
    async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, CommandError> {
        Chargers::command(self, charge_point_id, action, payload).await
    }
}

#[async_trait]
impl ChargerControl for Chargers {
    async fn reserve_now(&self, request: &ReserveRequest) -> Result<(), Refusal> {
        match self.remote_target(&request.charge_point_id) {
            None => self.local.reserve_now(request).await,
            Some(cluster) => cluster
                .call(
                    &request.charge_point_id,
                    ToOwner::Reserve,
                    ReserveArgs::of(request),
                )
                .await
                .map_err(relay_refusal)?
                .map(drop)
                .map_err(Failure::into_refusal),
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
            Some(cluster) => cluster
                .call(
                    charge_point_id,
                    ToOwner::Cancel,
                    CancelArgs { reservation_id },
                )
                .await
                .map_err(relay_refusal)?
                .map(drop)
                .map_err(Failure::into_refusal),
        }
    }
}

fn relay_refusal(r: Relay) -> Refusal {
    match r {
        Relay::Offline => Refusal::Offline,
        Relay::Timeout => Refusal::Timeout,
    }
}
