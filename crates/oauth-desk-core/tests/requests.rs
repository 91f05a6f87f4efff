//! The exact requests of every API call of every provider, through a session over the mock
//! transport (the grants' token requests are asserted next to each dialect, in
//! `src/providers/*.rs`), and the renew-and-retry sequence for each provider's way of saying
//! "this token is refused".

use futures::StreamExt;
use oauth_desk_core::profile::{Oauth2Config, SalesforceConfig, WechatEndpoints, WechatScope, WechatWebsiteConfig};
use oauth_desk_core::providers::salesforce::{QueryOptions, SalesforceApi};
use oauth_desk_core::providers::wechat::WechatApi;
use oauth_desk_core::request::{self, ApiRequest};
use oauth_desk_core::testing::{form, header_names, json, MockTransport};
use oauth_desk_core::transport::{RawResponse, Request};
use oauth_desk_core::{providers, ErrorCode, Grant, Profile, ProfileSecrets, Provider, Secret, Session, SystemClock, TokenSet};
use std::sync::{Arc, Mutex};

fn token(obj: serde_json::Value) -> TokenSet {
    TokenSet::from_response(obj.as_object().unwrap(), 0, Grant::AuthorizationCode, None).unwrap()
}

fn secrets() -> ProfileSecrets {
    ProfileSecrets { client_secret: Some(Secret::new("S3CRET")), ..Default::default() }
}

fn session(provider: Provider, t: TokenSet, transport: Arc<MockTransport>) -> Session {
    let p = Profile::new("p", "client-1", provider);
    providers::session(p, secrets(), transport, Arc::new(SystemClock)).with_token(Some(t))
}

fn line(r: &Request) -> String {
    format!("{} {}", r.method(), r.uri())
}

fn salesforce_token() -> TokenSet {
    token(serde_json::json!({
        "access_token": "00D!AT1", "refresh_token": "RT1",
        "instance_url": "https://acme.my.salesforce.com", "id": "https://login.salesforce.com/id/00D/005"
    }))
}

