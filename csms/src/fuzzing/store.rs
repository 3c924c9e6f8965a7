//! A store that knows one charger and its one connector, and nothing else:
//! every lookup misses, every write succeeds and changes nothing. The
//! handlers run to their end against it without a database, so whatever a
//! charger sends is answered from the payload alone.

// Every method answers `Ok(Default::default())`, `()` included.
#![allow(clippy::unit_arg)]

use async_trait::async_trait;
use booking::Result;
use booking::audit::AuditEntry;
use booking::geo::BoundingBox;
use booking::model::{
    Booking, BookingStatus, Charger, ChargerAdmission, ChargingSession, Connector, ConnectorStatus,
    DisplayMessage, IdTag, MaintenanceKind, MaintenanceRequest, MaintenanceStatus, NewConnector,
    OcppVersion, Page, RefundRequest, SecurityProfile, Station, TransactionKey, UnassignedCharger,
};
use booking::store::{
    AuditLog, BookingLedger, BootFollowUps, BootInfo, ChargerCredentials, ChargerPresence,
    ChargerRegistry, DisplayMessages, IdTagStore, MaintenanceLog, PresenceUpdate, RefundAttempt,
    RefundDraft, RefundQueue, ReservationVoid, SessionEnd, SessionEnded, SessionLog,
    SessionStarted, StationStore, StatusChange, Tallies, TariffStore, UnassignedChargers,
};
use booking::tariffs::{Tariff, TariffScope};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The charge point identity of the one charger.
pub(super) const IDENTITY: &str = "CP-1";
/// The one charger's id.
pub(crate) const CHARGER_ID: Uuid = Uuid::from_u128(0x1);
/// Its one connector's id: EVSE 1, connector 1.
pub(crate) const CONNECTOR_ID: Uuid = Uuid::from_u128(0x2);
const STATION_ID: Uuid = Uuid::from_u128(0x3);

/// When everything happens.
pub(super) fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

/// The one charger: profile 0, admitted by the default policy.
pub(super) fn charger() -> Charger {
    Charger {
        id: CHARGER_ID,
        station_id: STATION_ID,
        charge_point_id: IDENTITY.to_owned(),
        security_profile: SecurityProfile::NONE,
        password_hash: None,
        ocpp_version: Some(OcppVersion::V16),
        vendor: None,
        model: None,
        firmware_version: None,
        online: true,
        last_seen_at: None,
        created_at: epoch(),
        admission: None,
        previous_credentials: None,
        pending_credentials: None,
    }
}

pub(crate) fn connector() -> Connector {
    Connector {
        id: CONNECTOR_ID,
        station_id: STATION_ID,
        charger_id: CHARGER_ID,
        evse_id: 1,
        ocpp_connector_id: 1,
        connector_number: "1".to_owned(),
        connector_type: "CCS2".to_owned(),
        power_kw: 50.0,
        status: ConnectorStatus::Available,
        status_updated_at: epoch(),
        current_booking_id: None,
        vendor_connector_id: None,
        vendor_id: None,
        last_known_status: None,
    }
}

fn refused() -> booking::Error {
    booking::Error::Conflict("this store keeps nothing".to_owned())
}

/// See the module's documentation.
#[derive(Debug, Default, Clone, Copy)]
pub struct KnowsOneCharger;

#[async_trait]
impl AuditLog for KnowsOneCharger {
    async fn record_audit(&self, _entry: &AuditEntry) -> Result<()> {
        Ok(Default::default())
    }
    async fn audit_entries(
        &self,
        _page: Page,
        _target: Option<&str>,
    ) -> Result<(Vec<AuditEntry>, u64)> {
        Ok(Default::default())
    }
}

