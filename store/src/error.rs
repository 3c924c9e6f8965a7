//! Errors: why a store could not be opened, and database errors turned into
//! the booking core's errors, once for both backends. PostgreSQL names the violated constraint; SQLite only says which
//! columns, so each known constraint is matched either way.

use booking::Error;
use sqlx::error::ErrorKind;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names neither backend.
    #[error("must start with sqlite: or postgres:// (got {0:?})")]
    UnsupportedUrl(String),
    /// The database is unreachable or refused us.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed, or the database is newer than this build.
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// Known uniqueness rules: constraint name, SQLite's column list, and what
/// the caller is told.
const UNIQUE_RULES: &[(&str, &str, &str)] = &[
    (
        "chargers_charge_point_id_key",
        "chargers.charge_point_id",
        "a charger with this chargePointId already exists",
    ),
    (
        "connectors_charger_evse_connector_key",
        "connectors.charger_id, connectors.evse_id, connectors.ocpp_connector_id",
        "this charger already has a connector with that evseId and connectorId",
    ),
    (
        "connectors_station_number_key",
        "connectors.station_id, connectors.connector_number",
        "the station already has a connector with that connectorNumber",
    ),
    (
        "bookings_hold_token_key",
        "bookings.hold_token",
        "a booking already exists for this hold token",
    ),
    (
        "charging_sessions_transaction_key",
        "charging_sessions.charger_id, charging_sessions.protocol, charging_sessions.transaction_key",
        "this charger already has a session with that transaction id",
    ),
    (
        "vendors_name_key",
        "vendors.name",
        "a vendor with this name already exists",
    ),
    (
        "connectors_vendor_connector_key",
        "connectors.vendor_id, connectors.vendor_connector_id",
        "this vendor already uses that vendorConnectorId for another connector",
    ),
    (
        "id_tags_pkey",
        "id_tags.id_tag",
        "this id tag is registered already",
    ),
    (
        "operators_name_key",
        "operators.name",
        "an operator with this name already exists",
    ),
    (
        "ocpi_partners_party",
        "ocpi_partners.country_code, ocpi_partners.party_id",
        "another registered OCPI partner has this country_code and party_id",
    ),
    (
        "ocpi_bookings_request_key",
        "ocpi_bookings.partner_id, ocpi_bookings.request_id",
        "this partner already used that request_id",
    ),
    (
        "stations_pkey",
        "stations.id",
        "a station with this id already exists",
    ),
];

/// The exclusion constraint (PostgreSQL) and trigger (SQLite) that keep live
/// bookings from overlapping share this name.
const OVERLAP: &str = "booking_no_overlap";

pub(crate) fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(db) => {
            let constraint = db.constraint().unwrap_or_default();
            let message = db.message();
            if constraint == OVERLAP || message.contains(OVERLAP) {
                return Error::Overlap;
            }
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    let known = UNIQUE_RULES.iter().find(|(name, columns, _)| {
                        constraint == *name || message.ends_with(columns)
                    });
                    Error::Conflict(match known {
                        Some((_, _, said)) => (*said).to_owned(),
                        None => "already exists".to_owned(),
                    })
                }
                ErrorKind::ForeignKeyViolation => {
                    Error::Conflict("a record it refers to does not exist".to_owned())
                }
                _ => Error::Internal(e.to_string()),
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => Error::Unavailable(e.to_string()),
        _ => Error::Internal(e.to_string()),
    }
}

/// A column holding one of the domain's text vocabularies held a value the
/// code does not know: the database was written by something else.
pub(crate) fn bad_column(column: &str, problem: impl std::fmt::Display) -> Error {
    Error::Internal(format!("column {column}: {problem}"))
}
