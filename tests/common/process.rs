//! The real `evgate` binary as a child process, for end-to-end tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_evgate");

/// A running evgate and the HTTP address it logged.
pub struct Running {
    child: Child,
    pub base: String,
    /// `ws://127.0.0.1:port`
    pub ocpp: String,
    /// `127.0.0.1:port` of the TLS listener, when configured.
    pub ocpp_tls: Option<String>,
    /// Every JSON log line after the start-up ones, as the binary wrote it.
    logs: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl Running {
    // The child is reaped by `terminate` or by `Drop`.
    #[allow(clippy::zombie_processes)]
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Running {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir)
            .env_clear()
            .env("HTTP_ADDR", "127.0.0.1:0")
            .env("OCPP_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn evgate");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut ocpp = String::new();
        let mut ocpp_tls = None;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("evgate did not log its HTTP address within 30 s")
            });
            let Ok(log) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(addr) = log["fields"]["ocpp.tls_addr"].as_str() {
                ocpp_tls = Some(addr.replace("0.0.0.0", "127.0.0.1"));
            }
            if let Some(addr) = log["fields"]["ocpp.addr"].as_str() {
                ocpp = format!("ws://{addr}");
            }
            if let Some(addr) = log["fields"]["http.addr"].as_str() {
                // Keep draining (so the child never blocks on a full pipe),
                // and keep what it says for tests that read its logs.
                let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                let kept = logs.clone();
                std::thread::spawn(move || {
                    for line in rx {
                        if let Ok(log) = serde_json::from_str(&line) {
                            kept.lock().unwrap_or_else(|e| e.into_inner()).push(log);
                        }
                    }
                });
                return Running {
                    child,
                    base: format!("http://{addr}"),
                    ocpp,
                    ocpp_tls,
                    logs,
                };
            }
        }
    }

    /// The JSON log lines written since start-up.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("evgate did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn token(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let out = Command::new(BIN)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .arg("token")
        .args(args)
        .output()
        .expect("run evgate token");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The HTTP API of a running evgate as one caller (an admin setting a
/// site up, or a user). Clones share the client.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(server: &Running, token: String) -> Api {
        Api {
            base: server.base.clone(),
            token,
            // evgate closes a kept-alive connection idle for its header
            // timeout (10 s by default); a client that keeps one in its pool
            // longer may send on it as it closes and read a reset (a CI run
            // failed so, after a 10 s pause in the Redis outage test).
            http: reqwest::Client::builder()
                .pool_idle_timeout(std::time::Duration::from_secs(5))
                .build()
                .expect("HTTP client"),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method = method.parse().expect("HTTP method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("evgate answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send("POST", path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> serde_json::Value {
        self.send("GET", path, None).await.1
    }

    /// A station at (52.5, 13.4); returns its id.
    pub async fn station(&self) -> String {
        let body = serde_json::json!({"name": "Depot", "latitude": 52.5, "longitude": 13.4});
        let (status, station) = self.post("/v1/admin/stations", body).await;
        assert_eq!(status, 201, "{station}");
        station["data"]["id"]
            .as_str()
            .expect("station id")
            .to_owned()
    }

    pub async fn charger(&self, station: &str, id: &str, profile: u8, password: Option<&str>) {
        let mut body = serde_json::json!({"chargePointId": id, "securityProfile": profile});
        if let Some(p) = password {
            body["password"] = serde_json::json!(p);
        }
        let (status, answer) = self
            .post(&format!("/v1/admin/stations/{station}/chargers"), body)
            .await;
        assert_eq!(status, 201, "{answer}");
    }

    /// Connector `n` of charger `id` (CCS, 50.5 kW); returns its id.
    pub async fn connector(&self, station: &str, id: &str, n: u32) -> String {
        let body = serde_json::json!({"chargePointId": id, "connectorId": n, "connectorType": "CCS", "powerKw": 50.5});
        let (status, c) = self
            .post(&format!("/v1/admin/stations/{station}/connectors"), body)
            .await;
        assert_eq!(status, 201, "{c}");
        c["data"]["id"].as_str().expect("connector id").to_owned()
    }
}