#[async_trait]
impl BookingLedger for KnowsOneCharger {
    async fn insert_booking(&self, _booking: &Booking) -> Result<()> {
        Ok(Default::default())
    }
    async fn booking(&self, _id: Uuid) -> Result<Option<Booking>> {
        Ok(Default::default())
    }
    async fn booking_by_hold_token(&self, _token: &str) -> Result<Option<Booking>> {
        Ok(Default::default())
    }
    async fn bookings_of(
        &self,
        _user_id: Option<i64>,
        _status: Option<BookingStatus>,
        _page: Page,
    ) -> Result<(Vec<Booking>, u64)> {
        Ok(Default::default())
    }
    async fn transition_booking(
        &self,
        _id: Uuid,
        _from: &[BookingStatus],
        _to: BookingStatus,
        _reason: Option<&str>,
        _now: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        Ok(Default::default())
    }
    async fn transition_with_refund(
        &self,
        _id: Uuid,
        _from: &[BookingStatus],
        _to: BookingStatus,
        _refund: &RefundDraft,
        _now: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        Ok(Default::default())
    }
    async fn claim_reservation(&self, _booking_id: Uuid, _reservation_id: i32) -> Result<bool> {
        Ok(Default::default())
    }
    async fn set_reserved_on_charger(
        &self,
        _booking_id: Uuid,
        _reserved: bool,
        _now: DateTime<Utc>,
    ) -> Result<()> {
        Ok(Default::default())
    }
    async fn bookings_due_for_reservation(
        &self,
        _starts_by: DateTime<Utc>,
        _now: DateTime<Utc>,
        _limit: u32,
    ) -> Result<Vec<Booking>> {
        Ok(Default::default())
    }
    async fn booking_by_reservation(
        &self,
        _charger_id: Uuid,
        _reservation_id: i32,
    ) -> Result<Option<Booking>> {
        Ok(Default::default())
    }
    async fn confirmed_booking_for_id_tag(
        &self,
        _connector_id: Uuid,
        _id_tag: &str,
        _earliest_start: DateTime<Utc>,
        _latest_start: DateTime<Utc>,
    ) -> Result<Option<Booking>> {
        Ok(Default::default())
    }
    async fn confirmed_bookings_started_by(
        &self,
        _started_by: DateTime<Utc>,
        _limit: u32,
    ) -> Result<Vec<Booking>> {
        Ok(Default::default())
    }
    async fn bookings_in_window(
        &self,
        _connector_ids: &[Uuid],
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
        _statuses: &[BookingStatus],
    ) -> Result<Vec<Booking>> {
        Ok(Default::default())
    }
    async fn id_tag_has_live_booking(&self, _id_tag: &str) -> Result<bool> {
        Ok(Default::default())
    }
}

#[async_trait]
impl ChargerPresence for KnowsOneCharger {
    async fn record_presence(&self, _batch: &[PresenceUpdate]) -> Result<()> {
        Ok(Default::default())
    }
}

#[async_trait]
impl ChargerRegistry for KnowsOneCharger {
    async fn insert_charger(&self, _charger: &Charger) -> Result<()> {
        Ok(Default::default())
    }
    async fn charger(&self, id: Uuid) -> Result<Option<Charger>> {
        Ok((id == CHARGER_ID).then(charger))
    }
    async fn charger_at_boot(&self, id: Uuid) -> Result<Option<(Charger, BootFollowUps)>> {
        Ok((id == CHARGER_ID).then(|| (charger(), BootFollowUps::default())))
    }
    async fn charger_by_identity(&self, charge_point_id: &str) -> Result<Option<Charger>> {
        Ok((charge_point_id == IDENTITY).then(charger))
    }
    async fn chargers(&self, _page: Page) -> Result<(Vec<Charger>, u64)> {
        Ok(Default::default())
    }
    async fn set_charger_admission(
        &self,
        _charge_point_id: &str,
        _admission: Option<ChargerAdmission>,
    ) -> Result<Option<Charger>> {
        Ok(Default::default())
    }
    async fn online_charger_identities(&self) -> Result<Vec<String>> {
        Ok(Default::default())
    }
    async fn next_transaction_id(&self, _charger_id: Uuid) -> Result<i32> {
        Ok(1)
    }
    async fn next_reservation_id(&self, _charger_id: Uuid) -> Result<i32> {
        Ok(1)
    }
}

