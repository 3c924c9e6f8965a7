//! The OCPP 2.0.1 device model (B06–B08): what a charging station reports
//! of its components and variables in `NotifyReport` parts, kept per
//! charger, one row per (component, component instance, EVSE, connector,
//! variable, variable instance) with its attributes and characteristics.
//!
//! - [`DeviceModelStore`] is the port (OCPP's, so here and not in
//!   `booking`); `evgate-store` implements it on SQLite and PostgreSQL.
//! - [`Assembly`] (pure) follows each report of each charger: which parts
//!   (`seqNo`) arrived, which one ended it (`tbc: false`), whether it is
//!   complete. Parts may come out of order or twice: a part already stored
//!   is skipped, every write is an upsert, so a repeat changes nothing.
//! - [`DeviceModel`] is the handle the OCPP side holds: the NotifyReport
//!   handler hands a part over and answers the charger at once; one worker
//!   task writes parts in arrival order, one transaction per part.
//!
//! Replacement: a report evgate asked for as `FullInventory` or
//! `ConfigurationInventory` (GetBaseReport, noted by
//! [`DeviceModel::note_request`] on the instance that sends it) replaces the
//! charger's whole stored model once its last missing part is written, in
//! that part's transaction: every row no part of that report wrote is
//! deleted. Every other report (GetReport, SummaryInventory, a report whose
//! request evgate did not send or no longer remembers) only upserts the
//! rows it names. A full report that never completes replaces nothing.
//!
//! Splitting: `DeviceDataCtrlr.ItemsPerMessage` / `BytesPerMessage` (instances
//! `GetVariables`, `SetVariables`; also read as `ItemsPerMessageGetVariables`
//! …) cap what one GetVariables/SetVariables may carry; [`split`] cuts an
//! operator's request into calls within them and [`merge`] joins the
//! answers in request order. Unknown limits: one call.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use booking::model::Page;
use booking::store::ChargerRegistry;
use booking::sync::lock;
use booking::{Clock, Result};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::commands::CommandError;
use crate::context::decode;
use crate::registry::Registry;
use crate::rpc::RpcError;

/// Where one variable lives: the row's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VariableKey {
    /// Component name, e.g. `DeviceDataCtrlr`, `EVSE`, `Connector`.
    pub component: String,
    /// Component instance, when the component has several.
    pub component_instance: Option<String>,
    /// The EVSE of an EVSE- or connector-level component.
    pub evse_id: Option<i32>,
    /// The connector of a connector-level component.
    pub connector_id: Option<i32>,
    /// Variable name, e.g. `ItemsPerMessage`, `AvailabilityState`.
    pub variable: String,
    /// Variable instance, e.g. `GetVariables`.
    pub variable_instance: Option<String>,
}

impl VariableKey {
    /// The row's key inside one charger's model. Names are compared
    /// without case (OCPP 2.0.1 part 2, 1.4: names are case-insensitive).
    pub fn row_key(&self) -> String {
        let opt = |s: &Option<String>| s.as_deref().unwrap_or("").to_lowercase();
        let num = |n: Option<i32>| n.map(|n| n.to_string()).unwrap_or_default();
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.component.to_lowercase(),
            opt(&self.component_instance),
            num(self.evse_id),
            num(self.connector_id),
            self.variable.to_lowercase(),
            opt(&self.variable_instance),
        )
    }
}

/// One `reportData` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportedVariable {
    /// Which variable.
    pub key: VariableKey,
    /// `variableAttribute[]` as the charger sent it (type, value,
    /// mutability, persistent, constant).
    pub attributes: Value,
    /// `variableCharacteristics` (unit, dataType, limits, valuesList,
    /// supportsMonitoring), when sent.
    pub characteristics: Option<Value>,
}

