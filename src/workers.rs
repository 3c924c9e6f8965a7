//! The booking service's background loops: the hold sweep and lead-window
//! scheduler, the no-show worker, and refund delivery. Each pass is a plain booking-service
//! call; this module only owns the timers. Dropping [`Workers`] stops them.

use std::time::Duration;

use booking::refunds::RefundOutbox;
use booking::service::BookingService;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use webhooks::VendorWebhooks;

/// How often expired holds are swept and due bookings reserved: well below
/// the lead window, so a booking is reserved within seconds of entering it.
pub const SCHEDULER_INTERVAL: Duration = Duration::from_secs(5);

/// The running loops; aborted when dropped.
#[derive(Debug)]
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Takes other background tasks (the realtime relay, …) into the same
    /// ownership.
    pub fn adopt(&mut self, handles: Vec<JoinHandle<()>>) {
        self.handles.extend(handles);
    }

    /// Stops every loop and waits until each has ended.
    pub async fn stop(mut self) {
        let handles = std::mem::take(&mut self.handles);
        for h in &handles {
            h.abort();
        }
        for h in handles {
            let _ = h.await;
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for h in &self.handles {
            h.abort();
        }
    }
}

/// Other instances' webhooks are picked up at least this often; this
/// instance's at once (the inbox rings the worker).
pub const WEBHOOK_POLL: Duration = Duration::from_millis(500);

/// Starts the booking core's timers (hold sweep and lead-window scheduler,
/// no-shows, refunds) and the webhook inbox worker; the caller owns them.
pub fn spawn(
    service: BookingService,
    no_show_interval: Duration,
    refunds: Option<RefundOutbox>,
    webhooks: VendorWebhooks,
) -> Workers {
    let scheduler = {
        let service = service.clone();
        every(SCHEDULER_INTERVAL, move || {
            let service = service.clone();
            async move {
                match service.expire_holds().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(holds = n, "expired holds released"),
                    Err(e) => tracing::warn!(error = %e, "hold sweep failed"),
                }
                match service.reserve_due_bookings().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(bookings = n, "bookings reserved on their chargers"),
                    Err(e) => tracing::warn!(error = %e, "lead-window scheduler failed"),
                }
            }
        })
    };
    let no_shows = every(no_show_interval, move || {
        let service = service.clone();
        async move {
            match service.record_no_shows().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(bookings = n, "no-shows recorded"),
                Err(e) => tracing::warn!(error = %e, "no-show worker failed"),
            }
        }
    });
    let mut handles = vec![scheduler, no_shows, tokio::spawn(apply_webhooks(webhooks))];
    if let Some(outbox) = refunds {
        handles.push(every(SCHEDULER_INTERVAL, move || {
            let outbox = outbox.clone();
            async move {
                match outbox.deliver_due().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(refunds = n, "refunds delivered"),
                    Err(e) => tracing::warn!(error = %e, "refund delivery pass failed"),
                }
            }
        }));
    }
    Workers { handles }
}

/// Applies inbox entries as they arrive: drains what is due, then waits
/// for the next arrival or poll.
async fn apply_webhooks(webhooks: VendorWebhooks) {
    loop {
        match webhooks.process_due().await {
            Ok(0) => {
                tokio::select! {
                    () = webhooks.arrived() => {}
                    () = tokio::time::sleep(WEBHOOK_POLL) => {}
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "webhook inbox pass failed");
                tokio::time::sleep(WEBHOOK_POLL).await;
            }
        }
    }
}

fn every<F, Fut>(period: Duration, mut pass: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            pass().await;
        }
    })
}
