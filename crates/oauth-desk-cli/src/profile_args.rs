//! Profile fields as command-line options, shared by `profile add` and `profile edit`.

use clap::Args;
use oauth_desk_core::profile::{ClientAuth, Provider, WechatScope};
use oauth_desk_core::{Error, Profile, Result};

#[derive(Args, Debug, Default, Clone)]
pub struct ProfileArgs {
    /// Client id (Salesforce consumer key, WeChat AppID).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read the client secret (WeChat AppSecret) from the first line of standard input and keep it in the keyring.
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// The redirect (callback) URI registered with the provider; any http(s) URL.
    #[arg(long)]
    pub redirect_uri: Option<String>,
    /// Username for the password grant.
    #[arg(long)]
    pub username: Option<String>,
    /// User agent for the app's login window (WeChat pages check it).
    #[arg(long)]
    pub user_agent: Option<String>,
    /// Salesforce login host: production, sandbox, or a My Domain URL.
    #[arg(long)]
    pub login: Option<String>,
    /// Salesforce API version, e.g. 62.0.
    #[arg(long)]
    pub api_version: Option<String>,
    /// Salesforce session length in seconds, used to estimate expiry (Salesforce sends none).
    #[arg(long)]
    pub session_seconds: Option<u64>,
    /// Scopes, space- or comma-separated. WeChat Official Account: snsapi_base or snsapi_userinfo.
    #[arg(long)]
    pub scope: Option<String>,
    /// WeChat language for user info: zh_CN, zh_TW or en.
    #[arg(long)]
    pub lang: Option<String>,
    /// WeChat open-platform base (pages), default https://open.weixin.qq.com.
    #[arg(long)]
    pub open_base: Option<String>,
    /// API base: WeChat's (default https://api.weixin.qq.com) or a generic provider's, for relative request URLs.
    #[arg(long)]
    pub api_base: Option<String>,
    /// OIDC issuer; its discovery document fills endpoints left empty.
    #[arg(long)]
    pub issuer: Option<String>,
    #[arg(long)]
    pub authorize_url: Option<String>,
    #[arg(long)]
    pub token_url: Option<String>,
    #[arg(long)]
    pub userinfo_url: Option<String>,
    #[arg(long)]
    pub revocation_url: Option<String>,
    #[arg(long)]
    pub introspection_url: Option<String>,
    /// How the client authenticates at the token endpoint: basic, body, or private_key_jwt (a
    /// client assertion signed with the profile's key: `oauth-desk key create` or `key import`).
    #[arg(long, value_parser = ["basic", "body", "private_key_jwt"])]
    pub client_auth: Option<String>,
    /// Turn PKCE off (it is on by default where the provider takes it).
    #[arg(long)]
    pub no_pkce: bool,
    /// Trust this CA certificate (PEM file) for the profile's servers besides the system's: an
    /// on-prem identity server, or a company's TLS inspection.
    #[arg(long, value_name = "FILE", conflicts_with = "no_ca_cert")]
    pub ca_cert: Option<std::path::PathBuf>,
    /// Stop trusting the profile's own CA certificate.
    #[arg(long)]
    pub no_ca_cert: bool,
    /// Extra authorize parameter, e.g. --param prompt=login --param login_hint=ada@example.com. Repeatable; `name=` removes one.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

fn scopes(s: &str) -> Vec<String> {
    s.split([' ', ',']).filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// `name=value` sets a parameter; `name=` removes it.
fn merge_params(into: &mut std::collections::BTreeMap<String, String>, params: Vec<(String, String)>) {
    for (k, v) in params {
        if v.is_empty() {
            into.remove(&k);
        } else {
            into.insert(k, v);
        }
    }
}

impl ProfileArgs {
    /// The fields both WeChat kinds share.
    fn apply_wechat(&self, lang: &mut String, endpoints: &mut oauth_desk_core::profile::WechatEndpoints) {
        if let Some(v) = &self.lang {
            *lang = v.clone();
        }
        if let Some(v) = &self.open_base {
            endpoints.open_base = v.trim().to_string();
        }
        if let Some(v) = &self.api_base {
            endpoints.api_base = v.trim().to_string();
        }
    }

    /// Applies every given option to `profile`, refusing options that do not fit its kind.
    pub fn apply(&self, profile: &mut Profile) -> Result<()> {
        if let Some(v) = &self.client_id {
            profile.client_id = v.trim().to_string();
        }
        if let Some(v) = &self.redirect_uri {
            profile.redirect_uri = (!v.is_empty()).then(|| v.trim().to_string());
        }
        if let Some(v) = &self.username {
            profile.username = (!v.is_empty()).then(|| v.trim().to_string());
        }
        if let Some(v) = &self.user_agent {
            profile.user_agent = (!v.is_empty()).then(|| v.clone());
        }
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| Error::invalid_input(format!("cannot read the CA certificate {}: {e}", path.display())))?;
            oauth_desk_core::transport::parse_ca_pem(&pem)
                .map_err(|e| Error::invalid_input(format!("{}: {}", path.display(), e.message)))?;
            profile.ca_certificate = Some(pem);
        }
        if self.no_ca_cert {
            profile.ca_certificate = None;
        }
        let mut params = Vec::new();
        for p in &self.params {
            let (k, v) = p.split_once('=').ok_or_else(|| Error::invalid_input(format!("--param `{p}` must look like name=value")))?;
            params.push((k.trim().to_string(), v.to_string()));
        }
        let kind = profile.kind().as_str();
        let refuse = |flag: &str| Err(Error::invalid_input(format!("--{flag} does not apply to a {kind} profile")));
        match &mut profile.provider {
            Provider::Salesforce(c) => {
                if let Some(v) = &self.login {
                    c.login = v.trim().to_string();
                }
                if let Some(v) = &self.api_version {
                    c.api_version = v.trim().trim_start_matches('v').to_string();
                }
                if let Some(v) = self.session_seconds {
                    c.session_seconds = v;
                }
                if let Some(v) = &self.scope {
                    c.scopes = scopes(v);
                }
                if self.no_pkce {
                    c.pkce = false;
                }
                merge_params(&mut c.authorize_params, params);
                for (flag, set) in [
                    ("lang", self.lang.is_some()),
                    ("open-base", self.open_base.is_some()),
                    ("issuer", self.issuer.is_some()),
                    ("token-url", self.token_url.is_some()),
                ] {
                    if set {
                        return refuse(flag);
                    }
                }
            }
            Provider::WechatOfficialAccount(c) => {
                if let Some(v) = &self.scope {
                    c.scope = match v.trim() {
                        "snsapi_base" => WechatScope::Base,
                        "snsapi_userinfo" => WechatScope::Userinfo,
                        other => {
                            return Err(Error::invalid_input(format!(
                                "WeChat Official Account scope `{other}` must be snsapi_base or snsapi_userinfo"
                            )))
                        }
                    };
                }
                self.apply_wechat(&mut c.lang, &mut c.endpoints);
                if !params.is_empty() {
                    return refuse("param");
                }
            }
            Provider::WechatWebsite(c) => {
                if let Some(v) = &self.scope {
                    if v.trim() != "snsapi_login" {
                        return Err(Error::invalid_input("WeChat website QR login always uses the scope snsapi_login"));
                    }
                }
                self.apply_wechat(&mut c.lang, &mut c.endpoints);
                if !params.is_empty() {
                    return refuse("param");
                }
            }
            Provider::Oauth2(c) => {
                let set = |slot: &mut Option<String>, v: &Option<String>| {
                    if let Some(v) = v {
                        *slot = (!v.trim().is_empty()).then(|| v.trim().to_string());
                    }
                };
                set(&mut c.issuer, &self.issuer);
                set(&mut c.authorize_url, &self.authorize_url);
                set(&mut c.token_url, &self.token_url);
                set(&mut c.userinfo_url, &self.userinfo_url);
                set(&mut c.revocation_url, &self.revocation_url);
                set(&mut c.introspection_url, &self.introspection_url);
                set(&mut c.api_base, &self.api_base);
                if let Some(v) = &self.scope {
                    c.scopes = scopes(v);
                }
                if let Some(v) = &self.client_auth {
                    c.client_auth = match v.as_str() {
                        "body" => ClientAuth::Body,
                        "private_key_jwt" => ClientAuth::PrivateKeyJwt,
                        _ => ClientAuth::Basic,
                    };
                }
                if self.no_pkce {
                    c.pkce = false;
                }
                merge_params(&mut c.authorize_params, params);
                for (flag, set) in [("login", self.login.is_some()), ("lang", self.lang.is_some()), ("open-base", self.open_base.is_some())]
                {
                    if set {
                        return refuse(flag);
                    }
                }
            }
        }
        Ok(())
    }
}
