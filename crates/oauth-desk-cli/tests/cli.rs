//! The `oauth-desk` binary end to end: every command, against the emulators and the real
//! oidc-provider on 127.0.0.1, with secrets in the real keyring (run through
//! scripts/with-keyring.sh). Each test has its own data directory and keyring service.

mod common;

use common::*;
use oauth_desk_emulators::{salesforce, user, wechat};
use std::io::BufRead;
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_are_created_edited_shared_and_hold_no_secret() {
    let desk = Desk::new("profiles");
    salesforce_profile(&desk, "https://acme.my.salesforce.com").await;
    let list = desk.ok(&["profile", "list"], "").await;
    assert!(list.contains("sf") && list.contains("salesforce"), "{list}");
    let show: serde_json::Value = serde_json::from_str(&desk.ok(&["profile", "show", "sf", "--json"], "").await).unwrap();
    assert_eq!(show["secrets_stored"]["client_secret"], true);
    assert_eq!(show["profile"]["provider"]["login"], "https://acme.my.salesforce.com");
    assert!(!show.to_string().contains(SF_SECRET), "show never prints a secret");
    assert!(!desk.profiles_file().contains(SF_SECRET), "no secret in profiles.json");

    desk.ok(&["profile", "edit", "sf", "--rename", "acme", "--api-version", "v61.0", "--param", "prompt=login"], "").await;
    desk.ok(&["profile", "duplicate", "acme", "acme-copy"], "").await;
    let export = desk.dir.path().join("export.json");
    desk.ok(&["profile", "export", "--out", export.to_str().unwrap()], "").await;
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(exported.contains("\"api_version\": \"61.0\"") && exported.contains("\"prompt\": \"login\""), "{exported}");
    assert!(!exported.contains(SF_SECRET));
    desk.ok(&["profile", "remove", "acme"], "").await;
    desk.ok(&["profile", "remove", "acme-copy"], "").await;
    let imported = desk.ok(&["profile", "import", export.to_str().unwrap()], "").await;
    assert!(imported.contains("acme, acme-copy"), "{imported}");
    let stderr = desk.fails(&["profile", "import", export.to_str().unwrap()], "", 2).await;
    assert!(stderr.contains("already exists"), "{stderr}");

    let stderr = desk.fails(&["profile", "add", "bad", "--kind", "salesforce", "--client-id", "x", "--login", "ftp://x"], "", 2).await;
    assert!(stderr.contains("Salesforce login host `ftp://x` must be an http(s) URL"), "{stderr}");
    let stderr =
        desk.fails(&["profile", "add", "w", "--kind", "wechat_website", "--client-id", "wx1", "--scope", "snsapi_base"], "", 2).await;
    assert!(stderr.contains("snsapi_login"), "{stderr}");
    let stderr = desk.fails(&["token", "nobody"], "", 2).await;
    assert!(stderr.contains("no profile named `nobody`") && stderr.contains("profiles here: acme"), "{stderr}");
    let stderr = desk.fails(&["profile", "add", "x", "--kind", "nonsense", "--client-id", "c"], "", 2).await;
    assert!(stderr.contains("unknown provider kind"), "{stderr}");
    desk.fails(&["query"], "", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_password_grant_and_queries_in_every_format() {
    let (_em, srv) = salesforce::start(salesforce::Config { accounts: 1000, ..Default::default() }, 0).await.unwrap();
    let desk = Desk::new("sf-password");
    salesforce_profile(&desk, &srv.base_url()).await;

    let stderr = desk.fails(&["login", "password", "sf", "--password-stdin", "--security-token-stdin"], "Passw0rd!\nWRONGTOKEN\n", 3).await;
    assert!(stderr.contains("authentication failure") && stderr.contains("Summer '23"), "{stderr}");
    assert!(!stderr.contains("Passw0rd!") && !stderr.contains("WRONGTOKEN") && !stderr.contains(SF_SECRET), "secrets in: {stderr}");

    let out =
        desk.ok(&["login", "password", "sf", "--password-stdin", "--security-token-stdin", "--remember"], "Passw0rd!\nSECTOKEN42\n").await;
    assert!(out.contains("with the password grant") && out.contains("estimated from the session length"), "{out}");
    assert!(!desk.profiles_file().contains("Passw0rd!"));

    let csv_path = desk.dir.path().join("accounts.csv");
    desk.ok(
        &[
            "query",
            "sf",
            "SELECT Id, Name, Owner.Name, Parent.Name FROM Account",
            "--format",
            "csv",
            "--batch-size",
            "200",
            "--out",
            csv_path.to_str().unwrap(),
        ],
        "",
    )
    .await;
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], r#""Id","Name","Owner.Name","Parent.Name""#, "every field quoted, as Bulk API 2.0 writes CSV");
    assert_eq!(lines.len(), 1 + 980, "980 live accounts, header first");
    assert!(lines.iter().any(|l| l.contains("\"Smith, Jones & \"\"Partners\"\" 000011\"")), "CSV quoting");
    assert!(csv.contains("腾讯示例科技有限公司 000007"), "UTF-8 kept");

    // Raw by default; a byte-order mark and formula guards on request.
    let raw = desk.ok(&["query", "sf", "SELECT Name, Description FROM Account LIMIT 6", "--format", "csv"], "").await;
    assert!(!raw.starts_with('\u{feff}') && raw.contains(",\"=HYPERLINK(") && raw.contains(",\"+1 call back"), "{raw}");
    let safe = desk
        .ok(&["query", "sf", "SELECT Name, Description FROM Account LIMIT 6", "--format", "csv", "--bom", "--guard-formulas"], "")
        .await;
    assert!(safe.starts_with("\u{feff}\"Name\",\"Description\"\n"), "{safe}");
    assert!(safe.contains(",\"'=HYPERLINK(") && safe.contains(",\"'+1 call back") && safe.contains("客户 6 的备注"), "{safe}");
    assert!(safe.contains("\"Key account 1.\nRenewal due in Q3;\tcontact: procurement.\""), "line breaks stay inside quotes: {safe}");
    let stderr = desk.fails(&["query", "sf", "SELECT Name FROM Account", "--bom"], "", 2).await;
    assert!(stderr.contains("--format csv"), "{stderr}");

    let json: serde_json::Value =
        serde_json::from_str(&desk.ok(&["query", "sf", "SELECT Name, Owner.Name FROM Account LIMIT 3", "--format", "json"], "").await)
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(json[1]["Owner"], serde_json::json!({"Name": "Grace Hopper"}), "nested, without attributes");
    let nd =
        desk.ok(&["query", "sf", "SELECT Id FROM Account", "--format", "ndjson", "--max-rows", "250", "--batch-size", "200"], "").await;
    assert_eq!(nd.lines().count(), 250, "stopped early");
    let all = desk.ok(&["query", "sf", "SELECT Id FROM Account", "--format", "ndjson", "--all"], "").await;
    assert_eq!(all.lines().count(), 1000, "queryAll includes deleted rows");
    let table = desk.ok(&["query", "sf", "SELECT Id, Name FROM Account LIMIT 2"], "").await;
    assert!(table.contains("Account 000002"), "{table}");

    let missing = desk.dir.path().join("never.csv");
    let stderr = desk.fails(&["query", "sf", "SELECT Id FRM Account", "--format", "csv", "--out", missing.to_str().unwrap()], "", 5).await;
    assert!(stderr.contains("MALFORMED_QUERY") && stderr.contains("unexpected token: 'FRM'"), "{stderr}");
    assert!(!missing.exists(), "a failed query leaves no file");
    let leftovers: Vec<_> = std::fs::read_dir(desk.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".oauth-desk-query"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");

    let token: serde_json::Value = serde_json::from_str(&desk.ok(&["token", "sf", "--json"], "").await).unwrap();
    assert_eq!(token["grant"], "password");
    assert_eq!(token["expiry_source"], "session_estimate");
    assert!(token["access_token"].as_str().unwrap().contains('…'), "masked by default");
    let full: serde_json::Value = serde_json::from_str(&desk.ok(&["token", "sf", "--json", "--show-secrets"], "").await).unwrap();
    assert!(full["access_token"].as_str().unwrap().starts_with("00DEMU"), "shown when asked");

    // The password was remembered, so a refresh renews with it.
    desk.ok(&["refresh", "sf"], "").await;
    let versions = desk.ok(&["versions", "sf"], "").await;
    assert!(versions.contains("62.0"));
    let id: serde_json::Value = serde_json::from_str(&desk.ok(&["identity", "sf"], "").await).unwrap();
    assert_eq!(id["username"], "ada@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_api_jobs_write_what_rest_writes_and_auto_switches_past_the_threshold() {
    let config =
        salesforce::Config { accounts: 3000, bulk_page_size: 500, bulk_processing: Duration::from_millis(100), ..Default::default() };
    let (em, srv) = salesforce::start(config, 0).await.unwrap();
    let desk = Desk::new("sf-bulk");
    salesforce_profile(&desk, &srv.base_url()).await;
    desk.ok(&["login", "password", "sf", "--password-stdin", "--security-token-stdin"], "Passw0rd!\nSECTOKEN42\n").await;
    let soql = "SELECT Id, Name, Owner.Name, AnnualRevenue, Description FROM Account";
    let path = |n: &str| desk.dir.path().join(n).to_str().unwrap().to_string();
    let read = |n: &str| std::fs::read(desk.dir.path().join(n)).unwrap();

    for (api, extra) in
        [("rest", vec![]), ("bulk", vec![]), ("rest", vec!["--bom", "--guard-formulas"]), ("bulk", vec!["--bom", "--guard-formulas"])]
    {
        let name = format!("{api}{}.csv", extra.len());
        let mut args = vec!["query", "sf", soql, "--format", "csv", "--api", api, "--out"];
        let out = path(&name);
        args.push(&out);
        args.extend(extra);
        let stderr = String::from_utf8_lossy(&desk.run(&args, "").await.stderr).to_string();
        let expect = if api == "rest" { "(REST API)" } else { "(Bulk API 2.0)" };
        assert!(stderr.contains("2940 of 2940 rows") && stderr.contains(expect), "{stderr}");
    }
    assert_eq!(read("rest0.csv"), read("bulk0.csv"), "byte for byte: quotes, line breaks, formulas, Chinese, nulls");
    assert_eq!(read("rest2.csv"), read("bulk2.csv"), "with a byte-order mark and guarded formulas");
    assert!(String::from_utf8(read("bulk2.csv")).unwrap().contains(",\"'=HYPERLINK("));
    let stats = em.stats();
    assert_eq!((stats.bulk_jobs_created, stats.bulk_jobs_deleted), (2, 2), "each job deleted once read");

    // auto: REST's first page says 2940 rows, over the threshold: the rest comes from a job.
    let out = desk
        .run(&["query", "sf", soql, "--format", "csv", "--bulk-threshold", "1000", "--bulk-after", "0", "--out", &path("auto.csv")], "")
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("running the query as a Bulk API 2.0 job") && stderr.contains("(Bulk API 2.0)"), "{stderr}");
    assert_eq!(read("auto.csv"), read("rest0.csv"));
    // Under the threshold, or a query Bulk cannot run, or not CSV: REST, and no job.
    let created = em.stats().bulk_jobs_created;
    let small = desk.run(&["query", "sf", soql, "--format", "csv", "--bulk-after", "0", "--out", &path("small.csv")], "").await;
    assert!(String::from_utf8_lossy(&small.stderr).contains("(REST API)"));
    // Over the threshold, but REST is quick here (loopback): REST.
    let quick = desk.run(&["query", "sf", soql, "--format", "csv", "--bulk-threshold", "1000", "--out", &path("quick.csv")], "").await;
    assert!(String::from_utf8_lossy(&quick.stderr).contains("(REST API)"), "{}", String::from_utf8_lossy(&quick.stderr));
    assert_eq!(read("quick.csv"), read("rest0.csv"));
    let sub = desk
        .ok(&["query", "sf", "SELECT Id, (SELECT LastName FROM Contacts) FROM Account", "--format", "csv", "--bulk-threshold", "10"], "")
        .await;
    assert!(sub.contains("Contact0000001"), "the sub-query ran on REST");
    desk.ok(&["query", "sf", soql, "--format", "ndjson", "--bulk-threshold", "10", "--bulk-after", "0", "--quiet"], "").await;
    assert_eq!(em.stats().bulk_jobs_created, created, "no job for those");

    // A query Salesforce will not run as a job, though it looks as if it could: auto runs it on
    // REST after all.
    reqwest::Client::new()
        .post(format!(
            "{}/__emulator/bulk-next?outcome=fail&message=FeatureNotEnabled%20:%20not%20supported%20in%20Bulk%20Query",
            srv.base_url()
        ))
        .send()
        .await
        .unwrap();
    let out = desk
        .run(&["query", "sf", soql, "--format", "csv", "--bulk-threshold", "1000", "--bulk-after", "0", "--out", &path("fallback.csv")], "")
        .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Bulk API 2.0 would not run it") && stderr.contains("(REST API)"), "{stderr}");
    assert_eq!(read("fallback.csv"), read("rest0.csv"));

    // What Bulk cannot do is said before anything is sent.
    let e = desk.fails(&["query", "sf", soql, "--api", "bulk", "--format", "json"], "", 2).await;
    assert!(e.contains("Bulk API 2.0 returns CSV"), "{e}");
    let e = desk
        .fails(&["query", "sf", "SELECT Id, (SELECT LastName FROM Contacts) FROM Account", "--api", "bulk", "--format", "csv"], "", 2)
        .await;
    assert!(e.contains("sub-query") && e.contains("--api rest"), "{e}");

    // A job Salesforce fails: its words, no file, the job deleted.
    reqwest::Client::new()
        .post(format!("{}/__emulator/bulk-next?outcome=fail&message=InternalServerError", srv.base_url()))
        .send()
        .await
        .unwrap();
    let failed = desk.run(&["query", "sf", soql, "--api", "bulk", "--format", "csv", "--out", &path("failed.csv")], "").await;
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("failed") && stderr.contains("InternalServerError"), "{stderr}");
    assert!(!desk.dir.path().join("failed.csv").exists());
    let stats = em.stats();
    assert_eq!(stats.bulk_jobs_created, stats.bulk_jobs_deleted, "every job deleted, the failed one too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_code_flow_by_pasting_the_redirect_then_revoke() {
    let (em, srv) = salesforce::start(salesforce::Config::default(), 0).await.unwrap();
    let desk = Desk::new("sf-paste");
    salesforce_profile(&desk, &srv.base_url()).await;
    let url = desk.ok(&["login", "url", "sf"], "").await;
    let redirect = user::salesforce_sign_in(url.trim(), "ada@example.com", "Passw0rd!", true).await.unwrap();
    let out = desk.ok(&["login", "paste", "sf", &redirect], "").await;
    assert!(out.contains("authorization_code grant") && out.contains("refresh token"), "{out}");
    em.expire_sessions();
    let info: serde_json::Value = serde_json::from_str(&desk.ok(&["userinfo", "sf"], "").await).unwrap();
    assert_eq!(info["email"], "ada@example.com", "refreshed after 401 INVALID_SESSION_ID");
    assert_eq!(em.stats().token_requests.get("refresh_token"), Some(&1));

    // A redirect from another attempt is refused.
    let url2 = desk.ok(&["login", "url", "sf"], "").await;
    let url3 = desk.ok(&["login", "url", "sf"], "").await;
    let stale = user::salesforce_sign_in(url2.trim(), "ada@example.com", "Passw0rd!", true).await.unwrap();
    let _ = url3;
    let stderr = desk.fails(&["login", "paste", "sf", &stale], "", 3).await;
    assert!(stderr.contains("state does not match"), "{stderr}");

    let denied_url = desk.ok(&["login", "url", "sf"], "").await;
    let denied = user::salesforce_sign_in(denied_url.trim(), "ada@example.com", "Passw0rd!", false).await.unwrap();
    let stderr = desk.fails(&["login", "paste", "sf"], &format!("{denied}\n"), 3).await;
    assert!(stderr.contains("declined") && stderr.contains("access_denied"), "{stderr}");

    desk.ok(&["revoke", "sf", "--refresh"], "").await;
    let stderr = desk.fails(&["identity", "sf"], "", 3).await;
    assert!(stderr.contains("no token"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_with_a_loopback_redirect() {
    let (_em, srv) = salesforce::start(salesforce::Config::default(), 0).await.unwrap();
    let desk = Desk::new("sf-browser");
    salesforce_profile(&desk, &srv.base_url()).await;
    let run =
        Waiting::start(&desk, &["login", "browser", "sf", "--no-open", "--port", "0", "--wait", "30"], |l| l.starts_with("http")).await;
    let url = run.line.clone();
    let loopback = user::salesforce_sign_in(&url, "ada@example.com", "Passw0rd!", true).await.unwrap();
    assert!(loopback.starts_with("http://127.0.0.1:") && loopback.contains("/callback?code="), "{loopback}");
    let page = reqwest::get(&loopback).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("You can close this tab"));
    let stdout = run.finish().await;
    assert!(stdout.contains("authorization_code grant"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wechat_code_from_the_phone_userinfo_and_token_check() {
    let (em, srv) = wechat::start(wechat::Config::default(), 0).await.unwrap();
    let desk = Desk::new("wechat");
    let app = &wechat::Config::default().apps[0];
    desk.ok(
        &[
            "profile",
            "add",
            "wx",
            "--kind",
            "wechat_official_account",
            "--client-id",
            &app.appid,
            "--scope",
            "snsapi_userinfo",
            "--redirect-uri",
            "https://wx.example.com/cb",
            "--open-base",
            &srv.base_url(),
            "--api-base",
            &srv.base_url(),
            "--client-secret-stdin",
        ],
        &format!("{}\n", app.secret),
    )
    .await;
    let url = desk.ok(&["login", "url", "wx"], "").await;
    assert!(url.trim().ends_with("#wechat_redirect"));
    let redirect = user::wechat_authorize(url.trim(), true).await.unwrap();
    let code = url::Url::parse(&redirect).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    desk.ok(&["login", "paste", "wx", &code], "").await;
    let info: serde_json::Value = serde_json::from_str(&desk.ok(&["userinfo", "wx", "--lang", "en"], "").await).unwrap();
    assert_eq!(info["nickname"], "微信用户 Ada");
    assert!(desk.ok(&["check", "wx"], "").await.contains("is valid"));
    em.expire_tokens();
    let stderr = desk.fails(&["check", "wx"], "", 3).await;
    assert!(stderr.contains("42001") && stderr.contains("request id"), "{stderr}");
    desk.ok(&["userinfo", "wx"], "").await;
    assert_eq!(em.stats().refresh_calls, 1);
    let stderr = desk.fails(&["login", "paste", "wx", &code], "", 3).await;
    assert!(stderr.contains("40163") && stderr.contains("single-use"), "{stderr}");
    let stderr = desk.fails(&["login", "password", "wx"], "", 3).await;
    assert!(stderr.contains("WeChat has no password grant"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_oidc_client_credentials_password_request_and_introspect() {
    let oidc = oauth_desk_emulators::oidc::start();
    let desk = Desk::new("oidc");
    desk.ok(
        &[
            "profile",
            "add",
            "idp",
            "--kind",
            "oauth2",
            "--issuer",
            &oidc.issuer,
            "--client-id",
            "desk-post",
            "--client-auth",
            "body",
            "--scope",
            "openid email",
            "--username",
            "ada",
            "--client-secret-stdin",
        ],
        "desk-post-secret\n",
    )
    .await;
    desk.ok(&["login", "client-credentials", "idp"], "").await;
    let i: serde_json::Value = serde_json::from_str(&desk.ok(&["introspect", "idp"], "").await).unwrap();
    assert_eq!(i["active"], true);
    desk.ok(&["login", "password", "idp", "--password-stdin"], "Passw0rd!\n").await;
    let me: serde_json::Value = serde_json::from_str(&desk.ok(&["request", "idp", "GET", "/me"], "").await).unwrap();
    assert_eq!(me["sub"], "ada");
    let info: serde_json::Value = serde_json::from_str(&desk.ok(&["userinfo", "idp"], "").await).unwrap();
    assert_eq!(info["email"], "ada@example.com");
    let included = desk.ok(&["request", "idp", "GET", "/me", "-i"], "").await;
    assert!(included.starts_with("HTTP 200"), "{included}");
    desk.ok(&["revoke", "idp"], "").await;
    desk.fails(&["userinfo", "idp"], "", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_name_the_kind_of_failure() {
    let desk = Desk::new("exits");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    desk.ok(
        &[
            "profile",
            "add",
            "dead",
            "--kind",
            "oauth2",
            "--token-url",
            &format!("http://127.0.0.1:{port}/token"),
            "--client-id",
            "c",
            "--client-secret-stdin",
        ],
        "s\n",
    )
    .await;
    let stderr = desk.fails(&["login", "client-credentials", "dead"], "", 4).await;
    assert!(stderr.contains("could not connect") && stderr.contains("code: connection_failed"), "{stderr}");
    desk.fails(&["login", "--bogus"], "", 2).await;
    desk.fails(&["refresh", "dead"], "", 3).await;

    // Without a keyring: secrets for this run only, said out loud.
    let out = desk.run(&["--secrets", "memory", "login", "client-credentials", "dead"], "").await;
    assert_eq!(out.status.code(), Some(3), "no client secret in memory: {}", String::from_utf8_lossy(&out.stderr));
}

/// `node tests/e2e/har.mjs FILE SECRET...`: HAR 1.2 by the community schema, and none of the secrets.
async fn assert_valid_har(path: &std::path::Path, secrets: &[&str]) {
    let checker = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/har.mjs");
    let out = tokio::process::Command::new("node").arg(&checker).arg(path).args(secrets).output().await.expect("node runs");
    assert!(out.status.success(), "{} is not valid HAR or holds a secret:\n{}", path.display(), String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_and_har_show_every_exchange_with_secrets_masked() {
    let (_em, srv) = salesforce::start(salesforce::Config { accounts: 500, ..Default::default() }, 0).await.unwrap();
    let desk = Desk::new("trace-har");
    salesforce_profile(&desk, &srv.base_url()).await;
    let har = desk.dir.path().join("login.har");
    let out = desk
        .run(
            &[
                "login",
                "password",
                "sf",
                "--password-stdin",
                "--security-token-stdin",
                "--remember",
                "--trace",
                "--har",
                har.to_str().unwrap(),
            ],
            "Passw0rd!\nSECTOKEN42\n",
        )
        .await;
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("> POST {}/services/oauth2/token", srv.base_url())), "{stderr}");
    assert!(stderr.contains("client_secret=[masked:client_secret]") && stderr.contains("password=[masked:password]"), "{stderr}");
    assert!(stderr.contains("< 200 OK") && stderr.contains(r#""access_token":"[masked:access_token]""#), "{stderr}");
    let token: serde_json::Value = serde_json::from_str(&desk.ok(&["token", "sf", "--json", "--show-secrets"], "").await).unwrap();
    let access = token["access_token"].as_str().unwrap().to_string();
    for secret in [SF_SECRET, "Passw0rd!", "SECTOKEN42", access.as_str()] {
        assert!(!stderr.contains(secret), "the trace printed a secret");
    }
    assert_valid_har(&har, &[SF_SECRET, "Passw0rd!", "SECTOKEN42", &access]).await;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    let entries = doc["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "the token request, then the org's keys to verify the ID token with");
    assert_eq!((entries[0]["_purpose"].as_str(), entries[0]["_grant"].as_str()), (Some("token"), Some("password")));
    assert!(entries[1]["request"]["url"].as_str().unwrap().ends_with("/id/keys"));
    let view: serde_json::Value = serde_json::from_str(&desk.ok(&["token", "sf", "--json"], "").await).unwrap();
    assert_eq!(view["id_token_check"]["status"], "verified", "{view}");

    // A failed command still writes its HAR: the exchange that failed is the one worth seeing.
    let failed = desk.dir.path().join("failed.har");
    let stderr = desk.fails(&["query", "sf", "SELECT Id FRM Account", "--har", failed.to_str().unwrap()], "", 5).await;
    assert!(stderr.contains("MALFORMED_QUERY"), "{stderr}");
    assert_valid_har(&failed, &[SF_SECRET, &access]).await;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&failed).unwrap()).unwrap();
    let entry = &doc["log"]["entries"][0];
    assert_eq!(entry["response"]["status"], 400);
    assert!(entry["response"]["content"]["text"].as_str().unwrap().contains("MALFORMED_QUERY"));
    assert!(entry["request"]["headers"].to_string().contains("Bearer [masked:access_token]"));

    // Without --trace or --har nothing is recorded and nothing is printed about exchanges.
    let out = desk.run(&["identity", "sf"], "").await;
    assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("> GET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_bearer_with_a_created_key_renews_by_itself() {
    let (em, srv) = salesforce::start(salesforce::Config { accounts: 50, ..Default::default() }, 0).await.unwrap();
    let desk = Desk::new("sf-jwt");
    salesforce_profile(&desk, &srv.base_url()).await;
    let cert = desk.dir.path().join("server.crt");

    // A certificate is not a key; a missing key says how to get one.
    std::fs::write(desk.dir.path().join("not-a-key.pem"), "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").unwrap();
    let e = desk.fails(&["key", "import", "sf", desk.dir.path().join("not-a-key.pem").to_str().unwrap()], "", 2).await;
    assert!(e.contains("certificate, not a private key"), "{e}");
    let e = desk.fails(&["login", "jwt", "sf"], "", 3).await;
    assert!(e.contains("no private key") && e.contains("create a key"), "{e}");

    let out = desk.ok(&["key", "create", "sf", "--cert-out", cert.to_str().unwrap()], "").await;
    assert!(out.trim().ends_with("server.crt"), "{out}");
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(!desk.profiles_file().contains("PRIVATE KEY"), "the key is in the keyring, not the profile file");
    let again = desk.fails(&["key", "create", "sf", "--cert-out", cert.to_str().unwrap()], "", 2).await;
    assert!(again.contains("already has a private key") && again.contains("--force"), "{again}");

    // The admin uploads the certificate to the connected app; the CLI signs in as the user.
    let r = reqwest::Client::new().post(format!("{}/__emulator/jwt-certificate", srv.base_url())).body(pem).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let out = desk.ok(&["login", "jwt", "sf"], "").await;
    assert!(out.contains("jwt_bearer") || out.contains("JWT bearer"), "{out}");
    let q = desk.ok(&["query", "sf", "SELECT Id FROM Account LIMIT 3", "--format", "csv", "--quiet"], "").await;
    assert_eq!(q.lines().count(), 4);

    // The org ends the session: the next command signs a new assertion, no user action.
    em.expire_sessions();
    let q = desk.ok(&["query", "sf", "SELECT Id FROM Account LIMIT 3", "--format", "csv", "--quiet"], "").await;
    assert_eq!(q.lines().count(), 4);
    assert_eq!(em.stats().token_requests.get("urn:ietf:params:oauth:grant-type:jwt-bearer"), Some(&2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_cli_auth_urls_in_and_out() {
    let (_em, srv) = salesforce::start(salesforce::Config { accounts: 20, ..Default::default() }, 0).await.unwrap();
    let desk = Desk::new("sfdx-url");
    salesforce_profile(&desk, &srv.base_url()).await;
    // A token with a refresh token, from the code flow (pasted redirect).
    let url = desk.ok(&["login", "url", "sf"], "").await;
    let redirect = user::salesforce_sign_in(url.trim(), "ada@example.com", "Passw0rd!", true).await.unwrap();
    desk.ok(&["login", "paste", "sf", &redirect], "").await;

    let out = desk.run(&["sfdx-url", "sf"], "").await;
    assert!(out.status.success());
    let auth = String::from_utf8(out.stdout).unwrap();
    assert!(auth.starts_with("force://3MVG9EMULATOR.consumer.key:"), "{auth}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Keep it like a password"));

    // Into a new profile from standard input (never argv), then used at once.
    let out = desk.ok(&["login", "sfdx-url", "from-sf"], &auth).await;
    assert!(out.contains("from-sf") && out.contains("refresh_token"), "{out}");
    let q = desk.ok(&["query", "from-sf", "SELECT Id FROM Account LIMIT 2", "--format", "csv", "--quiet"], "").await;
    assert_eq!(q.lines().count(), 3);

    // Malformed: the part is named, the secret is not shown, nothing is created.
    let e = desk.fails(&["login", "sfdx-url", "broken"], "force://3MVG9EMULATOR.consumer.key:5AepSECRET@acme.my.salesforce.com\n", 2).await;
    assert!(e.contains("two colons") && !e.contains("5AepSECRET"), "{e}");
    let list = desk.ok(&["profile", "list", "--json"], "").await;
    assert!(!list.contains("broken"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_every_profile_and_its_exit_code_says_whether_scripts_can_run() {
    let (_em, srv) = salesforce::start(salesforce::Config { accounts: 5, ..Default::default() }, 0).await.unwrap();
    let desk = Desk::new("status");
    assert!(desk.ok(&["status"], "").await.contains("No profiles"));
    salesforce_profile(&desk, &srv.base_url()).await;
    desk.ok(&["login", "password", "sf", "--password-stdin", "--security-token-stdin", "--remember"], "Passw0rd!\nSECTOKEN42\n").await;
    desk.ok(&["profile", "add", "gen", "--kind", "oauth2", "--token-url", "https://idp.example/token", "--client-id", "c"], "").await;

    let e = desk.fails(&["status"], "", 3).await;
    assert!(e.contains("no usable token for: gen"), "{e}");
    let out = desk.run(&["status", "--json"], "").await;
    assert_eq!(out.status.code(), Some(3));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sf = all.as_array().unwrap().iter().find(|s| s["name"] == "sf").unwrap();
    assert_eq!(sf["state"], "valid");
    assert_eq!(sf["usable"], true);
    assert_eq!(sf["expiry_source"], "session_estimate", "Salesforce's expiry is an estimate, and says so");
    assert_eq!(sf["renews_by"], "password", "the stored password renews it");
    let table = String::from_utf8(desk.run(&["status"], "").await.stdout).unwrap();
    assert!(table.contains("(estimated)") && table.contains("signed out"), "{table}");

    desk.ok(&["profile", "remove", "gen"], "").await;
    desk.ok(&["status"], "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_grant_prints_a_code_and_a_qr_code_and_waits_for_approval() {
    let oidc = oauth_desk_emulators::oidc::start();
    let desk = Desk::new("device");
    desk.ok(
        &[
            "profile",
            "add",
            "tv",
            "--kind",
            "oauth2",
            "--issuer",
            &oidc.issuer,
            "--client-id",
            "desk-post",
            "--client-auth",
            "body",
            "--scope",
            "openid",
            "--client-secret-stdin",
        ],
        "desk-post-secret\n",
    )
    .await;
    let run = Waiting::start(&desk, &["login", "device", "tv"], |l| l.starts_with("http") && l.contains("user_code=")).await;
    let (seen, url) = (run.seen.clone(), run.line.clone());
    assert!(seen.contains("enter the code"), "{seen}");
    assert!(['\u{2580}', '\u{2584}', '\u{2588}'].iter().any(|c| seen.contains(*c)), "a QR code in block characters:\n{seen}");
    user::oidc_device_approve(&url, "ada", "x", false).await.unwrap();
    assert!(run.finish().await.contains("device_code grant"));
}

/// A CLI command that prints something on standard error to act on (a URL) and then waits.
/// The reader is kept until the command ends: dropping it would close the pipe, and the CLI's
/// next line on standard error would fail with EPIPE.
struct Waiting {
    child: std::process::Child,
    stderr: std::io::BufReader<std::process::ChildStderr>,
    /// Standard error up to and including `line`.
    seen: String,
    /// The first line (trimmed) that matched.
    line: String,
}

impl Waiting {
    async fn start(desk: &Desk, args: &[&str], wanted: fn(&str) -> bool) -> Waiting {
        let mut child = desk.cmd(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let (seen, line, stderr) = tokio::task::spawn_blocking(move || {
            let (mut seen, mut line) = (String::new(), String::new());
            loop {
                line.clear();
                assert!(stderr.read_line(&mut line).unwrap() > 0, "the CLI ended before printing what was awaited:\n{seen}");
                seen.push_str(&line);
                if wanted(line.trim()) {
                    return (seen, line.trim().to_string(), stderr);
                }
            }
        })
        .await
        .unwrap();
        Waiting { child, stderr, seen, line }
    }

    /// Waits for the command to succeed; its standard output.
    async fn finish(self) -> String {
        let Waiting { child, mut stderr, .. } = self;
        let (out, rest) = tokio::task::spawn_blocking(move || {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
            (child.wait_with_output().unwrap(), rest)
        })
        .await
        .unwrap();
        assert!(out.status.success(), "{:?}: {rest}", out.status);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
