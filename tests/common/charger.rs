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
    pub fn start(url: &str, version: &str, answer: &str) -> Charger {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/charger.py");
        let mut child = Command::new("python3")
            .args([script, url, version, answer, "120"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let charger = Charger {
            child,
            lines,
            stashed: Default::default(),
        };
        let ready = charger
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("charger ready");
        assert_eq!(ready, "READY");
        charger
    }

    /// The next line that has `key`, keeping the others for later.
    pub fn next_with(&mut self, key: &str) -> Value {
        if let Some(i) = self.stashed.iter().position(|v| v.get(key).is_some()) {
            return self.stashed.remove(i).unwrap();
        }
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .expect("a line from the charger");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get(key).is_some() {
                return v;
            }
            self.stashed.push_back(v);
        }
    }

    /// The next request the charger received.
    pub fn received(&mut self) -> Value {
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