#[tokio::test]
async fn salesforce_api_calls() {
    let t = Arc::new(MockTransport::new(|r| {
        let url = r.uri().to_string();
        Ok(if url.contains("/query") {
            if url.contains("q=") {
                json(
                    200,
                    r#"{"totalSize":3,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01g-2","records":[{"Id":"1"},{"Id":"2"}]}"#,
                )
            } else {
                json(200, r#"{"totalSize":3,"done":true,"records":[{"Id":"3"}]}"#)
            }
        } else if url.ends_with("/services/data/") {
            json(200, r#"[{"label":"Winter '25","url":"/services/data/v62.0","version":"62.0"}]"#)
        } else {
            json(200, r#"{"user_id":"005"}"#)
        })
    }));
    let s = session(
        Provider::Salesforce(SalesforceConfig { login: "https://acme.my.salesforce.com".into(), ..Default::default() }),
        salesforce_token(),
        t.clone(),
    );
    let api = SalesforceApi::of(&s).unwrap();
    api.identity().await.unwrap();
    api.userinfo().await.unwrap();
    api.versions().await.unwrap();
    api.get("/services/data/v62.0/limits").await.unwrap();
    let opts = QueryOptions { include_deleted: false, batch_size: Some(500), max_rows: None };
    let pages: Vec<_> = SalesforceApi::of(&s).unwrap().query("SELECT Id FROM Account WHERE Name = 'a&b'", opts).collect().await;
    assert_eq!(pages.len(), 2);

    let sent = t.requests();
    let lines: Vec<String> = sent.iter().map(line).collect();
    assert_eq!(
        lines,
        [
            "GET https://login.salesforce.com/id/00D/005",
            "GET https://acme.my.salesforce.com/services/oauth2/userinfo",
            "GET https://acme.my.salesforce.com/services/data/",
            "GET https://acme.my.salesforce.com/services/data/v62.0/limits",
            "GET https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT+Id+FROM+Account+WHERE+Name+%3D+%27a%26b%27",
            "GET https://acme.my.salesforce.com/services/data/v62.0/query/01g-2",
        ]
    );
    for r in &sent {
        let bearer = r.headers().get("authorization").map(|v| v.to_str().unwrap());
        if r.uri().path() == "/services/data/" {
            assert_eq!(bearer, None, "the versions list needs no token");
        } else {
            assert_eq!(bearer, Some("Bearer 00D!AT1"), "{}", line(r));
            assert_eq!(r.headers()["accept"], "application/json");
        }
        assert_eq!(r.headers()["user-agent"], oauth_desk_core::transport::USER_AGENT_VALUE);
        assert!(r.body().is_empty());
    }
    assert_eq!(sent[4].headers()["sforce-query-options"], "batchSize=500");
    assert_eq!(sent[5].headers()["sforce-query-options"], "batchSize=500", "every page asks for the batch size");
    assert_eq!(header_names(&sent[0]), ["accept", "authorization", "user-agent"]);
}

#[tokio::test]
async fn wechat_api_calls() {
    let t = Arc::new(MockTransport::new(|_| {
        Ok(RawResponse::new(200, "text/plain", r#"{"errcode":0,"errmsg":"ok","openid":"oX"}"#, "https://w"))
    }));
    let endpoints = WechatEndpoints { open_base: "https://open.weixin.qq.com".into(), api_base: "https://api.weixin.qq.com".into() };
    let s = session(
        Provider::WechatWebsite(WechatWebsiteConfig { lang: "zh_TW".into(), endpoints }),
        token(serde_json::json!({"access_token": "AT1", "openid": "oX"})),
        t.clone(),
    );
    let api = WechatApi::of(&s).unwrap();
    api.userinfo(None).await.unwrap();
    api.check().await.unwrap();
    request::send(&s, &ApiRequest { method: "get".into(), url: "cgi-bin/user/info?lang=en".into(), headers: vec![], body: None })
        .await
        .unwrap();
    let lines: Vec<String> = t.requests().iter().map(line).collect();
    assert_eq!(
        lines,
        [
            "GET https://api.weixin.qq.com/sns/userinfo?access_token=AT1&openid=oX&lang=zh_TW",
            "GET https://api.weixin.qq.com/sns/auth?access_token=AT1&openid=oX",
            "GET https://api.weixin.qq.com/cgi-bin/user/info?lang=en&access_token=AT1&openid=oX",
        ]
    );
    assert!(t.requests().iter().all(|r| !r.headers().contains_key("authorization")), "WeChat takes the token in the query only");
}

#[tokio::test]
async fn standard_discovery_userinfo_and_a_composed_request() {
    let t = Arc::new(MockTransport::new(|r| {
        Ok(if r.uri().path().ends_with("openid-configuration") {
            json(
                200,
                r#"{"issuer":"https://idp.example/realm","userinfo_endpoint":"https://idp.example/realm/me","token_endpoint":"https://idp.example/realm/token"}"#,
            )
        } else {
            json(200, r#"{"sub":"ada"}"#)
        })
    }));
    let provider = Provider::Oauth2(Oauth2Config { issuer: Some("https://idp.example/realm".into()), ..Default::default() });
    let s = session(provider, token(serde_json::json!({"access_token": "AT1"})), t.clone());
    s.userinfo(None).await.unwrap();
    let body = r#"{"name":"x"}"#;
    let req = ApiRequest {
        method: "PATCH".into(),
        url: "/api/items/7".into(),
        headers: vec![("Content-Type".into(), "application/json".into()), ("X-Trace".into(), "1".into())],
        body: Some(body.into()),
    };
    let response = request::send(&s, &req).await.unwrap();
    assert_eq!(response.status, 200);
    let sent = t.requests();
    assert_eq!(
        sent.iter().map(line).collect::<Vec<_>>(),
        [
            "GET https://idp.example/realm/.well-known/openid-configuration",
            "GET https://idp.example/realm/me",
            "PATCH https://idp.example/realm/api/items/7"
        ]
    );
    assert!(!sent[0].headers().contains_key("authorization"), "discovery carries no token");
    assert_eq!(sent[1].headers()["authorization"], "Bearer AT1");
    assert_eq!(header_names(&sent[2]), ["content-type", "x-trace", "authorization", "user-agent"]);
    assert_eq!(form(&sent[2]), body);
}

/// Each provider's "token refused" answer renews once and retries once: the exact sequence.
#[tokio::test]
async fn every_kind_of_rejection_renews_once_then_retries() {
    struct Case {
        provider: Provider,
        token: TokenSet,
        refused: RawResponse,
        renewed: RawResponse,
        call: fn(&Session) -> futures::future::BoxFuture<'_, oauth_desk_core::Result<serde_json::Value>>,
        sequence: [&'static str; 3],
    }
    let wx = WechatEndpoints { open_base: "https://open.weixin.qq.com".into(), api_base: "https://api.weixin.qq.com".into() };
    let mut bearer401 = json(401, r#"{"error":"invalid_token"}"#);
    bearer401.headers.insert("www-authenticate", r#"Bearer error="invalid_token", error_description="expired""#.parse().unwrap());
    let cases = vec![
        Case {
            provider: Provider::Salesforce(SalesforceConfig { login: "https://acme.my.salesforce.com".into(), ..Default::default() }),
            token: salesforce_token(),
            refused: RawResponse::new(403, "text/plain", "Bad_OAuth_Token", "https://login.salesforce.com/id/00D/005"),
            renewed: json(200, r#"{"access_token":"00D!AT2","instance_url":"https://acme.my.salesforce.com"}"#),
            call: |s| Box::pin(async move { SalesforceApi::of(s)?.identity().await }),
            sequence: [
                "GET https://login.salesforce.com/id/00D/005",
                "POST https://acme.my.salesforce.com/services/oauth2/token",
                "GET https://login.salesforce.com/id/00D/005",
            ],
        },
        Case {
            provider: Provider::Salesforce(SalesforceConfig { login: "https://acme.my.salesforce.com".into(), ..Default::default() }),
            token: salesforce_token(),
            refused: json(401, r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#),
            renewed: json(200, r#"{"access_token":"00D!AT2"}"#),
            call: |s| Box::pin(async move { SalesforceApi::of(s)?.get("/services/data/v62.0/limits").await }),
            sequence: [
                "GET https://acme.my.salesforce.com/services/data/v62.0/limits",
                "POST https://acme.my.salesforce.com/services/oauth2/token",
                "GET https://acme.my.salesforce.com/services/data/v62.0/limits",
            ],
        },
        Case {
            provider: Provider::WechatOfficialAccount(oauth_desk_core::profile::WechatOfficialAccountConfig {
                scope: WechatScope::Userinfo,
                lang: "en".into(),
                endpoints: wx,
            }),
            token: token(serde_json::json!({"access_token": "AT1", "refresh_token": "RT1", "openid": "oX"})),
            refused: RawResponse::new(
                200,
                "text/plain",
                r#"{"errcode":42001,"errmsg":"access_token expired, rid: 1"}"#,
                "https://api.weixin.qq.com/sns/userinfo",
            ),
            renewed: RawResponse::new(
                200,
                "text/plain",
                r#"{"access_token":"AT2","expires_in":7200,"refresh_token":"RT1","openid":"oX"}"#,
                "https://w",
            ),
            call: |s| Box::pin(async move { WechatApi::of(s)?.userinfo(None).await }),
            sequence: [
                "GET https://api.weixin.qq.com/sns/userinfo?access_token=AT1&openid=oX&lang=en",
                "GET https://api.weixin.qq.com/sns/oauth2/refresh_token?appid=client-1&grant_type=refresh_token&refresh_token=RT1",
                "GET https://api.weixin.qq.com/sns/userinfo?access_token=AT2&openid=oX&lang=en",
            ],
        },
        Case {
            provider: Provider::Oauth2(Oauth2Config {
                token_url: Some("https://idp.example/token".into()),
                userinfo_url: Some("https://idp.example/userinfo".into()),
                ..Default::default()
            }),
            token: token(serde_json::json!({"access_token": "AT1", "refresh_token": "RT1"})),
            refused: bearer401,
            renewed: json(200, r#"{"access_token":"AT2","token_type":"Bearer","expires_in":300}"#),
            call: |s| Box::pin(async move { s.userinfo(None).await }),
            sequence: ["GET https://idp.example/userinfo", "POST https://idp.example/token", "GET https://idp.example/userinfo"],
        },
    ];
    for case in cases {
        let answers = Mutex::new(vec![case.refused.clone(), case.renewed.clone(), json(200, r#"{"ok":true}"#)]);
        let t = Arc::new(MockTransport::new(move |_| Ok(answers.lock().unwrap().remove(0))));
        let s = session(case.provider, case.token, t.clone());
        (case.call)(&s).await.unwrap();
        let lines: Vec<String> = t.requests().iter().map(line).collect();
        assert_eq!(lines, case.sequence);
        assert_eq!(s.renewals(), 1);
        let history = s.history();
        assert!(history[0].automatic && history[0].grant == Grant::RefreshToken, "{history:?}");
    }
}

#[tokio::test]
async fn refused_twice_says_sign_in_again() {
    let t = Arc::new(MockTransport::new(|r| {
        Ok(if r.method() == "POST" {
            json(200, r#"{"access_token":"AT2"}"#)
        } else {
            RawResponse::new(403, "text/plain", "Bad_OAuth_Token", "https://i")
        })
    }));
    let s = session(
        Provider::Salesforce(SalesforceConfig { login: "https://acme.my.salesforce.com".into(), ..Default::default() }),
        salesforce_token(),
        t,
    );
    let e = SalesforceApi::of(&s).unwrap().identity().await.unwrap_err();
    assert_eq!((e.code, e.provider_code()), (ErrorCode::TokenRejected, Some("Bad_OAuth_Token")));
    assert!(e.hint.unwrap().contains("sign in again"));
    assert_eq!(e.action, Some(oauth_desk_core::Action::SignIn));
}
