//! Starts the real OpenID Connect server, `oidc-provider` (npm), from `tests/oidc`: it is not
//! emulated. Install it with `npm ci --prefix tests/oidc` (the README's test command does).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running `oidc-provider`, stopped when dropped.
pub struct Oidc {
    pub issuer: String,
    child: Child,
}

impl Drop for Oidc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn server_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc")
}

/// Starts it on a free 127.0.0.1 port and waits until it listens. Panics with what to do when
/// it cannot start: it is meant for tests.
pub fn start() -> Oidc {
    start_with(&[])
}

/// Starts it with these environment variables (`ROTATE_REFRESH_TOKENS=1`).
pub fn start_with(env: &[(&str, &str)]) -> Oidc {
    let dir = server_dir();
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "oidc-provider is not installed: run `npm ci --prefix tests/oidc` (the README's test command does)"
    );
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(&dir)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node must be on PATH to run oidc-provider");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("oidc-provider output");
    // Keep draining its output, so that a later write never meets a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let issuer = line.trim().strip_prefix("ready ").unwrap_or_else(|| panic!("oidc-provider said `{line}`")).to_string();
    Oidc { issuer, child }
}
