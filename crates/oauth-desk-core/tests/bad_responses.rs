//! A table of bad responses from a token endpoint: each gives a clear error (or, where real
//! servers bend the RFC harmlessly, a token), never a panic, and never a secret in the message.

mod common;

use oauth_desk_core::profile::{ClientAuth, Oauth2Config};
use oauth_desk_core::{
    ErrorCode, HttpConfig, Profile, ProfileSecrets, Provider, ReqwestTransport, Secret, Session, SystemClock, Transport,
};
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "sup3r-s3cret-value";

fn session(token_url: String, http: Arc<dyn Transport>) -> Session {
    let p = Profile::new(
        "faulty",
        "client-1",
        Provider::Oauth2(Oauth2Config { token_url: Some(token_url), client_auth: ClientAuth::Basic, ..Default::default() }),
    );
    oauth_desk_core::providers::session(
        p,
        ProfileSecrets { client_secret: Some(Secret::new(SECRET)), ..Default::default() },
        http,
        Arc::new(SystemClock),
    )
}

enum Want {
    Token(&'static str),
    Error(ErrorCode, &'static str),
}

#[tokio::test]
async fn every_bad_response_has_its_error() {
    let faults = oauth_desk_emulators::faults::start(0).await.unwrap();
    let base = faults.base_url();
    let http = Arc::new(
        ReqwestTransport::new(HttpConfig { timeout: Duration::from_secs(2), max_body_bytes: 1024 * 1024, ..HttpConfig::default() })
            .unwrap(),
    );
    let table: &[(&str, Want)] = &[
        ("html-502", Want::Error(ErrorCode::UnexpectedResponse, "HTML page titled \"502 Bad Gateway\"")),
        ("html-200", Want::Error(ErrorCode::UnexpectedResponse, "HTML page titled \"Sign in - Corporate Proxy\"")),
        ("empty-200", Want::Error(ErrorCode::UnexpectedResponse, "empty body")),
        ("empty-500", Want::Error(ErrorCode::UnexpectedResponse, "HTTP 500 and an empty body")),
        ("truncated-json", Want::Error(ErrorCode::UnexpectedResponse, "ends early (truncated body)")),
        ("cut-connection", Want::Error(ErrorCode::UnexpectedResponse, "cut off")),
        ("error-at-200", Want::Error(ErrorCode::InvalidGrant, "(at HTTP 200)")),
        ("no-access-token", Want::Error(ErrorCode::UnexpectedResponse, "no access_token")),
        ("json-array", Want::Error(ErrorCode::UnexpectedResponse, "JSON an array, not a JSON object")),
        ("plain-401", Want::Error(ErrorCode::UnexpectedResponse, "HTTP 401")),
        ("oauth-error-401", Want::Error(ErrorCode::InvalidClient, "refused the client_credentials grant")),
        ("redirect-302", Want::Error(ErrorCode::UnexpectedResponse, "HTTP 302 and an empty body")),
        ("huge", Want::Error(ErrorCode::ResponseTooLarge, "larger than the 1 MiB cap")),
        ("slow", Want::Error(ErrorCode::Timeout, "no answer within 2 s")),
        ("wechat-error-text-plain", Want::Error(ErrorCode::UnexpectedResponse, "no access_token")),
        // Bent but harmless: parse leniently.
        ("created-201", Want::Token("tok-201")),
        ("form-encoded", Want::Token("gho_16C7e42F292c6912E7710c838347Ae178B4a")),
        ("no-token-type", Want::Token("tok-no-type")),
    ];
    for (path, want) in table {
        let result = session(format!("{base}/{path}"), http.clone()).grant_client_credentials().await;
        match (want, result) {
            (Want::Token(t), Ok(token)) => assert_eq!(token.access_token.expose(), *t, "{path}"),
            (Want::Error(code, text), Err(e)) => {
                assert_eq!(e.code, *code, "{path}: {e}");
                let shown = e.to_string();
                assert!(shown.contains(text), "{path}: expected `{text}` in `{shown}`");
                assert!(!shown.contains(SECRET) && !format!("{e:?}").contains(SECRET), "{path}: secret leaked");
                assert!(e.endpoint.as_deref().is_some_and(|ep| ep.ends_with(path)), "{path}: endpoint named: {:?}", e.endpoint);
            }
            (Want::Token(_), Err(e)) => panic!("{path}: expected a token, got {e}"),
            (Want::Error(..), Ok(t)) => panic!("{path}: expected an error, got a token {:?}", t.access_token),
        }
    }
}

#[tokio::test]
async fn refused_connections_and_missing_endpoints() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let http: Arc<dyn Transport> = Arc::new(ReqwestTransport::new(HttpConfig::default()).unwrap());
    let e = session(format!("http://127.0.0.1:{port}/token"), http.clone()).grant_client_credentials().await.unwrap_err();
    assert_eq!(e.code, ErrorCode::ConnectionFailed, "{e}");
    assert!(e.message.contains("could not connect"), "{e}");
    assert_eq!(e.code.category(), oauth_desk_core::ErrorCategory::Network);

    let p = Profile::new("x", "c", Provider::Oauth2(Oauth2Config { token_url: Some("http://127.0.0.1:1/t".into()), ..Default::default() }));
    let s = oauth_desk_core::providers::session(p, ProfileSecrets::default(), http, Arc::new(SystemClock));
    let e = s.revoke(oauth_desk_core::WhichToken::Access).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotSignedIn);
}
