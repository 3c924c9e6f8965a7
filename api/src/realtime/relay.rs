//! Fan-out: booking-core events become Socket.IO emits. Alone, an instance
//! emits its own events to its own sockets. With Redis, every instance
//! publishes its events' emits on one channel and emits what it hears
//! there to its local sockets — so a change made on any instance reaches
//! subscribers on all of them, once.

use socketioxide::SocketIo;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::task::JoinHandle;

use super::bus::EventBus;
use super::updates::{Outbound, outbound};

/// The Redis channel the instances share.
pub(super) const CHANNEL: &str = "evgate:realtime";

/// Starts the fan-out; the tasks end when the bus is dropped.
pub async fn spawn(
    bus: &EventBus,
    io: SocketIo,
    redis: Option<&evgate_cluster::Redis>,
) -> redis::RedisResult<Vec<JoinHandle<()>>> {
    let mut events = bus.subscribe();
    let Some(redis) = redis else {
        return Ok(vec![tokio::spawn(async move {
            while let Some(event) = next(&mut events).await {
                for o in outbound(&event) {
                    emit(&io, o).await;
                }
            }
        })]);
    };
    let deliver = evgate_cluster::subscribe_forever(
        &redis.url,
        vec![CHANNEL.to_owned()],
        move |_, payload| {
            let io = io.clone();
            async move {
                match serde_json::from_str::<Outbound>(&payload) {
                    Ok(o) => emit(&io, o).await,
                    Err(_) => tracing::warn!("realtime: unreadable message on {CHANNEL}"),
                }
            }
        },
    )
    .await?;
    let redis = redis.clone();
    let publish = tokio::spawn(async move {
        let mut batch = Vec::new();
        while let Some(event) = next(&mut events).await {
            encode_into(&mut batch, &event);
            // What else is waiting already goes in the same round trip: under
            // load (a hold storm) one PUBLISH pipeline per burst, not one
            // round trip per update.
            while batch.len() < PUBLISH_BATCH {
                match events.try_recv() {
                    Ok(e) => encode_into(&mut batch, &e),
                    Err(TryRecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "realtime: fan-out fell behind; events skipped")
                    }
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
            if !batch.is_empty()
                && let Err(e) = redis.publish_all(CHANNEL, &batch).await
            {
                tracing::warn!(error = %e, updates = batch.len(),
                    "realtime: cannot publish to Redis; updates lost");
            }
            batch.clear();
        }
    });
    Ok(vec![publish, deliver])
}

/// The most updates published in one round trip.
const PUBLISH_BATCH: usize = 256;

/// Appends the event's emits, as the channel carries them, to `batch`.
fn encode_into(batch: &mut Vec<String>, event: &booking::events::Event) {
    batch.extend(
        outbound(event)
            .into_iter()
            .filter_map(|o| serde_json::to_string(&o).ok()),
    );
}

async fn next(
    events: &mut tokio::sync::broadcast::Receiver<booking::events::Event>,
) -> Option<booking::events::Event> {
    loop {
        match events.recv().await {
            Ok(e) => return Some(e),
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "realtime: fan-out fell behind; events skipped")
            }
            Err(RecvError::Closed) => return None,
        }
    }
}

async fn emit(io: &SocketIo, o: Outbound) {
    let event = match o.event.as_str() {
        "station_update" => "station_update",
        "booking_update" => "booking_update",
        _ => "other",
    };
    metrics::counter!(crate::metrics::PUSHES, "event" => event).increment(1);
    // A full buffer drops the emit for that one slow socket; the others
    // have received it.
    if let Err(e) = io.to(o.room).emit(&o.event, &o.data).await {
        tracing::debug!(error = %e, "realtime: some sockets did not take an update");
    }
}
