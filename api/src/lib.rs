//! The app-facing edge of evgate: the REST API (one module per resource,
//! each exposing `router()`, merged here with the cross-cutting layers —
//! tracing, request ids, CORS, body limit, panic safety net — and
//! envelope-speaking fallbacks), Socket.IO live updates (`realtime`), and
//! the bearer tokens both check (`jwt`). The server binary builds an
//! [`AppState`] and serves [`with_realtime`]'s router. The routers are
//! utoipa-axum `OpenApiRouter`s: the OpenAPI document ([`openapi`], served
//! at `/v1/openapi.json`, Swagger UI at `/docs`) comes from the same calls
//! that route.

#![warn(missing_docs)]

mod admin;
mod audit;
mod auth;
mod bookings;
mod certificates;
mod chargers;
mod console;
mod device_model;
mod display_messages;
mod error;
mod extract;
mod health;
mod id_tags;
mod journal;
pub mod jwt;
pub mod limits;
mod local_lists;
mod maintenance;
mod metrics;
mod ocpi_partners;
mod openapi;
pub mod realtime;
mod site_edits;
mod smart_charging;
mod stations;
mod stored_password;
mod tariffs;
pub mod uploads;
mod vendors;
pub mod views;
mod webhook_inbox;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, header};
use axum::response::IntoResponse;
use booking::service::BookingService;
use booking::{Clock, Store};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use console::SignInThrottle;
pub use error::ApiError;
pub use metrics::describe_metrics;

use crate::jwt::JwtKeys;

/// Which browser origins CORS lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Every origin (`CORS_ORIGIN=*`).
    Any,
    /// Exactly these origins.
    List(Vec<String>),
}

/// Request bodies are small JSON documents; anything bigger is a mistake or
/// an attack.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler can reach. One `Arc`: axum clones the state for
/// every request, and cloning eight shared handles there cost about a
/// fifth of a cheap request's CPU (their counters bounce between cores).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl From<Services> for AppState {
    fn from(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

/// The services behind [`AppState`].
#[derive(Debug)]
pub struct Services {
    /// Every storage port (handlers read across most of them).
    pub store: Arc<dyn Store>,
    /// The time holds, bookings and tokens are judged by.
    pub clock: Arc<dyn Clock>,
    /// Verifies bearer tokens.
    pub jwt: Arc<JwtKeys>,
    /// Holds, confirmations, cancellations and availability.
    pub bookings: BookingService,
    /// Chargers connected here or (cluster) to another instance, for
    /// operator commands.
    pub chargers: evgate_cluster::Chargers,
    /// Vendor webhook intake and the inbox admin view.
    pub webhooks: webhooks::VendorWebhooks,
    /// Charger credential rotation (operator endpoint).
    pub rotation: evgate_operator::CredentialRotation,
    /// Whether Redis answers (cluster on PostgreSQL); `None` without one.
    pub shared: Option<Arc<evgate_cluster::SharedState>>,
    /// Request rate limits per source address and per user.
    pub limits: limits::RateLimits,
    /// OCPP 2.0.1 device models as chargers reported them, and the
    /// operator's per-charger switches.
    pub device_model: Arc<dyn csms::device_model::DeviceModelStore>,
    /// Chargers' local authorization lists, and bringing chargers to them.
    pub local_lists: csms::local_list::LocalLists,
    /// The CA for charger certificates (its certificate is what
    /// `POST …/certificates` installs by default).
    pub certificates: csms::certificates::Certificates,
    /// Where chargers' log uploads go, and how big they may be.
    pub uploads: uploads::UploadSettings,
    /// Operator accounts and their console sessions.
    pub operators: Arc<dyn booking::store::OperatorAccounts>,
    /// What the console reads across the network.
    pub views: Arc<dyn booking::store::OperatorViews>,
    /// Edits and removals of stations, chargers and connectors.
    pub site: Arc<dyn booking::store::SiteChanges>,
    /// Console sign-in attempts per name and source address.
    pub sign_in_throttle: SignInThrottle,
    /// OCPI: roaming partners, published Locations, status pushes.
    pub ocpi: ocpi::Ocpi,
}

impl AppState {
    /// The charger with this identity (`chargePointId`), or 404 naming it.
    pub(crate) async fn charger(
        &self,
        charge_point_id: &str,
    ) -> Result<booking::model::Charger, ApiError> {
        self.store
            .charger_by_identity(charge_point_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("charger {charge_point_id} not found")))
    }

    /// Writes what an admin did to the audit log (a failure is logged, not
    /// returned: the action happened).
    pub(crate) async fn audit(
        &self,
        admin: &auth::AdminUser,
        action: &str,
        target: &str,
        details: serde_json::Value,
        outcome: &str,
    ) {
        self.audit_by(admin.actor(), action, target, details, outcome)
            .await;
    }

    /// [`AppState::audit`] for any actor: an operator signed in to the
    /// console is `operator:NAME`.
    pub(crate) async fn audit_by(
        &self,
        actor: String,
        action: &str,
        target: &str,
        details: serde_json::Value,
        outcome: &str,
    ) {
        let entry = booking::audit::AuditEntry::new(
            self.clock.now(),
            actor,
            action,
            target,
            details,
            outcome,
        );
        booking::audit::record(&*self.store, entry).await;
    }
}

