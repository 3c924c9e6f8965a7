//! The SQL both adapters run, written once. `sql_store!` implements the
//! store port for a struct with a `pool: sqlx::Pool<DB>` field; each backend
//! expands it with its own concrete database type, so every query is
//! type-checked against the driver that runs it. Queries use only syntax
//! PostgreSQL and SQLite share (`$n` parameters, `RETURNING`, `CAST`).

macro_rules! station_cols {
    () => {
        "id, name, latitude, longitude, address, created_at"
    };
}
macro_rules! charger_cols {
    () => {
        "id, station_id, charge_point_id, security_profile, password_hash, ocpp_version, \
         vendor, model, firmware_version, online, last_seen_at, created_at, admission, \
         previous_security_profile, previous_password_hash, previous_credentials_until, \
         pending_credentials"
    };
}
macro_rules! connector_cols {
    () => {
        "id, station_id, charger_id, evse_id, ocpp_connector_id, connector_number, \
         connector_type, power_kw, status, status_updated_at, current_booking_id, \
         vendor_connector_id, last_known_status, vendor_id"
    };
}
macro_rules! booking_cols {
    () => {
        "id, user_id, station_id, connector_id, start_ts, end_ts, status, hold_token, \
         payment_id, vendor_booking_id, reservation_id, cancel_reason, created_at, updated_at, \
         reserved_on_charger, id_tag"
    };
}
macro_rules! session_cols {
    () => {
        "id, booking_id, connector_id, charger_id, protocol, transaction_key, id_tag, \
         started_at, ended_at, meter_start_wh, meter_stop_wh, energy_kwh, cost_amount, \
         status, stop_reason"
    };
}
macro_rules! refund_cols {
    () => {
        "id, booking_id, payment_id, reason, state, attempts, next_attempt_at, created_at"
    };
}
/// Advances one of a charger's id sequences (1 to i32::MAX, then 1 again)
/// in one statement: atomic on both backends, so concurrent callers never
/// get the same id.
macro_rules! advance_seq {
    ($column:literal) => {
        concat!(
            "UPDATE chargers SET ",
            $column,
            " = CASE WHEN ",
            $column,
            " >= 2147483647 THEN 1 ",
            "ELSE ",
            $column,
            " + 1 END WHERE id = $1 RETURNING ",
            $column
        )
    };
}
/// Connectors in the order drivers read them: "2" before "10".
macro_rules! connector_order {
    () => {
        " ORDER BY station_id, length(connector_number), connector_number"
    };
}