impl ReportedVariable {
    /// The value of the attribute of `kind` (`Actual` when a charger leaves
    /// the type out, as the schema's default says).
    pub fn value(&self, kind: &str) -> Option<&str> {
        self.attributes.as_array()?.iter().find_map(|a| {
            let t = a.get("type").and_then(Value::as_str).unwrap_or("Actual");
            (t == kind).then(|| a.get("value").and_then(Value::as_str))?
        })
    }
}

/// A stored row: what was reported, by which report, when.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVariable {
    /// What the charger reported.
    pub reported: ReportedVariable,
    /// The `requestId` of the report that wrote it last.
    pub request_id: i32,
    /// When that part was written.
    pub updated_at: DateTime<Utc>,
}

/// One NotifyReport, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPart {
    /// The request it answers.
    pub request_id: i32,
    /// Its place in the report, from 0.
    pub seq_no: i32,
    /// More parts follow (`false`: this is the last).
    pub tbc: bool,
    /// When the charger made it.
    pub generated_at: DateTime<Utc>,
    /// Its `reportData`.
    pub variables: Vec<ReportedVariable>,
}

/// One part's write: one transaction.
#[derive(Debug, Clone, Copy)]
pub struct PartWrite<'a> {
    /// The charger whose model it is.
    pub charger_id: Uuid,
    /// The report's `requestId`.
    pub request_id: i32,
    /// This run of the report (a `requestId` may be used again).
    pub run: Uuid,
    /// The rows to upsert.
    pub variables: &'a [ReportedVariable],
    /// Now.
    pub at: DateTime<Utc>,
    /// This part completes a full report: afterwards, delete every row of
    /// the charger that another run wrote.
    pub replace_others: bool,
}

/// Filters of a device-model read; names match without case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this component.
    pub component: Option<String>,
    /// Only this variable.
    pub variable: Option<String>,
    /// Only components of this EVSE.
    pub evse: Option<i32>,
}

/// The operator's per-charger device-model settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// Ask for a FullInventory report after every accepted boot.
    pub refresh_on_boot: bool,
}

/// Where device models persist.
#[async_trait]
pub trait DeviceModelStore: Send + Sync + std::fmt::Debug + 'static {
    /// Upserts a part's rows (and, for the part that completes a full
    /// report, deletes the rows no part of it wrote) in one transaction.
    async fn write_report_part(&self, part: &PartWrite<'_>) -> Result<()>;
    /// A page of a charger's rows, ordered by component, EVSE, connector,
    /// variable, and how many match.
    async fn device_model(
        &self,
        charger_id: Uuid,
        filter: &Filter,
        page: Page,
    ) -> Result<(Vec<StoredVariable>, u64)>;
    /// The charger's settings (defaults when never set).
    async fn device_model_settings(&self, charger_id: Uuid) -> Result<Settings>;
    /// Records the charger's settings.
    async fn set_device_model_settings(
        &self,
        charger_id: Uuid,
        settings: Settings,
        at: DateTime<Utc>,
    ) -> Result<()>;
}

/// What kind of report a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// FullInventory or ConfigurationInventory: replaces the stored model.
    Full,
    /// GetReport, SummaryInventory, or unknown: upserts what it names.
    Partial,
}

/// The kind of report a GetBaseReport/GetReport payload asks for.
pub fn report_kind(action: &str, payload: &Value) -> ReportKind {
    match (action, payload.get("reportBase").and_then(Value::as_str)) {
        ("GetBaseReport", Some("FullInventory" | "ConfigurationInventory")) => ReportKind::Full,
        _ => ReportKind::Partial,
    }
}

/// What to do with a part that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The run its rows are written under.
    pub run: Uuid,
    /// Whether its write completes a full report (and replaces the rest).
    pub replace_others: bool,
}

#[derive(Debug)]
struct Progress {
    run: Uuid,
    kind: ReportKind,
    /// Parts written.
    stored: BTreeSet<i32>,
    /// The part that said `tbc: false`.
    last: Option<i32>,
    complete: bool,
    /// For eviction: higher is newer.
    touched: u64,
}

