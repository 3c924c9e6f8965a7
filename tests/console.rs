//! The operator console's sign-in, sessions and refusals, driven in process
//! with a manual clock (the browser suite, `tests/console/browser_test.py`,
//! drives the pages in Chromium against the real binary).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, Request, header};
use booking::Clock as _;
use booking::operators::{OperatorRole, new_operator};
use chrono::TimeDelta;
use common::TestApp;
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

/// One browser: its cookies, and what the last page said.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
    headers: Vec<(&'static str, &'static str)>,
}

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    /// The value of the first `name="csrf"` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="csrf" value=""#)
            .expect("a CSRF field")
            + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }

    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = Request::builder().method(method).uri(path);
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !jar.is_empty() {
            req = req.header(header::COOKIE, jar.join("; "));
        }
        for (k, v) in &self.headers {
            req = req.header(*k, *v);
        }
        let body = match form {
            Some(fields) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(serde_urlencoded::to_string(fields).unwrap())
            }
            None => Body::empty(),
        };
        let resp = self
            .app
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        for set in resp.headers().get_all(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form)).await
    }

    async fn sign_in(&mut self, name: &str, password: &str) -> Page {
        let csrf = self.get("/console/sign-in").await.csrf();
        self.post(
            "/console/sign-in",
            &[("csrf", &csrf), ("name", name), ("password", password)],
        )
        .await
    }
}

async fn app_with(operators: &[(&str, OperatorRole)]) -> TestApp {
    let app = TestApp::new().await;
    for (name, role) in operators {
        let op = new_operator(name, *role, PASSWORD, app.clock.now()).unwrap();
        app.database.add_operator(&op).await.unwrap();
    }
    app
}

#[tokio::test]
async fn sign_in_attempts_are_throttled_per_name() {
    let app = app_with(&[("ana", OperatorRole::Admin)]).await;
    let mut browser = Browser::new(&app);
    for _ in 0..5 {
        let page = browser.sign_in("ana", "not the password!").await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains("Wrong name or password."));
    }
    let page = browser.sign_in("ANA", PASSWORD).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.headers.contains_key(header::RETRY_AFTER));
    assert!(!browser.cookies.contains_key("evgate_console"));
    // Another operator is not held back by ana's attempts.
    let app = app_with(&[("bo", OperatorRole::Viewer)]).await;
    let page = Browser::new(&app).sign_in("bo", PASSWORD).await;
    assert_eq!((page.status, page.location()), (303, "/console"));
}