macro_rules! sql_store {
    ($store:ident, $db:ty) => {
        use async_trait::async_trait;
        use booking::clock::to_millis;
        use booking::geo::BoundingBox;
        use booking::model::{
            Booking, BookingStatus, Charger, ChargerAdmission, ChargingSession, Connector, ConnectorStatus, IdTag,
            NewConnector, OcppVersion, Page, RefundRequest, SecurityProfile, Station, TransactionKey,
        };
        use booking::audit::AuditEntry;
        use booking::model::{PreviousCredentials, UnassignedCharger};
        use booking::store::{BootInfo, RefundAttempt, SessionEnd};
        use booking::{Error, Result, Store};
        use chrono::{DateTime, Utc};
        use sqlx::{QueryBuilder, Row};
        use uuid::Uuid;

        use crate::store::errors::{bad_column, db_error};

        type DbRow = <$db as sqlx::Database>::Row;

        fn get<'r, T>(row: &'r DbRow, column: &str) -> Result<T>
        where
            T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
        {
            row.try_get(column).map_err(db_error)
        }

        /// A text column holding one of the domain's vocabularies.
        fn parse<T>(row: &DbRow, column: &str) -> Result<T>
        where
            T: std::str::FromStr<Err = String>,
        {
            get::<String>(row, column)?
                .parse()
                .map_err(|e| bad_column(column, e))
        }

        fn parse_opt<T>(row: &DbRow, column: &str) -> Result<Option<T>>
        where
            T: std::str::FromStr<Err = String>,
        {
            get::<Option<String>>(row, column)?
                .map(|s| s.parse().map_err(|e| bad_column(column, e)))
                .transpose()
        }

        fn station_of(row: &DbRow) -> Result<Station> {
            Ok(Station {
                id: get(row, "id")?,
                name: get(row, "name")?,
                latitude: get(row, "latitude")?,
                longitude: get(row, "longitude")?,
                address: get(row, "address")?,
                created_at: get(row, "created_at")?,
            })
        }

        fn profile_of(column: &str, profile: i16) -> Result<SecurityProfile> {
            u8::try_from(profile)
                .map_err(|e| e.to_string())
                .and_then(SecurityProfile::try_from)
                .map_err(|e| bad_column(column, e))
        }

        fn charger_of(row: &DbRow) -> Result<Charger> {
            let previous_profile: Option<i16> = get(row, "previous_security_profile")?;
            let previous_until: Option<DateTime<Utc>> = get(row, "previous_credentials_until")?;
            let previous_credentials = match (previous_profile, previous_until) {
                (Some(profile), Some(until)) => Some(PreviousCredentials {
                    security_profile: profile_of("previous_security_profile", profile)?,
                    password_hash: get(row, "previous_password_hash")?,
                    until,
                }),
                _ => None,
            };
            Ok(Charger {
                id: get(row, "id")?,
                station_id: get(row, "station_id")?,
                charge_point_id: get(row, "charge_point_id")?,
                security_profile: profile_of("security_profile", get(row, "security_profile")?)?,
                password_hash: get(row, "password_hash")?,
                ocpp_version: parse_opt(row, "ocpp_version")?,
                vendor: get(row, "vendor")?,
                model: get(row, "model")?,
                firmware_version: get(row, "firmware_version")?,
                online: get(row, "online")?,
                last_seen_at: get(row, "last_seen_at")?,
                created_at: get(row, "created_at")?,
                admission: parse_opt(row, "admission")?,
                previous_credentials,
                pending_credentials: get(row, "pending_credentials")?,
            })
        }

        fn unassigned_of(row: &DbRow) -> Result<UnassignedCharger> {
            Ok(UnassignedCharger {
                charge_point_id: get(row, "charge_point_id")?,
                ocpp_version: parse_opt(row, "ocpp_version")?,
                vendor: get(row, "vendor")?,
                model: get(row, "model")?,
                firmware_version: get(row, "firmware_version")?,
                serial_number: get(row, "serial_number")?,
                first_seen_at: get(row, "first_seen_at")?,
                last_seen_at: get(row, "last_seen_at")?,
            })
        }

        fn audit_of(row: &DbRow) -> Result<AuditEntry> {
            let details: String = get(row, "details")?;
            Ok(AuditEntry {
                id: get(row, "id")?,
                at: get(row, "at")?,
                actor: get(row, "actor")?,
                action: get(row, "action")?,
                target: get(row, "target")?,
                details: serde_json::from_str(&details).map_err(|e| bad_column("details", e.to_string()))?,
                outcome: get(row, "outcome")?,
            })
        }

        fn connector_of(row: &DbRow) -> Result<Connector> {
            Ok(Connector {
                id: get(row, "id")?,
                station_id: get(row, "station_id")?,
                charger_id: get(row, "charger_id")?,
                evse_id: get(row, "evse_id")?,
                ocpp_connector_id: get(row, "ocpp_connector_id")?,
                connector_number: get(row, "connector_number")?,
                connector_type: get(row, "connector_type")?,
                power_kw: get(row, "power_kw")?,
                status: parse(row, "status")?,
                status_updated_at: get(row, "status_updated_at")?,
                current_booking_id: get(row, "current_booking_id")?,
                vendor_connector_id: get(row, "vendor_connector_id")?,
                last_known_status: parse_opt(row, "last_known_status")?,
                vendor_id: get(row, "vendor_id")?,
            })
        }

        fn booking_of(row: &DbRow) -> Result<Booking> {
            Ok(Booking {
                id: get(row, "id")?,
                user_id: get(row, "user_id")?,
                station_id: get(row, "station_id")?,
                connector_id: get(row, "connector_id")?,
                start_ts: get(row, "start_ts")?,
                end_ts: get(row, "end_ts")?,
                status: parse(row, "status")?,
                hold_token: get(row, "hold_token")?,
                payment_id: get(row, "payment_id")?,
                vendor_booking_id: get(row, "vendor_booking_id")?,
                reservation_id: get(row, "reservation_id")?,
                cancel_reason: get(row, "cancel_reason")?,
                created_at: get(row, "created_at")?,
                updated_at: get(row, "updated_at")?,
                reserved_on_charger: get(row, "reserved_on_charger")?,
                id_tag: get(row, "id_tag")?,
            })
        }

        fn session_of(row: &DbRow) -> Result<ChargingSession> {
            let protocol: String = get(row, "protocol")?;
            Ok(ChargingSession {
                id: get(row, "id")?,
                booking_id: get(row, "booking_id")?,
                connector_id: get(row, "connector_id")?,
                charger_id: get(row, "charger_id")?,
                transaction: TransactionKey::from_parts(&protocol, get(row, "transaction_key")?)
                    .map_err(|e| bad_column("protocol", e))?,
                id_tag: get(row, "id_tag")?,
                started_at: get(row, "started_at")?,
                ended_at: get(row, "ended_at")?,
                meter_start_wh: get(row, "meter_start_wh")?,
                meter_stop_wh: get(row, "meter_stop_wh")?,
                energy_kwh: get(row, "energy_kwh")?,
                cost_amount: get(row, "cost_amount")?,
                status: parse(row, "status")?,
                stop_reason: get(row, "stop_reason")?,
            })
        }

        fn id_tag_of(row: &DbRow) -> Result<IdTag> {
            Ok(IdTag {
                id_tag: get(row, "id_tag")?,
                status: parse(row, "status")?,
                expiry_date: get(row, "expiry_date")?,
                parent_id_tag: get(row, "parent_id_tag")?,
                user_id: get(row, "user_id")?,
            })
        }

        fn refund_of(row: &DbRow) -> Result<RefundRequest> {
            Ok(RefundRequest {
                id: get(row, "id")?,
                booking_id: get(row, "booking_id")?,
                payment_id: get(row, "payment_id")?,
                reason: get(row, "reason")?,
                state: parse(row, "state")?,
                attempts: get(row, "attempts")?,
                next_attempt_at: get(row, "next_attempt_at")?,
                created_at: get(row, "created_at")?,
            })
        }

        fn opt_ms(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
            t.map(to_millis)
        }

        fn page_binds(page: Page) -> (i64, i64) {
            (
                i64::from(page.limit),
                i64::try_from(page.offset).unwrap_or(i64::MAX),
            )
        }

        impl $store {
            /// Runs an `advance_seq!` statement for one charger.
            async fn advance(&self, charger_id: Uuid, statement: &'static str) -> Result<i32> {
                sqlx::query_scalar(statement)
                    .bind(charger_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .ok_or_else(|| Error::not_found("charger", charger_id))
            }
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<()> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn insert_station(&self, s: &Station) -> Result<()> {
                sqlx::query(concat!(
                    "INSERT INTO stations (", station_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6)"
                ))
                .bind(s.id)
                .bind(&s.name)
                .bind(s.latitude)
                .bind(s.longitude)
                .bind(&s.address)
                .bind(to_millis(s.created_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn station(&self, id: Uuid) -> Result<Option<Station>> {
                sqlx::query(concat!("SELECT ", station_cols!(), " FROM stations WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| station_of(&r))
                    .transpose()
            }

            async fn stations(&self, page: Page) -> Result<(Vec<Station>, u64)> {
                let (limit, offset) = page_binds(page);
                let rows = sqlx::query(concat!(
                    "SELECT ", station_cols!(),
                    " FROM stations ORDER BY created_at, id LIMIT $1 OFFSET $2"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stations")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                let stations = rows.iter().map(station_of).collect::<Result<_>>()?;
                Ok((stations, u64::try_from(total).unwrap_or(0)))
            }

            async fn stations_in_box(&self, b: BoundingBox) -> Result<Vec<Station>> {
                let sql = if b.crosses_antimeridian() {
                    concat!(
                        "SELECT ", station_cols!(), " FROM stations",
                        " WHERE latitude BETWEEN $1 AND $2 AND (longitude >= $3 OR longitude <= $4)"
                    )
                } else {
                    concat!(
                        "SELECT ", station_cols!(), " FROM stations",
                        " WHERE latitude BETWEEN $1 AND $2 AND longitude BETWEEN $3 AND $4"
                    )
                };
                sqlx::query(sql)
                    .bind(b.min_latitude)
                    .bind(b.max_latitude)
                    .bind(b.min_longitude)
                    .bind(b.max_longitude)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(station_of)
                    .collect()
            }

            async fn connectors_of_stations(&self, ids: &[Uuid]) -> Result<Vec<Connector>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$db>::new(concat!(
                    "SELECT ", connector_cols!(), " FROM connectors WHERE station_id IN ("
                ));
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                q.push(")");
                q.push(connector_order!());
                q.build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(connector_of)
                    .collect()
            }

            async fn insert_charger(&self, c: &Charger) -> Result<()> {
                sqlx::query(concat!(
                    "INSERT INTO chargers (", charger_cols!(), ")",
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,",
                    " $14, $15, $16, $17)"
                ))
                .bind(c.id)
                .bind(c.station_id)
                .bind(&c.charge_point_id)
                .bind(i16::from(c.security_profile.get()))
                .bind(&c.password_hash)
                .bind(c.ocpp_version.map(|v| v.as_str()))
                .bind(&c.vendor)
                .bind(&c.model)
                .bind(&c.firmware_version)
                .bind(c.online)
                .bind(opt_ms(c.last_seen_at))
                .bind(to_millis(c.created_at))
                .bind(c.admission.map(|a| a.as_str()))
                .bind(c.previous_credentials.as_ref().map(|p| i16::from(p.security_profile.get())))
                .bind(c.previous_credentials.as_ref().and_then(|p| p.password_hash.clone()))
                .bind(c.previous_credentials.as_ref().map(|p| to_millis(p.until)))
                .bind(&c.pending_credentials)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn set_charger_admission(
                &self,
                charge_point_id: &str,
                admission: Option<ChargerAdmission>,
            ) -> Result<Option<Charger>> {
                sqlx::query(concat!(
                    "UPDATE chargers SET admission = $2 WHERE charge_point_id = $1 RETURNING ",
                    charger_cols!()
                ))
                .bind(charge_point_id)
                .bind(admission.map(|a| a.as_str()))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| charger_of(&r))
                .transpose()
            }

            async fn record_unassigned_charger(
                &self,
                charge_point_id: &str,
                boot: &BootInfo,
                at: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO unassigned_chargers (charge_point_id, ocpp_version, vendor, model, \
                       firmware_version, serial_number, first_seen_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (charge_point_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, \
                       ocpp_version = COALESCE(excluded.ocpp_version, unassigned_chargers.ocpp_version), \
                       vendor = COALESCE(excluded.vendor, unassigned_chargers.vendor), \
                       model = COALESCE(excluded.model, unassigned_chargers.model), \
                       firmware_version = COALESCE(excluded.firmware_version, unassigned_chargers.firmware_version), \
                       serial_number = COALESCE(excluded.serial_number, unassigned_chargers.serial_number)",
                )
                .bind(charge_point_id)
                .bind(boot.version.map(|v| v.as_str()))
                .bind(&boot.vendor)
                .bind(&boot.model)
                .bind(&boot.firmware_version)
                .bind(&boot.serial_number)
                .bind(to_millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn unassigned_chargers(&self, page: Page) -> Result<(Vec<UnassignedCharger>, u64)> {
                let (limit, offset) = page_binds(page);
                let rows = sqlx::query(
                    "SELECT charge_point_id, ocpp_version, vendor, model, firmware_version, \
                       serial_number, first_seen_at, last_seen_at FROM unassigned_chargers \
                     ORDER BY last_seen_at DESC, charge_point_id LIMIT $1 OFFSET $2",
                )
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unassigned_chargers")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                let chargers = rows.iter().map(unassigned_of).collect::<Result<_>>()?;
                Ok((chargers, u64::try_from(total).unwrap_or(0)))
            }

            async fn forget_unassigned_charger(&self, charge_point_id: &str) -> Result<bool> {
                let done = sqlx::query("DELETE FROM unassigned_chargers WHERE charge_point_id = $1")
                    .bind(charge_point_id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() > 0)
            }

            async fn rotate_charger_credentials(
                &self,
                charger_id: Uuid,
                security_profile: SecurityProfile,
                password_hash: Option<&str>,
                previous_until: DateTime<Utc>,
            ) -> Result<Option<Charger>> {
                // Both backends evaluate every right-hand side on the row
                // as it was: the old pair moves to previous_*.
                sqlx::query(concat!(
                    "UPDATE chargers SET previous_security_profile = security_profile, ",
                    "previous_password_hash = password_hash, previous_credentials_until = $4, ",
                    "security_profile = $2, password_hash = $3, pending_credentials = NULL ",
                    "WHERE id = $1 RETURNING ",
                    charger_cols!()
                ))
                .bind(charger_id)
                .bind(i16::from(security_profile.get()))
                .bind(password_hash)
                .bind(to_millis(previous_until))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| charger_of(&r))
                .transpose()
            }

            async fn forget_previous_credentials(&self, charger_id: Uuid) -> Result<()> {
                sqlx::query(
                    "UPDATE chargers SET previous_security_profile = NULL, \
                     previous_password_hash = NULL, previous_credentials_until = NULL \
                     WHERE id = $1 AND previous_security_profile IS NOT NULL",
                )
                .bind(charger_id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn set_pending_credentials(
                &self,
                charge_point_id: &str,
                sealed: Option<&str>,
            ) -> Result<Option<Charger>> {
                sqlx::query(concat!(
                    "UPDATE chargers SET pending_credentials = $2 WHERE charge_point_id = $1 RETURNING ",
                    charger_cols!()
                ))
                .bind(charge_point_id)
                .bind(sealed)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| charger_of(&r))
                .transpose()
            }

            async fn record_audit(&self, e: &AuditEntry) -> Result<()> {
                sqlx::query(
                    "INSERT INTO audit_log (at, actor, action, target, details, outcome) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(to_millis(e.at))
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.target)
                .bind(e.details.to_string())
                .bind(&e.outcome)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn audit_entries(
                &self,
                page: Page,
                target: Option<&str>,
            ) -> Result<(Vec<AuditEntry>, u64)> {
                let (limit, offset) = page_binds(page);
                let rows = sqlx::query(
                    "SELECT id, at, actor, action, target, details, outcome FROM audit_log \
                     WHERE CAST($3 AS TEXT) IS NULL OR target = $3 \
                     ORDER BY id DESC LIMIT $1 OFFSET $2",
                )
                .bind(limit)
                .bind(offset)
                .bind(target)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM audit_log WHERE CAST($1 AS TEXT) IS NULL OR target = $1",
                )
                .bind(target)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                let entries = rows.iter().map(audit_of).collect::<Result<_>>()?;
                Ok((entries, u64::try_from(total).unwrap_or(0)))
            }

            async fn charger_by_identity(&self, charge_point_id: &str) -> Result<Option<Charger>> {
                sqlx::query(concat!(
                    "SELECT ", charger_cols!(), " FROM chargers WHERE charge_point_id = $1"
                ))
                .bind(charge_point_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| charger_of(&r))
                .transpose()
            }

            async fn charger(&self, id: Uuid) -> Result<Option<Charger>> {
                sqlx::query(concat!("SELECT ", charger_cols!(), " FROM chargers WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| charger_of(&r))
                    .transpose()
            }

            async fn chargers(&self, page: Page) -> Result<(Vec<Charger>, u64)> {
                let (limit, offset) = page_binds(page);
                let rows = sqlx::query(concat!(
                    "SELECT ", charger_cols!(),
                    " FROM chargers ORDER BY charge_point_id LIMIT $1 OFFSET $2"
                ))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chargers")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                let chargers = rows.iter().map(charger_of).collect::<Result<_>>()?;
                Ok((chargers, u64::try_from(total).unwrap_or(0)))
            }

            async fn online_charger_identities(&self) -> Result<Vec<String>> {
                sqlx::query_scalar(
                    "SELECT charge_point_id FROM chargers WHERE online = $1 ORDER BY charge_point_id",
                )
                .bind(true)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn insert_connector(&self, c: &NewConnector) -> Result<Connector> {
                let row = sqlx::query(concat!(
                    "INSERT INTO connectors (id, station_id, charger_id, evse_id, ocpp_connector_id,",
                    " connector_number, connector_type, power_kw, status, status_updated_at, created_at)",
                    " VALUES ($1, $2, $3, $4, $5,",
                    " COALESCE($6, CAST((SELECT COUNT(*) + 1 FROM connectors WHERE station_id = $2) AS TEXT)),",
                    " $7, $8, 'OFFLINE', $9, $9)",
                    " RETURNING ", connector_cols!()
                ))
                .bind(c.id)
                .bind(c.station_id)
                .bind(c.charger_id)
                .bind(c.evse_id)
                .bind(c.ocpp_connector_id)
                .bind(&c.connector_number)
                .bind(&c.connector_type)
                .bind(c.power_kw)
                .bind(to_millis(c.created_at))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                connector_of(&row)
            }

            async fn connector(&self, id: Uuid) -> Result<Option<Connector>> {
                sqlx::query(concat!("SELECT ", connector_cols!(), " FROM connectors WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| connector_of(&r))
                    .transpose()
            }

            async fn record_boot(&self, charger_id: Uuid, boot: &BootInfo, at: DateTime<Utc>) -> Result<()> {
                sqlx::query(
                    "UPDATE chargers SET vendor = $2, model = $3, firmware_version = $4, \
                       serial_number = $5, ocpp_version = COALESCE($6, ocpp_version), \
                       online = TRUE, last_seen_at = $7 WHERE id = $1",
                )
                .bind(charger_id)
                .bind(&boot.vendor)
                .bind(&boot.model)
                .bind(&boot.firmware_version)
                .bind(&boot.serial_number)
                .bind(boot.version.map(|v| v.as_str()))
                .bind(to_millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn set_charger_presence(
                &self,
                charger_id: Uuid,
                online: bool,
                version: Option<OcppVersion>,
                at: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE chargers SET online = $2, ocpp_version = COALESCE($3, ocpp_version), \
                       last_seen_at = $4 WHERE id = $1",
                )
                .bind(charger_id)
                .bind(online)
                .bind(version.map(|v| v.as_str()))
                .bind(to_millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn connector_by_ocpp(
                &self,
                charger_id: Uuid,
                evse_id: i32,
                connector_id: i32,
            ) -> Result<Option<Connector>> {
                sqlx::query(concat!(
                    "SELECT ", connector_cols!(), " FROM connectors",
                    " WHERE charger_id = $1 AND evse_id = $2 AND ocpp_connector_id = $3"
                ))
                .bind(charger_id)
                .bind(evse_id)
                .bind(connector_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| connector_of(&r))
                .transpose()
            }

            async fn next_transaction_id(&self, charger_id: Uuid) -> Result<i32> {
                self.advance(charger_id, advance_seq!("transaction_seq")).await
            }

            async fn id_tag_has_live_booking(&self, id_tag: &str) -> Result<bool> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM bookings WHERE id_tag = $1 AND status IN ('CONFIRMED', 'ACTIVE')",
                )
                .bind(id_tag)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(n > 0)
            }

            async fn mark_charger_offline(&self, charger_id: Uuid, at: DateTime<Utc>) -> Result<Vec<Connector>> {
                sqlx::query(concat!(
                    "UPDATE connectors SET last_known_status = status, status = 'OFFLINE', status_updated_at = $2",
                    " WHERE charger_id = $1 AND status <> 'OFFLINE' RETURNING ", connector_cols!()
                ))
                .bind(charger_id)
                .bind(to_millis(at))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(connector_of)
                .collect()
            }

            async fn connectors_of_charger(&self, charger_id: Uuid) -> Result<Vec<Connector>> {
                sqlx::query(concat!(
                    "SELECT ", connector_cols!(), " FROM connectors WHERE charger_id = $1",
                    " ORDER BY evse_id, ocpp_connector_id"
                ))
                .bind(charger_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(connector_of)
                .collect()
            }

            async fn set_connector_status(
                &self,
                id: Uuid,
                status: ConnectorStatus,
                at: DateTime<Utc>,
            ) -> Result<Option<Connector>> {
                sqlx::query(concat!(
                    "UPDATE connectors SET status = $2, status_updated_at = $3, last_known_status = NULL",
                    // OFFLINE is the gateway's own "not heard from it": any
                    // report from the device beats it, even one stamped by a
                    // clock a little behind ours (and the first report after
                    // provisioning, which starts OFFLINE).
                    " WHERE id = $1 AND (status_updated_at <= $3 OR status = 'OFFLINE') RETURNING ",
                    connector_cols!()
                ))
                .bind(id)
                .bind(status.as_str())
                .bind(to_millis(at))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| connector_of(&r))
                .transpose()
            }

            async fn next_reservation_id(&self, charger_id: Uuid) -> Result<i32> {
                self.advance(charger_id, advance_seq!("reservation_seq")).await
            }

            async fn insert_booking(&self, b: &Booking) -> Result<()> {
                sqlx::query(concat!(
                    "INSERT INTO bookings (", booking_cols!(), ")",
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
                ))
                .bind(b.id)
                .bind(b.user_id)
                .bind(b.station_id)
                .bind(b.connector_id)
                .bind(to_millis(b.start_ts))
                .bind(to_millis(b.end_ts))
                .bind(b.status.as_str())
                .bind(&b.hold_token)
                .bind(&b.payment_id)
                .bind(&b.vendor_booking_id)
                .bind(b.reservation_id)
                .bind(&b.cancel_reason)
                .bind(to_millis(b.created_at))
                .bind(to_millis(b.updated_at))
                .bind(b.reserved_on_charger)
                .bind(&b.id_tag)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn booking(&self, id: Uuid) -> Result<Option<Booking>> {
                sqlx::query(concat!("SELECT ", booking_cols!(), " FROM bookings WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| booking_of(&r))
                    .transpose()
            }

            async fn booking_by_hold_token(&self, token: &str) -> Result<Option<Booking>> {
                sqlx::query(concat!("SELECT ", booking_cols!(), " FROM bookings WHERE hold_token = $1"))
                    .bind(token)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| booking_of(&r))
                    .transpose()
            }

            async fn bookings_of(
                &self,
                user_id: Option<i64>,
                status: Option<BookingStatus>,
                page: Page,
            ) -> Result<(Vec<Booking>, u64)> {
                let (limit, offset) = page_binds(page);
                // NULL parameters switch a filter off; one statement for all four cases.
                let status = status.map(|s| s.as_str());
                let rows = sqlx::query(concat!(
                    "SELECT ", booking_cols!(), " FROM bookings",
                    " WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR status = $2)",
                    " ORDER BY created_at DESC, id LIMIT $3 OFFSET $4"
                ))
                .bind(user_id)
                .bind(status)
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM bookings \
                     WHERE ($1 IS NULL OR user_id = $1) AND ($2 IS NULL OR status = $2)",
                )
                .bind(user_id)
                .bind(status)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                let bookings = rows.iter().map(booking_of).collect::<Result<_>>()?;
                Ok((bookings, u64::try_from(total).unwrap_or(0)))
            }

            async fn transition_booking(
                &self,
                id: Uuid,
                from: &[BookingStatus],
                to: BookingStatus,
                reason: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<Option<Booking>> {
                if from.is_empty() {
                    return Ok(None);
                }
                let mut q = QueryBuilder::<$db>::new("UPDATE bookings SET status = ");
                q.push_bind(to.as_str());
                q.push(", cancel_reason = COALESCE(");
                q.push_bind(reason);
                q.push(", cancel_reason), updated_at = ");
                q.push_bind(to_millis(now));
                q.push(" WHERE id = ");
                q.push_bind(id);
                q.push(" AND status IN (");
                let mut list = q.separated(", ");
                for s in from {
                    list.push_bind(s.as_str());
                }
                q.push(concat!(") RETURNING ", booking_cols!()));
                q.build()
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|r| booking_of(&r))
                    .transpose()
            }

            async fn claim_reservation(&self, booking_id: Uuid, reservation_id: i32) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE bookings SET reservation_id = $2 \
                     WHERE id = $1 AND status = 'CONFIRMED' AND reservation_id IS NULL",
                )
                .bind(booking_id)
                .bind(reservation_id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_reserved_on_charger(
                &self,
                booking_id: Uuid,
                reserved: bool,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query("UPDATE bookings SET reserved_on_charger = $2, updated_at = $3 WHERE id = $1")
                    .bind(booking_id)
                    .bind(reserved)
                    .bind(to_millis(now))
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn bookings_due_for_reservation(
                &self,
                starts_by: DateTime<Utc>,
                now: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<Booking>> {
                sqlx::query(concat!(
                    "SELECT ", booking_cols!(), " FROM bookings",
                    " WHERE status = 'CONFIRMED' AND reservation_id IS NULL",
                    " AND start_ts <= $1 AND end_ts > $2",
                    // Vendor-managed connectors take no ReserveNow from us.
                    " AND connector_id IN (SELECT id FROM connectors WHERE vendor_id IS NULL)",
                    " ORDER BY start_ts, id LIMIT $3"
                ))
                .bind(to_millis(starts_by))
                .bind(to_millis(now))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(booking_of)
                .collect()
            }

            async fn booking_by_reservation(
                &self,
                charger_id: Uuid,
                reservation_id: i32,
            ) -> Result<Option<Booking>> {
                sqlx::query(concat!(
                    "SELECT ", booking_cols!(), " FROM bookings",
                    " WHERE reservation_id = $2 AND connector_id IN",
                    " (SELECT id FROM connectors WHERE charger_id = $1)",
                    " ORDER BY created_at DESC LIMIT 1"
                ))
                .bind(charger_id)
                .bind(reservation_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| booking_of(&r))
                .transpose()
            }

            async fn confirmed_booking_for_id_tag(
                &self,
                connector_id: Uuid,
                id_tag: &str,
                earliest_start: DateTime<Utc>,
                latest_start: DateTime<Utc>,
            ) -> Result<Option<Booking>> {
                sqlx::query(concat!(
                    "SELECT ", booking_cols!(), " FROM bookings",
                    " WHERE connector_id = $1 AND id_tag = $2 AND status = 'CONFIRMED'",
                    " AND start_ts >= $3 AND start_ts <= $4 ORDER BY start_ts LIMIT 1"
                ))
                .bind(connector_id)
                .bind(id_tag)
                .bind(to_millis(earliest_start))
                .bind(to_millis(latest_start))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| booking_of(&r))
                .transpose()
            }

            async fn confirmed_bookings_started_by(
                &self,
                started_by: DateTime<Utc>,
                limit: u32,
            ) -> Result<Vec<Booking>> {
                sqlx::query(concat!(
                    "SELECT ", booking_cols!(), " FROM bookings",
                    " WHERE status = 'CONFIRMED' AND start_ts <= $1 ORDER BY start_ts, id LIMIT $2"
                ))
                .bind(to_millis(started_by))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(booking_of)
                .collect()
            }

            async fn bookings_in_window(
                &self,
                connector_ids: &[Uuid],
                from: DateTime<Utc>,
                to: DateTime<Utc>,
                statuses: &[BookingStatus],
            ) -> Result<Vec<Booking>> {
                if connector_ids.is_empty() || statuses.is_empty() {
                    return Ok(Vec::new());
                }
                let mut q = QueryBuilder::<$db>::new(concat!(
                    "SELECT ", booking_cols!(), " FROM bookings WHERE connector_id IN ("
                ));
                let mut list = q.separated(", ");
                for id in connector_ids {
                    list.push_bind(*id);
                }
                q.push(") AND start_ts < ");
                q.push_bind(to_millis(to));
                q.push(" AND end_ts > ");
                q.push_bind(to_millis(from));
                q.push(" AND status IN (");
                let mut list = q.separated(", ");
                for s in statuses {
                    list.push_bind(s.as_str());
                }
                q.push(") ORDER BY start_ts, id");
                q.build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(booking_of)
                    .collect()
            }

            async fn insert_session(&self, s: &ChargingSession) -> Result<()> {
                sqlx::query(concat!(
                    "INSERT INTO charging_sessions (", session_cols!(), ", created_at, updated_at)",
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $8, $8)"
                ))
                .bind(s.id)
                .bind(s.booking_id)
                .bind(s.connector_id)
                .bind(s.charger_id)
                .bind(s.transaction.protocol())
                .bind(s.transaction.key())
                .bind(&s.id_tag)
                .bind(to_millis(s.started_at))
                .bind(opt_ms(s.ended_at))
                .bind(s.meter_start_wh)
                .bind(s.meter_stop_wh)
                .bind(s.energy_kwh)
                .bind(s.cost_amount)
                .bind(s.status.as_str())
                .bind(&s.stop_reason)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn record_meter(
                &self,
                charger_id: Uuid,
                key: &TransactionKey,
                meter_wh: f64,
                at: DateTime<Utc>,
            ) -> Result<Option<ChargingSession>> {
                sqlx::query(concat!(
                    "UPDATE charging_sessions SET energy_kwh = CASE",
                    " WHEN meter_start_wh IS NULL OR $4 < meter_start_wh THEN energy_kwh",
                    " ELSE ($4 - meter_start_wh) / 1000.0 END, updated_at = $5",
                    " WHERE charger_id = $1 AND protocol = $2 AND transaction_key = $3 AND ended_at IS NULL",
                    " RETURNING ", session_cols!()
                ))
                .bind(charger_id)
                .bind(key.protocol())
                .bind(key.key())
                .bind(meter_wh)
                .bind(to_millis(at))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| session_of(&r))
                .transpose()
            }

            async fn open_session_on(&self, connector_id: Uuid) -> Result<Option<ChargingSession>> {
                sqlx::query(concat!(
                    "SELECT ", session_cols!(), " FROM charging_sessions",
                    " WHERE connector_id = $1 AND ended_at IS NULL ORDER BY started_at DESC LIMIT 1"
                ))
                .bind(connector_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| session_of(&r))
                .transpose()
            }

            async fn end_session(&self, end: &SessionEnd) -> Result<Option<ChargingSession>> {
                sqlx::query(concat!(
                    "UPDATE charging_sessions SET ended_at = $2, meter_stop_wh = $3,",
                    " energy_kwh = COALESCE($4, energy_kwh), cost_amount = COALESCE($5, cost_amount),",
                    " status = $6, stop_reason = $7, updated_at = $2",
                    " WHERE id = $1 AND ended_at IS NULL RETURNING ", session_cols!()
                ))
                .bind(end.session_id)
                .bind(to_millis(end.ended_at))
                .bind(end.meter_stop_wh)
                .bind(end.energy_kwh)
                .bind(end.cost_amount)
                .bind(end.status.as_str())
                .bind(&end.stop_reason)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| session_of(&r))
                .transpose()
            }

            async fn session_started_at(
                &self,
                connector_id: Uuid,
                started_at: DateTime<Utc>,
                meter_start_wh: f64,
            ) -> Result<Option<ChargingSession>> {
                sqlx::query(concat!(
                    "SELECT ", session_cols!(), " FROM charging_sessions",
                    " WHERE connector_id = $1 AND started_at = $2 AND meter_start_wh = $3 LIMIT 1"
                ))
                .bind(connector_id)
                .bind(to_millis(started_at))
                .bind(meter_start_wh)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| session_of(&r))
                .transpose()
            }

            async fn session_by_transaction(
                &self,
                charger_id: Uuid,
                key: &TransactionKey,
            ) -> Result<Option<ChargingSession>> {
                sqlx::query(concat!(
                    "SELECT ", session_cols!(), " FROM charging_sessions",
                    " WHERE charger_id = $1 AND protocol = $2 AND transaction_key = $3"
                ))
                .bind(charger_id)
                .bind(key.protocol())
                .bind(key.key())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| session_of(&r))
                .transpose()
            }

            async fn upsert_id_tag(&self, t: &IdTag, now: DateTime<Utc>) -> Result<()> {
                sqlx::query(
                    "INSERT INTO id_tags (id_tag, status, expiry_date, parent_id_tag, user_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) \
                     ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status, \
                       expiry_date = excluded.expiry_date, parent_id_tag = excluded.parent_id_tag, \
                       user_id = excluded.user_id, updated_at = excluded.updated_at",
                )
                .bind(&t.id_tag)
                .bind(t.status.as_str())
                .bind(opt_ms(t.expiry_date))
                .bind(&t.parent_id_tag)
                .bind(t.user_id)
                .bind(to_millis(now))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn id_tag(&self, id_tag: &str) -> Result<Option<IdTag>> {
                sqlx::query(
                    "SELECT id_tag, status, expiry_date, parent_id_tag, user_id FROM id_tags WHERE id_tag = $1",
                )
                .bind(id_tag)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .map(|r| id_tag_of(&r))
                .transpose()
            }

            async fn insert_id_tag(&self, t: &IdTag, now: DateTime<Utc>) -> Result<()> {
                sqlx::query(
                    "INSERT INTO id_tags (id_tag, status, expiry_date, parent_id_tag, user_id, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(&t.id_tag)
                .bind(t.status.as_str())
                .bind(opt_ms(t.expiry_date))
                .bind(&t.parent_id_tag)
                .bind(t.user_id)
                .bind(to_millis(now))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn id_tags(&self, page: Page) -> Result<(Vec<IdTag>, u64)> {
                let (limit, offset) = page_binds(page);
                let rows = sqlx::query(
                    "SELECT id_tag, status, expiry_date, parent_id_tag, user_id FROM id_tags \
                     ORDER BY id_tag LIMIT $1 OFFSET $2",
                )
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM id_tags")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                let tags = rows.iter().map(id_tag_of).collect::<Result<_>>()?;
                Ok((tags, u64::try_from(total).unwrap_or(0)))
            }

            async fn enqueue_refund(&self, r: &RefundRequest) -> Result<bool> {
                let done = sqlx::query(concat!(
                    "INSERT INTO refund_requests (", refund_cols!(), ")",
                    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (booking_id) DO NOTHING"
                ))
                .bind(r.id)
                .bind(r.booking_id)
                .bind(&r.payment_id)
                .bind(&r.reason)
                .bind(r.state.as_str())
                .bind(r.attempts)
                .bind(to_millis(r.next_attempt_at))
                .bind(to_millis(r.created_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn lease_refund(
                &self,
                id: Uuid,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
            ) -> Result<bool> {
                let done = sqlx::query(
                    "UPDATE refund_requests SET next_attempt_at = $3 \
                     WHERE id = $1 AND state = 'PENDING' AND next_attempt_at <= $2",
                )
                .bind(id)
                .bind(to_millis(now))
                .bind(to_millis(lease_until))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn record_refund_attempt(
                &self,
                id: Uuid,
                attempts: i32,
                outcome: RefundAttempt,
            ) -> Result<()> {
                let (state, next, error) = match outcome {
                    RefundAttempt::Delivered => ("SENT", None, None),
                    RefundAttempt::Retry { at, error } => ("PENDING", Some(to_millis(at)), Some(error)),
                    RefundAttempt::GiveUp { error } => ("FAILED", None, Some(error)),
                };
                sqlx::query(
                    "UPDATE refund_requests SET state = $2, attempts = $3, \
                       next_attempt_at = COALESCE($4, next_attempt_at), last_error = $5 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(state)
                .bind(attempts)
                .bind(next)
                .bind(error)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn due_refunds(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<RefundRequest>> {
                sqlx::query(concat!(
                    "SELECT ", refund_cols!(), " FROM refund_requests",
                    " WHERE state = 'PENDING' AND next_attempt_at <= $1",
                    " ORDER BY next_attempt_at, id LIMIT $2"
                ))
                .bind(to_millis(now))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(refund_of)
                .collect()
            }
        }
    };
}
