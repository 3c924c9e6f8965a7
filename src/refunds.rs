//! Refund delivery over HTTP to `PAYMENT_WEBHOOK_URL`: one JSON POST per
//! refund, with the refund id as `Idempotency-Key` (a retry after a lost
//! answer must not refund twice) and, when `PAYMENT_WEBHOOK_SECRET` is set,
//! `X-Evgate-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
//! with `X-Evgate-Timestamp`, as evgate's own vendor webhooks expect.

use std::time::Duration;

use async_trait::async_trait;
use booking::model::RefundRequest;
use booking::refunds::RefundGateway;
use webhooks::signature::sign;

/// The refund gateway as an HTTP endpoint (`PAYMENT_WEBHOOK_URL`): each
/// request signed like vendor webhooks when a secret is set.
#[derive(Debug, Clone)]
pub struct HttpRefunds {
    client: reqwest::Client,
    url: String,
    secret: Option<String>,
}

impl HttpRefunds {
    /// A client for `url`, signing with `secret` if given.
    pub fn new(url: &str, secret: Option<&str>) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            url: url.to_owned(),
            secret: secret.map(str::to_owned),
        })
    }
}

#[async_trait]
impl RefundGateway for HttpRefunds {
    async fn send(&self, refund: &RefundRequest) -> Result<(), String> {
        let body = serde_json::to_vec(&serde_json::json!({
            "refundId": refund.id,
            "bookingId": refund.booking_id,
            "paymentId": refund.payment_id,
            "reason": refund.reason,
            "requestedAt": booking::iso(refund.created_at),
        }))
        .map_err(|e| e.to_string())?;
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("idempotency-key", refund.id.to_string());
        if let Some(secret) = &self.secret {
            let ts = chrono::Utc::now().timestamp();
            request = request
                .header("x-evgate-timestamp", ts.to_string())
                .header("x-evgate-signature", sign(secret.as_bytes(), ts, &body));
        }
        let outcome = match request.body(body).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("payment webhook answered {}", response.status())),
            Err(e) => Err(e.to_string()),
        };
        let label = if outcome.is_ok() {
            "delivered"
        } else {
            "failed"
        };
        metrics::counter!(crate::metrics::REFUND_DELIVERIES, "outcome" => label).increment(1);
        outcome
    }
}