#[tokio::test]
async fn a_session_ends_at_its_time_and_when_the_password_changes() {
    let app = app_with(&[("ana", OperatorRole::Viewer)]).await;
    let (mut laptop, mut tablet) = (Browser::new(&app), Browser::new(&app));
    assert_eq!(laptop.sign_in("ana", PASSWORD).await.status, 303);
    assert_eq!(tablet.sign_in("ana", PASSWORD).await.status, 303);
    assert_eq!(laptop.get("/console").await.status, 200);

    // A viewer changes their own password; their other sessions end.
    let form = laptop.get("/console/password").await;
    let csrf = form.csrf();
    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        [("current", current), ("new", new), ("repeat", repeat)]
    };
    let wrong = change(
        "not the password!",
        "a brand new password",
        "a brand new password",
    );
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(wrong);
    let page = laptop.post("/console/password", &fields).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("The current password is wrong."));
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(change(
        PASSWORD,
        "a brand new password",
        "a brand new passwort",
    ));
    assert_eq!(laptop.post("/console/password", &fields).await.status, 400);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(change(PASSWORD, "short", "short"));
    assert_eq!(laptop.post("/console/password", &fields).await.status, 400);
    let mut fields = vec![("csrf", csrf.as_str())];
    fields.extend(change(
        PASSWORD,
        "a brand new password",
        "a brand new password",
    ));
    let page = laptop.post("/console/password", &fields).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(laptop.get("/console").await.status, 200);
    let page = tablet.get("/console").await;
    assert_eq!((page.status, page.location()), (303, "/console/sign-in"));
    assert_eq!(
        Browser::new(&app).sign_in("ana", PASSWORD).await.status,
        401
    );
    let entries = audit_of(&app).await;
    assert!(
        entries
            .iter()
            .any(|e| e.actor == "operator:ana" && e.action == "operator.password")
    );

    // Twelve hours on, the session is over, used or not.
    app.clock
        .advance(TimeDelta::hours(12) + TimeDelta::seconds(1));
    let page = laptop.get("/console/chargers").await;
    assert_eq!((page.status, page.location()), (303, "/console/sign-in"));
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    let app = app_with(&[("ana", OperatorRole::Admin)]).await;
    let mut browser = Browser::new(&app);
    // No double-submit token: refused before the password is looked at.
    let page = browser
        .post(
            "/console/sign-in",
            &[("name", "ana"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(browser.sign_in("ana", PASSWORD).await.status, 303);
    let csrf = browser.get("/console").await.csrf();

    let page = browser.get("/console/chargers/NOPE").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("charger NOPE not found"));
    let page = browser.get("/console/bookings?day=2026-13-40").await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("must be a date"));
    let page = browser.get("/console/bookings?station=not-a-uuid").await;
    assert_eq!(page.status, 400);
    let page = browser
        .post("/console/bookings/not-a-uuid/cancel", &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 400);
    let page = browser
        .post(
            "/console/bookings/7d0f3c1e-8a7b-4d2a-9f1e-2b3c4d5e6f70/cancel",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(page.status, 404);
    // A form missing a field: the extractor's 4xx, never a 500.
    let page = browser.post("/console/password", &[("csrf", &csrf)]).await;
    assert!((400..500).contains(&page.status), "{}", page.status);
    let page = browser.get("/console/assets/nothing.js").await;
    assert_eq!(page.status, 404);
    // A change with another session's token is refused and not audited.
    let page = browser
        .post(
            "/console/bookings/7d0f3c1e-8a7b-4d2a-9f1e-2b3c4d5e6f70/cancel",
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(page.status, 403);
    let entries = audit_of(&app).await;
    assert_eq!(entries.len(), 1, "only the 404 cancel: {entries:?}");
}

#[tokio::test]
async fn pages_carry_security_headers_and_strict_cookies() {
    let app = app_with(&[("ana", OperatorRole::Admin)]).await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/console/sign-in").await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(page.headers[header::CACHE_CONTROL], "no-store");
    let cookie = page.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    let mut tls = Browser::new(&app);
    tls.headers.push(("x-forwarded-proto", "https"));
    let csrf = tls.get("/console/sign-in").await.csrf();
    let page = tls
        .post(
            "/console/sign-in",
            &[("csrf", &csrf), ("name", "ana"), ("password", PASSWORD)],
        )
        .await;
    let cookies: Vec<_> = page.headers.get_all(header::SET_COOKIE).iter().collect();
    assert_eq!(
        cookies.len(),
        2,
        "the session, and the sign-in token removed"
    );
    let session = cookies
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("evgate_console="))
        .unwrap();
    assert!(
        session.contains("; Secure") && session.contains("Max-Age=43200"),
        "{session}"
    );
}

/// `evgate demo` as a newcomer runs it: the printed console address and
/// operator sign in, and the overview shows the four simulated chargers
/// online; the printed app token reads the sample station.
#[tokio::test]
async fn the_demo_prints_a_console_that_shows_its_chargers_online() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_evgate"))
        .arg("demo")
        .env_clear()
        .env("HTTP_ADDR", "127.0.0.1:0")
        .env("OCPP_ADDR", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let banner: Vec<String> = tokio::task::spawn_blocking(move || {
        let mut banner = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let last = line.contains("Ctrl-C stops");
            banner.push(line);
            if last {
                break;
            }
        }
        banner
    })
    .await
    .unwrap();
    let word_after = |marker: &str| {
        banner
            .iter()
            .find_map(|l| l.split(marker).nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{marker:?} in {banner:#?}"))
            .to_owned()
    };
    let console = word_after("Console");
    let password = word_after("with password");
    let token = word_after("export TOKEN=");
    let base = console.trim_end_matches("/console").to_owned();

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_of = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|c| c.split(';').next().unwrap_or_default().to_owned())
    };
    let form = http
        .get(format!("{base}/console/sign-in"))
        .send()
        .await
        .unwrap();
    let pre = cookie_of(&form, "evgate_console_sign_in").unwrap();
    let signed = http
        .post(format!("{base}/console/sign-in"))
        .header("cookie", format!("evgate_console_sign_in={pre}"))
        .form(&[
            ("csrf", pre.as_str()),
            ("name", "admin"),
            ("password", &password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 303);
    let session = cookie_of(&signed, "evgate_console").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let overview = http
            .get(format!("{base}/console/overview.frag"))
            .header("cookie", format!("evgate_console={session}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if overview.contains(r#"data-count="online">4 / 4"#) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the four demo chargers were not online within 60 s: {overview}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let stations: serde_json::Value = http
        .get(format!("{base}/v1/stations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stations["data"]["stations"][0]["name"], "evgate-sim DEMO-");
    // Stopped as Ctrl-C or a service manager would: cleanly, its data gone.
    let data = word_after("Data:");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(!std::path::Path::new(&data).exists(), "{data} left behind");
}

/// The audit log, newest first (the first 50 entries).
async fn audit_of(app: &TestApp) -> Vec<booking::audit::AuditEntry> {
    let first = booking::model::Page {
        limit: 50,
        offset: 0,
    };
    app.store.audit_entries(first, None).await.unwrap().0
}

/// The body's `name="csrf"` field of the page at `path`.
async fn csrf_of(browser: &mut Browser<'_>, path: &str) -> String {
    browser.get(path).await.csrf()
}

#[tokio::test]
async fn admins_change_id_tags_admission_and_place_chargers_and_viewers_cannot() {
    let app = app_with(&[("ana", OperatorRole::Admin), ("vic", OperatorRole::Viewer)]).await;
    let (mut ana, mut vic) = (Browser::new(&app), Browser::new(&app));
    assert_eq!(ana.sign_in("ana", PASSWORD).await.status, 303);
    assert_eq!(vic.sign_in("vic", PASSWORD).await.status, 303);
    let (a, v) = (
        csrf_of(&mut ana, "/console/id-tags").await,
        csrf_of(&mut vic, "/console/id-tags").await,
    );

    // Id tags: registered and blocked by the admin; the viewer is refused.
    let page = ana
        .post(
            "/console/id-tags",
            &[("csrf", &a), ("idTag", "RFID-7"), ("status", "Accepted")],
        )
        .await;
    assert_eq!((page.status, page.location()), (303, "/console/id-tags"));
    assert!(ana.get("/console/id-tags").await.body.contains("RFID-7"));
    let block = [("csrf", v.as_str()), ("status", "Blocked")];
    assert_eq!(
        vic.post("/console/id-tags/RFID-7/status", &block)
            .await
            .status,
        403
    );
    let tag = |app: &TestApp| {
        let store = app.store.clone();
        async move { store.id_tag("RFID-7").await.unwrap().unwrap().status }
    };
    assert_eq!(tag(&app).await, booking::model::IdTagStatus::Accepted);
    let block = [("csrf", a.as_str()), ("status", "Blocked")];
    assert_eq!(
        ana.post("/console/id-tags/RFID-7/status", &block)
            .await
            .status,
        303
    );
    assert_eq!(tag(&app).await, booking::model::IdTagStatus::Blocked);
    let bad = [("csrf", a.as_str()), ("status", "Maybe")];
    assert_eq!(
        ana.post("/console/id-tags/RFID-7/status", &bad)
            .await
            .status,
        400
    );

    // A charger waiting unassigned is placed at a station from the console.
    let admin = app.admin();
    let (_, station) = app
        .send(
            "POST",
            "/v1/admin/stations",
            Some(&admin),
            Some(r#"{"name":"Depot","latitude":1.0,"longitude":2.0}"#),
        )
        .await;
    let station = station["data"]["id"].as_str().unwrap().to_owned();
    let boot = booking::store::BootInfo {
        version: Some(booking::model::OcppVersion::V201),
        vendor: Some("ACME".into()),
        model: Some("Wall".into()),
        firmware_version: None,
        serial_number: Some("SN-1".into()),
    };
    app.store
        .record_unassigned_charger("WALL-1", &boot, app.clock.now())
        .await
        .unwrap();
    let waiting = ana.get("/console/unassigned").await;
    assert!(waiting.body.contains("WALL-1") && waiting.body.contains("SN-1"));
    let place = [
        ("csrf", a.as_str()),
        ("station", station.as_str()),
        ("securityProfile", "0"),
    ];
    assert_eq!(
        vic.post(
            "/console/unassigned/WALL-1/place",
            &[
                ("csrf", v.as_str()),
                ("station", station.as_str()),
                ("securityProfile", "0")
            ]
        )
        .await
        .status,
        403
    );
    let page = ana.post("/console/unassigned/WALL-1/place", &place).await;
    assert_eq!(
        (page.status, page.location()),
        (303, "/console/chargers/WALL-1")
    );
    assert!(!ana.get("/console/unassigned").await.body.contains("WALL-1"));
    assert!(
        app.store
            .charger_by_identity("WALL-1")
            .await
            .unwrap()
            .is_some()
    );

    // Admission: set by the admin, not by the viewer.
    let admit = [("csrf", a.as_str()), ("status", "REJECTED")];
    let page = ana.post("/console/chargers/WALL-1/admission", &admit).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Admission set to REJECTED"),
        "{}",
        page.body
    );
    let charger = app
        .store
        .charger_by_identity("WALL-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        charger.admission,
        Some(booking::model::ChargerAdmission::Rejected)
    );
    let admit = [("csrf", v.as_str()), ("status", "")];
    assert_eq!(
        vic.post("/console/chargers/WALL-1/admission", &admit)
            .await
            .status,
        403
    );

    // Credentials: the charger is away, so the change waits, sealed, for
    // its next connection; until then its profile is unchanged.
    let rotate = [
        ("csrf", a.as_str()),
        ("password", "a-new-charger-password-16"),
        ("securityProfile", "1"),
    ];
    let page = ana
        .post("/console/chargers/WALL-1/credentials", &rotate)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("the change waits for its next connection")
    );
    let charger = app
        .store
        .charger_by_identity("WALL-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(charger.security_profile.get(), 0);
    assert!(charger.pending_credentials.is_some());
    // A password the rules refuse is shown with the rotation's 400.
    let short = [
        ("csrf", a.as_str()),
        ("password", "short"),
        ("securityProfile", "1"),
    ];
    let page = ana
        .post("/console/chargers/WALL-1/credentials", &short)
        .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("Rotating the credentials failed"));

    let entries = audit_of(&app).await;
    let done: Vec<_> = entries
        .iter()
        .filter(|e| e.actor == "operator:ana")
        .map(|e| e.action.as_str())
        .collect();
    for action in [
        "id_tag.create",
        "id_tag.update",
        "charger.create",
        "charger.admission",
    ] {
        assert!(done.contains(&action), "{action} in {done:?}");
    }
    assert!(entries.iter().all(|e| e.actor != "operator:vic"));
}

#[tokio::test]
async fn an_admin_sets_up_a_site_from_the_console() {
    let app = app_with(&[("ana", OperatorRole::Admin), ("vic", OperatorRole::Viewer)]).await;
    let (mut ana, mut vic) = (Browser::new(&app), Browser::new(&app));
    assert_eq!(ana.sign_in("ana", PASSWORD).await.status, 303);
    assert_eq!(vic.sign_in("vic", PASSWORD).await.status, 303);
    let a = csrf_of(&mut ana, "/console/stations").await;
    let v = csrf_of(&mut vic, "/console/stations").await;
    let station = [
        ("name", "Harbour"),
        ("latitude", "53.54"),
        ("longitude", "9.98"),
        ("address", ""),
    ];
    let mut viewer_form = vec![("csrf", v.as_str())];
    viewer_form.extend(station);
    assert_eq!(
        vic.post("/console/stations", &viewer_form).await.status,
        403
    );
    let mut bad = vec![("csrf", a.as_str())];
    bad.extend([
        ("name", "Harbour"),
        ("latitude", "95"),
        ("longitude", "9.98"),
    ]);
    assert_eq!(ana.post("/console/stations", &bad).await.status, 400);
    let mut form = vec![("csrf", a.as_str())];
    form.extend(station);
    let page = ana.post("/console/stations", &form).await;
    assert_eq!(page.status, 303);
    let at = page.location().to_owned();
    assert!(at.starts_with("/console/stations/"), "{at}");

    let charger = [
        ("csrf", a.as_str()),
        ("chargePointId", "HB-1"),
        ("securityProfile", "0"),
    ];
    assert_eq!(
        ana.post(&format!("{at}/chargers"), &charger).await.status,
        303
    );
    let connector = [
        ("csrf", a.as_str()),
        ("chargePointId", "HB-1"),
        ("evseId", "1"),
        ("connectorId", "1"),
        ("connectorNumber", "A"),
        ("connectorType", "CCS"),
        ("powerKw", "150"),
    ];
    assert_eq!(
        ana.post(&format!("{at}/connectors"), &connector)
            .await
            .status,
        303
    );
    // The same connector again: the store's uniqueness rule, as a 409 page.
    assert_eq!(
        ana.post(&format!("{at}/connectors"), &connector)
            .await
            .status,
        409
    );
    let page = ana.get(&at).await;
    assert!(
        page.body.contains(">HB-1<") && page.body.contains("CCS · 150"),
        "{}",
        page.body
    );
    assert!(ana.get("/console/stations").await.body.contains("Harbour"));

    let entries = audit_of(&app).await;
    let done: Vec<_> = entries
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    for action in ["station.create", "charger.create", "connector.create"] {
        assert!(
            done.contains(&("operator:ana", action)),
            "{action} in {done:?}"
        );
    }
}

/// Edits and removals through the admin API and the console: refused while
/// a hold or a booking is live, history kept, each change audited.
#[tokio::test]
async fn sites_are_edited_and_removed_but_never_under_a_live_hold_or_booking() {
    use common::bookings::{confirm, hold, hour_from_now, site};
    let app = app_with(&[("ana", OperatorRole::Admin)]).await;
    let admin = app.admin();
    let site = site(&app).await;
    let (station, first, second) = (&site.station, &site.connectors[0], &site.connectors[1]);

    let edit = r#"{"name":"Hub 2","latitude":17.5,"longitude":78.5,"address":"Road 9"}"#;
    let (code, body) = app
        .send(
            "PUT",
            &format!("/v1/admin/stations/{station}"),
            Some(&admin),
            Some(edit),
        )
        .await;
    assert_eq!((code, body["data"]["name"].as_str()), (200, Some("Hub 2")));
    let bad = r#"{"name":"Hub 2","latitude":91,"longitude":78.5}"#;
    let (code, body) = app
        .send(
            "PUT",
            &format!("/v1/admin/stations/{station}"),
            Some(&admin),
            Some(bad),
        )
        .await;
    assert_eq!(
        (code, body["error"]["field"].as_str()),
        (400, Some("latitude"))
    );
    let (code, _) = app
        .send(
            "PUT",
            "/v1/admin/stations/6d5c3a9e-0b1f-4c1e-9d2a-1f2e3d4c5b6a",
            Some(&admin),
            Some(edit),
        )
        .await;
    assert_eq!(code, 404);
    let (code, _) = app
        .send(
            "PUT",
            &format!("/v1/admin/stations/{station}"),
            Some(&app.user()),
            Some(edit),
        )
        .await;
    assert_eq!(code, 403);
    let label = r#"{"connectorNumber":"A","connectorType":"Type2","powerKw":22}"#;
    let (code, body) = app
        .send(
            "PUT",
            &format!("/v1/admin/connectors/{first}"),
            Some(&admin),
            Some(label),
        )
        .await;
    assert_eq!(
        (code, body["data"]["connectorNumber"].as_str()),
        (200, Some("A"))
    );
    let (code, _) = app
        .send(
            "PUT",
            &format!("/v1/admin/connectors/{second}"),
            Some(&admin),
            Some(label),
        )
        .await;
    assert_eq!(code, 409, "the label is the first connector's");

    // A driver holds a slot on the first connector: nothing holding it goes.
    let user = app.user();
    let (code, held) = hold(&app, &user, &site, 0, hour_from_now(&app, 3), 60).await;
    assert_eq!(code, 201, "{held}");
    for path in [
        format!("/v1/admin/connectors/{first}"),
        "/v1/admin/chargers/CP-1".to_owned(),
        format!("/v1/admin/stations/{station}"),
    ] {
        let (code, body) = app.send("DELETE", &path, Some(&admin), None).await;
        assert_eq!(code, 409, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("hold a slot"),
            "{body}"
        );
    }
    // Confirmed, it is a live booking: still refused, now by the store.
    let (code, _) = confirm(&app, &user, held["data"]["token"].as_str().unwrap()).await;
    assert_eq!(code, 201);
    let (code, body) = app
        .send(
            "DELETE",
            &format!("/v1/admin/connectors/{first}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(code, 409);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("confirmed or active")
    );

    // The second connector was never used: it goes, from the console.
    let mut ana = Browser::new(&app);
    assert_eq!(ana.sign_in("ana", PASSWORD).await.status, 303);
    let csrf = csrf_of(&mut ana, &format!("/console/stations/{station}")).await;
    let page = ana
        .post(
            "/console/connectors/delete",
            &[("csrf", &csrf), ("connector", second)],
        )
        .await;
    assert_eq!(
        (page.status, page.location()),
        (303, format!("/console/stations/{station}").as_str())
    );
    assert!(
        app.store
            .connector(second.parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // The charger with the booked connector stays, shown as a 409 page.
    let page = ana
        .post("/console/chargers/CP-1/delete", &[("csrf", &csrf)])
        .await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("confirmed or active"));
    let (code, _) = app
        .send("DELETE", "/v1/admin/chargers/NOPE", Some(&admin), None)
        .await;
    assert_eq!(code, 404);

    let entries = audit_of(&app).await;
    let done: Vec<_> = entries
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    // The admin API's creations are on record too (the fixture made them).
    for action in ["station.create", "charger.create", "connector.create"] {
        assert!(done.contains(&("1", action)), "{action} in {done:?}");
    }
    assert!(done.contains(&("1", "station.update")), "{done:?}");
    assert!(done.contains(&("1", "connector.update")), "{done:?}");
    assert!(
        done.contains(&("operator:ana", "connector.delete")),
        "{done:?}"
    );
    assert_eq!(
        done.iter().filter(|(_, a)| a.ends_with(".delete")).count(),
        1
    );
}

#[tokio::test]
async fn an_admin_invites_and_removes_a_roaming_partner_and_a_viewer_cannot() {
    let app = app_with(&[("ana", OperatorRole::Admin), ("vic", OperatorRole::Viewer)]).await;
    let (mut ana, mut vic) = (Browser::new(&app), Browser::new(&app));
    assert_eq!(ana.sign_in("ana", PASSWORD).await.status, 303);
    assert_eq!(vic.sign_in("vic", PASSWORD).await.status, 303);
    let v = csrf_of(&mut vic, "/console").await;
    let page = vic.get("/console/roaming").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("NO-EVG"), "{}", page.body);
    assert!(
        !page.body.contains("Invite a partner"),
        "viewers see no form"
    );
    assert_eq!(
        vic.post("/console/roaming", &[("csrf", &v), ("name", "Sneaky")])
            .await
            .status,
        403
    );
    let a = csrf_of(&mut ana, "/console/roaming").await;
    assert_eq!(
        ana.post("/console/roaming", &[("csrf", &a), ("name", " ")])
            .await
            .status,
        400
    );
    let invited = ana
        .post("/console/roaming", &[("csrf", &a), ("name", "RoamCo")])
        .await;
    assert_eq!(invited.status, 200, "{}", invited.body);
    let at = invited
        .body
        .find(r#"id="token-a">"#)
        .expect("token A shown")
        + 13;
    let token: String = invited.body[at..].split('<').next().unwrap().to_owned();
    assert_eq!(token.len(), 43, "{token}");
    let partners = app.ocpi.store.partners().await.unwrap();
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0].token_hash, Some(ocpi::token_hash(&token)));
    let list = ana.get("/console/roaming").await;
    assert!(list.body.contains("RoamCo") && list.body.contains("PENDING"));
    assert!(!list.body.contains(&token), "token A is shown once");
    let id = partners[0].id.to_string();
    let path = format!("/console/roaming/{id}/delete");
    assert_eq!(vic.post(&path, &[("csrf", &v)]).await.status, 403);
    let gone = ana.post(&path, &[("csrf", &a)]).await;
    assert_eq!((gone.status, gone.location()), (303, "/console/roaming"));
    assert!(app.ocpi.store.partners().await.unwrap().is_empty());
    let actions: Vec<_> = audit_of(&app)
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("ocpi."))
        .map(|e| (e.action, e.actor))
        .collect();
    assert_eq!(
        actions,
        vec![
            ("ocpi.partner.delete".to_owned(), "operator:ana".to_owned()),
            ("ocpi.partner.create".to_owned(), "operator:ana".to_owned()),
        ]
    );
}
