//! Hostile and odd servers: URLs handed back that would carry the token elsewhere, paging that
//! loops or overflows, token responses real servers send that strict clients refuse, control
//! characters in error text, and forged requests at the loopback listener.

mod common;

use common::*;
use futures::StreamExt;
use oauth_desk_core::profile::{Oauth2Config, SalesforceConfig};
use oauth_desk_core::providers::salesforce::{QueryOptions, SalesforceApi};
use oauth_desk_core::token::ExpirySource;
use oauth_desk_core::{providers, PasswordCredentials, Profile, ProfileSecrets, Provider, Secret, Session};
use oauth_desk_emulators::hostile::{self, Script};
use oauth_desk_emulators::{salesforce, user};
use serde_json::json;
use std::time::Duration;

const TOKEN: &str = "00Dxx!HOSTILE.session";

fn sf_session_at(base: &str) -> Session {
    let mut p = Profile::new("sf", "client", Provider::Salesforce(SalesforceConfig { login: base.to_string(), ..Default::default() }));
    p.username = Some("ada@example.com".into());
    let secrets = ProfileSecrets { client_secret: Some(Secret::new("s")), password: Some(Secret::new("p")), ..Default::default() };
    providers::session(p, secrets, transport(), system())
}

fn token_response(script: &Script, extra: serde_json::Value) {
    let mut body = json!({"access_token": TOKEN, "token_type": "Bearer", "issued_at": "1"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    script.json("/services/oauth2/token", body);
}

fn bearers(script: &Script) -> usize {
    script.seen().iter().filter(|s| s.bearer.is_some()).count()
}

#[tokio::test]
async fn urls_handed_back_never_carry_the_token_elsewhere() {
    let (script, srv) = hostile::start().await.unwrap();
    let (thief, thief_srv) = hostile::start().await.unwrap();
    let base = srv.base_url();

    // instance_url over plain http to a host the user never chose.
    token_response(&script, json!({"instance_url": "http://evil.example", "id": format!("{base}/id/00D/005")}));
    let s = sf_session_at(&base);
    s.grant_password(PasswordCredentials::default()).await.unwrap();
    let e = SalesforceApi::of(&s).unwrap().query("SELECT Id FROM Account", QueryOptions::default()).next().await.unwrap().unwrap_err();
    assert!(e.message.contains("`http://evil.example") && e.message.contains("not https: the token is not sent there"), "{e}");
    let e = SalesforceApi::of(&s).unwrap().userinfo().await.unwrap_err();
    assert!(e.message.contains("not https"), "{e}");

    // The identity URL over plain http.
    token_response(&script, json!({"instance_url": base, "id": "http://evil.example/id/00D/005"}));
    let s = sf_session_at(&base);
    s.grant_password(PasswordCredentials::default()).await.unwrap();
    let e = SalesforceApi::of(&s).unwrap().identity().await.unwrap_err();
    assert!(e.message.contains("identity URL `http://evil.example/id/00D/005` is not https"), "{e}");

    // A nextRecordsUrl naming another host (here another server on loopback).
    token_response(&script, json!({"instance_url": base}));
    let steal = format!("{}/services/data/v62.0/query/01g-2000", thief_srv.base_url());
    script.json("/services/data/v62.0/query", json!({"totalSize": 4000, "done": false, "nextRecordsUrl": steal, "records": [{"Id": "1"}]}));
    let s = sf_session_at(&base);
    s.grant_password(PasswordCredentials::default()).await.unwrap();
    let pages: Vec<_> = SalesforceApi::of(&s).unwrap().query("SELECT Id FROM Account", QueryOptions::default()).collect().await;
    let e = pages[1].as_ref().unwrap_err();
    assert!(e.message.contains("is not a path on the instance: the token is not sent there"), "{e}");
    assert!(thief.seen().is_empty(), "the other host got nothing: {:?}", thief.seen());
    assert!(script.seen().iter().all(|r| r.bearer.is_none() || r.bearer.as_deref() == Some(TOKEN)));
    assert_eq!(bearers(&script), 1, "the token went to the instance once, for the first page");
}

#[tokio::test]
async fn paging_that_loops_or_overflows_stops() {
    let (script, srv) = hostile::start().await.unwrap();
    let base = srv.base_url();
    token_response(&script, json!({"instance_url": base}));
    let s = sf_session_at(&base);
    s.grant_password(PasswordCredentials::default()).await.unwrap();

    let looping = "/services/data/v62.0/query/01g-loop";
    script.json(
        "/services/data/v62.0/query",
        json!({"totalSize": 1000000, "done": false, "nextRecordsUrl": looping, "records": [{"Id": "1"}]}),
    );
    script.json(looping, json!({"totalSize": 1000000, "done": false, "nextRecordsUrl": looping, "records": [{"Id": "2"}]}));
    let pages: Vec<_> = SalesforceApi::of(&s).unwrap().query("SELECT Id FROM Account", QueryOptions::default()).collect().await;
    assert!(pages.len() <= 3, "the loop is cut at once, not after thousands of pages: {}", pages.len());
    let e = pages.last().unwrap().as_ref().unwrap_err();
    assert!(e.message.contains("the same nextRecordsUrl twice"), "{e}");

    script.json("/services/data/v62.0/query", json!({"totalSize": 2, "done": false, "nextRecordsUrl": "/services/data/v62.0/query/01g-more", "records": [{"Id": "1"}, {"Id": "2"}]}));
    script.json("/services/data/v62.0/query/01g-more", json!({"totalSize": 2, "done": true, "records": [{"Id": "3"}]}));
    let pages: Vec<_> = SalesforceApi::of(&s).unwrap().query("SELECT Id FROM Account", QueryOptions::default()).collect().await;
    let e = pages.last().unwrap().as_ref().unwrap_err();
    assert!(e.message.contains("3 records where totalSize promised 2"), "{e}");
}

#[tokio::test]
async fn odd_token_responses_are_read_not_refused() {
    let (script, srv) = hostile::start().await.unwrap();
    let p = Profile::new(
        "o",
        "c",
        Provider::Oauth2(Oauth2Config { token_url: Some(format!("{}/token", srv.base_url())), ..Default::default() }),
    );
    let s = providers::session(p, ProfileSecrets { client_secret: Some(Secret::new("s")), ..Default::default() }, transport(), system());
    let cases = [
        (json!(1.5), Some(1_500)),
        (json!(-3600), None),
        (json!(1e17), Some(oauth_desk_core::token::MAX_LIFETIME_SECS as i64 * 1000)),
        (json!("100000000000000000"), Some(oauth_desk_core::token::MAX_LIFETIME_SECS as i64 * 1000)),
        (json!("3600"), Some(3_600_000)),
        (json!({"nested": true}), None),
    ];
    for (expires_in, lifetime) in cases {
        script.json("/token", json!({"access_token": "a", "expires_in": expires_in, "scope": ["read", "write"], "token_type": "bearer"}));
        let t = s.grant_client_credentials().await.unwrap_or_else(|e| panic!("expires_in {expires_in} refused: {e}"));
        assert_eq!(t.expires_at.map(|e| e - t.issued_at), lifetime, "expires_in {expires_in}");
        if lifetime.is_none() {
            assert_eq!(t.expiry_source, ExpirySource::Unknown);
            assert!(!t.notes.is_empty(), "the odd value is noted");
        }
        assert_eq!(t.scope.as_deref(), Some("read write"));
    }
    script.json("/token", json!({"access_token": "a", "scope": 7}));
    assert_eq!(s.grant_client_credentials().await.unwrap().scope.as_deref(), Some("7"));
}

#[tokio::test]
async fn control_characters_in_provider_text_are_escaped() {
    let (script, srv) = hostile::start().await.unwrap();
    script.answer(
        "/token",
        400,
        "application/json",
        json!({"error": "invalid_grant", "error_description": "bad\u{1b}]0;owned\u{7}\u{1b}[2J code\u{202e}"}).to_string(),
    );
    let p = Profile::new(
        "o",
        "c",
        Provider::Oauth2(Oauth2Config { token_url: Some(format!("{}/token", srv.base_url())), ..Default::default() }),
    );
    let s = providers::session(p, ProfileSecrets { client_secret: Some(Secret::new("s")), ..Default::default() }, transport(), system());
    let e = s.grant_client_credentials().await.unwrap_err();
    let shown = format!("{e}");
    assert!(!shown.chars().any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202e}'), "raw control characters: {shown:?}");
    assert!(shown.contains("bad\\u{1b}]0;owned\\u{7}"), "escaped, still readable: {shown}");
}

/// A browser pre-connection that sends nothing, a forged request, an `error=` without state and
/// another path: each gets its page, and the real redirect still signs in.
#[tokio::test]
async fn the_loopback_listener_survives_forgeries() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    let mut profile = session.profile();
    profile.redirect_uri = Some("http://127.0.0.1:0/callback".into());
    session.reconfigure(profile.clone(), providers::dialect(&profile), oauth_desk_core::Http::new(transport()));
    let (tx, rx) = tokio::sync::oneshot::channel::<String>();
    let open = move |url: &str| {
        let _ = tx.send(url.to_string());
    };
    let browser = tokio::spawn(async move {
        let authorize = rx.await.unwrap();
        let redirect = user::salesforce_sign_in(&authorize, "ada@example.com", "Passw0rd!", true).await.unwrap();
        let real = url::Url::parse(&redirect).unwrap();
        let origin = format!("http://{}", real.host_str().unwrap().to_string() + ":" + &real.port().unwrap().to_string());
        let idle =
            tokio::net::TcpStream::connect(real.host_str().unwrap().to_string() + ":" + &real.port().unwrap().to_string()).await.unwrap();
        let client = reqwest::Client::new();
        let forged = client.get(format!("{origin}/callback?code=forged&state=WRONG")).send().await.unwrap();
        assert_eq!(forged.status(), 400);
        assert!(forged.text().await.unwrap().contains("Not this sign-in"));
        let denial = client.get(format!("{origin}/callback?error=access_denied")).send().await.unwrap();
        assert_eq!(denial.status(), 400, "an error without this attempt's state does not end it");
        assert_eq!(client.get(format!("{origin}/favicon.ico")).send().await.unwrap().status(), 404);
        let done = client.get(redirect).send().await.unwrap();
        assert_eq!(done.status(), 200);
        assert!(done.text().await.unwrap().contains("signed in"));
        drop(idle);
    });
    let t = oauth_desk_core::loopback::sign_in(&session, None, open, Duration::from_secs(20)).await.expect("the real redirect signs in");
    assert!(t.refresh_token.is_some());
    browser.await.unwrap();
}
