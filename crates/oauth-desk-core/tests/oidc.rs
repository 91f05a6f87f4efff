//! Standard OAuth 2.0 / OpenID Connect against the real `oidc-provider`: discovery, the
//! authorization code with PKCE through its login and consent pages, refresh, client
//! credentials, password (registered grant), userinfo, introspection, revocation.

mod common;

use common::*;
use oauth_desk_core::idtoken::IdTokenCheck;
use oauth_desk_core::profile::ClientAuth;
use oauth_desk_core::request::{self, ApiRequest};
use oauth_desk_core::token::ExpirySource;
use oauth_desk_core::{ErrorCode, Grant, WhichToken};
use oauth_desk_emulators::user;
use url::Url;

#[tokio::test]
async fn discovery_code_flow_with_pkce_refresh_userinfo_introspect_revoke() {
    let oidc = start_oidc();
    for (client, auth) in [("desk-basic", ClientAuth::Basic), ("desk-post", ClientAuth::Body)] {
        let session = oidc_session(&oidc.issuer, client, auth);
        let endpoints = session.endpoints().await.unwrap().clone();
        assert_eq!(endpoints.token.unwrap().as_str(), format!("{}/token", oidc.issuer), "discovered");
        let pending = session.authorize(None).await.unwrap();
        let q: std::collections::HashMap<_, _> = Url::parse(&pending.authorize_url).unwrap().query_pairs().into_owned().collect();
        assert_eq!(q["prompt"], "consent", "extra authorize parameters are sent");
        assert!(q.contains_key("nonce"), "a nonce goes with openid");
        let redirect = user::oidc_sign_in(&pending.authorize_url, "ada", "any", "https://app.example.com/").await.unwrap();
        let t = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
        assert_eq!(t.expiry_source, ExpirySource::ExpiresIn);
        assert!(t.refresh_token.is_some(), "offline_access gives a refresh token");
        let id = t.decoded_id_token().expect("an id_token");
        assert_eq!(id.claims["sub"], "ada");
        assert_eq!(id.claims["aud"], client);
        assert!(
            matches!(&t.id_token_check, Some(IdTokenCheck::Verified { alg, kid: Some(_) }) if alg == "RS256"),
            "the ID token is verified against oidc-provider's JWKS, nonce and at_hash included: {:?}",
            t.id_token_check
        );
        assert!(endpoints.jwks.is_some() && endpoints.issuer.as_deref() == Some(oidc.issuer.as_str()));

        let info = session.userinfo(None).await.unwrap();
        assert_eq!(info["email"], "ada@example.com");
        let intro = session.introspect(WhichToken::Access).await.unwrap();
        assert_eq!(intro["active"], true);
        assert_eq!(intro["client_id"], client);

        let r = session.refresh().await.unwrap();
        assert_ne!(r.access_token, t.access_token);
        assert!(matches!(r.id_token_check, Some(IdTokenCheck::Verified { .. })), "the refreshed ID token too: {:?}", r.id_token_check);
        assert!(r.refresh_token.is_some());

        session.revoke(WhichToken::Access).await.unwrap();
        assert!(session.token().await.is_none());
    }
}

#[tokio::test]
async fn a_wrong_code_verifier_is_refused_by_the_real_server() {
    let oidc = start_oidc();
    let session = oidc_session(&oidc.issuer, "desk-basic", ClientAuth::Basic);
    let mut pending = session.authorize(None).await.unwrap();
    let redirect = user::oidc_sign_in(&pending.authorize_url, "ada", "x", "https://app.example.com/").await.unwrap();
    pending.pkce_verifier = Some(oauth_desk_core::Secret::new("a".repeat(50)));
    let e = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant, "{e}");
    assert_eq!(e.provider_code(), Some("invalid_grant"));
}

