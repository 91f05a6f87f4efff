//! OAuth Desk as it is really used: several `oauth-desk` processes at once on one data
//! directory, refresh tokens that rotate, company networks (a private CA, SSL_CERT_FILE,
//! proxies), no keyring, codes pasted the way users paste them, odd outputs.

mod common;

use common::*;
use oauth_desk_emulators::{salesforce, tls, user};
use std::sync::Arc;
use std::time::Duration;

/// Runs `n` copies of a command at once and returns their outputs.
async fn at_once(desk: &Arc<Desk>, n: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<std::process::Output> {
    let runs = (0..n).map(|i| {
        let (desk, args) = (desk.clone(), args(i));
        tokio::spawn(async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            desk.run(&refs, "").await
        })
    });
    futures::future::join_all(runs).await.into_iter().map(|r| r.unwrap()).collect()
}

fn failures(outs: &[std::process::Output]) -> Vec<String> {
    outs.iter().filter(|o| !o.status.success()).map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_processes_adding_profiles_at_once_lose_none() {
    let desk = Arc::new(Desk::new("twenty-adds"));
    let outs = at_once(&desk, 20, |i| {
        ["profile", "add", &format!("p{i:02}"), "--kind", "oauth2", "--token-url", "https://idp.example/token", "--client-id", "c"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    })
    .await;
    assert_eq!(failures(&outs), Vec::<String>::new());
    let list: serde_json::Value = serde_json::from_str(&desk.ok(&["profile", "list", "--json"], "").await).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 20, "every process's profile survives");
    let leftovers: Vec<String> = std::fs::read_dir(desk.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left: {leftovers:?}");
}

/// Signs `sf` in by the code flow (refresh token included), through `login url` and `login paste`.
async fn code_flow(desk: &Desk) {
    let url = desk.ok(&["login", "url", "sf"], "").await;
    let redirect = user::salesforce_sign_in(url.trim(), "ada@example.com", "Passw0rd!", true).await.unwrap();
    desk.ok(&["login", "paste", "sf", &redirect], "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_queries_after_expiry_renew_once_with_rotating_refresh_tokens() {
    let (em, srv) =
        salesforce::start(salesforce::Config { accounts: 300, rotate_refresh_tokens: true, ..Default::default() }, 0).await.unwrap();
    for n in [5, 20] {
        let desk = Arc::new(Desk::new(&format!("rotation-{n}")));
        salesforce_profile(&desk, &srv.base_url()).await;
        code_flow(&desk).await;
        em.expire_sessions();
        let before = em.stats().token_requests.get("refresh_token").copied().unwrap_or(0);
        let outs = at_once(&desk, n, |_| {
            ["query", "sf", "SELECT Id, Name FROM Account LIMIT 50", "--format", "csv", "--quiet"].iter().map(|s| s.to_string()).collect()
        })
        .await;
        assert_eq!(failures(&outs), Vec::<String>::new(), "{n} processes");
        for o in &outs {
            assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 51, "header and 50 rows");
        }
        let refreshes = em.stats().token_requests.get("refresh_token").copied().unwrap_or(0) - before;
        assert_eq!(refreshes, 1, "{n} processes renewed the token once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_by_flag_or_by_ssl_cert_file() {
    let pki = tls::Pki::new();
    let server = tls::serve_https(&pki.server(tls::Flaw::None), r#"{"access_token":"corp-token","token_type":"Bearer","expires_in":3600}"#)
        .await
        .unwrap();
    let desk = Desk::new("private-ca");
    let token_url = format!("{}/oauth2/token", server.base_url());
    desk.ok(
        &["profile", "add", "corp", "--kind", "oauth2", "--token-url", &token_url, "--client-id", "c", "--client-secret-stdin"],
        "s3cret\n",
    )
    .await;
    let stderr = desk.fails(&["login", "client-credentials", "corp"], "", 4).await;
    assert!(stderr.contains("does not trust"), "{stderr}");
    assert!(stderr.contains("--ca-cert FILE") && stderr.contains("SSL_CERT_FILE"), "the hint names the CA options: {stderr}");

    let ca = desk.dir.path().join("corporate-ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let mut with_env = desk.cmd(&["login", "client-credentials", "corp"]);
    with_env.env("SSL_CERT_FILE", &ca);
    let out = tokio::task::spawn_blocking(move || with_env.output().unwrap()).await.unwrap();
    assert!(out.status.success(), "SSL_CERT_FILE is honoured as curl and Python do: {}", String::from_utf8_lossy(&out.stderr));

    desk.ok(&["profile", "edit", "corp", "--ca-cert", ca.to_str().unwrap()], "").await;
    desk.ok(&["login", "client-credentials", "corp"], "").await;
    let not_pem = desk.dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let stderr = desk.fails(&["profile", "edit", "corp", "--ca-cert", not_pem.to_str().unwrap()], "", 2).await;
    assert!(stderr.contains("not.pem") && stderr.contains("BEGIN CERTIFICATE"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_from_the_environment() {
    let (_em, srv) = salesforce::start(salesforce::Config::default(), 0).await.unwrap();
    let proxy = tls::start_proxy().await.unwrap();
    let desk = Desk::new("proxy");
    salesforce_profile(&desk, &srv.base_url()).await;
    let run = |env: Vec<(&'static str, String)>| {
        let mut c = desk.cmd(&["versions", "sf"]);
        for (k, v) in env {
            c.env(k, v);
        }
        tokio::task::spawn_blocking(move || c.output().unwrap())
    };
    let out = run(vec![("HTTP_PROXY", proxy.running.base_url())]).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst), 1, "HTTP_PROXY carried the call");
    assert!(proxy.seen.lock().unwrap()[0].starts_with(&format!("GET {}/services/data/", srv.base_url())));
    let out = run(vec![("HTTP_PROXY", proxy.running.base_url()), ("NO_PROXY", "127.0.0.1".into())]).await.unwrap();
    assert!(out.status.success());
    assert_eq!(proxy.requests.load(std::sync::atomic::Ordering::SeqCst), 1, "NO_PROXY went around it");

    // HTTPS through a CONNECT tunnel, to a server of the private CA.
    let pki = tls::Pki::new();
    let server = tls::serve_https(&pki.server(tls::Flaw::None), r#"{"access_token":"via-proxy","expires_in":60}"#).await.unwrap();
    let ca = desk.dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    desk.ok(
        &[
            "profile",
            "add",
            "corp",
            "--kind",
            "oauth2",
            "--token-url",
            &format!("{}/token", server.base_url()),
            "--client-id",
            "c",
            "--ca-cert",
            ca.to_str().unwrap(),
            "--client-secret-stdin",
        ],
        "s\n",
    )
    .await;
    let mut c = desk.cmd(&["login", "client-credentials", "corp"]);
    c.env("HTTPS_PROXY", proxy.running.base_url());
    let out = tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        proxy.seen.lock().unwrap().iter().any(|s| s == &format!("CONNECT {}", server.addr)),
        "HTTPS_PROXY tunnelled it: {:?}",
        proxy.seen.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_nothing_pretends() {
    let desk = Desk::new("no-keyring");
    let no_bus = |args: &[&str], stdin: &'static str| {
        let mut c = desk.cmd(args);
        c.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/oauth-desk-test-bus").stdin(std::process::Stdio::piped());
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
            child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
            child.wait_with_output().unwrap()
        })
    };
    let out = no_bus(&["profile", "add", "wx", "--kind", "wechat_website", "--client-id", "wx1", "--client-secret-stdin"], "secret\n")
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains("Secret Service") && stderr.contains("--secrets memory") && stderr.contains("OAUTH_DESK_CLIENT_SECRET"),
        "{stderr}"
    );
    assert!(!desk.profiles_file().contains("wx1"), "no profile is left without its secret");

    // Without a secret to store, work goes on; a grant that needs the secret says so first.
    let out =
        no_bus(&["profile", "add", "wx", "--kind", "wechat_website", "--client-id", "wx1", "--redirect-uri", "https://a.example/cb"], "")
            .await
            .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = no_bus(&["login", "paste", "wx", "061code"], "").await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("profile `wx` has no AppSecret") && stderr.contains("--client-secret-stdin"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_are_pasted_the_way_users_paste_them() {
    let (_em, srv) = salesforce::start(salesforce::Config::default(), 0).await.unwrap();
    let desk = Desk::new("paste");
    salesforce_profile(&desk, &srv.base_url()).await;
    let code_of = |redirect: &str| url::Url::parse(redirect).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();

    // A bare code with its `==` padding.
    let url = desk.ok(&["login", "url", "sf"], "").await;
    let redirect = user::salesforce_sign_in(url.trim(), "ada@example.com", "Passw0rd!", true).await.unwrap();
    let code = code_of(&redirect);
    assert!(code.ends_with("=="), "Salesforce codes end in == ({code})");
    desk.ok(&["login", "paste", "sf", &code], "").await;

    // As the address bar shows it, percent-encoded, and from standard input (argv shows in ps).
    let url = desk.ok(&["login", "url", "sf"], "").await;
    let redirect = user::salesforce_sign_in(url.trim(), "ada@example.com", "Passw0rd!", true).await.unwrap();
    let encoded: String = url::form_urlencoded::byte_serialize(code_of(&redirect).as_bytes()).collect();
    assert!(encoded.ends_with("%3D%3D"));
    desk.ok(&["login", "paste", "sf"], &format!("{encoded}\n")).await;

    // A URL on another host or path is refused, naming both.
    let url = desk.ok(&["login", "url", "sf"], "").await;
    let redirect = user::salesforce_sign_in(url.trim(), "ada@example.com", "Passw0rd!", true).await.unwrap();
    let forged = redirect.replace("https://app.example.com/oauth/callback", "https://evil.example/oauth/callback");
    let stderr = desk.fails(&["login", "paste", "sf", &forged], "", 2).await;
    assert!(
        stderr.contains("`https://evil.example/oauth/callback` is not the redirect URI `https://app.example.com/oauth/callback`"),
        "{stderr}"
    );
    let other_path = redirect.replace("/oauth/callback", "/oauth/callback2");
    desk.fails(&["login", "paste", "sf", &other_path], "", 2).await;
    desk.ok(&["login", "paste", "sf", &redirect], "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_stay_bounded_and_in_place() {
    let (em, srv) = salesforce::start(salesforce::Config { accounts: 12_500, ..Default::default() }, 0).await.unwrap();
    let desk = Desk::new("outputs");
    salesforce_profile(&desk, &srv.base_url()).await;
    desk.ok(&["login", "password", "sf", "--password-stdin", "--security-token-stdin"], "Passw0rd!\nSECTOKEN42\n").await;

    // --max-rows fetches no page past the limit.
    let before = em.stats().pages_served;
    let out = desk
        .ok(&["query", "sf", "SELECT Id FROM Account", "--format", "csv", "--batch-size", "500", "--max-rows", "1000", "--quiet"], "")
        .await;
    assert_eq!(out.lines().count(), 1001);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(em.stats().pages_served - before, 2, "two pages of 500, not a third");

    // A table holds at most 10,000 rows and says how to get the rest.
    let out = desk.run(&["query", "sf", "SELECT Id FROM Account", "--format", "table"], "").await;
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("a table shows the first 10000"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() < 10_020);

    // --out /dev/null writes in place: /dev/null stays a device.
    desk.ok(&["query", "sf", "SELECT Id FROM Account LIMIT 10", "--format", "csv", "--out", "/dev/null", "--quiet"], "").await;
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device(), "/dev/null is still /dev/null");
}