impl Progress {
    fn new(kind: ReportKind, touched: u64) -> Self {
        Self {
            run: Uuid::new_v4(),
            kind,
            stored: BTreeSet::new(),
            last: None,
            complete: false,
            touched,
        }
    }

    /// Whether every part 0..=last is in `stored` (plus `extra`).
    fn whole_with(&self, last: Option<i32>, extra: i32) -> bool {
        let Some(last) = last.filter(|l| *l >= 0) else {
            return false;
        };
        let have = self.stored.range(0..=last).count()
            + usize::from((0..=last).contains(&extra) && !self.stored.contains(&extra));
        usize::try_from(last).is_ok_and(|l| have == l + 1)
    }
}

/// The reports in progress, per charger (identity) and `requestId`. Pure:
/// no I/O, no clock. Bounded: past [`Assembly::MAX`] reports the least
/// recently heard of is forgotten (its later parts then only upsert).
#[derive(Debug, Default)]
pub struct Assembly {
    reports: HashMap<(String, i32), Progress>,
    tick: u64,
}

impl Assembly {
    /// Reports remembered at most.
    pub const MAX: usize = 10_000;

    /// evgate asked `charger` for report `request_id`: a new run starts
    /// (a `requestId` used before starts over).
    pub fn requested(&mut self, charger: &str, request_id: i32, kind: ReportKind) {
        self.tick += 1;
        let progress = Progress::new(kind, self.tick);
        self.reports
            .insert((charger.to_owned(), request_id), progress);
        self.bound();
    }

    /// A part arrived: `None` when it was stored already (a repeat), or how
    /// to write it.
    pub fn plan(&mut self, charger: &str, request_id: i32, seq_no: i32, tbc: bool) -> Option<Plan> {
        self.tick += 1;
        let tick = self.tick;
        let progress = self
            .reports
            .entry((charger.to_owned(), request_id))
            .or_insert_with(|| Progress::new(ReportKind::Partial, tick));
        progress.touched = tick;
        if progress.stored.contains(&seq_no) {
            return None;
        }
        let last = if tbc { progress.last } else { Some(seq_no) };
        let replace_others = progress.kind == ReportKind::Full
            && !progress.complete
            && progress.whole_with(last, seq_no);
        let plan = Plan {
            run: progress.run,
            replace_others,
        };
        self.bound();
        Some(plan)
    }

    /// The part was written.
    pub fn stored(&mut self, charger: &str, request_id: i32, seq_no: i32, tbc: bool) {
        if let Some(progress) = self.reports.get_mut(&(charger.to_owned(), request_id)) {
            progress.stored.insert(seq_no);
            if !tbc {
                progress.last = Some(seq_no);
            }
            if progress.whole_with(progress.last, seq_no) {
                progress.complete = true;
            }
        }
    }

    /// Whether the report has all its parts.
    pub fn is_complete(&self, charger: &str, request_id: i32) -> bool {
        self.reports
            .get(&(charger.to_owned(), request_id))
            .is_some_and(|p| p.complete)
    }

