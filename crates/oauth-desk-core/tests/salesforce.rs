//! Every Salesforce grant and API call, through the core, against the Salesforce emulator.

mod common;

use common::*;
use futures::StreamExt;
use oauth_desk_core::providers::salesforce::QueryOptions;
use oauth_desk_core::providers::salesforce::SalesforceApi;
use oauth_desk_core::redirect::RedirectParams;
use oauth_desk_core::token::ExpirySource;
use oauth_desk_core::{ErrorCode, Grant, ManualClock, Secret, WhichToken};
use oauth_desk_emulators::{salesforce, user};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

async fn code_flow_token(em_base: &str, session: &oauth_desk_core::Session) -> oauth_desk_core::TokenSet {
    let pending = session.authorize(None).await.expect("authorize URL");
    let redirect = user::salesforce_sign_in(&pending.authorize_url, "ada@example.com", "Passw0rd!", true).await.expect("sign in");
    assert!(redirect.starts_with("https://app.example.com/oauth/callback?"), "redirected to {redirect}");
    let _ = em_base;
    session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.expect("code exchange")
}

#[tokio::test]
async fn authorization_code_with_pkce_then_refresh_keeps_the_refresh_token() {
    let (em, srv) = salesforce(salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    let pending = session.authorize(None).await.unwrap();
    let url = Url::parse(&pending.authorize_url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256", "PKCE is on by default for Salesforce");
    assert_eq!(q["scope"], "api refresh_token");
    assert_eq!(q["state"], pending.state);
    assert!(pending.pkce_verifier.is_some());

    let redirect = user::salesforce_sign_in(&pending.authorize_url, "ada@example.com", "Passw0rd!", true).await.unwrap();
    let token = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    assert_eq!(token.grant, Grant::AuthorizationCode);
    assert_eq!(token.expiry_source, ExpirySource::SessionEstimate, "Salesforce sends no expires_in");
    assert_eq!(token.signature_valid, Some(true), "signature = HMAC(secret, id + issued_at)");
    assert_eq!(token.instance_url.as_deref(), Some(srv.base_url().as_str()));
    let first_refresh = token.refresh_token.clone().expect("refresh token for the code flow");

    // The same code twice: single use.
    let again = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::InvalidGrant, "{again}");
    assert!(again.hint.as_deref().unwrap().contains("single-use"));

    let refreshed = session.refresh().await.unwrap();
    assert_ne!(refreshed.access_token, token.access_token);
    assert_eq!(refreshed.refresh_token.as_ref(), Some(&first_refresh), "Salesforce sends no new refresh token; the old one is kept");
    assert_eq!(em.stats().token_requests.get("refresh_token"), Some(&1));
}

#[tokio::test]
async fn a_wrong_pkce_verifier_or_redirect_is_refused() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    let mut pending = session.authorize(None).await.unwrap();
    let redirect = user::salesforce_sign_in(&pending.authorize_url, "ada@example.com", "Passw0rd!", true).await.unwrap();
    pending.pkce_verifier = Some(Secret::new("x".repeat(64)));
    let e = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert_eq!(e.provider.unwrap().message.as_deref(), Some("invalid code verifier"));
}

#[tokio::test]
async fn denial_state_mismatch_and_bad_login_each_have_their_error() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    let pending = session.authorize(None).await.unwrap();
    let denied = user::salesforce_sign_in(&pending.authorize_url, "ada@example.com", "Passw0rd!", false).await.unwrap();
    let e = session.complete_redirect(&pending, &Url::parse(&denied).unwrap()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDenied);
    assert_eq!(e.provider.as_ref().unwrap().message.as_deref(), Some("end-user denied authorization"));

    let other = session.authorize(None).await.unwrap();
    let redirect = user::salesforce_sign_in(&other.authorize_url, "ada@example.com", "Passw0rd!", true).await.unwrap();
    let e = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::StateMismatch, "a redirect from another attempt");

    let bad = user::salesforce_sign_in(&pending.authorize_url, "ada@example.com", "wrong", true).await.unwrap_err();
    assert!(bad.contains("check your username and password"), "{bad}");

    let not_redirect = Url::parse("https://sso.broker.example/saml/callback?code=abc&state=x").unwrap();
    assert_eq!(session.complete_redirect(&pending, &not_redirect).await.unwrap_err().code, ErrorCode::InvalidInput);
    let _ = RedirectParams::default();
}