#[async_trait]
impl ChargerCredentials for KnowsOneCharger {
    async fn rotate_charger_credentials(
        &self,
        _charger_id: Uuid,
        _security_profile: SecurityProfile,
        _password_hash: Option<&str>,
        _previous_until: DateTime<Utc>,
    ) -> Result<Option<Charger>> {
        Ok(Default::default())
    }
    async fn forget_previous_credentials(&self, _charger_id: Uuid) -> Result<()> {
        Ok(Default::default())
    }
    async fn set_pending_credentials(
        &self,
        _charge_point_id: &str,
        _sealed: Option<&str>,
    ) -> Result<Option<Charger>> {
        Ok(Default::default())
    }
}

#[async_trait]
impl UnassignedChargers for KnowsOneCharger {
    async fn record_unassigned_charger(
        &self,
        _charge_point_id: &str,
        _boot: &BootInfo,
        _at: DateTime<Utc>,
    ) -> Result<()> {
        Ok(Default::default())
    }
    async fn unassigned_chargers(&self, _page: Page) -> Result<(Vec<UnassignedCharger>, u64)> {
        Ok(Default::default())
    }
    async fn forget_unassigned_charger(&self, _charge_point_id: &str) -> Result<bool> {
        Ok(Default::default())
    }
}

#[async_trait]
impl IdTagStore for KnowsOneCharger {
    async fn upsert_id_tag(&self, _tag: &IdTag, _now: DateTime<Utc>) -> Result<()> {
        Ok(Default::default())
    }
    async fn id_tag(&self, _id_tag: &str) -> Result<Option<IdTag>> {
        Ok(Default::default())
    }
    async fn insert_id_tag(&self, _tag: &IdTag, _now: DateTime<Utc>) -> Result<()> {
        Ok(Default::default())
    }
    async fn id_tags(&self, _page: Page) -> Result<(Vec<IdTag>, u64)> {
        Ok(Default::default())
    }
}

#[async_trait]
impl DisplayMessages for KnowsOneCharger {
    async fn save_display_message(&self, _message: &DisplayMessage) -> Result<()> {
        Ok(Default::default())
    }
    async fn remove_display_message(&self, _charger_id: Uuid, _message_id: i32) -> Result<bool> {
        Ok(Default::default())
    }
    async fn display_messages(&self, _charger_id: Uuid) -> Result<Vec<DisplayMessage>> {
        Ok(Default::default())
    }
}

#[async_trait]
impl booking::store::LocalLists for KnowsOneCharger {
    async fn local_list(&self, charger_id: Uuid) -> Result<booking::model::LocalList> {
        Ok(booking::model::LocalList::empty(charger_id))
    }
    async fn local_list_version(&self, _charger_id: Uuid) -> Result<i32> {
        Ok(0)
    }
    async fn change_local_list(
        &self,
        charger_id: Uuid,
        _change: &booking::model::ListChange,
    ) -> Result<booking::model::LocalList> {
        Ok(booking::model::LocalList::empty(charger_id))
    }
    async fn chargers_listing(&self, _id_tag: &str) -> Result<Vec<Uuid>> {
        Ok(Default::default())
    }
    async fn record_local_list_sync(
        &self,
        _charger_id: Uuid,
        _sync: &booking::model::ListSync,
    ) -> Result<()> {
        Ok(Default::default())
    }
}

#[async_trait]
impl MaintenanceLog for KnowsOneCharger {
    async fn add_maintenance_request(
        &self,
        request: &MaintenanceRequest,
    ) -> Result<MaintenanceRequest> {
        Ok(request.clone())
    }
    async fn answer_maintenance_request(
        &self,
        _charger_id: Uuid,
        _request_id: i32,
        _answer: &str,
    ) -> Result<()> {
        Ok(Default::default())
    }
    async fn maintenance_requests(
        &self,
        _charger_id: Uuid,
        _kind: MaintenanceKind,
        _limit: u32,
    ) -> Result<Vec<MaintenanceRequest>> {
        Ok(Default::default())
    }
    async fn maintenance_request_by_token(
        &self,
        _token: &str,
    ) -> Result<Option<MaintenanceRequest>> {
        Ok(Default::default())
    }
    async fn add_maintenance_status(&self, _status: &MaintenanceStatus) -> Result<()> {
        Ok(Default::default())
    }
    async fn maintenance_statuses(
        &self,
        _charger_id: Uuid,
        _kind: MaintenanceKind,
    ) -> Result<Vec<MaintenanceStatus>> {
        Ok(Default::default())
    }
}

