//! The webhooks' storage port: vendors, their connectors and sessions, the
//! durable inbox, and the lease that keeps one inbox worker in a cluster.

use std::collections::HashSet;

use async_trait::async_trait;
use booking::Result;
use booking::model::{ChargingSession, Connector, Page};
use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use uuid::Uuid;
use webhooks::inbox::{InboxRecord, StoredReport};
use webhooks::{InboxEntry, InboxState, Outcome, Vendor, WebhookStore};

use super::sessions::session_of;
use super::stations::connector_of;
use super::{Conn, Db, Row, all, get, ms, one, opt_ms, page_binds, total};
use crate::SqlStore;
use crate::error::{bad_column, db_error};

fn vendor_of(row: &Row) -> Result<Vendor> {
    Ok(Vendor {
        id: get(row, "id")?,
        name: get(row, "name")?,
        secret: get(row, "secret")?,
        previous_secret: get(row, "previous_secret")?,
        previous_secret_expires_at: get(row, "previous_secret_expires_at")?,
        created_at: get(row, "created_at")?,
    })
}

fn inbox_entry_of(row: &Row) -> Result<InboxEntry> {
    let kind: String = get(row, "kind")?;
    let kind = webhooks::Kind::parse(&kind).ok_or_else(|| bad_column("kind", &kind))?;
    let payload: String = get(row, "payload")?;
    let state: String = get(row, "state")?;
    Ok(InboxEntry {
        id: get(row, "id")?,
        vendor_id: get(row, "vendor_id")?,
        report: webhooks::report::Report::from_json(kind, &payload)
            .map_err(|e| bad_column("payload", e))?,
        ordering_key: get(row, "ordering_key")?,
        idempotency_key: get(row, "idempotency_key")?,
        signature: get(row, "signature")?,
        body_sha256: get(row, "body_sha256")?,
        state: InboxState::parse(&state).ok_or_else(|| bad_column("state", &state))?,
        attempts: get(row, "attempts")?,
        next_attempt_at: get(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        received_at: get(row, "received_at")?,
        processed_at: get(row, "processed_at")?,
    })
}

/// A row as the admin view shows it: a report this build cannot read comes
/// back as the stored text and the reason, not as an error (the kind and
/// state columns are checked by the schema).
fn inbox_record_of(row: &Row) -> Result<InboxRecord> {
    let kind: String = get(row, "kind")?;
    let kind = webhooks::Kind::parse(&kind).ok_or_else(|| bad_column("kind", &kind))?;
    let payload: String = get(row, "payload")?;
    let state: String = get(row, "state")?;
    let report = match webhooks::report::Report::from_json(kind, &payload) {
        Ok(report) => StoredReport::Readable(report),
        Err(e) => StoredReport::Unreadable {
            payload,
            error: e.to_string(),
        },
    };
    Ok(InboxRecord {
        id: get(row, "id")?,
        vendor_id: get(row, "vendor_id")?,
        kind,
        report,
        ordering_key: get(row, "ordering_key")?,
        idempotency_key: get(row, "idempotency_key")?,
        state: InboxState::parse(&state).ok_or_else(|| bad_column("state", &state))?,
        attempts: get(row, "attempts")?,
        next_attempt_at: get(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        received_at: get(row, "received_at")?,
        processed_at: get(row, "processed_at")?,
    })
}

async fn insert_vendor(conn: &mut Conn, v: &Vendor) -> Result<()> {
    sqlx::query(
        "insert into vendors (id, name, secret, previous_secret, previous_secret_expires_at, \
           created_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(v.id)
    .bind(&v.name)
    .bind(&v.secret)
    .bind(&v.previous_secret)
    .bind(opt_ms(v.previous_secret_expires_at))
    .bind(ms(v.created_at))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn vendor(conn: &mut Conn, id: Uuid) -> Result<Option<Vendor>> {
    let row = sqlx::query("select * from vendors where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, vendor_of)
}

async fn vendors(conn: &mut Conn, page: Page) -> Result<(Vec<Vendor>, u64)> {
    let (limit, offset) = page_binds(page);
    let rows = sqlx::query("select * from vendors order by created_at, id limit $1 offset $2")
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar("select count(*) from vendors")
        .fetch_one(conn)
        .await
        .map_err(db_error)?;
    Ok((all(&rows, vendor_of)?, total(n)))
}

async fn rotate_secret(
    conn: &mut Conn,
    id: Uuid,
    new_secret: &str,
    previous_valid_until: DateTime<Utc>,
) -> Result<Option<Vendor>> {
    let row = sqlx::query(
        "update vendors set previous_secret = secret, previous_secret_expires_at = $3, \
           secret = $2 \
         where id = $1 \
         returning *",
    )
    .bind(id)
    .bind(new_secret)
    .bind(ms(previous_valid_until))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, vendor_of)
}

async fn assign_connector(
    conn: &mut Conn,
    connector_id: Uuid,
    vendor: Option<(Uuid, &str)>,
) -> Result<Option<Connector>> {
    let row = sqlx::query(
        "update connectors set vendor_id = $2, vendor_connector_id = $3 where id = $1 returning *",
    )
    .bind(connector_id)
    .bind(vendor.map(|(v, _)| v))
    .bind(vendor.map(|(_, c)| c))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, connector_of)
}

async fn vendor_connector(
    conn: &mut Conn,
    vendor_id: Uuid,
    vendor_connector_id: &str,
) -> Result<Option<Connector>> {
    let row =
        sqlx::query("select * from connectors where vendor_id = $1 and vendor_connector_id = $2")
            .bind(vendor_id)
            .bind(vendor_connector_id)
            .fetch_optional(conn)
            .await
            .map_err(db_error)?;
    one(row, connector_of)
}

/// Vendor session ids are the vendor's own: no charger in the key.
async fn vendor_session(conn: &mut Conn, transaction_key: &str) -> Result<Option<ChargingSession>> {
    let row = sqlx::query(
        "select * from charging_sessions where protocol = 'vendor' and transaction_key = $1",
    )
    .bind(transaction_key)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, session_of)
}

/// Stores the entries in one statement; a redelivery (same vendor and
/// idempotency key) comes back as the entry first stored, with `false`.
async fn enqueue_many(conn: &mut Conn, entries: &[InboxEntry]) -> Result<Vec<(InboxEntry, bool)>> {
    if entries.is_empty() {
        return Ok(vec![]);
    }
    let mut q = QueryBuilder::<Db>::new(
        "insert into webhook_inbox (id, vendor_id, kind, ordering_key, payload, idempotency_key, \
           signature, body_sha256, state, attempts, next_attempt_at, last_error, received_at, \
           processed_at) ",
    );
    q.push_values(entries, |mut row, e| {
        row.push_bind(e.id)
            .push_bind(e.vendor_id)
            .push_bind(e.kind().as_str())
            .push_bind(e.ordering_key.clone())
            .push_bind(e.report.to_json())
            .push_bind(e.idempotency_key.clone())
            .push_bind(e.signature.clone())
            .push_bind(e.body_sha256.clone())
            .push_bind(e.state.as_str())
            .push_bind(e.attempts)
            .push_bind(ms(e.next_attempt_at))
            .push_bind(e.last_error.clone())
            .push_bind(ms(e.received_at))
            .push_bind(opt_ms(e.processed_at));
    });
    // Either uniqueness may conflict: the vendor's key, or the signature
    // of a replayed delivery.
    q.push(" on conflict do nothing returning id");
    let inserted: HashSet<Uuid> = q
        .build()
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(|r| get::<Uuid>(r, "id"))
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        if inserted.contains(&e.id) {
            out.push((e.clone(), true));
            continue;
        }
        let first = sqlx::query(
            "select * from webhook_inbox \
             where vendor_id = $1 and (idempotency_key = $2 or signature = $3) \
             order by received_at limit 1",
        )
        .bind(e.vendor_id)
        .bind(&e.idempotency_key)
        .bind(&e.signature)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
        out.push((inbox_entry_of(&first)?, false));
    }
    Ok(out)
}

/// Takes (or renews) the named lease for `owner` unless another owner
/// holds it past `now`.
pub(super) async fn lease(
    conn: &mut Conn,
    name: &str,
    owner: Uuid,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let taken = sqlx::query(
        "insert into worker_leases (name, owner, lease_until) values ($1, $2, $4) \
         on conflict (name) do update set owner = $2, lease_until = $4 \
         where worker_leases.owner = $2 or worker_leases.lease_until <= $3",
    )
    .bind(name)
    .bind(owner)
    .bind(ms(now))
    .bind(ms(until))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(taken.rows_affected() == 1)
}

/// The oldest pending entries. One that cannot be read (a report stored
/// before the edge refused such values, a hand-edited row) goes to the
/// dead letter with the reason instead of failing every round: it holds
/// up nobody, and an operator sees it and can requeue it once repaired.
async fn pending(conn: &mut Conn, limit: u32) -> Result<Vec<InboxEntry>> {
    let rows =
        sqlx::query("select * from webhook_inbox where state = 'PENDING' order by seq limit $1")
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        match inbox_entry_of(row) {
            Ok(entry) => entries.push(entry),
            Err(e) => {
                let id: Uuid = get(row, "id")?;
                sqlx::query(
                    "update webhook_inbox set state = 'DEAD', last_error = $2 where id = $1",
                )
                .bind(id)
                .bind(format!("unreadable stored report: {e}"))
                .execute(&mut *conn)
                .await
                .map_err(db_error)?;
            }
        }
    }
    Ok(entries)
}

