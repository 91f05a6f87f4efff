//! WeChat Official Account and website QR login through the core, against the WeChat emulator.

mod common;

use common::*;
use oauth_desk_core::profile::WechatScope;
use oauth_desk_core::providers::wechat::WechatApi;
use oauth_desk_core::token::ExpirySource;
use oauth_desk_core::ErrorCode;
use oauth_desk_emulators::{user, wechat};
use std::sync::Arc;
use url::Url;

#[tokio::test]
async fn snsapi_base_is_silent_and_userinfo_is_refused_with_48001() {
    let (_em, srv) = wechat(wechat::Config::default()).await;
    let session = wechat_oa_session(&srv.base_url(), WechatScope::Base);
    let pending = session.authorize(None).await.unwrap();
    assert!(pending.authorize_url.ends_with("#wechat_redirect"));
    assert!(pending.pkce_verifier.is_none(), "WeChat takes no PKCE");
    let redirect = user::wechat_authorize(&pending.authorize_url, true).await.unwrap();
    assert!(redirect.starts_with("https://wx.example.com/auth/wechat?from=desk&code="), "{redirect}");
    let t = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    assert_eq!(t.expiry_source, ExpirySource::ExpiresIn);
    assert_eq!(t.token_type, None, "WeChat sends no token_type");
    assert!(t.openid.is_some());
    let e = WechatApi::of(&session).unwrap().userinfo(None).await.unwrap_err();
    assert_eq!((e.code, e.provider_code()), (ErrorCode::ProviderError, Some("48001")));
    assert!(e.provider.as_ref().unwrap().request_id.is_some(), "the rid is kept");
    assert!(e.hint.unwrap().contains("snsapi_userinfo"));
    assert_eq!(WechatApi::of(&session).unwrap().check().await.unwrap()["errmsg"], "ok");
}

#[tokio::test]
async fn snsapi_userinfo_consent_then_userinfo_in_each_language() {
    let (_em, srv) = wechat(wechat::Config::default()).await;
    let session = wechat_oa_session(&srv.base_url(), WechatScope::Userinfo);
    let pending = session.authorize(None).await.unwrap();
    let redirect = user::wechat_authorize(&pending.authorize_url, true).await.unwrap();
    let t = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("snsapi_userinfo"));
    assert!(t.unionid.is_some());
    for lang in ["zh_CN", "zh_TW", "en"] {
        let info = WechatApi::of(&session).unwrap().userinfo(Some(lang)).await.unwrap();
        assert_eq!(info["nickname"], "微信用户 Ada");
        assert_eq!(info["sex"], 0, "since 2021 sex is 0");
    }
    assert_eq!(WechatApi::of(&session).unwrap().userinfo(Some("fr")).await.unwrap_err().code, ErrorCode::InvalidInput);

    // The code is single-use.
    let again = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap_err();
    assert_eq!((again.code, again.provider_code()), (ErrorCode::InvalidGrant, Some("40163")));
    assert!(again.hint.unwrap().contains("single-use"));
}

#[tokio::test]
async fn denial_is_a_redirect_without_code() {
    let (_em, srv) = wechat(wechat::Config::default()).await;
    let session = wechat_oa_session(&srv.base_url(), WechatScope::Userinfo);
    let pending = session.authorize(None).await.unwrap();
    let redirect = user::wechat_authorize(&pending.authorize_url, false).await.unwrap();
    assert!(!redirect.contains("code="));
    let e = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AccessDenied);
}

#[tokio::test]
async fn a_bare_code_pasted_from_the_phone() {
    let (_em, srv) = wechat(wechat::Config::default()).await;
    let session = wechat_oa_session(&srv.base_url(), WechatScope::Userinfo);
    let pending = session.authorize(None).await.unwrap();
    let redirect = user::wechat_authorize(&pending.authorize_url, true).await.unwrap();
    let code = Url::parse(&redirect).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let t = session.complete_pasted(None, &format!("  {code}\n")).await.unwrap();
    assert!(t.openid.is_some());
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_ten_concurrent_calls() {
    let (em, srv) = wechat(wechat::Config::default()).await;
    let session = Arc::new(wechat_oa_session(&srv.base_url(), WechatScope::Userinfo));
    let pending = session.authorize(None).await.unwrap();
    let redirect = user::wechat_authorize(&pending.authorize_url, true).await.unwrap();
    let first = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    em.expire_tokens(); // 42001 from now on, at HTTP 200 as text/plain
    let e = WechatApi::of(&session).unwrap().check().await.unwrap_err();
    assert_eq!(e.provider_code(), Some("42001"), "the check reports, it does not refresh");
    let calls = (0..10).map(|_| {
        let s = session.clone();
        tokio::spawn(async move { WechatApi::of(&s).unwrap().userinfo(Some("en")).await })
    });
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap()["nickname"], "微信用户 Ada");
    }
    assert_eq!(em.stats().refresh_calls, 1, "exactly one refresh");
    let now = session.token().await.unwrap();
    assert_ne!(now.access_token, first.access_token);
    assert_eq!(now.refresh_token, first.refresh_token);
}

#[tokio::test]
async fn website_qr_login_confirmed_on_the_phone() {
    let (_em, srv) = wechat(wechat::Config::default()).await;
    let session = wechat_web_session(&srv.base_url());
    let pending = session.authorize(None).await.unwrap();
    assert!(pending.authorize_url.contains("/connect/qrconnect?appid="));
    assert!(pending.authorize_url.contains("&scope=snsapi_login&"));
    let redirect = user::wechat_authorize(&pending.authorize_url, true).await.unwrap();
    let t = session.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap();
    assert_eq!(t.scope.as_deref(), Some("snsapi_login"));
    assert_eq!(session.userinfo(None).await.unwrap()["unionid"], "oUnion_Emu_Ada_7Hq2Lx");
}

#[tokio::test]
async fn wrong_secret_and_parameter_order_are_reported() {
    let (_em, srv) = wechat(wechat::Config::default()).await;
    let base = srv.base_url();
    let mut config = wechat_oa_session(&base, WechatScope::Base).profile().clone();
    config.id = "other".into();
    let bad = oauth_desk_core::providers::session(
        config,
        oauth_desk_core::ProfileSecrets { client_secret: Some(oauth_desk_core::Secret::new("wrong")), ..Default::default() },
        transport(),
        system(),
    );
    let pending = bad.authorize(None).await.unwrap();
    let redirect = user::wechat_authorize(&pending.authorize_url, true).await.unwrap();
    let e = bad.complete_redirect(&pending, &Url::parse(&redirect).unwrap()).await.unwrap_err();
    assert_eq!((e.code, e.provider_code()), (ErrorCode::InvalidClient, Some("40125")));
    assert!(!e.to_string().contains("wrong"), "the secret never reaches the message: {e}");
    assert!(e.endpoint.as_deref().unwrap().ends_with("/sns/oauth2/access_token"));

    // WeChat rejects the page when the parameters are out of order.
    let app = &wechat::Config::default().apps[0];
    let reordered = format!("{base}/connect/oauth2/authorize?redirect_uri=https%3A%2F%2Fx.example.com&appid={}&response_type=code&scope=snsapi_base&state=A#wechat_redirect", app.appid);
    let page = user::wechat_authorize(&reordered, true).await.unwrap_err();
    assert!(page.contains("10003"), "{page}");
}