#[async_trait]
impl TariffStore for KnowsOneCharger {
    async fn insert_tariff(&self, _tariff: &Tariff) -> Result<()> {
        Ok(Default::default())
    }
    async fn update_tariff(&self, _tariff: &Tariff) -> Result<bool> {
        Ok(Default::default())
    }
    async fn tariff(&self, _id: Uuid) -> Result<Option<Tariff>> {
        Ok(Default::default())
    }
    async fn tariffs(&self, _page: Page) -> Result<(Vec<Tariff>, u64)> {
        Ok(Default::default())
    }
    async fn assign_tariff(
        &self,
        _scope: TariffScope,
        _tariff: Option<Uuid>,
        _now: DateTime<Utc>,
    ) -> Result<()> {
        Ok(Default::default())
    }
    async fn tariff_for_connector(&self, _connector_id: Uuid) -> Result<Option<Tariff>> {
        Ok(Default::default())
    }
}

#[async_trait]
impl RefundQueue for KnowsOneCharger {
    async fn enqueue_refund(&self, _refund: &RefundRequest) -> Result<bool> {
        Ok(Default::default())
    }
    async fn due_refunds(&self, _now: DateTime<Utc>, _limit: u32) -> Result<Vec<RefundRequest>> {
        Ok(Default::default())
    }
    async fn lease_refund(
        &self,
        _id: Uuid,
        _now: DateTime<Utc>,
        _lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        Ok(Default::default())
    }
    async fn record_refund_attempt(
        &self,
        _id: Uuid,
        _attempts: i32,
        _outcome: RefundAttempt,
    ) -> Result<()> {
        Ok(Default::default())
    }
}

#[async_trait]
impl SessionLog for KnowsOneCharger {
    async fn start_session(
        &self,
        session: &ChargingSession,
        _now: DateTime<Utc>,
    ) -> Result<SessionStarted> {
        Ok(SessionStarted {
            session: session.clone(),
            booking: None,
        })
    }
    async fn end_session(
        &self,
        _end: &SessionEnd,
        _now: DateTime<Utc>,
    ) -> Result<Option<SessionEnded>> {
        Ok(Default::default())
    }
    async fn record_meter(
        &self,
        _charger_id: Uuid,
        _key: &TransactionKey,
        _meter_wh: f64,
        _at: DateTime<Utc>,
    ) -> Result<Option<ChargingSession>> {
        Ok(Default::default())
    }
    async fn open_session_on(&self, _connector_id: Uuid) -> Result<Option<ChargingSession>> {
        Ok(Default::default())
    }
    async fn session(&self, _id: Uuid) -> Result<Option<ChargingSession>> {
        Ok(Default::default())
    }
    async fn session_of_booking(&self, _booking_id: Uuid) -> Result<Option<ChargingSession>> {
        Ok(Default::default())
    }
    async fn session_started_at(
        &self,
        _connector_id: Uuid,
        _started_at: DateTime<Utc>,
        _meter_start_wh: f64,
    ) -> Result<Option<ChargingSession>> {
        Ok(Default::default())
    }
    async fn session_by_transaction(
        &self,
        _charger_id: Uuid,
        _key: &TransactionKey,
    ) -> Result<Option<ChargingSession>> {
        Ok(Default::default())
    }
}

