//! Helpers for the CLI's tests: a data directory and keyring service of its own per test, the
//! binary run off the async runtime, a Salesforce profile on an emulator.
#![allow(dead_code)]

use oauth_desk_emulators::salesforce;
use std::io::Write;
use std::process::{Command, Output, Stdio};

pub struct Desk {
    pub dir: tempfile::TempDir,
    pub service: String,
}

impl Desk {
    pub fn new(test: &str) -> Self {
        Desk { dir: tempfile::tempdir().unwrap(), service: format!("oauth-desk-cli-test-{}-{test}", std::process::id()) }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("oauth-desk"));
        c.args(args)
            .env("OAUTH_DESK_DATA_DIR", self.dir.path())
            .env("OAUTH_DESK_KEYRING_SERVICE", &self.service)
            .env_remove("OAUTH_DESK_CLIENT_SECRET")
            .env_remove("OAUTH_DESK_PASSWORD")
            .env_remove("OAUTH_DESK_SECURITY_TOKEN")
            .env_remove("OAUTH_DESK_SECRETS");
        c
    }

    /// Runs a command off the async runtime (the emulators serve on it meanwhile).
    pub async fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut c = self.cmd(args);
        let input = stdin.to_string();
        tokio::task::spawn_blocking(move || {
            let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("oauth-desk runs");
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }

    pub async fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin).await;
        assert!(
            out.status.success(),
            "`oauth-desk {}` failed ({:?}):\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub async fn fails(&self, args: &[&str], stdin: &str, code: i32) -> String {
        let out = self.run(args, stdin).await;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "`oauth-desk {}` exit code; stderr:\n{stderr}", args.join(" "));
        stderr
    }

    pub fn profiles_file(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("profiles.json")).unwrap_or_default()
    }
}

pub const SF_SECRET: &str = "EMULATOR0CONSUMER0SECRET";

pub async fn salesforce_profile(desk: &Desk, base: &str) {
    let c = salesforce::Config::default();
    desk.ok(
        &[
            "profile",
            "add",
            "sf",
            "--kind",
            "salesforce",
            "--login",
            base,
            "--client-id",
            &c.client_id,
            "--username",
            "ada@example.com",
            "--redirect-uri",
            "https://app.example.com/oauth/callback",
            "--client-secret-stdin",
        ],
        &format!("{SF_SECRET}\n"),
    )
    .await;
}