#[tokio::test]
async fn client_credentials_password_and_an_authenticated_request() {
    let oidc = start_oidc();
    let session = oidc_session(&oidc.issuer, "desk-basic", ClientAuth::Basic);
    let t = session.grant_password(Default::default()).await.unwrap();
    assert_eq!(t.grant, Grant::Password);
    let me = request::send(&session, &ApiRequest { method: "GET".into(), url: "/me".into(), headers: vec![], body: None }).await.unwrap();
    assert_eq!(me.status, 200, "relative URL resolved against the issuer");
    assert_eq!(me.json.unwrap()["sub"], "ada");

    let cc = oidc_session(&oidc.issuer, "desk-post", ClientAuth::Body);
    let t = cc.grant_client_credentials().await.unwrap();
    assert_eq!(t.grant, Grant::ClientCredentials);
    assert!(t.expires_at.is_some());
    assert_eq!(cc.introspect(WhichToken::Access).await.unwrap()["active"], true);

    let mut wrong = oidc_session(&oidc.issuer, "desk-basic", ClientAuth::Basic).profile().clone();
    wrong.username = Some("ada".into());
    let bad = oauth_desk_core::providers::session(
        wrong,
        oauth_desk_core::ProfileSecrets { client_secret: Some(oauth_desk_core::Secret::new("nope")), ..Default::default() },
        transport(),
        system(),
    );
    let e = bad.grant_client_credentials().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidClient, "{e}");
}

