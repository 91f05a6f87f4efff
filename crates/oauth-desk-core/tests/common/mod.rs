//! Helpers shared by the core's integration tests: sessions pointed at emulators on 127.0.0.1.
#![allow(dead_code)]

use oauth_desk_core::profile::{SalesforceConfig, WechatEndpoints, WechatOfficialAccountConfig, WechatScope, WechatWebsiteConfig};
use oauth_desk_core::{Clock, HttpConfig, Profile, ProfileSecrets, Provider, ReqwestTransport, Secret, Session, SystemClock, Transport};
use oauth_desk_emulators::{salesforce, wechat, Running};
use std::sync::Arc;

pub fn transport() -> Arc<dyn Transport> {
    Arc::new(ReqwestTransport::new(HttpConfig::default()).expect("http client"))
}

pub fn salesforce_profile(base: &str) -> Profile {
    let mut p = Profile::new(
        "sf",
        salesforce::Config::default().client_id,
        Provider::Salesforce(SalesforceConfig { login: base.to_string(), ..Default::default() }),
    );
    p.redirect_uri = Some("https://app.example.com/oauth/callback".into());
    p.username = Some("ada@example.com".into());
    p
}

pub fn salesforce_secrets() -> ProfileSecrets {
    let c = salesforce::Config::default();
    ProfileSecrets {
        client_secret: Some(Secret::new(c.client_secret)),
        password: Some(Secret::new(c.users[0].password.clone())),
        security_token: Some(Secret::new(c.users[0].security_token.clone())),
        private_key: None,
        client_assertion: None,
    }
}

pub async fn salesforce(config: salesforce::Config) -> (salesforce::Emulator, Running) {
    salesforce::start(config, 0).await.expect("salesforce emulator")
}

pub fn sf_session(base: &str, clock: Arc<dyn Clock>) -> Session {
    oauth_desk_core::providers::session(salesforce_profile(base), salesforce_secrets(), transport(), clock)
}

pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

pub async fn wechat(config: wechat::Config) -> (wechat::Emulator, Running) {
    wechat::start(config, 0).await.expect("wechat emulator")
}

pub fn wechat_endpoints(base: &str) -> WechatEndpoints {
    WechatEndpoints { open_base: base.to_string(), api_base: base.to_string() }
}

pub fn wechat_oa_session(base: &str, scope: WechatScope) -> Session {
    let app = &wechat::Config::default().apps[0];
    let mut p = Profile::new(
        "wx",
        app.appid.clone(),
        Provider::WechatOfficialAccount(WechatOfficialAccountConfig { scope, lang: "zh_CN".into(), endpoints: wechat_endpoints(base) }),
    );
    p.redirect_uri = Some("https://wx.example.com/auth/wechat?from=desk".into());
    oauth_desk_core::providers::session(
        p,
        ProfileSecrets { client_secret: Some(Secret::new(app.secret.clone())), ..Default::default() },
        transport(),
        system(),
    )
}

pub fn wechat_web_session(base: &str) -> Session {
    let app = &wechat::Config::default().apps[1];
    let mut p = Profile::new(
        "wxweb",
        app.appid.clone(),
        Provider::WechatWebsite(WechatWebsiteConfig { lang: "en".into(), endpoints: wechat_endpoints(base) }),
    );
    p.redirect_uri = Some("https://www.example.com/login/wechat".into());
    oauth_desk_core::providers::session(
        p,
        ProfileSecrets { client_secret: Some(Secret::new(app.secret.clone())), ..Default::default() },
        transport(),
        system(),
    )
}

#[allow(unused_imports)]
pub use oauth_desk_emulators::oidc::start as start_oidc;

pub fn oidc_session(issuer: &str, client: &str, auth: oauth_desk_core::profile::ClientAuth) -> Session {
    use oauth_desk_core::profile::Oauth2Config;
    let secret = match client {
        "desk-basic" => Some(Secret::new("desk-basic-secret")),
        "desk-post" => Some(Secret::new("desk-post-secret")),
        _ => None,
    };
    let mut p = Profile::new(
        "oidc",
        client,
        Provider::Oauth2(Oauth2Config {
            issuer: Some(issuer.to_string()),
            client_auth: auth,
            scopes: vec!["openid".into(), "offline_access".into(), "email".into(), "profile".into()],
            pkce: true,
            authorize_params: [("prompt".to_string(), "consent".to_string())].into_iter().collect(),
            ..Default::default()
        }),
    );
    p.redirect_uri = Some("https://app.example.com/oidc/callback".into());
    p.username = Some("ada".into());
    oauth_desk_core::providers::session(
        p,
        ProfileSecrets { client_secret: secret, password: Some(Secret::new("Passw0rd!")), ..Default::default() },
        transport(),
        system(),
    )
}