    fn bound(&mut self) {
        while self.reports.len() > Self::MAX {
            let oldest = self
                .reports
                .iter()
                .min_by_key(|(_, p)| p.touched)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.reports.remove(&k),
                None => break,
            };
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifyReport {
    request_id: i32,
    #[serde(default)]
    tbc: bool,
    seq_no: i32,
    generated_at: DateTime<Utc>,
    #[serde(default)]
    report_data: Vec<ReportData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportData {
    component: Component,
    variable: Variable,
    variable_attribute: Vec<serde_json::Map<String, Value>>,
    #[serde(default)]
    variable_characteristics: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Component {
    name: String,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    evse: Option<Evse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Evse {
    id: i32,
    #[serde(default)]
    connector_id: Option<i32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Variable {
    name: String,
    #[serde(default)]
    instance: Option<String>,
}

/// Decodes a NotifyReport (its CALLERROR when it is malformed).
pub fn read_part(payload: Value) -> std::result::Result<ReportPart, RpcError> {
    let report: NotifyReport = decode(payload)?;
    let variables = report
        .report_data
        .into_iter()
        .map(|d| {
            if d.variable_attribute.is_empty() {
                return Err(RpcError::OccurrenceConstraint(
                    "variableAttribute needs at least one entry".into(),
                ));
            }
            Ok(ReportedVariable {
                key: VariableKey {
                    component: d.component.name,
                    component_instance: d.component.instance,
                    evse_id: d.component.evse.as_ref().map(|e| e.id),
                    connector_id: d.component.evse.and_then(|e| e.connector_id),
                    variable: d.variable.name,
                    variable_instance: d.variable.instance,
                },
                attributes: Value::Array(
                    d.variable_attribute
                        .into_iter()
                        .map(Value::Object)
                        .collect(),
                ),
                characteristics: d.variable_characteristics.map(Value::Object),
            })
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(ReportPart {
        request_id: report.request_id,
        seq_no: report.seq_no,
        tbc: report.tbc,
        generated_at: report.generated_at,
        variables,
    })
}

/// How much one GetVariables/SetVariables may carry; `None`: not known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// `ItemsPerMessage…`.
    pub items: Option<usize>,
    /// `BytesPerMessage…` (the whole frame).
    pub bytes: Option<usize>,
}

/// The limits of `action` (GetVariables or SetVariables) among a charger's
/// DeviceDataCtrlr rows.
pub fn limits_of(rows: &[StoredVariable], action: &str) -> Limits {
    let find = |what: &str| {
        rows.iter().find_map(|row| {
            let k = &row.reported.key;
            if !k.component.eq_ignore_ascii_case("DeviceDataCtrlr") {
                return None;
            }
            let named = match &k.variable_instance {
                Some(instance) => {
                    k.variable.eq_ignore_ascii_case(what) && instance.eq_ignore_ascii_case(action)
                }
                None => k.variable.eq_ignore_ascii_case(&format!("{what}{action}")),
            };
            named
                .then(|| row.reported.value("Actual")?.trim().parse::<usize>().ok())?
                .filter(|n| *n > 0)
        })
    };
    Limits {
        items: find("ItemsPerMessage"),
        bytes: find("BytesPerMessage"),
    }
}

/// The request and answer fields of the calls that may be split.
pub fn split_fields(action: &str) -> Option<(&'static str, &'static str)> {
    match action {
        "GetVariables" => Some(("getVariableData", "getVariableResult")),
        "SetVariables" => Some(("setVariableData", "setVariableResult")),
        _ => None,
    }
}

/// `[2,"<id>","<action>",` and the closing bracket, generously: what a
/// frame adds to its payload.
const FRAME_OVERHEAD: usize = 64;

/// Cuts `payload`'s `field` array into payloads within `limits`, in order.
/// An item larger than the byte limit on its own goes alone (the charger
/// then answers it as it sees fit). Within the limits: the payload as it is.
pub fn split(payload: &Value, field: &str, limits: Limits) -> Vec<Value> {
    let items = payload
        .get(field)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let wrap = |chunk: Vec<Value>| {
        let mut p = payload.clone();
        p[field] = Value::Array(chunk);
        p
    };
    let empty_len = wrap(Vec::new()).to_string().len() + FRAME_OVERHEAD;
    let mut out = Vec::new();
    let mut chunk: Vec<Value> = Vec::new();
    let mut bytes = empty_len;
    for item in items {
        let len = item.to_string().len() + 1;
        let full_items = limits.items.is_some_and(|max| chunk.len() >= max);
        let full_bytes = limits.bytes.is_some_and(|max| bytes + len > max);
        if !chunk.is_empty() && (full_items || full_bytes) {
            out.push(wrap(std::mem::take(&mut chunk)));
            bytes = empty_len;
        }
        bytes += len;
        chunk.push(item);
    }
    if !chunk.is_empty() || out.is_empty() {
        out.push(wrap(chunk));
    }
    out
}

/// Joins the answers' `field` arrays, in the order of the calls.
pub fn merge(answers: Vec<Value>, field: &str) -> Value {
    let mut results = Vec::new();
    for mut answer in answers {
        if let Some(Value::Array(items)) = answer.get_mut(field).map(Value::take) {
            results.extend(items);
        }
    }
    json!({ field: results })
}

/// A `requestId` for a report evgate asks for: positive, random.
pub fn new_request_id() -> i32 {
    let bytes = Uuid::new_v4().into_bytes();
    let n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) & 0x7fff_ffff;
    i32::try_from(n.max(1)).unwrap_or(1)
}

struct Job {
    charger_id: Uuid,
    charge_point_id: String,
    part: ReportPart,
}

/// Parts waiting for the writer at most; beyond it a charger's
/// NotifyReport waits for room (only then does a charger wait).
const QUEUE: usize = 1024;

/// The device model as the OCPP side holds it. Cheap to clone.
/// [`DeviceModel::none`] keeps nothing (tests without a store).
#[derive(Debug, Clone, Default)]
pub struct DeviceModel {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    store: Arc<dyn DeviceModelStore>,
    chargers: Arc<dyn ChargerRegistry>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    assembly: Mutex<Assembly>,
    parts: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceModel").finish_non_exhaustive()
    }
}

impl DeviceModel {
    /// Keeps reports in `store` and reaches chargers through `registry`;
    /// spawns the writer, which ends when the last clone is dropped.
    pub fn new(
        store: Arc<dyn DeviceModelStore>,
        chargers: Arc<dyn ChargerRegistry>,
        registry: Arc<Registry>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (parts, jobs) = mpsc::channel(QUEUE);
        let inner = Arc::new(Inner {
            store,
            chargers,
            registry,
            clock,
            assembly: Mutex::default(),
            parts,
        });
        tokio::spawn(write_parts(Arc::downgrade(&inner), jobs));
        Self { inner: Some(inner) }
    }

    /// Keeps nothing; commands go out unsplit.
    pub fn none() -> Self {
        Self { inner: None }
    }

    /// The store, when there is one.
    pub fn store(&self) -> Option<&Arc<dyn DeviceModelStore>> {
        self.inner.as_ref().map(|i| &i.store)
    }

    /// Hands a part to the writer; waits only while the writer's queue is
    /// full.
    pub async fn submit(&self, charger_id: Uuid, charge_point_id: &str, part: ReportPart) {
        let Some(inner) = &self.inner else {
            return;
        };
        let job = Job {
            charger_id,
            charge_point_id: charge_point_id.to_owned(),
            part,
        };
        if inner.parts.send(job).await.is_err() {
            tracing::warn!(
                charger.id = charge_point_id,
                "device model writer gone; part dropped"
            );
        }
    }

    /// evgate is about to send `action` (GetBaseReport/GetReport) with
    /// `payload`: its report starts a new run, full or partial.
    pub fn note_request(&self, charge_point_id: &str, action: &str, payload: &Value) {
        let (Some(inner), Some(id)) = (
            &self.inner,
            payload
                .get("requestId")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok()),
        ) else {
            return;
        };
        lock(&inner.assembly).requested(charge_point_id, id, report_kind(action, payload));
    }

    /// GetVariables/SetVariables within the charger's stored limits: one
    /// call, or several whose answers are merged in request order. A
    /// failed call fails the command (answers of earlier calls are lost;
    /// SetVariables they carried were applied).
    pub async fn call_split(
        &self,
        registry: &Registry,
        charge_point_id: &str,
        action: &'static str,
        payload: Value,
    ) -> std::result::Result<Value, CommandError> {
        let (Some((field, result_field)), Some(inner)) = (split_fields(action), &self.inner) else {
            return Ok(registry.call(charge_point_id, action, payload).await?);
        };
        let limits = match inner.limits(charge_point_id, action).await {
            Ok(limits) => limits,
            Err(e) => {
                tracing::warn!(charger.id = charge_point_id, error = %e,
                    "cannot read the charger's message limits; sending as one call");
                Limits::default()
            }
        };
        let calls = split(&payload, field, limits);
        if calls.len() == 1 {
            return Ok(registry.call(charge_point_id, action, payload).await?);
        }
        tracing::info!(charger.id = charge_point_id, ocpp.action = action, calls = calls.len(),
            items = ?limits.items, bytes = ?limits.bytes, "split into calls the charger takes");
        let mut answers = Vec::with_capacity(calls.len());
        for call in calls {
            answers.push(registry.call(charge_point_id, action, call).await?);
        }
        Ok(merge(answers, result_field))
    }

    /// After an accepted boot of a charger whose operator turned
    /// `refreshOnBoot` on: asks for a FullInventory in the background (the
    /// boot answer does not wait).
    pub fn after_boot(&self, charge_point_id: &str) {
        let Some(inner) = self.inner.clone() else {
            return;
        };
        let cp = charge_point_id.to_owned();
        let this = self.clone();
        tokio::spawn(async move {
            let payload = json!({ "requestId": new_request_id(), "reportBase": "FullInventory" });
            this.note_request(&cp, "GetBaseReport", &payload);
            let answer = inner.registry.call(&cp, "GetBaseReport", payload).await;
            tracing::info!(charger.id = %cp, answer = ?answer,
                "asked for a full device model report after boot");
        });
    }
}

impl Inner {
    async fn limits(&self, charge_point_id: &str, action: &str) -> Result<Limits> {
        let Some(charger) = self.chargers.charger_by_identity(charge_point_id).await? else {
            return Ok(Limits::default());
        };
        let filter = Filter {
            component: Some("DeviceDataCtrlr".into()),
            ..Filter::default()
        };
        let page = Page {
            limit: 200,
            offset: 0,
        };
        let (rows, _) = self.store.device_model(charger.id, &filter, page).await?;
        Ok(limits_of(&rows, action))
    }

    async fn write(&self, job: Job) {
        let Job {
            charger_id,
            charge_point_id: cp,
            part,
        } = job;
        let plan = lock(&self.assembly).plan(&cp, part.request_id, part.seq_no, part.tbc);
        let Some(plan) = plan else {
            tracing::debug!(charger.id = %cp, request_id = part.request_id, seq_no = part.seq_no,
                "report part repeated; stored already");
            return;
        };
        let write = PartWrite {
            charger_id,
            request_id: part.request_id,
            run: plan.run,
            variables: &part.variables,
            at: self.clock.now(),
            replace_others: plan.replace_others,
        };
        match self.store.write_report_part(&write).await {
            Ok(()) => {
                lock(&self.assembly).stored(&cp, part.request_id, part.seq_no, part.tbc);
                tracing::debug!(charger.id = %cp, request_id = part.request_id,
                    seq_no = part.seq_no, variables = part.variables.len(),
                    replaced = plan.replace_others, "report part stored");
                if plan.replace_others {
                    tracing::info!(charger.id = %cp, request_id = part.request_id,
                        "full device model report complete: stored model replaced");
                }
            }
            Err(e) => tracing::warn!(charger.id = %cp, request_id = part.request_id,
                seq_no = part.seq_no, error = %e, "cannot store a device model report part"),
        }
    }
}

async fn write_parts(inner: std::sync::Weak<Inner>, mut jobs: mpsc::Receiver<Job>) {
    // The handle holds the only strong references: once they are gone the
    // channel closes too and this loop ends.
    while let Some(job) = jobs.recv().await {
        let Some(inner) = inner.upgrade() else {
            break;
        };
        inner.write(job).await;
    }
}

#[cfg(test)]
#[path = "device_model_tests.rs"]
mod tests;
