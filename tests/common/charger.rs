//! The PyPI `ocpp` charge point (`tests/peers/charger.py`) as a child
//! process: commands on its stdin, what it received and answered on stdout.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub struct Charger {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Lines read while looking for another kind.
    stashed: std::collections::VecDeque<Value>,
}

impl Charger {
    /// Starts a charger and waits until it is booted (Accepted).
    pub fn start(url: &str, version: &str, answer: &str) -> Charger {
        Self::start_with(url, version, answer, &[])
    }

    /// Like [`Charger::start`], with environment settings (`CHARGER_PASSWORD`,
    /// `CHARGER_CONFIG_ANSWER`; see charger.py).
    pub fn start_with(url: &str, version: &str, answer: &str, env: &[(&str, &str)]) -> Charger {
        let mut charger = Self::spawn(url, version, answer, env);
        charger.ready();
        charger
    }

    /// Waits for the charger's first accepted boot.
    pub fn ready(&mut self) {
        self.next_with("ready");
    }

    /// Starts a charger without waiting for its boot to be accepted.
    pub fn spawn(url: &str, version: &str, answer: &str, env: &[(&str, &str)]) -> Charger {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/charger.py");
        let mut child = Command::new("python3")
            .args([script, url, version, answer, "120"])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let line = if line == "READY" {
                    r#"{"ready": true}"#.to_owned()
                } else {
                    line
                };
                let _ = tx.send(line);
            }
        });
        Charger {
            child,
            lines,
            stashed: Default::default(),
        }
    }

    /// The next line that has `key`, keeping the others for later.
    pub fn next_with(&mut self, key: &str) -> Value {
        if let Some(i) = self.stashed.iter().position(|v| v.get(key).is_some()) {
            return self.stashed.remove(i).unwrap();
        }
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no {key:?} line from the charger within 20 s"));
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get(key).is_some() {
                return v;
            }
            self.stashed.push_back(v);
        }
    }

    /// The next request the charger received, passing over display
    /// messages and local-list updates (a charger is told about each
    /// booking on its screen and its list between the calls most tests
    /// look for); `received_any` sees them.
    pub fn received(&mut self) -> Value {
        loop {
            let request = self.received_any();
            if !matches!(
                request["action"].as_str(),
                Some(
                    "SetDisplayMessage"
                        | "ClearDisplayMessage"
                        | "SendLocalList"
                        | "GetLocalListVersion"
                )
            ) {
                return request;
            }
        }
    }

    /// The next `action` request the charger received, passing over others.
    pub fn received_action(&mut self, action: &str) -> Value {
        loop {
            let request = self.received_any();
            if request["action"] == action {
                return request;
            }
        }
    }

    /// The next request the charger received, whatever it is.
    pub fn received_any(&mut self) -> Value {
        self.next_with("action")
    }

    /// Runs a command (see charger.py) and returns its result.
    pub fn command(&mut self, line: &str) -> Value {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        self.next_with("result")["result"].clone()
    }
}

impl Drop for Charger {
    /// The charger goes away as a real one would: its socket drops.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
