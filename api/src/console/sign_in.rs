//! Signing in and out, and changing one's password.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::{Form, http::StatusCode};
use booking::operators::{self, ConsoleSession};
use maud::{Markup, html};
use serde::Deserialize;

use super::failure::{Failure, PageResult};
use super::layout::{csrf, page};
use super::session::{
    SESSION_COOKIE, SESSION_HOURS, SIGN_IN_COOKIE, Signed, Source, cookie, new_token, same,
    set_cookie, token_hash,
};
use crate::{ApiError, AppState};

fn sign_in_page(token: &str, name: &str, problem: Option<&str>) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form.sign-in method="post" action="/console/sign-in" {
                input type="hidden" name="csrf" value=(token);
                label { "Operator name" input type="text" name="name" autocomplete="username" required value=(name); }
                label { "Password" input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The sign-in form, with a fresh double-submit token unless the browser
/// has one.
pub(super) async fn form(headers: HeaderMap) -> Response {
    let token = cookie(&headers, SIGN_IN_COOKIE)
        .map(str::to_owned)
        .unwrap_or_else(new_token);
    (
        [set_cookie(&headers, SIGN_IN_COOKIE, &token, 3600)],
        sign_in_page(&token, "", None),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    name: String,
    password: String,
}

/// Checks the form's token, the throttle, then the password (on a blocking
/// thread: argon2 is slow by design); on success a new session.
pub(super) async fn submit(
    State(state): State<AppState>,
    Source(source): Source,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> PageResult<Response> {
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&form.csrf, expected) {
        return Err(Failure::forbidden(
            "the sign-in form's CSRF token is missing or wrong: open the sign-in page again",
        ));
    }
    state.sign_in_throttle.attempt(&form.name, source)?;
    let operator = state.operators.operator_by_name(&form.name).await?;
    let password = form.password;
    let checked = operator.clone();
    let ok =
        tokio::task::spawn_blocking(move || operators::check_sign_in(checked.as_ref(), &password))
            .await
            .map_err(|e| ApiError::Internal(format!("password check: {e}")))?;
    let Some(operator) = operator.filter(|_| ok) else {
        tracing::warn!(operator = %form.name, source = ?source, "console sign-in refused");
        let body = sign_in_page(expected, &form.name, Some("Wrong name or password."));
        return Ok((StatusCode::UNAUTHORIZED, body).into_response());
    };
    let token = new_token();
    let now = state.clock.now();
    let session = ConsoleSession {
        token_hash: token_hash(&token),
        operator_id: operator.id,
        csrf_token: new_token(),
        expires_at: now + chrono::TimeDelta::hours(SESSION_HOURS),
    };
    state.operators.open_console_session(&session, now).await?;
    tracing::info!(operator = %operator.name, source = ?source, "console sign-in");
    Ok((
        // Two cookies: appended, not inserted (the second would replace the first).
        AppendHeaders([
            set_cookie(&headers, SESSION_COOKIE, &token, SESSION_HOURS * 3600),
            set_cookie(&headers, SIGN_IN_COOKIE, "", 0),
        ]),
        Redirect::to("/console"),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

/// Ends the session here and in the store.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult<Response> {
    signed.check_csrf(&form.csrf)?;
    state
        .operators
        .close_console_session(&signed.session.token_hash)
        .await?;
    tracing::info!(operator = %signed.operator.name, "console sign-out");
    Ok((
        [set_cookie(&headers, SESSION_COOKIE, "", 0)],
        Redirect::to("/console/sign-in"),
    )
        .into_response())
}

fn password_page(signed: &Signed, message: Option<Result<&str, &str>>) -> Markup {
    page(
        "Change password",
        Some(signed),
        html! {
            @match message {
                Some(Ok(done)) => p.ok role="status" { (done) },
                Some(Err(problem)) => p.error role="alert" { (problem) },
                None => {}
            }
            form.sign-in method="post" action="/console/password" {
                (csrf(signed))
                label { "Current password" input type="password" name="current" autocomplete="current-password" required; }
                label { "New password (12 to 128 characters)" input type="password" name="new" autocomplete="new-password" required minlength="12" maxlength="128"; }
                label { "New password again" input type="password" name="repeat" autocomplete="new-password" required; }
                button type="submit" { "Change password" }
            }
        },
    )
}

pub(super) async fn password_form(signed: Signed) -> Markup {
    password_page(&signed, None)
}

#[derive(Debug, Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    csrf: String,
    current: String,
    new: String,
    repeat: String,
}

/// Any operator changes their own password (viewers too); their other
/// sessions end.
pub(super) async fn change_password(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<PasswordForm>,
) -> PageResult<Response> {
    signed.check_csrf(&form.csrf)?;
    let refuse = |problem: &str| {
        Ok((
            StatusCode::BAD_REQUEST,
            password_page(&signed, Some(Err(problem))),
        )
            .into_response())
    };
    if form.new != form.repeat {
        return refuse("The new password and its repetition differ.");
    }
    if let Err(e) = operators::validate_password(&form.new) {
        return refuse(&e.to_string());
    }
    let operator = signed.operator.clone();
    let (current, new) = (form.current, form.new);
    let now = state.clock.now();
    let hashed = tokio::task::spawn_blocking(move || {
        operators::check_sign_in(Some(&operator), &current)
            .then(|| operators::new_operator(&operator.name, operator.role, &new, now))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("password check: {e}")))?;
    let updated = match hashed {
        None => return refuse("The current password is wrong."),
        Some(updated) => updated?,
    };
    state
        .operators
        .set_operator_password(
            signed.operator.id,
            &updated.password_hash,
            Some(&signed.session.token_hash),
        )
        .await?;
    state
        .audit_by(
            signed.operator.actor(),
            "operator.password",
            &signed.operator.actor(),
            serde_json::json!({}),
            "ACCEPTED",
        )
        .await;
    Ok(password_page(
        &signed,
        Some(Ok("Password changed; your other sessions ended.")),
    )
    .into_response())
}
