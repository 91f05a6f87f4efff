//! The built-in Sandbox: the Salesforce and WeChat emulators served on 127.0.0.1 inside the
//! app, with demo users and a few thousand records, and profiles pointing at them. A newcomer
//! with no account anywhere can sign in through the login window and run SOQL.

use crate::state::AppState;
use crate::types::SandboxInfo;
use oauth_desk_core::profile::{SalesforceConfig, WechatEndpoints, WechatWebsiteConfig};
use oauth_desk_core::storage::SecretKey;
use oauth_desk_core::{Profile, Provider, Result, Secret};
use oauth_desk_emulators::{salesforce, wechat, Running};

pub const SALESFORCE_PROFILE: &str = "sandbox-salesforce";
pub const WECHAT_PROFILE: &str = "sandbox-wechat";
/// Never requested: the login window intercepts it.
pub const REDIRECT_URI: &str = "https://sandbox.oauth-desk.invalid/callback";

pub struct Sandbox {
    salesforce: Running,
    wechat: Running,
}

fn upsert(state: &AppState, name: &str, client_id: &str, provider: Provider, secret: &str) -> Result<()> {
    let mut p = state.desk.find(name).unwrap_or_else(|_| Profile::new(name, client_id, provider.clone()));
    p.client_id = client_id.to_string();
    p.provider = provider;
    p.redirect_uri = Some(REDIRECT_URI.into());
    if name == SALESFORCE_PROFILE {
        p.username = Some("ada@example.com".into());
    }
    state.desk.save(&p)?;
    state.desk.set_secret(&p, SecretKey::ClientSecret, Some(&Secret::new(secret)))?;
    Ok(())
}

/// Starts the emulators (once) and creates or updates the Sandbox profiles.
pub async fn start(state: &AppState) -> Result<SandboxInfo> {
    let mut slot = state.sandbox.lock().await;
    if slot.is_none() {
        let io = |e: std::io::Error| oauth_desk_core::Error::storage(format!("cannot start the Sandbox: {e}"));
        let sf_config = salesforce::Config { accounts: 3000, ..Default::default() };
        let (_, sf) = salesforce::start(sf_config, 0).await.map_err(io)?;
        let (_, wx) = wechat::start(wechat::Config::default(), 0).await.map_err(io)?;
        *slot = Some(Sandbox { salesforce: sf, wechat: wx });
    }
    let sandbox = slot.as_ref().expect("started above");
    let (sf_url, wx_url) = (sandbox.salesforce.base_url(), sandbox.wechat.base_url());
    let sf = salesforce::Config::default();
    upsert(
        state,
        SALESFORCE_PROFILE,
        &sf.client_id,
        Provider::Salesforce(SalesforceConfig {
            login: sf_url.clone(),
            scopes: vec!["api".into(), "refresh_token".into(), "openid".into()],
            ..Default::default()
        }),
        &sf.client_secret,
    )?;
    let app = &wechat::Config::default().apps[1];
    upsert(
        state,
        WECHAT_PROFILE,
        &app.appid,
        Provider::WechatWebsite(WechatWebsiteConfig {
            lang: "zh_CN".into(),
            endpoints: WechatEndpoints { open_base: wx_url.clone(), api_base: wx_url.clone() },
        }),
        &app.secret,
    )?;
    Ok(SandboxInfo {
        salesforce_url: sf_url,
        wechat_url: wx_url,
        profiles: vec![SALESFORCE_PROFILE.into(), WECHAT_PROFILE.into()],
        username: sf.users[0].username.clone(),
        password: sf.users[0].password.clone(),
    })
}
