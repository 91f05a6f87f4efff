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
