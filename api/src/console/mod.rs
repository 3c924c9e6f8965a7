//! The operator console: server-rendered pages at `/console` for the people
//! who run the network, over the same services as the admin API. Operators
//! sign in with accounts stored in the database (`evgate operator add`);
//! viewers see everything and change nothing; every change is audited under
//! the operator's name. Pages that show live data refresh their live parts
//! by polling small HTML fragments (`console.js`), so the console needs no
//! build step and no script beyond its own.

mod assets;
mod audit;
mod bookings;
mod chargers;
mod failure;
mod id_tags;
mod layout;
mod overview;
mod roaming;
mod session;
mod sign_in;
mod stations;
mod unassigned;
mod vendors;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::AppState;

pub use session::SignInThrottle;

/// Every console route.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(overview::page))
        .route("/console/overview.frag", get(overview::fragment))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route(
            "/console/password",
            get(sign_in::password_form).post(sign_in::change_password),
        )
        .route(
            "/console/stations",
            get(stations::list).post(stations::create),
        )
        .route("/console/stations/{id}", get(stations::detail))
        .route("/console/stations/{id}/edit", post(stations::edit))
        .route("/console/stations/{id}/delete", post(stations::delete))
        .route("/console/connectors/edit", post(stations::edit_connector))
        .route(
            "/console/connectors/delete",
            post(stations::delete_connector),
        )
        .route("/console/chargers/{id}/delete", post(chargers::delete))
        .route(
            "/console/stations/{id}/chargers",
            post(stations::add_charger),
        )
        .route(
            "/console/stations/{id}/connectors",
            post(stations::add_connector),
        )
        .route("/console/chargers", get(chargers::list))
        .route("/console/chargers/{id}", get(chargers::detail))
        .route(
            "/console/chargers/{id}/connectors.frag",
            get(chargers::connectors),
        )
        .route("/console/chargers/{id}/commands", post(chargers::command))
        .route(
            "/console/chargers/{id}/admission",
            post(chargers::admission),
        )
        .route(
            "/console/chargers/{id}/credentials",
            post(chargers::credentials),
        )
        .route(
            "/console/chargers/{id}/messages.jsonl",
            get(chargers::journal_download),
        )
        .route("/console/bookings", get(bookings::timeline))
        .route("/console/bookings/{id}/cancel", post(bookings::cancel))
        .route(
            "/console/id-tags",
            get(id_tags::page).post(id_tags::register),
        )
        .route("/console/id-tags/{id}/status", post(id_tags::set_status))
        .route("/console/unassigned", get(unassigned::page))
        .route("/console/unassigned/{id}/place", post(unassigned::place))
        .route("/console/vendors", get(vendors::page))
        .route("/console/roaming", get(roaming::page).post(roaming::invite))
        .route("/console/roaming/{id}/delete", post(roaming::delete))
        .route("/console/webhooks/{id}/retry", post(vendors::retry))
        .route("/console/audit", get(audit::page))
        .route("/console/assets/{file}", get(assets::serve))
        .layer(axum::middleware::map_response(protect))
}

/// Pages load only their own scripts and styles, are never framed, and are
/// not cached (they show live state and carry CSRF tokens).
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