/// Two processes share a signed-in profile (the same secret store and lock directory) against
/// oidc-provider rotating refresh tokens, with access tokens living two seconds. Their clocks
/// say the token is still good, the provider says 401 `invalid_token` (RFC 6750): both renew,
/// yet the token is refreshed once — the second takes what the first stored — and both calls
/// succeed. (Refreshing twice would reuse a consumed refresh token, which oidc-provider answers
/// by revoking the whole grant.)
#[tokio::test]
async fn two_processes_renew_once_against_a_rotating_server() {
    use oauth_desk_core::storage::{FileLocks, MemoryProfileStore, MemorySecretStore, SecretKey, SecretStore};
    use oauth_desk_core::{Desk, ManualClock};
    use std::sync::Arc;

    let oidc =
        oauth_desk_emulators::oidc::start_with(&[("ROTATE_REFRESH_TOKENS", "1"), ("ACCESS_TOKEN_TTL", "2"), ("CLOCK_TOLERANCE", "0")]);
    let first = oidc_session(&oidc.issuer, "desk-basic", ClientAuth::Basic);
    let pending = first.authorize(None).await.unwrap();
    let redirect = user::oidc_sign_in(&pending.authorize_url, "ada", "any", "https://app.example.com/").await.unwrap();
    let signed_in = first.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    assert_eq!(signed_in.expires_at.map(|e| e - signed_in.issued_at), Some(2000));

    let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
    let locks = tempfile::tempdir().unwrap();
    let profile = first.profile();
    // The processes' clock stands well before the token's expiry (no early refresh): only the
    // provider knows the token expired.
    let clock = Arc::new(ManualClock::at(signed_in.issued_at - 100_000));
    let process = || {
        let desk = Desk::new(Box::new(MemoryProfileStore::default()), store.clone(), transport(), clock.clone())
            .renewal_locks(Arc::new(FileLocks::new(locks.path())));
        desk.save(&profile).unwrap();
        desk
    };
    let (a, b) = (process(), process());
    a.set_secret(&profile, SecretKey::ClientSecret, Some(&oauth_desk_core::Secret::new("desk-basic-secret"))).unwrap();
    store.set(&profile.id, SecretKey::Token, &oauth_desk_core::Secret::new(serde_json::to_string(&signed_in).unwrap())).unwrap();
    let (sa, sb) = (a.session(&profile).unwrap(), b.session(&profile).unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let (ra, rb) = tokio::join!(sa.userinfo(None), sb.userinfo(None));
    assert_eq!(ra.expect("the first process")["sub"], "ada");
    assert_eq!(rb.expect("the second process")["sub"], "ada");
    let exchanges: Vec<_> = [&sa, &sb].iter().flat_map(|s| s.log().exchanges()).collect();
    let refreshes = exchanges.iter().filter(|e| e.grant == Some(Grant::RefreshToken)).count();
    assert_eq!(refreshes, 1, "one refresh for both processes");
    let refused = exchanges
        .iter()
        .filter(|e| {
            e.response
                .as_ref()
                .is_some_and(|r| r.status == 401 && r.headers.iter().any(|(k, v)| k == "www-authenticate" && v.contains("invalid_token")))
        })
        .count();
    assert_eq!(refused, 2, "both saw oidc-provider's 401 invalid_token first");
    assert_eq!(sa.token().await.unwrap().refresh_token, sb.token().await.unwrap().refresh_token, "both hold the rotated refresh token");
}

/// A nonce that is not this sign-in's (a token injected from another sign-in) is caught.
#[tokio::test]
async fn an_id_token_from_another_sign_in_is_not_verified() {
    let oidc = start_oidc();
    let session = oidc_session(&oidc.issuer, "desk-basic", ClientAuth::Basic);
    let mut pending = session.authorize(None).await.unwrap();
    let redirect = user::oidc_sign_in(&pending.authorize_url, "ada", "x", "https://app.example.com/").await.unwrap();
    pending.nonce = Some("a-nonce-from-another-sign-in".into());
    let t = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    match &t.id_token_check {
        Some(IdTokenCheck::Failed { reason }) => assert!(reason.contains("nonce"), "{reason}"),
        other => panic!("not caught: {other:?}"),
    }
}

/// private_key_jwt (RFC 7523 §2.2) with RS256 and ES256 keys at the token, introspection and
/// revocation endpoints of the real server, which knows only the clients' public keys.
#[tokio::test]
async fn private_key_jwt_client_authentication_with_rs256_and_es256() {
    let oidc = start_oidc();
    for (client, file) in [("desk-pkjwt-rs256", "client-rs256.pem"), ("desk-pkjwt-es256", "client-es256.pem")] {
        let key = std::fs::read_to_string(format!("{}/../../tests/oidc/keys/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let base = oidc_session(&oidc.issuer, client, ClientAuth::PrivateKeyJwt);
        let secrets = oauth_desk_core::ProfileSecrets { private_key: Some(oauth_desk_core::Secret::new(key)), ..Default::default() };
        let session = oauth_desk_core::providers::session(base.profile(), secrets, transport(), system());
        let t = session.grant_client_credentials().await.unwrap_or_else(|e| panic!("{client}: {e:?}"));
        let intro = session.introspect(WhichToken::Access).await.unwrap();
        assert_eq!(intro["active"], true, "{client}");
        assert_eq!(intro["client_id"], client);
        session.revoke(WhichToken::Access).await.unwrap();
        // The assertion is a secret in the log; no shared secret exists to leak.
        let exchanges = session.log().exchanges();
        let shown = oauth_desk_core::wire::export::http_text(
            &exchanges[exchanges.len() - 1],
            &session.log().redactor(),
            oauth_desk_core::wire::Reveal::Masked,
            100_000,
        );
        assert!(shown.contains("client_assertion=[masked:assertion]") && shown.contains("client_assertion_type=urn"), "{shown}");
        drop(t);
    }
    // Without the key the session says so before sending anything.
    let session = oidc_session(&oidc.issuer, "desk-pkjwt-rs256", ClientAuth::PrivateKeyJwt);
    let e = session.grant_client_credentials().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSignedIn);
    assert!(e.message.contains("private_key_jwt"), "{e}");
}

/// RFC 8628 against oidc-provider's device flow: the user code shown, approved (then denied) at
/// the provider's own pages over HTTP while the session polls.
#[tokio::test]
async fn device_grant_approved_and_denied_at_the_providers_pages() {
    let oidc = start_oidc();
    let session = oidc_session(&oidc.issuer, "desk-basic", ClientAuth::Basic);
    let d = session.start_device().await.unwrap();
    assert!(d.user_code.len() >= 8, "{}", d.user_code);
    assert_eq!(d.verification_uri, format!("{}/device", oidc.issuer));
    let complete = d.verification_uri_complete.clone().expect("oidc-provider gives the complete URI");
    let approve = tokio::spawn(async move { user::oidc_device_approve(&complete, "ada", "x", false).await });
    let t = session.poll_device(&d).await.unwrap();
    assert!(approve.await.unwrap().unwrap().contains("Sign-in Success"));
    assert_eq!(t.grant, Grant::DeviceCode);
    assert!(matches!(t.id_token_check, Some(IdTokenCheck::Verified { .. })), "{:?}", t.id_token_check);
    assert_eq!(session.userinfo(None).await.unwrap()["sub"], "ada");

    let d = session.start_device().await.unwrap();
    let complete = d.verification_uri_complete.clone().unwrap();
    let deny = tokio::spawn(async move { user::oidc_device_approve(&complete, "ada", "x", true).await });
    let e = session.poll_device(&d).await.unwrap_err();
    deny.await.unwrap().unwrap();
    assert_eq!(e.code, ErrorCode::AccessDenied, "{e}");
    assert!(e.message.contains("denied"));
}