async fn finish_done(conn: &mut Conn, ids: &[Uuid], now: DateTime<Utc>) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Db>::new(
        "update webhook_inbox set state = 'DONE', attempts = attempts + 1, processed_at = ",
    );
    q.push_bind(ms(now));
    q.push(" where id in (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
    q.build().execute(conn).await.map_err(db_error)?;
    Ok(())
}

async fn finish(
    conn: &mut Conn,
    id: Uuid,
    attempts: i32,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<()> {
    let now = ms(now);
    let (state, next, error, processed) = match outcome {
        Outcome::Done => ("DONE", None, None, Some(now)),
        Outcome::Wait => ("WAITING", None, None, None),
        Outcome::Retry { at, error } => ("PENDING", Some(ms(*at)), Some(error), None),
        Outcome::Dead { error } => ("DEAD", None, Some(error), Some(now)),
    };
    sqlx::query(
        "update webhook_inbox set state = $2, attempts = $3, \
           next_attempt_at = coalesce($4, next_attempt_at), \
           last_error = coalesce($5, last_error), processed_at = $6 \
         where id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(attempts)
    .bind(next)
    .bind(error)
    .bind(processed)
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

async fn wake(conn: &mut Conn, ordering_key: &str, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "update webhook_inbox set state = 'PENDING', next_attempt_at = $2 \
         where ordering_key = $1 and state = 'WAITING'",
    )
    .bind(ordering_key)
    .bind(ms(now))
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(done.rows_affected())
}

async fn oldest_pending(conn: &mut Conn) -> Result<Option<DateTime<Utc>>> {
    let row = sqlx::query(
        "select next_attempt_at from webhook_inbox where state = 'PENDING' \
         order by next_attempt_at limit 1",
    )
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    row.map(|r| get(&r, "next_attempt_at")).transpose()
}

async fn inbox_entry(conn: &mut Conn, id: Uuid) -> Result<Option<InboxRecord>> {
    let row = sqlx::query("select * from webhook_inbox where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, inbox_record_of)
}

/// A NULL state switches the filter off.
async fn inbox_entries(
    conn: &mut Conn,
    state: Option<InboxState>,
    page: Page,
) -> Result<(Vec<InboxRecord>, u64)> {
    let (limit, offset) = page_binds(page);
    let state = state.map(|s| s.as_str());
    let rows = sqlx::query(
        "select * from webhook_inbox where (cast($1 as text) is null or state = $1) \
         order by seq desc limit $2 offset $3",
    )
    .bind(state)
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error)?;
    let n: i64 = sqlx::query_scalar(
        "select count(*) from webhook_inbox where (cast($1 as text) is null or state = $1)",
    )
    .bind(state)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok((all(&rows, inbox_record_of)?, total(n)))
}

async fn requeue(conn: &mut Conn, id: Uuid, now: DateTime<Utc>) -> Result<Option<InboxRecord>> {
    let row = sqlx::query(
        "update webhook_inbox set state = 'PENDING', attempts = 0, next_attempt_at = $2, \
           processed_at = null \
         where id = $1 and state = 'DEAD' \
         returning *",
    )
    .bind(id)
    .bind(ms(now))
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    one(row, inbox_record_of)
}

async fn discard(conn: &mut Conn, id: Uuid) -> Result<Option<InboxRecord>> {
    let row = sqlx::query("delete from webhook_inbox where id = $1 and state = 'DEAD' returning *")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?;
    one(row, inbox_record_of)
}

#[async_trait]
impl WebhookStore for SqlStore<Db> {
    async fn insert_vendor(&self, v: &Vendor) -> Result<()> {
        insert_vendor(&mut *self.write().await?, v).await
    }

    async fn vendor(&self, id: Uuid) -> Result<Option<Vendor>> {
        vendor(&mut *self.conn().await?, id).await
    }

    async fn vendors(&self, page: Page) -> Result<(Vec<Vendor>, u64)> {
        vendors(&mut *self.conn().await?, page).await
    }

    async fn rotate_vendor_secret(
        &self,
        id: Uuid,
        new_secret: &str,
        previous_valid_until: DateTime<Utc>,
    ) -> Result<Option<Vendor>> {
        rotate_secret(
            &mut *self.write().await?,
            id,
            new_secret,
            previous_valid_until,
        )
        .await
    }

    async fn assign_connector(
        &self,
        connector_id: Uuid,
        vendor: Option<(Uuid, &str)>,
    ) -> Result<Option<Connector>> {
        assign_connector(&mut *self.write().await?, connector_id, vendor).await
    }

    async fn vendor_connector(
        &self,
        vendor_id: Uuid,
        vendor_connector_id: &str,
    ) -> Result<Option<Connector>> {
        vendor_connector(&mut *self.conn().await?, vendor_id, vendor_connector_id).await
    }

    async fn vendor_session(&self, transaction_key: &str) -> Result<Option<ChargingSession>> {
        vendor_session(&mut *self.conn().await?, transaction_key).await
    }

    async fn enqueue_many(&self, entries: &[InboxEntry]) -> Result<Vec<(InboxEntry, bool)>> {
        enqueue_many(&mut *self.write().await?, entries).await
    }

    async fn lease(
        &self,
        name: &str,
        owner: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        lease(&mut *self.write().await?, name, owner, now, until).await
    }

    async fn pending(&self, limit: u32) -> Result<Vec<InboxEntry>> {
        pending(&mut *self.write().await?, limit).await
    }

    async fn finish_done(&self, ids: &[Uuid], now: DateTime<Utc>) -> Result<()> {
        finish_done(&mut *self.write().await?, ids, now).await
    }

    async fn finish(
        &self,
        id: Uuid,
        attempts: i32,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        finish(&mut *self.write().await?, id, attempts, outcome, now).await
    }

    async fn wake(&self, ordering_key: &str, now: DateTime<Utc>) -> Result<u64> {
        wake(&mut *self.write().await?, ordering_key, now).await
    }

    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>> {
        oldest_pending(&mut *self.conn().await?).await
    }

    async fn inbox_entry(&self, id: Uuid) -> Result<Option<InboxRecord>> {
        inbox_entry(&mut *self.conn().await?, id).await
    }

    async fn inbox_entries(
        &self,
        state: Option<InboxState>,
        page: Page,
    ) -> Result<(Vec<InboxRecord>, u64)> {
        inbox_entries(&mut *self.conn().await?, state, page).await
    }

    async fn requeue(&self, id: Uuid, now: DateTime<Utc>) -> Result<Option<InboxRecord>> {
        requeue(&mut *self.write().await?, id, now).await
    }

    async fn discard(&self, id: Uuid) -> Result<Option<InboxRecord>> {
        discard(&mut *self.write().await?, id).await
    }
}
