//! Salesforce CLI auth URLs (`force://…`) into and out of profiles, against the Salesforce
//! emulator: the imported refresh token is redeemed at once, and a URL that does not work
//! leaves nothing behind.

mod common;

use common::*;
use oauth_desk_core::providers::salesforce::SalesforceApi;
use oauth_desk_core::storage::{MemoryProfileStore, MemorySecretStore, SecretKey};
use oauth_desk_core::{Desk, ErrorCode, Secret};
use oauth_desk_emulators::{salesforce, user};
use std::sync::Arc;
use url::Url;

fn desk() -> Desk {
    Desk::new(Box::new(MemoryProfileStore::default()), Arc::new(MemorySecretStore::default()), transport(), system())
}

#[tokio::test]
async fn an_auth_url_becomes_a_working_profile_and_comes_back_out() {
    let (em, srv) = salesforce(salesforce::Config::default()).await;
    let c = salesforce::Config::default();
    // A refresh token made by signing in (as `sf org login web` would have).
    let session = sf_session(&srv.base_url(), system());
    let pending = session.authorize(None).await.unwrap();
    let redirect = user::salesforce_sign_in(&pending.authorize_url, "ada@example.com", "Passw0rd!", true).await.unwrap();
    let t = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    let rt = t.refresh_token.unwrap();
    let url = format!("force://{}:{}:{}@{}", c.client_id, c.client_secret, rt.expose(), srv.base_url());

    let d = desk();
    let (p, token) = d.import_sfdx_url("from-sf", &Secret::new(url.clone())).await.unwrap();
    assert_eq!(p.client_id, c.client_id);
    assert_eq!(token.refresh_token.as_ref(), Some(&rt), "the refresh token is kept");
    assert!(d.has_secret(&p, SecretKey::ClientSecret).unwrap());
    assert_eq!(em.stats().token_requests.get("refresh_token"), Some(&1), "redeemed at once");
    let s = d.session(&p).unwrap();
    SalesforceApi::of(&s).unwrap().userinfo().await.expect("the imported profile calls the API");
    assert_eq!(d.sfdx_url(&p).unwrap().expose(), url, "and exports the same URL");

    // An empty client secret (the Salesforce CLI's own connected app) stays empty.
    let (p2, _) =
        d.import_sfdx_url("no-secret", &Secret::new(format!("force://{}::{}@{}", c.client_id, rt.expose(), srv.base_url()))).await.unwrap();
    assert!(!d.has_secret(&p2, SecretKey::ClientSecret).unwrap());
    assert!(d.sfdx_url(&p2).unwrap().expose().starts_with(&format!("force://{}::", c.client_id)));
}

#[tokio::test]
async fn a_url_that_does_not_work_leaves_nothing() {
    let (_em, srv) = salesforce(salesforce::Config::default()).await;
    let c = salesforce::Config::default();
    let d = desk();
    let e = d
        .import_sfdx_url("bad", &Secret::new(format!("force://{}:{}:5AepNOTATOKEN@{}", c.client_id, c.client_secret, srv.base_url())))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant, "{e}");
    assert!(!e.to_string().contains("5AepNOTATOKEN"));
    assert!(d.list().unwrap().is_empty(), "no half-made profile");
    let e = d.import_sfdx_url("bad", &Secret::new("force://only-an-id@acme.my.salesforce.com")).await.unwrap_err();
    assert!(e.message.contains("two colons"), "{e}");
    assert!(d.list().unwrap().is_empty());
    // Exporting needs a refresh token.
    let (_em2, srv2) = salesforce(salesforce::Config::default()).await;
    let p = salesforce_profile(&srv2.base_url());
    d.save(&p).unwrap();
    let e = d.sfdx_url(&p).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSignedIn);
}
