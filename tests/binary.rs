//! The real `evgate` binary, as an operator runs it: zero-setup start,
//! `evgate token` agreeing with the server, graceful shutdown, and bad
//! configuration refused in one line with exit code 2.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::process::{Api, BIN, Running, token};

#[tokio::test]
async fn zero_setup_start_serves_and_agrees_with_evgate_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Running::start(dir.path(), &[]);
    let http = reqwest::Client::new();

    let health: serde_json::Value = http
        .get(server.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["data"]["status"], "ok");
    // The embedded defaults: a SQLite file and a development secret beside it.
    assert!(dir.path().join("evgate.db").exists());
    assert!(dir.path().join("evgate.db.jwt-secret").exists());

    let admin = Api::new(
        &server,
        token(
            dir.path(),
            &[],
            &["--user", "7", "--role", "admin", "--ttl", "5m"],
        ),
    );
    admin.station().await;
    let user = Api::new(&server, token(dir.path(), &[], &["--user", "8"]));
    assert_eq!(user.send("GET", "/v1/admin/chargers", None).await.0, 403);
    let body = user.get("/v1/stations").await;
    assert_eq!(body["data"]["stations"][0]["name"], "Depot");

    let status = server.terminate();
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

#[test]
fn bad_configuration_is_one_line_naming_the_setting_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // (environment, arguments, the setting the one line must name)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: &[Case] = &[
        (
            &[("BOOKING_HOLD_TTL_SECONDS", "ten")],
            &[],
            "BOOKING_HOLD_TTL_SECONDS",
        ),
        (
            &[("BOOKING_HOLD_TTL_SECONDS", "0")],
            &[],
            "BOOKING_HOLD_TTL_SECONDS",
        ),
        (
            &[("NO_SHOW_WORKER_INTERVAL_MS", "-5")],
            &[],
            "NO_SHOW_WORKER_INTERVAL_MS",
        ),
        (
            &[("BOOKING_NO_SHOW_GRACE_PERIOD_MINUTES", "1e3")],
            &[],
            "BOOKING_NO_SHOW_GRACE_PERIOD_MINUTES",
        ),
        (&[("HTTP_ADDR", "localhost")], &[], "HTTP_ADDR"),
        (&[("OCPP_ADDR", "0.0.0.0:99999")], &[], "OCPP_ADDR"),
        (&[("DATABASE_URL", "mysql://db/ev")], &[], "DATABASE_URL"),
        (&[("REDIS_URL", "http://cache")], &[], "REDIS_URL"),
        (&[("JWT_SECRET", "too-short")], &[], "JWT_SECRET"),
        (
            &[("CORS_ORIGIN", "ftp://files.example.com")],
            &[],
            "CORS_ORIGIN",
        ),
        (&[("LOG_FORMAT", "xml")], &[], "LOG_FORMAT"),
        (
            &[("JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")],
            &[],
            "JWT_PUBLIC_KEY_FILE",
        ),
        (
            &[("DATABASE_URL", "postgres://127.0.0.1:1/none")],
            &[],
            "JWT_SECRET",
        ),
        (&[], &["--no-such-flag"], "--no-such-flag"),
        (&[("OCPP_TLS_CERT", "/tmp/cert.pem")], &[], "OCPP_TLS_KEY"),
        (
            &[
                ("OCPP_TLS_CERT", "/nonexistent/c.pem"),
                ("OCPP_TLS_KEY", "/nonexistent/k.pem"),
            ],
            &[],
            "OCPP_TLS_CERT",
        ),
        (&[("OCPP_TLS_BACKEND", "gnutls")], &[], "OCPP_TLS_BACKEND"),
        (&[("OCPP_TLS_BACKEND", "openssl")], &[], "OCPP_TLS_BACKEND"),
        (&[], &["token"], "--user"),
        (&[("OCPI_PARTY_ID", "EVG")], &[], "OCPI_COUNTRY_CODE"),
        (
            &[("OCPI_COUNTRY_CODE", "no"), ("OCPI_PARTY_ID", "EVG")],
            &[],
            "OCPI_COUNTRY_CODE",
        ),
        (
            &[("OCPI_COUNTRY_CODE", "NO"), ("OCPI_PARTY_ID", "EVGATE")],
            &[],
            "OCPI_PARTY_ID",
        ),
        (
            &[
                ("OCPI_COUNTRY_CODE", "NO"),
                ("OCPI_PARTY_ID", "EVG"),
                ("OCPI_BASE_URL", "cpo.example.com"),
            ],
            &[],
            "OCPI_BASE_URL",
        ),
    ];
    for (env, args, named) in cases {
        let out = Command::new(BIN)
            .current_dir(dir.path())
            .env_clear()
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("OCPP_ADDR", "127.0.0.1:0")
            .envs(env.iter().copied())
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(out.status.code(), Some(2), "{env:?} {args:?}: {stderr}");
        assert_eq!(lines.len(), 1, "{env:?} {args:?}: one line, got {stderr:?}");
        assert!(
            lines[0].contains(named),
            "{env:?} {args:?}: {:?} should name {named}",
            lines[0]
        );
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL (EVGATE_TEST_PG_URL); run by .ci/run"]
async fn runs_on_postgresql() {
    let url = common::fresh_pg_database().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("JWT_SECRET", common::TEST_SECRET),
    ];
    let server = Running::start(dir.path(), &env);
    let http = reqwest::Client::new();
    let ready = http.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let admin = Api::new(
        &server,
        token(dir.path(), &env, &["--user", "1", "--role", "admin"]),
    );
    let station = admin.station().await;
    admin.charger(&station, "PG-1", 0, None).await;
    // A second instance on the same database sees the same data.
    let second = Running::start(dir.path(), &env);
    let body = Api::new(&second, admin.token.clone())
        .get("/v1/admin/chargers")
        .await;
    assert_eq!(body["data"]["chargers"][0]["chargePointId"], "PG-1");
    assert!(
        dir.path().read_dir().unwrap().next().is_none(),
        "no SQLite file or secret on PostgreSQL"
    );
    assert!(server.terminate().success());
    assert!(second.terminate().success());
}
