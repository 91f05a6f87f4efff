//! RFC 8628 polling rules, on a scripted server: wait on `authorization_pending`, add 5 s on
//! `slow_down`, end on `expired_token`; the device code never shows in the log.

use oauth_desk_core::profile::Oauth2Config;
use oauth_desk_core::testing::{form, json, MockTransport};
use oauth_desk_core::{providers, ErrorCode, Grant, Profile, ProfileSecrets, Provider, Secret, SystemClock};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn session(answers: Vec<(u16, &'static str)>, seen: Arc<Mutex<Vec<(tokio::time::Instant, String)>>>) -> oauth_desk_core::Session {
    let n = AtomicUsize::new(0);
    let t = Arc::new(MockTransport::new(move |r| {
        seen.lock().unwrap().push((tokio::time::Instant::now(), form(r)));
        let (status, body) = answers[n.fetch_add(1, Ordering::SeqCst).min(answers.len() - 1)];
        Ok(json(status, body))
    }));
    let p = Profile::new(
        "dev",
        "tv-app",
        Provider::Oauth2(Oauth2Config {
            token_url: Some("https://idp.example/token".into()),
            device_authorization_url: Some("https://idp.example/device/code".into()),
            scopes: vec!["openid".into()],
            ..Default::default()
        }),
    );
    providers::session(p, ProfileSecrets { client_secret: Some(Secret::new("s")), ..Default::default() }, t, Arc::new(SystemClock))
}

const START: &str = r#"{"device_code":"DEVICE-CODE-1","user_code":"WDJB-MJHT","verification_uri":"https://idp.example/device","verification_uri_complete":"https://idp.example/device?user_code=WDJB-MJHT","expires_in":"900","interval":2}"#;

#[tokio::test(start_paused = true)]
async fn waits_slows_down_and_gets_the_token() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = session(
        vec![
            (200, START),
            (400, r#"{"error":"authorization_pending"}"#),
            (400, r#"{"error":"slow_down"}"#),
            (400, r#"{"error":"authorization_pending"}"#),
            (200, r#"{"access_token":"AT","token_type":"Bearer","expires_in":3600}"#),
        ],
        seen.clone(),
    );
    let d = s.start_device().await.unwrap();
    assert_eq!((d.user_code.as_str(), d.interval_seconds), ("WDJB-MJHT", 2), "expires_in as a string is read too");
    let t = s.poll_device(&d).await.unwrap();
    assert_eq!(t.grant, Grant::DeviceCode);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].1, "scope=openid", "the device request (the client authenticates with HTTP Basic)");
    assert_eq!(seen[1].1, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=DEVICE-CODE-1");
    let gaps: Vec<u64> = seen.windows(2).map(|w| (w[1].0 - w[0].0).as_secs()).collect();
    assert_eq!(gaps, [2, 2, 7, 7], "the interval, then 5 s more after slow_down");
    let logged = format!("{:?}", s.log().detail(s.log().exchanges()[1].id).unwrap().request);
    assert!(!logged.contains("DEVICE-CODE-1") && logged.contains("[masked:device_code]"), "{logged}");
}

#[tokio::test(start_paused = true)]
async fn an_expired_code_ends_clearly() {
    let s = session(vec![(200, START), (400, r#"{"error":"expired_token"}"#)], Arc::default());
    let d = s.start_device().await.unwrap();
    let e = s.poll_device(&d).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert!(e.message.contains("expired") && e.hint.unwrap().contains("start again"));
}

/// The issuer rotated its keys: an ID token signed with a `kid` the cached JWKS lacks makes the
/// session fetch the JWKS once more (and only once), then verify.
#[tokio::test]
async fn an_unknown_kid_fetches_the_jwks_once_more() {
    use base64::Engine;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let (pem, _) = oauth_desk_core::assertion::generate_key_and_certificate("rotation").unwrap();
    let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(pem.expose()).unwrap();
    let jwk = |kid: &str| serde_json::json!({"kty": "RSA", "kid": kid, "alg": "RS256", "n": b64(&rsa.n().to_bytes_be()), "e": b64(&rsa.e().to_bytes_be())});
    let old_keys = serde_json::json!({"keys": [jwk("old")]}).to_string();
    let new_keys = serde_json::json!({"keys": [jwk("old"), jwk("new")]}).to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let sign = |kid: &str| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        h.kid = Some(kid.into());
        let claims = serde_json::json!({"iss": "https://idp.example", "aud": "tv-app", "sub": "ada", "iat": now, "exp": now + 300});
        jsonwebtoken::encode(&h, &claims, &jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes()).unwrap()).unwrap()
    };
    let (first, second) = (sign("old"), sign("new"));
    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let fetches = jwks_fetches.clone();
    let tokens = AtomicUsize::new(0);
    let t = Arc::new(MockTransport::new(move |r| {
        let url = r.uri().to_string();
        Ok(if url.ends_with("/.well-known/openid-configuration") {
            json(
                200,
                r#"{"issuer":"https://idp.example","token_endpoint":"https://idp.example/token","jwks_uri":"https://idp.example/jwks"}"#,
            )
        } else if url.ends_with("/jwks") {
            let n = fetches.fetch_add(1, Ordering::SeqCst);
            json(200, if n == 0 { &old_keys } else { &new_keys })
        } else {
            let id = if tokens.fetch_add(1, Ordering::SeqCst) == 0 { &first } else { &second };
            json(200, &format!(r#"{{"access_token":"AT","token_type":"Bearer","expires_in":3600,"id_token":"{id}"}}"#))
        })
    }));
    let p =
        Profile::new("rot", "tv-app", Provider::Oauth2(Oauth2Config { issuer: Some("https://idp.example".into()), ..Default::default() }));
    let s = providers::session(p, ProfileSecrets { client_secret: Some(Secret::new("s")), ..Default::default() }, t, Arc::new(SystemClock));
    let a = s.grant_client_credentials().await.unwrap();
    assert!(matches!(a.id_token_check, Some(oauth_desk_core::idtoken::IdTokenCheck::Verified { .. })), "{:?}", a.id_token_check);
    let b = s.grant_client_credentials().await.unwrap();
    assert!(
        matches!(&b.id_token_check, Some(oauth_desk_core::idtoken::IdTokenCheck::Verified { kid: Some(k), .. }) if k == "new"),
        "{:?}",
        b.id_token_check
    );
    assert_eq!(jwks_fetches.load(Ordering::SeqCst), 2, "fetched on first use, and once more for the new kid");
}