#[tokio::test]
async fn password_grant_appends_the_security_token() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    let t = session.grant_password(Default::default()).await.unwrap();
    assert_eq!(t.grant, Grant::Password);
    assert!(t.refresh_token.is_none(), "the password grant issues no refresh token");

    let mut secrets = salesforce_secrets();
    secrets.security_token = None;
    let without = oauth_desk_core::providers::session(salesforce_profile(&srv.base_url()), secrets, transport(), system());
    let e = without.grant_password(Default::default()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert_eq!(e.provider.as_ref().unwrap().message.as_deref(), Some("authentication failure"));
    assert!(e.hint.as_deref().unwrap().contains("Summer '23"), "{:?}", e.hint);
    assert!(!e.to_string().contains("Passw0rd!"), "no secret in errors: {e}");
}

#[tokio::test]
async fn client_credentials_on_my_domain_only() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let t = sf_session(&srv.base_url(), system()).grant_client_credentials().await.unwrap();
    assert_eq!(t.grant, Grant::ClientCredentials);

    let mut p = salesforce_profile(&srv.base_url());
    if let oauth_desk_core::Provider::Salesforce(c) = &mut p.provider {
        c.login = "production".into();
    }
    let shared = oauth_desk_core::providers::session(p, salesforce_secrets(), transport(), system());
    let e = shared.grant_client_credentials().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedGrant);
    assert!(e.hint.unwrap().contains("My Domain"));

    let (_em2, srv2) = salesforce(salesforce::Config { my_domain: false, ..Default::default() }).await;
    let e = sf_session(&srv2.base_url(), system()).grant_client_credentials().await.unwrap_err();
    assert_eq!(e.provider.unwrap().message.as_deref(), Some("request not supported on this domain"));
}

#[tokio::test]
async fn soql_follows_every_page_and_stops_early() {
    let (em, srv) = salesforce(salesforce::Config { accounts: 4500, ..Default::default() }).await;
    let session = sf_session(&srv.base_url(), system());
    session.grant_password(Default::default()).await.unwrap();

    let pages: Vec<_> = SalesforceApi::of(&session)
        .unwrap()
        .query("SELECT Id, Name, Owner.Name FROM Account", QueryOptions { include_deleted: false, batch_size: Some(1000), max_rows: None })
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(pages.len(), 5, "4410 live rows in pages of 1000");
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 4410, "every 50th account is deleted");
    assert_eq!(pages[0].total_size, 4410);
    assert!(pages[..4].iter().all(|p| !p.done && p.next_records_url.is_some()));
    assert!(pages[4].done);
    assert_eq!(pages[0].records[0]["Owner"]["Name"], "Ada Lovelace");

    let all: Vec<_> = SalesforceApi::of(&session)
        .unwrap()
        .query("SELECT Id FROM Account", QueryOptions { include_deleted: true, batch_size: None, max_rows: None })
        .collect()
        .await;
    assert_eq!(all.iter().map(|p| p.as_ref().unwrap().records.len()).sum::<usize>(), 4500, "queryAll includes deleted rows");

    let served_before = em.stats().pages_served;
    let mut stream = SalesforceApi::of(&session)
        .unwrap()
        .query("SELECT Id FROM Account", QueryOptions { include_deleted: false, batch_size: Some(200), max_rows: None });
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.records.len(), 200);
    drop(stream);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second page may have been requested ahead while the first was handed out (dropping
    // the stream cancels it, perhaps before it left); never a third.
    let served = em.stats().pages_served - served_before;
    assert!((1..=2).contains(&served), "dropping the stream stops the query one page ahead at most; served {served}");

    let e = SalesforceApi::of(&session).unwrap().query("SELECT Id FRM Account", QueryOptions::default()).next().await.unwrap().unwrap_err();
    assert_eq!((e.code, e.provider_code()), (ErrorCode::ProviderError, Some("MALFORMED_QUERY")));
    assert_eq!(e.status, Some(400));
    let e =
        SalesforceApi::of(&session).unwrap().query("SELECT Nope FROM Account", QueryOptions::default()).next().await.unwrap().unwrap_err();
    assert_eq!(e.provider_code(), Some("INVALID_FIELD"));
    let e = SalesforceApi::of(&session)
        .unwrap()
        .query("SELECT Id FROM Account", QueryOptions { include_deleted: false, batch_size: Some(50), max_rows: None })
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "batch size below 200");
}

#[tokio::test]
async fn subqueries_and_null_relationships_stay_nested() {
    let (_em, srv) = salesforce(salesforce::Config { accounts: 20, ..Default::default() }).await;
    let session = sf_session(&srv.base_url(), system());
    session.grant_password(Default::default()).await.unwrap();
    let page = SalesforceApi::of(&session)
        .unwrap()
        .query("SELECT Name, Parent.Name, (SELECT LastName FROM Contacts) FROM Account LIMIT 4", QueryOptions::default())
        .next()
        .await
        .unwrap()
        .unwrap();
    assert!(page.records[0]["Parent"].is_null(), "a null relationship is null");
    assert_eq!(page.records[1]["Parent"]["Name"], "Account 000001");
    assert_eq!(page.records[0]["Contacts"]["records"].as_array().unwrap().len(), 2);
    assert!(page.records[3]["Contacts"].is_null(), "account 3 has no contacts");
    let cols = oauth_desk_core::soql::select_columns("SELECT Name, Parent.Name, (SELECT LastName FROM Contacts) FROM Account").unwrap();
    let row = oauth_desk_core::soql::row(&page.records[1], &cols);
    assert_eq!(row[1], "Account 000001");
    assert!(row[2].starts_with("[{\"LastName\":"), "{}", row[2]);
}

