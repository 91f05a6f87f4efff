//! Provider profiles: everything about a provider connection that is not secret.
//!
//! Secrets (client secret, password, security token, tokens) are never fields here; they live in
//! a [`crate::storage::SecretStore`] keyed by the profile's `id`. Every base URL can be
//! overridden so tests and the Sandbox point a profile at 127.0.0.1.

use crate::error::{Error, Result};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use url::Url;

pub const SALESFORCE_PRODUCTION: &str = "https://login.salesforce.com";
pub const SALESFORCE_SANDBOX: &str = "https://test.salesforce.com";
pub const WECHAT_OPEN_BASE: &str = "https://open.weixin.qq.com";
pub const WECHAT_API_BASE: &str = "https://api.weixin.qq.com";
pub const DEFAULT_SALESFORCE_API_VERSION: &str = "62.0";

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Random, stable; keys the profile's secrets in the keyring.
    pub id: String,
    /// What the user types: `acme-prod`.
    pub name: String,
    pub client_id: String,
    /// Any http(s) URL registered with the provider. Optional for password / client-credentials use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// Username for the password grant (the password itself is a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// User agent for the login window (WeChat pages check it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// An extra CA certificate (PEM) this profile's servers are trusted by: an on-prem
    /// identity server or a company's TLS inspection. Not a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    pub provider: Provider,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Provider {
    Salesforce(SalesforceConfig),
    WechatOfficialAccount(WechatOfficialAccountConfig),
    WechatWebsite(WechatWebsiteConfig),
    Oauth2(Oauth2Config),
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Salesforce,
    WechatOfficialAccount,
    WechatWebsite,
    Oauth2,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Salesforce => "salesforce",
            ProviderKind::WechatOfficialAccount => "wechat_official_account",
            ProviderKind::WechatWebsite => "wechat_website",
            ProviderKind::Oauth2 => "oauth2",
        }
    }
    pub fn is_wechat(self) -> bool {
        matches!(self, ProviderKind::WechatOfficialAccount | ProviderKind::WechatWebsite)
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.replace('-', "_").as_str() {
            "salesforce" => Ok(ProviderKind::Salesforce),
            "wechat_official_account" => Ok(ProviderKind::WechatOfficialAccount),
            "wechat_website" => Ok(ProviderKind::WechatWebsite),
            "oauth2" | "oidc" | "generic" => Ok(ProviderKind::Oauth2),
            other => Err(Error::invalid_input(format!(
                "unknown provider kind `{other}`: use salesforce, wechat_official_account, wechat_website or oauth2"
            ))),
        }
    }
}

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret.
    #[default]
    Basic,
    /// `client_id` and `client_secret` form fields.
    Body,
    /// A JWT signed with the profile's private key (RFC 7523 §2.2, OIDC Core §9
    /// `private_key_jwt`): no shared secret travels.
    PrivateKeyJwt,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesforceConfig {
    /// `production`, `sandbox`, or a My Domain URL such as `https://acme.my.salesforce.com`.
    #[serde(default = "default_login")]
    pub login: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(default = "default_salesforce_scopes")]
    pub scopes: Vec<String>,
    #[serde(default = "yes")]
    pub pkce: bool,
    /// Salesforce sends no `expires_in`; this estimates the session length (org default 2 hours).
    #[serde(default = "default_session_seconds")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub session_seconds: u64,
    /// Extra authorize parameters: `prompt`, `login_hint`, `display`, ...
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_params: BTreeMap<String, String>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WechatScope {
    #[serde(rename = "snsapi_base")]
    Base,
    #[serde(rename = "snsapi_userinfo")]
    Userinfo,
}

