//! The webhooks' storage port ([`webhooks::WebhookStore`]) in SQL both
//! backends run, expanded beside `sql_store!` (whose row helpers it uses).

macro_rules! vendor_cols {
    () => {
        "id, name, secret, previous_secret, previous_secret_expires_at, created_at"
    };
}
macro_rules! inbox_cols {
    () => {
        "id, vendor_id, kind, ordering_key, payload, idempotency_key, state, attempts, \
         next_attempt_at, last_error, received_at, processed_at"
    };
}

macro_rules! sql_webhook_store {
    ($store:ident) => {
        use webhooks::{InboxEntry, InboxState, Outcome, Vendor, WebhookStore};

        fn vendor_of(row: &DbRow) -> Result<Vendor> {
            Ok(Vendor {
                id: get(row, "id")?,
                name: get(row, "name")?,
                secret: get(row, "secret")?,
                previous_secret: get(row, "previous_secret")?,
                previous_secret_expires_at: get(row, "previous_secret_expires_at")?,
                created_at: get(row, "created_at")?,
            })
        }

        fn inbox_entry_of(row: &DbRow) -> Result<InboxEntry> {
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
                state: InboxState::parse(&state).ok_or_else(|| bad_column("state", &state))?,
                attempts: get(row, "attempts")?,
                next_attempt_at: get(row, "next_attempt_at")?,
                last_error: get(row, "last_error")?,
                received_at: get(row, "received_at")?,
                processed_at: get(row, "processed_at")?,
            })
        }

        #[async_trait]
        impl WebhookStore for $store {
            async fn insert_vendor(&self, v: &Vendor) -> Result<()> {
                sqlx::query(concat!(
                    "INSERT INTO vendors (", vendor_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(v.id)
                .bind(&v.name)
                .bind(&v.secret)
                .bind(&v.previous_secret)
                .bind(opt_ms(v.previous_secret_expires_at))
                .bind(to_millis(v.created_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn vendor(&self, id: Uuid) -> Result<Option<Vendor>> {
                sqlx::query(concat!("SELECT ", vendor_cols!(), " FROM vendors WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| vendor_of(&r))
                    .transpose()
            }

            async fn vendors(&self, page: Page) -> Result<(Vec<Vendor>, u64)> {
                let (limit, offset) = page_binds(page);
                let rows = sqlx::query(concat!(
                    "SELECT ", vendor_cols!(), " FROM vendors ORDER BY created_at, id LIMIT $1 OFFSET $2"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vendors")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                let vendors = rows.iter().map(vendor_of).collect::<Result<_>>()?;
                Ok((vendors, u64::try_from(total).unwrap_or(0)))
            }

            async fn rotate_vendor_secret(
                &self,
                id: Uuid,
                new_secret: &str,
                previous_valid_until: DateTime<Utc>,
            ) -> Result<Option<Vendor>> {
                sqlx::query(concat!(
                    "UPDATE vendors SET previous_secret = secret, previous_secret_expires_at = $3, \
                       secret = $2 WHERE id = $1 RETURNING ", vendor_cols!()
                ))
                .bind(id)
                .bind(new_secret)
                .bind(to_millis(previous_valid_until))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| vendor_of(&r))
                .transpose()
            }

            async fn assign_connector(
                &self,
                connector_id: Uuid,
                vendor: Option<(Uuid, &str)>,
            ) -> Result<Option<Connector>> {
                sqlx::query(concat!(
                    "UPDATE connectors SET vendor_id = $2, vendor_connector_id = $3",
                    " WHERE id = $1 RETURNING ", connector_cols!()
                ))
                .bind(connector_id)
                .bind(vendor.map(|(v, _)| v))
                .bind(vendor.map(|(_, c)| c))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| connector_of(&r))
                .transpose()
            }

            async fn vendor_connector(
                &self,
                vendor_id: Uuid,
                vendor_connector_id: &str,
            ) -> Result<Option<Connector>> {
                sqlx::query(concat!(
                    "SELECT ", connector_cols!(), " FROM connectors",
                    " WHERE vendor_id = $1 AND vendor_connector_id = $2"
                ))
                .bind(vendor_id)
                .bind(vendor_connector_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| connector_of(&r))
                .transpose()
            }

            async fn vendor_session(&self, transaction_key: &str) -> Result<Option<ChargingSession>> {
                sqlx::query(concat!(
                    "SELECT ", session_cols!(), " FROM charging_sessions",
                    " WHERE protocol = 'vendor' AND transaction_key = $1"
                ))
                .bind(transaction_key)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| session_of(&r))
                .transpose()
            }

            async fn enqueue(&self, e: &InboxEntry) -> Result<(InboxEntry, bool)> {
                let inserted = sqlx::query(concat!(
                    "INSERT INTO webhook_inbox (", inbox_cols!(), ")",
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                    " ON CONFLICT (vendor_id, idempotency_key) DO NOTHING"
                ))
                .bind(e.id)
                .bind(e.vendor_id)
                .bind(e.kind().as_str())
                .bind(&e.ordering_key)
                .bind(e.report.to_json())
                .bind(&e.idempotency_key)
                .bind(e.state.as_str())
                .bind(e.attempts)
                .bind(to_millis(e.next_attempt_at))
                .bind(&e.last_error)
                .bind(to_millis(e.received_at))
                .bind(opt_ms(e.processed_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                if inserted.rows_affected() == 1 {
                    return Ok((e.clone(), true));
                }
                let first = sqlx::query(concat!(
                    "SELECT ", inbox_cols!(), " FROM webhook_inbox",
                    " WHERE vendor_id = $1 AND idempotency_key = $2"
                ))
                .bind(e.vendor_id)
                .bind(&e.idempotency_key)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok((inbox_entry_of(&first)?, false))
            }

            async fn claim_due(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<InboxEntry>> {
                // The outer conditions are checked again on the row itself,
                // so two instances racing for one entry cannot both win.
                sqlx::query(concat!(
                    "UPDATE webhook_inbox SET lease_until = $2",
                    " WHERE state = 'PENDING' AND (lease_until IS NULL OR lease_until <= $1)",
                    " AND id IN (SELECT i.id FROM webhook_inbox i",
                    "   WHERE i.state = 'PENDING' AND i.next_attempt_at <= $1",
                    "   AND (i.lease_until IS NULL OR i.lease_until <= $1)",
                    "   AND NOT EXISTS (SELECT 1 FROM webhook_inbox e",
                    "     WHERE e.state = 'PENDING' AND e.ordering_key = i.ordering_key",
                    "     AND e.seq < i.seq)",
                    "   ORDER BY i.seq LIMIT $3)",
                    " RETURNING ", inbox_cols!(), ", seq"
                ))
                .bind(to_millis(now))
                .bind(to_millis(lease_until))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|r| Ok((get::<i64>(r, "seq")?, inbox_entry_of(r)?)))
                .collect::<Result<Vec<_>>>()
                .map(|mut v| {
                    v.sort_by_key(|(seq, _)| *seq);
                    v.into_iter().map(|(_, e)| e).collect()
                })
            }

            async fn finish(
                &self,
                id: Uuid,
                attempts: i32,
                outcome: &Outcome,
                now: DateTime<Utc>,
            ) -> Result<()> {
                let now = to_millis(now);
                let (state, next, error, processed) = match outcome {
                    Outcome::Done => ("DONE", None, None, Some(now)),
                    Outcome::Wait => ("WAITING", None, None, None),
                    Outcome::Retry { at, error } => ("PENDING", Some(to_millis(*at)), Some(error), None),
                    Outcome::Dead { error } => ("DEAD", None, Some(error), Some(now)),
                };
                sqlx::query(
                    "UPDATE webhook_inbox SET state = $2, attempts = $3, \
                       next_attempt_at = COALESCE($4, next_attempt_at), \
                       last_error = COALESCE($5, last_error), processed_at = $6, \
                       lease_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(state)
                .bind(attempts)
                .bind(next)
                .bind(error)
                .bind(processed)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn wake(&self, ordering_key: &str, now: DateTime<Utc>) -> Result<u64> {
                let done = sqlx::query(
                    "UPDATE webhook_inbox SET state = 'PENDING', next_attempt_at = $2 \
                     WHERE ordering_key = $1 AND state = 'WAITING'",
                )
                .bind(ordering_key)
                .bind(to_millis(now))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected())
            }

            async fn inbox_entry(&self, id: Uuid) -> Result<Option<InboxEntry>> {
                sqlx::query(concat!("SELECT ", inbox_cols!(), " FROM webhook_inbox WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| inbox_entry_of(&r))
                    .transpose()
            }

            async fn inbox_entries(
                &self,
                state: Option<InboxState>,
                page: Page,
            ) -> Result<(Vec<InboxEntry>, u64)> {
                let (limit, offset) = page_binds(page);
                let state = state.map(|s| s.as_str());
                let rows = sqlx::query(concat!(
                    "SELECT ", inbox_cols!(), " FROM webhook_inbox",
                    " WHERE (CAST($1 AS TEXT) IS NULL OR state = $1)",
                    " ORDER BY seq DESC LIMIT $2 OFFSET $3"
                ))
                .bind(state)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM webhook_inbox WHERE (CAST($1 AS TEXT) IS NULL OR state = $1)",
                )
                .bind(state)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                let entries = rows.iter().map(inbox_entry_of).collect::<Result<_>>()?;
                Ok((entries, u64::try_from(total).unwrap_or(0)))
            }

            async fn requeue(&self, id: Uuid, now: DateTime<Utc>) -> Result<Option<InboxEntry>> {
                sqlx::query(concat!(
                    "UPDATE webhook_inbox SET state = 'PENDING', attempts = 0, next_attempt_at = $2,",
                    " lease_until = NULL, processed_at = NULL WHERE id = $1 AND state = 'DEAD'",
                    " RETURNING ", inbox_cols!()
                ))
                .bind(id)
                .bind(to_millis(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| inbox_entry_of(&r))
                .transpose()
            }
        }
    };
}