#[tokio::test]
async fn an_expired_session_is_refreshed_once_for_ten_concurrent_calls() {
    let (em, srv) = salesforce(salesforce::Config::default()).await;
    let session = Arc::new(sf_session(&srv.base_url(), system()));
    code_flow_token(&srv.base_url(), &session).await;
    em.expire_sessions(); // The org ends the session: 401 INVALID_SESSION_ID, which the client only learns from the API.
    let calls = (0..10).map(|_| {
        let s = session.clone();
        tokio::spawn(async move { SalesforceApi::of(&s).unwrap().identity().await })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap()["username"], "ada@example.com");
    }
    assert_eq!(em.stats().token_requests.get("refresh_token"), Some(&1), "exactly one refresh");
    assert_eq!(session.renewals(), 1);
}

#[tokio::test]
async fn expiry_by_the_clock_refreshes_before_the_call() {
    let (em, srv) = salesforce(salesforce::Config::default()).await;
    let clock = Arc::new(ManualClock::at(1_700_000_000_000));
    let session = Arc::new(sf_session(&srv.base_url(), clock.clone()));
    let t = code_flow_token(&srv.base_url(), &session).await;
    assert_eq!(t.expires_at, Some(1_700_000_000_000 + 7_200_000));
    clock.advance_secs(7200 - 30); // inside the 60 s skew
    let calls = (0..10).map(|_| {
        let s = session.clone();
        tokio::spawn(async move { SalesforceApi::of(&s).unwrap().userinfo().await })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap()["preferred_username"], "ada@example.com");
    }
    assert_eq!(em.stats().token_requests.get("refresh_token"), Some(&1), "one refresh for ten calls");
    let now = session.token().await.unwrap();
    assert_eq!(now.expires_at, Some(1_700_000_000_000 + 7_170_000 + 7_200_000), "new expiry from the refresh time");
}

#[tokio::test]
async fn password_tokens_renew_by_the_password_grant_and_otherwise_say_sign_in() {
    let (em, srv) = salesforce(salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    session.grant_password(Default::default()).await.unwrap();
    em.expire_sessions();
    SalesforceApi::of(&session).unwrap().userinfo().await.expect("renewed with the stored password");
    assert_eq!(em.stats().token_requests.get("password"), Some(&2));

    let mut secrets = salesforce_secrets();
    let (_em2, srv2) = salesforce(salesforce::Config::default()).await;
    let first = sf_session(&srv2.base_url(), system());
    let t = first.grant_password(Default::default()).await.unwrap();
    secrets.password = None;
    let without =
        oauth_desk_core::providers::session(salesforce_profile(&srv2.base_url()), secrets, transport(), system()).with_token(Some(t));
    _em2.expire_sessions();
    let e = SalesforceApi::of(&without).unwrap().userinfo().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::TokenRejected);
    assert!(e.hint.unwrap().contains("sign in again"));
}

#[tokio::test]
async fn identity_userinfo_versions_introspect_and_revoke() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let session = sf_session(&srv.base_url(), system());
    let versions = SalesforceApi::of(&session).unwrap().versions().await.unwrap();
    assert_eq!(versions.last().unwrap().version, "62.0");
    let t = code_flow_token(&srv.base_url(), &session).await;
    let id = SalesforceApi::of(&session).unwrap().identity().await.unwrap();
    assert_eq!(id["organization_id"], salesforce::ORG_ID);
    assert_eq!(SalesforceApi::of(&session).unwrap().userinfo().await.unwrap()["email"], "ada@example.com");
    let i = session.introspect(WhichToken::Access).await.unwrap();
    assert_eq!(i["active"], true);
    assert_eq!(i["username"], "ada@example.com");
    let i = session.introspect(WhichToken::Refresh).await.unwrap();
    assert_eq!(i["token_type"], "refresh_token");

    session.revoke(WhichToken::Refresh).await.unwrap();
    assert!(session.token().await.is_none(), "forgotten locally after revoke");
    let restored = oauth_desk_core::providers::session(salesforce_profile(&srv.base_url()), salesforce_secrets(), transport(), system())
        .with_token(Some(t));
    let e = SalesforceApi::of(&restored).unwrap().identity().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant, "revoking the refresh token ended its sessions and the refresh fails: {e}");
}