impl WechatScope {
    pub fn as_str(self) -> &'static str {
        match self {
            WechatScope::Base => "snsapi_base",
            WechatScope::Userinfo => "snsapi_userinfo",
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WechatEndpoints {
    #[serde(default = "default_wechat_open")]
    pub open_base: String,
    #[serde(default = "default_wechat_api")]
    pub api_base: String,
}

impl Default for WechatEndpoints {
    fn default() -> Self {
        WechatEndpoints { open_base: default_wechat_open(), api_base: default_wechat_api() }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WechatOfficialAccountConfig {
    pub scope: WechatScope,
    /// `zh_CN`, `zh_TW` or `en` for `sns/userinfo`.
    #[serde(default = "default_lang")]
    pub lang: String,
    #[serde(flatten)]
    pub endpoints: WechatEndpoints,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WechatWebsiteConfig {
    #[serde(default = "default_lang")]
    pub lang: String,
    #[serde(flatten)]
    pub endpoints: WechatEndpoints,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Oauth2Config {
    /// With an issuer, `/.well-known/openid-configuration` fills any endpoint left empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_url: Option<String>,
    /// RFC 8628's device authorization endpoint (discovery fills it when empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_authorization_url: Option<String>,
    /// Base for relative URLs in authenticated requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default = "yes")]
    pub pkce: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_params: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}
fn default_login() -> String {
    "production".into()
}
fn default_api_version() -> String {
    DEFAULT_SALESFORCE_API_VERSION.into()
}
fn default_salesforce_scopes() -> Vec<String> {
    vec!["api".into(), "refresh_token".into()]
}
fn default_session_seconds() -> u64 {
    7200
}
fn default_lang() -> String {
    "zh_CN".into()
}
fn default_wechat_open() -> String {
    WECHAT_OPEN_BASE.into()
}
fn default_wechat_api() -> String {
    WECHAT_API_BASE.into()
}

impl Default for SalesforceConfig {
    fn default() -> Self {
        SalesforceConfig {
            login: default_login(),
            api_version: default_api_version(),
            scopes: default_salesforce_scopes(),
            pkce: true,
            session_seconds: default_session_seconds(),
            authorize_params: BTreeMap::new(),
        }
    }
}

impl Provider {
    pub fn kind(&self) -> ProviderKind {
        match self {
            Provider::Salesforce(_) => ProviderKind::Salesforce,
            Provider::WechatOfficialAccount(_) => ProviderKind::WechatOfficialAccount,
            Provider::WechatWebsite(_) => ProviderKind::WechatWebsite,
            Provider::Oauth2(_) => ProviderKind::Oauth2,
        }
    }

    /// A fresh configuration of this kind with every default.
    pub fn default_for(kind: ProviderKind) -> Provider {
        match kind {
            ProviderKind::Salesforce => Provider::Salesforce(SalesforceConfig::default()),
            ProviderKind::WechatOfficialAccount => Provider::WechatOfficialAccount(WechatOfficialAccountConfig {
                scope: WechatScope::Base,
                lang: default_lang(),
                endpoints: WechatEndpoints::default(),
            }),
            ProviderKind::WechatWebsite => {
                Provider::WechatWebsite(WechatWebsiteConfig { lang: default_lang(), endpoints: WechatEndpoints::default() })
            }
            ProviderKind::Oauth2 => Provider::Oauth2(Oauth2Config { pkce: true, ..Default::default() }),
        }
    }
}

impl SalesforceConfig {
    /// The login host as a URL: `production` and `sandbox` name Salesforce's own hosts.
    /// The login host as a URL: `production` and `sandbox` name Salesforce's own hosts; a bare
    /// host name (`acme.my.salesforce.com`, `login.salesforce.com`) means https on it.
    pub fn login_url(&self) -> Result<Url> {
        let given = self.login.trim();
        let raw = match given {
            "production" | "login" => SALESFORCE_PRODUCTION.to_string(),
            "sandbox" | "test" => SALESFORCE_SANDBOX.to_string(),
            host if !host.contains("://") && !host.is_empty() && !host.contains(char::is_whitespace) => format!("https://{host}"),
            other => other.to_string(),
        };
        parse_base_url("Salesforce login host", &raw).map_err(|e| {
            e.with_hint(
                "give `production`, `sandbox`, a host name such as acme.my.salesforce.com, or a URL such as https://acme.my.salesforce.com",
            )
        })
    }

    /// True for Salesforce's shared login hosts, where the client-credentials flow is refused.
    pub fn is_shared_login_host(&self) -> bool {
        self.login_url().map(|u| matches!(u.host_str(), Some("login.salesforce.com" | "test.salesforce.com"))).unwrap_or(false)
    }
}

/// The secrets a profile may have, gathered for one operation. None of them is ever persisted
/// by the profile store.
#[derive(Debug, Clone, Default)]
pub struct ProfileSecrets {
    pub client_secret: Option<Secret>,
    pub password: Option<Secret>,
    /// Salesforce: appended to the password for the password grant.
    pub security_token: Option<Secret>,
    /// PEM private key for JWT bearer assertions and `private_key_jwt` client assertions.
    pub private_key: Option<Secret>,
    /// A client assertion made for one request by the session (never stored).
    pub client_assertion: Option<Secret>,
}

pub fn new_profile_id() -> String {
    use rand::Rng;
    let bytes: [u8; 8] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses an http(s) base URL and names the field when it is wrong.
pub fn parse_base_url(field: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        Error::invalid_input(format!("{field} `{raw}` is not a URL ({e})")).with_hint("give a full URL such as https://example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid_input(format!("{field} `{raw}` must be an http(s) URL with a host")));
    }
    Ok(url)
}

/// Joins a path to a base URL, keeping any path the base has (`https://h/realm` + `/x`).
pub fn join_url(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

impl Profile {
    pub fn new(name: impl Into<String>, client_id: impl Into<String>, provider: Provider) -> Self {
        Profile {
            id: new_profile_id(),
            name: name.into(),
            client_id: client_id.into(),
            redirect_uri: None,
            username: None,
            user_agent: None,
            ca_certificate: None,
            provider,
        }
    }

    pub fn kind(&self) -> ProviderKind {
        self.provider.kind()
    }

    pub fn redirect_url(&self) -> Result<Url> {
        let raw = self.redirect_uri.as_deref().ok_or_else(|| {
            Error::invalid_input(format!("profile `{}` has no redirect URI", self.name))
                .with_hint("set the callback URL registered with the provider (--redirect-uri)")
        })?;
        parse_base_url("redirect URI", raw)
    }

    /// Checks every field and names the first one that is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty()
            || self.name.len() > 64
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::invalid_input(format!("profile name `{}` must be 1 to 64 letters, digits, `-`, `_` or `.`", self.name)));
        }
        if self.client_id.trim().is_empty() {
            let what = if self.kind().is_wechat() { "appid" } else { "client id" };
            return Err(Error::invalid_input(format!("profile `{}` needs a {what}", self.name)));
        }
        if let Some(pem) = self.ca_certificate.as_deref().filter(|p| !p.trim().is_empty()) {
            crate::transport::parse_ca_pem(pem)?;
        }
        if let Some(r) = &self.redirect_uri {
            let url = parse_base_url("redirect URI", r)?;
            if url.fragment().is_some() {
                return Err(Error::invalid_input(format!("redirect URI `{r}` must not contain a #fragment (RFC 6749 §3.1.2)")));
            }
        }
        match &self.provider {
            Provider::Salesforce(c) => {
                let login = c.login_url()?;
                if login.scheme() == "http" && !is_loopback(&login) {
                    return Err(Error::invalid_input(format!("Salesforce login host `{}` must use https", c.login)));
                }
                let v = c.api_version.trim_start_matches('v');
                let ok = v.split_once('.').is_some_and(|(a, b)| {
                    !a.is_empty() && a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit()) && !b.is_empty()
                });
                if !ok {
                    return Err(Error::invalid_input(format!("API version `{}` must look like 62.0", c.api_version)));
                }
                if c.session_seconds == 0 {
                    return Err(Error::invalid_input("session length must be more than 0 seconds"));
                }
            }
            Provider::WechatOfficialAccount(c) => {
                check_lang(&c.lang)?;
                check_wechat_endpoints(&c.endpoints)?;
            }
            Provider::WechatWebsite(c) => {
                check_lang(&c.lang)?;
                check_wechat_endpoints(&c.endpoints)?;
            }
            Provider::Oauth2(c) => {
                for (field, v) in [
                    ("issuer", &c.issuer),
                    ("authorize URL", &c.authorize_url),
                    ("token URL", &c.token_url),
                    ("userinfo URL", &c.userinfo_url),
                    ("revocation URL", &c.revocation_url),
                    ("introspection URL", &c.introspection_url),
                    ("API base", &c.api_base),
                ] {
                    if let Some(v) = v {
                        parse_base_url(field, v)?;
                    }
                }
                if c.issuer.is_none() && c.token_url.is_none() {
                    return Err(Error::invalid_input(format!(
                        "OAuth 2.0 profile `{}` needs a token URL or an issuer to discover it from",
                        self.name
                    )));
                }
            }
        }
        Ok(())
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn check_lang(lang: &str) -> Result<()> {
    match lang {
        "zh_CN" | "zh_TW" | "en" => Ok(()),
        other => Err(Error::invalid_input(format!("WeChat language `{other}` must be zh_CN, zh_TW or en"))),
    }
}

fn check_wechat_endpoints(e: &WechatEndpoints) -> Result<()> {
    parse_base_url("WeChat open platform base", &e.open_base)?;
    parse_base_url("WeChat API base", &e.api_base)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_json_is_tagged_by_kind() {
        let mut p = Profile::new("acme", "3MVG9", Provider::default_for(ProviderKind::Salesforce));
        p.id = "0011".into();
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["provider"]["kind"], "salesforce");
        assert_eq!(v["provider"]["session_seconds"], 7200);
        let back: Profile = serde_json::from_value(v).unwrap();
        assert_eq!(back, p, "round trip");
    }

    #[test]
    fn validation_names_the_field() {
        let mut p = Profile::new("bad name!", "x", Provider::default_for(ProviderKind::Salesforce));
        assert!(p.validate().unwrap_err().message.contains("profile name"));
        p.name = "ok".into();
        p.redirect_uri = Some("not a url".into());
        assert!(p.validate().unwrap_err().message.contains("redirect URI"));
        p.redirect_uri = Some("https://app.example.com/cb#x".into());
        assert!(p.validate().unwrap_err().message.contains("fragment"));
        p.redirect_uri = None;
        if let Provider::Salesforce(c) = &mut p.provider {
            c.login = "http://evil.example.com".into();
        }
        assert!(p.validate().unwrap_err().message.contains("https"));
        let g = Profile::new("g", "c", Provider::default_for(ProviderKind::Oauth2));
        assert!(g.validate().unwrap_err().message.contains("token URL or an issuer"));
    }

    #[test]
    fn salesforce_hosts() {
        let mut c = SalesforceConfig::default();
        assert_eq!(c.login_url().unwrap().as_str(), "https://login.salesforce.com/");
        assert!(c.is_shared_login_host());
        c.login = "sandbox".into();
        assert!(c.is_shared_login_host());
        c.login = "https://acme.my.salesforce.com".into();
        assert!(!c.is_shared_login_host());
        c.login = "login.salesforce.com".into();
        assert_eq!(c.login_url().unwrap().as_str(), "https://login.salesforce.com/", "a bare host name means https");
        assert!(c.is_shared_login_host());
        c.login = "acme.my.salesforce.com".into();
        assert_eq!(c.login_url().unwrap().as_str(), "https://acme.my.salesforce.com/");
        c.login = "not a host".into();
        let e = c.login_url().unwrap_err();
        assert!(e.hint.unwrap().contains("`production`, `sandbox`"), "the hint names the words that work");
    }
}
