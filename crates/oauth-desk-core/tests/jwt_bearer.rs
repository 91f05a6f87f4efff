//! The JWT bearer grant (RFC 7523 §2.1) against the Salesforce emulator, which verifies each
//! assertion with the certificate uploaded to its connected app, as Salesforce does.

mod common;

use common::*;
use oauth_desk_core::assertion::{generate_key_and_certificate, jwt_bearer, AssertionClaims};
use oauth_desk_core::providers::salesforce::SalesforceApi;
use oauth_desk_core::{Action, Clock, ErrorCode, Grant, ManualClock, Secret, SystemClock};
use oauth_desk_emulators::salesforce;
use std::sync::Arc;

const JWT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn upload(base: &str, cert: &str) {
    let r = reqwest::Client::new().post(format!("{base}/__emulator/jwt-certificate")).body(cert.to_string()).send().await.unwrap();
    assert_eq!(r.status(), 204, "the emulator took the certificate");
}

fn jwt_session(base: &str, key: Option<Secret>, clock: Arc<dyn Clock>) -> oauth_desk_core::Session {
    let mut secrets = salesforce_secrets();
    // The JWT bearer flow needs neither the client secret nor the password.
    secrets.client_secret = None;
    secrets.password = None;
    secrets.private_key = key;
    oauth_desk_core::providers::session(salesforce_profile(base), secrets, transport(), clock)
}

#[tokio::test]
async fn signs_in_with_an_assertion_and_renews_with_a_new_one() {
    let (em, srv) = salesforce(salesforce::Config::default()).await;
    let (key, cert) = generate_key_and_certificate("oauth-desk test").unwrap();
    upload(&srv.base_url(), &cert).await;
    let session = jwt_session(&srv.base_url(), Some(key), system());
    let t = session.grant_jwt_bearer().await.unwrap();
    assert_eq!(t.grant, Grant::JwtBearer);
    assert!(t.refresh_token.is_none(), "Salesforce gives no refresh token to this flow");
    assert_eq!(t.signature_valid, None, "and no signature to check");

    // The org ends the session; the next call signs a new assertion by itself.
    em.expire_sessions();
    SalesforceApi::of(&session).unwrap().userinfo().await.expect("renewed with a new assertion");
    assert_eq!(em.stats().token_requests.get(JWT), Some(&2));
    let history = session.history();
    assert!(history.iter().any(|h| h.grant == Grant::JwtBearer && h.automatic), "the renewal is on the record as automatic");

    // The assertion is a secret in the wire log, the private key never travels.
    let exchanges = session.log().exchanges();
    let token_request = exchanges.iter().find(|e| e.grant == Some(Grant::JwtBearer)).expect("logged");
    let shown =
        oauth_desk_core::wire::export::http_text(token_request, &session.log().redactor(), oauth_desk_core::wire::Reveal::Masked, 100_000);
    assert!(shown.contains("assertion=[masked:assertion]"), "{shown}");
    assert!(!shown.contains("client_secret") && !shown.contains("client_id"), "only the grant type and the assertion: {shown}");
}

#[tokio::test]
async fn salesforce_refusals_each_say_what_to_do() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let base = srv.base_url();
    let (key, cert) = generate_key_and_certificate("right").unwrap();
    let (other, _) = generate_key_and_certificate("wrong").unwrap();

    // No certificate in the connected app yet, then a key that is not the certificate's.
    let e = jwt_session(&base, Some(key.clone()), system()).grant_jwt_bearer().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant, "{e}");
    assert!(e.hint.as_deref().unwrap().contains("upload the certificate"), "{e:?}");
    upload(&base, &cert).await;
    let e = jwt_session(&base, Some(other), system()).grant_jwt_bearer().await.unwrap_err();
    assert!(e.hint.as_deref().unwrap().contains("upload the certificate"), "{e:?}");

    // The user is not pre-authorized.
    reqwest::Client::new().post(format!("{base}/__emulator/jwt-approval?user=ada@example.com&approved=false")).send().await.unwrap();
    let e = jwt_session(&base, Some(key.clone()), system()).grant_jwt_bearer().await.unwrap_err();
    assert_eq!(e.provider.as_ref().unwrap().message.as_deref(), Some("user hasn't approved this consumer"));
    assert!(e.hint.as_deref().unwrap().contains("pre-authorized"), "{e:?}");
    reqwest::Client::new().post(format!("{base}/__emulator/jwt-approval?user=ada@example.com&approved=true")).send().await.unwrap();

    // This computer's clock is 10 minutes slow: the assertion has expired on arrival.
    let slow = Arc::new(ManualClock::at(SystemClock.now_millis() - 600_000));
    let e = jwt_session(&base, Some(key.clone()), slow).grant_jwt_bearer().await.unwrap_err();
    assert!(e.hint.as_deref().unwrap().contains("clock"), "{e:?}");

    // An assertion for another login host (built by hand: the session always names its own).
    let now = SystemClock.now_millis() / 1000;
    let foreign = jwt_bearer(
        &key,
        AssertionClaims {
            issuer: &salesforce::Config::default().client_id,
            subject: "ada@example.com",
            audience: "https://login.salesforce.com",
            now,
        },
    )
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{base}/services/oauth2/token"))
        .form(&[("grant_type", JWT), ("assertion", foreign.expose())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("audience is invalid"));

    // What is missing on our side is said before anything is sent.
    let e = jwt_session(&base, None, system()).grant_jwt_bearer().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSignedIn);
    assert_eq!(e.action, Some(Action::EditProfile));
    let mut no_user = salesforce_profile(&base);
    no_user.username = None;
    let mut secrets = salesforce_secrets();
    secrets.private_key = Some(key);
    let e = oauth_desk_core::providers::session(no_user, secrets, transport(), system()).grant_jwt_bearer().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e.message.contains("username"));
}
