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
    ($store:ident, $db:ty) => {
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

            async fn enqueue_many(&self, entries: &[InboxEntry]) -> Result<Vec<(InboxEntry, bool)>> {
                if entries.is_empty() {
                    return Ok(vec![]);
                }
                let mut q = QueryBuilder::<$db>::new(concat!(
                    "INSERT INTO webhook_inbox (", inbox_cols!(), ") "
                ));
                q.push_values(entries, |mut row, e| {
                    row.push_bind(e.id)
                        .push_bind(e.vendor_id)
                        .push_bind(e.kind().as_str())
                        .push_bind(e.ordering_key.clone())
                        .push_bind(e.report.to_json())
                        .push_bind(e.idempotency_key.clone())
                        .push_bind(e.state.as_str())
                        .push_bind(e.attempts)
                        .push_bind(to_millis(e.next_attempt_at))
                        .push_bind(e.last_error.clone())
                        .push_bind(to_millis(e.received_at))
                        .push_bind(opt_ms(e.processed_at));
                });
                q.push(" ON CONFLICT (vendor_id, idempotency_key) DO NOTHING RETURNING id");
                let inserted: std::collections::HashSet<Uuid> = q
                    .build()
                    .fetch_all(&self.pool)
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
                    // A redelivery: the entry first stored under that key.
                    let first = sqlx::query(concat!(
                        "SELECT ", inbox_cols!(), " FROM webhook_inbox",
                        " WHERE vendor_id = $1 AND idempotency_key = $2"
                    ))
                    .bind(e.vendor_id)
                    .bind(&e.idempotency_key)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                    out.push((inbox_entry_of(&first)?, false));
                }
                Ok(out)
            }

            async fn lease(
                &self,
                name: &str,
                owner: Uuid,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> Result<bool> {
                let taken = sqlx::query(
                    "INSERT INTO worker_leases (name, owner, lease_until) VALUES ($1, $2, $4) \
                     ON CONFLICT (name) DO UPDATE SET owner = $2, lease_until = $4 \
                     WHERE worker_leases.owner = $2 OR worker_leases.lease_until <= $3",
                )
                .bind(name)
                .bind(owner)
                .bind(to_millis(now))
                .bind(to_millis(until))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(taken.rows_affected() == 1)
            }

            async fn pending(&self, limit: u32) -> Result<Vec<InboxEntry>> {
                sqlx::query(concat!(
                    "SELECT ", inbox_cols!(), " FROM webhook_inbox",
                    " WHERE state = 'PENDING' ORDER BY seq LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(inbox_entry_of)
                .collect()
            }

            async fn finish_done(&self, ids: &[Uuid], now: DateTime<Utc>) -> Result<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut q = QueryBuilder::<$db>::new(
                    "UPDATE webhook_inbox SET state = 'DONE', attempts = attempts + 1, processed_at = ",
                );
                q.push_bind(to_millis(now));
                q.push(" WHERE id IN (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build().execute(&self.pool).await.map_err(db_error)?;
                Ok(())
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
                       last_error = COALESCE($5, last_error), processed_at = $6 \
                     WHERE id = $1",
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
                    " processed_at = NULL WHERE id = $1 AND state = 'DEAD'",
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
