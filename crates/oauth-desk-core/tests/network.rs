//! Company networks: a server whose certificate comes from a private CA is refused with words
//! that say why and name the CA option, then trusted when the profile carries the CA; expired
//! and wrong-name certificates are named as such. (`SSL_CERT_FILE` and proxies are environment
//! settings: the CLI tests exercise them in processes of their own.)

use oauth_desk_core::profile::{ClientAuth, Oauth2Config};
use oauth_desk_core::storage::{MemoryProfileStore, MemorySecretStore, SecretKey};
use oauth_desk_core::{Desk, ErrorCode, HttpConfig, Profile, Provider, Secret, SystemClock};
use oauth_desk_emulators::tls::{serve_https, Flaw, Pki};
use std::sync::Arc;

const TOKEN: &str = r#"{"access_token":"from-the-corporate-idp","token_type":"Bearer","expires_in":3600}"#;

fn desk() -> Desk {
    Desk::reqwest(
        Box::new(MemoryProfileStore::default()),
        Arc::new(MemorySecretStore::default()),
        HttpConfig::default(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn profile(base: &str) -> Profile {
    Profile::new(
        "corp",
        "client-1",
        Provider::Oauth2(Oauth2Config {
            token_url: Some(format!("{base}/oauth/token")),
            client_auth: ClientAuth::Basic,
            ..Default::default()
        }),
    )
}

#[tokio::test]
async fn a_private_ca_is_refused_in_words_then_trusted_by_the_profile() {
    let pki = Pki::new();
    let server = serve_https(&pki.server(Flaw::None), TOKEN).await.unwrap();
    let desk = desk();
    let mut p = profile(&server.base_url());
    desk.save(&p).unwrap();
    desk.set_secret(&p, SecretKey::ClientSecret, Some(&Secret::new("s"))).unwrap();

    let e = desk.session(&p).unwrap().grant_client_credentials().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ConnectionFailed, "{e}");
    assert!(e.message.contains("TLS certificate of 127.0.0.1") && e.message.contains("does not trust"), "{e}");
    let hint = e.hint.unwrap();
    assert!(hint.contains("CA certificate") && hint.contains("--ca-cert") && hint.contains("SSL_CERT_FILE"), "{hint}");

    p.ca_certificate = Some(pki.ca_pem());
    desk.save(&p).unwrap();
    let t = desk.session(&p).unwrap().grant_client_credentials().await.expect("trusted through the profile's CA");
    assert_eq!(t.access_token.expose(), "from-the-corporate-idp");

    p.ca_certificate = Some("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".into());
    assert_eq!(desk.save(&p).unwrap_err().code, ErrorCode::InvalidInput, "a broken PEM is refused when saved");
}

#[tokio::test]
async fn expired_and_wrong_name_certificates_are_named() {
    let pki = Pki::new();
    for (flaw, words) in [(Flaw::Expired, "has expired"), (Flaw::OtherName, "is not valid for the host name 127.0.0.1")] {
        let server = serve_https(&pki.server(flaw), TOKEN).await.unwrap();
        let desk = desk();
        let mut p = profile(&server.base_url());
        p.ca_certificate = Some(pki.ca_pem());
        desk.save(&p).unwrap();
        desk.set_secret(&p, SecretKey::ClientSecret, Some(&Secret::new("s"))).unwrap();
        let e = desk.session(&p).unwrap().grant_client_credentials().await.unwrap_err();
        assert!(e.message.contains(words), "{e}");
    }
}
