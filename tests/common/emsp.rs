//! The independent eMSP (`tests/peers/emsp.py`: Python's standard
//! library, raw JSON as the OCPI specification shows it) as a child
//! process: JSON commands on its stdin, one JSON answer each on stdout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

/// The Python eMSP as a child process.
pub struct Emsp {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Emsp {
    pub fn start() -> (Emsp, String) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/emsp.py");
        let mut child = Command::new("python3")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take().expect("stdin");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut emsp = Emsp {
            child,
            stdin,
            lines,
        };
        let ready = emsp.next();
        let versions = ready["versions"].as_str().expect("versions").to_owned();
        (emsp, versions)
    }

    pub fn next(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(40))
            .expect("the eMSP answers");
        serde_json::from_str(&line).expect("JSON line")
    }

    pub fn cmd(&mut self, cmd: Value) -> Value {
        writeln!(self.stdin, "{cmd}").expect("write");
        self.next()
    }

    /// GET (or another method) on evgate with token C.
    pub fn call(&mut self, method: &str, url: &str) -> Value {
        self.cmd(json!({"cmd": "call", "method": method, "url": url}))
    }

    /// The PATCHes evgate sent for `evse`, in order.
    pub fn patches_for(&mut self, evse: &str) -> Vec<Value> {
        self.cmd(json!({"cmd": "patches"}))["received"]
            .as_array()
            .expect("list")
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(evse)))
            .cloned()
            .collect()
    }

    /// Waits until evgate PATCHed `evse` to `status` (and the eMSP took
    /// it), looking at PATCHes after the first `after` only.
    pub fn await_status_after(&mut self, evse: &str, status: &str, after: usize) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(40);
        loop {
            let got = self.patches_for(evse);
            if let Some(p) = got
                .iter()
                .skip(after)
                .find(|p| p["body"]["status"] == status && p["refused"] == false)
            {
                return p.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no PATCH to {status} for {evse}; got {got:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn await_status(&mut self, evse: &str, status: &str) -> Value {
        self.await_status_after(evse, status, 0)
    }
}

impl Emsp {
    /// Waits until the eMSP received something at a path containing
    /// `path` that `want` accepts; returns it.
    pub fn await_received(&mut self, path: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(40);
        loop {
            let got = self.cmd(json!({"cmd": "received", "path": path}));
            if let Some(found) = got["received"]
                .as_array()
                .expect("list")
                .iter()
                .find(|r| want(r))
            {
                return found.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nothing as wanted at {path}; got {got}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Emsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