/// The version commands to a charger are built in: the one it last spoke
/// (409 `CHARGER_OFFLINE` before it ever connected).
pub(crate) fn version_of(
    charger: &booking::model::Charger,
) -> Result<booking::model::OcppVersion, ApiError> {
    charger.ocpp_version.ok_or_else(|| {
        ApiError::Conflict(
            "CHARGER_OFFLINE",
            "the charger has never connected: its OCPP version is unknown".into(),
        )
    })
}

/// Every REST route with its OpenAPI description: one `OpenApiRouter` per
/// resource module, each handler registered with `routes!`.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(stations::router())
        .merge(admin::router())
        .merge(site_edits::router())
        .merge(bookings::router())
        .merge(chargers::router())
        .merge(smart_charging::router())
        .merge(stored_password::router())
        .merge(audit::router())
        .merge(id_tags::router())
        .merge(journal::router())
        .merge(device_model::router())
        .merge(display_messages::router())
        .merge(local_lists::router())
        .merge(certificates::router())
        .merge(tariffs::router())
        .merge(maintenance::router())
        .merge(uploads::router())
        .merge(vendors::router())
        .merge(webhook_inbox::router())
        .merge(ocpi_partners::router())
        .merge(openapi::router())
}

/// The OpenAPI 3.1 document of every REST route, as served at
/// `GET /v1/openapi.json` (generated from the handlers' annotations and
/// the routers that serve them).
pub fn openapi() -> serde_json::Value {
    openapi::finish(routes().split_for_parts().1)
}

/// The whole API with its layers.
pub fn router(state: AppState, cors: &CorsOrigins) -> Router {
    with_realtime(state, cors, None)
}

/// The API with Socket.IO (`/socket.io/`) served beside it, inside the same
/// CORS, tracing and request-id layers.
pub fn with_realtime(
    state: AppState,
    cors: &CorsOrigins,
    realtime: Option<socketioxide::layer::SocketIoLayer>,
) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let limited = state.clone();
    let ocpi = ocpi::router(state.ocpi.clone());
    let (api, _) = routes().split_for_parts();
    let api = api
        .merge(openapi::swagger_ui())
        .merge(console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .merge(ocpi)
        .layer(axum::middleware::from_fn(metrics::track));
    let api = match realtime {
        Some(layer) => api.layer(layer),
        None => api,
    };
    api.layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(limits::request_bounds))
        .layer(axum::middleware::from_fn_with_state(
            limited,
            limits::per_source,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("handler panicked".into()).into_response()
        }))
        .layer(cors_layer(cors))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    // `http.route` is filled in after routing (metrics::track).
                    tracing::info_span!(
                        "http",
                        http.method = %req.method(),
                        http.path = %req.uri().path(),
                        http.route = tracing::field::Empty,
                        booking.id = tracing::field::Empty,
                        request.id = %id,
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.iter().filter_map(|o| o.parse().ok())),
    };
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600))
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