#[async_trait]
impl StationStore for KnowsOneCharger {
    async fn ping(&self) -> Result<()> {
        Ok(Default::default())
    }
    async fn insert_station(&self, _station: &Station) -> Result<()> {
        Ok(Default::default())
    }
    async fn station(&self, _id: Uuid) -> Result<Option<Station>> {
        Ok(Default::default())
    }
    async fn stations(&self, _page: Page) -> Result<(Vec<Station>, u64)> {
        Ok(Default::default())
    }
    async fn stations_in_box(&self, _bbox: BoundingBox) -> Result<Vec<Station>> {
        Ok(Default::default())
    }
    async fn connectors_of_stations(&self, _station_ids: &[Uuid]) -> Result<Vec<Connector>> {
        Ok(Default::default())
    }
    async fn insert_connector(&self, _connector: &NewConnector) -> Result<Connector> {
        Err(refused())
    }
    async fn connector(&self, id: Uuid) -> Result<Option<Connector>> {
        Ok((id == CONNECTOR_ID).then(connector))
    }
    async fn connector_by_ocpp(
        &self,
        charger_id: Uuid,
        evse_id: i32,
        connector_id: i32,
    ) -> Result<Option<Connector>> {
        Ok((charger_id == CHARGER_ID && evse_id == 1 && connector_id == 1).then(connector))
    }
    async fn connectors_of_charger(&self, charger_id: Uuid) -> Result<Vec<Connector>> {
        Ok(if charger_id == CHARGER_ID {
            vec![connector()]
        } else {
            Vec::new()
        })
    }
    async fn set_connector_status(
        &self,
        _id: Uuid,
        _status: ConnectorStatus,
        _at: DateTime<Utc>,
        _void: Option<ReservationVoid>,
    ) -> Result<Option<StatusChange>> {
        Ok(Default::default())
    }
    async fn mark_charger_offline(
        &self,
        _charger_id: Uuid,
        _at: DateTime<Utc>,
    ) -> Result<Vec<Connector>> {
        Ok(Default::default())
    }
}

#[async_trait]
impl Tallies for KnowsOneCharger {
    async fn connectors_by_status(&self) -> Result<Vec<(ConnectorStatus, u64)>> {
        Ok(Default::default())
    }
    async fn refunds_pending(&self) -> Result<u64> {
        Ok(Default::default())
    }
}

#[async_trait]
impl booking::store::SecurityLog for KnowsOneCharger {
    async fn record_security_event(&self, _event: &booking::model::SecurityEvent) -> Result<()> {
        Ok(Default::default())
    }
    async fn security_events(
        &self,
        _charger_id: Uuid,
        _since: Option<DateTime<Utc>>,
        _limit: u32,
    ) -> Result<Vec<booking::model::SecurityEvent>> {
        Ok(Default::default())
    }
    async fn record_issued_certificate(
        &self,
        _certificate: &booking::model::IssuedCertificate,
    ) -> Result<()> {
        Ok(Default::default())
    }
    async fn issued_certificates(
        &self,
        _charger_id: Uuid,
    ) -> Result<Vec<booking::model::IssuedCertificate>> {
        Ok(Default::default())
    }
}

#[async_trait]
impl booking::store::SmartChargingStore for KnowsOneCharger {
    async fn save_charging_profile(&self, _p: &booking::model::ChargingProfile) -> Result<()> {
        Ok(Default::default())
    }
    async fn remove_charging_profiles(
        &self,
        _charger_id: Uuid,
        _filter: &booking::model::ProfileFilter,
    ) -> Result<u64> {
        Ok(Default::default())
    }
    async fn forget_reported_profiles(&self, _charger_id: Uuid) -> Result<u64> {
        Ok(Default::default())
    }
    async fn charging_profiles(
        &self,
        _charger_id: Uuid,
    ) -> Result<Vec<booking::model::ChargingProfile>> {
        Ok(Default::default())
    }
    async fn save_charging_limit(&self, _l: &booking::model::ExternalChargingLimit) -> Result<()> {
        Ok(Default::default())
    }
    async fn clear_charging_limits(
        &self,
        _charger_id: Uuid,
        _source: &str,
        _evse_id: Option<i32>,
    ) -> Result<u64> {
        Ok(Default::default())
    }
    async fn charging_limits(
        &self,
        _charger_id: Uuid,
    ) -> Result<Vec<booking::model::ExternalChargingLimit>> {
        Ok(Default::default())
    }
    async fn set_station_power_limit(&self, _l: &booking::model::StationPowerLimit) -> Result<()> {
        Ok(Default::default())
    }
    async fn station_power_limit(
        &self,
        _station_id: Uuid,
    ) -> Result<Option<booking::model::StationPowerLimit>> {
        Ok(Default::default())
    }
    async fn remove_station_power_limit(&self, _station_id: Uuid) -> Result<bool> {
        Ok(Default::default())
    }
}
