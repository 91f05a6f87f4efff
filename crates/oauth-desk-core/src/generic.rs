//! Generic OAuth 2.0 / OpenID Connect: endpoint discovery (OIDC Discovery 1.0 / RFC 8414),
//! userinfo, and an authenticated request to any URL, which works for every provider kind.

use crate::error::{excerpt, Error, ErrorCode, Result};
use crate::http::HttpClient;
use crate::oauth::Endpoints;
use crate::profile::{join_url, parse_base_url, Oauth2Config, Provider};
use crate::session::Session;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Instant;
use url::Url;

/// Fills the endpoints the profile leaves empty from `{issuer}/.well-known/openid-configuration`.
pub async fn resolve_endpoints(http: &HttpClient, c: &Oauth2Config) -> Result<Endpoints> {
    let given = |v: &Option<String>, f: &str| v.as_deref().map(|s| parse_base_url(f, s)).transpose();
    let mut e = Endpoints {
        authorize: given(&c.authorize_url, "authorize URL")?,
        token: given(&c.token_url, "token URL")?,
        userinfo: given(&c.userinfo_url, "userinfo URL")?,
        revocation: given(&c.revocation_url, "revocation URL")?,
        introspection: given(&c.introspection_url, "introspection URL")?,
    };
    let complete =
        e.authorize.is_some() && e.token.is_some() && e.userinfo.is_some() && e.revocation.is_some() && e.introspection.is_some();
    if let (Some(issuer), false) = (&c.issuer, complete) {
        let d = discover(http, issuer).await?;
        e.authorize = e.authorize.or(d.authorize);
        e.token = e.token.or(d.token);
        e.userinfo = e.userinfo.or(d.userinfo);
        e.revocation = e.revocation.or(d.revocation);
        e.introspection = e.introspection.or(d.introspection);
    }
    Ok(e)
}

/// Reads the discovery document and checks that its `issuer` is the one asked for (OIDC
/// Discovery §4.3), which stops a document from one server steering tokens to another.
pub async fn discover(http: &HttpClient, issuer: &str) -> Result<Endpoints> {
    parse_base_url("issuer", issuer)?;
    let url = join_url(issuer, ".well-known/openid-configuration");
    let req = http
        .reqwest()
        .get(&url)
        .header("Accept", "application/json")
        .build()
        .map_err(|e| Error::invalid_input(crate::http::root_cause(&e)))?;
    let raw = http.execute(req).await?;
    if !raw.is_success() {
        return Err(Error::new(ErrorCode::ProviderError, format!("discovery failed with HTTP {}", raw.status))
            .with_hint("check the issuer URL; it is the part before /.well-known/openid-configuration")
            .with_status(raw.status)
            .at(&raw.endpoint));
    }
    let doc = raw.json()?;
    let declared = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
    if declared.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Error::unexpected(format!("the discovery document names issuer `{declared}`, not `{issuer}`"))
            .with_hint("use exactly the issuer the provider declares")
            .at(&raw.endpoint));
    }
    let field = |k: &str| doc.get(k).and_then(Value::as_str).and_then(|s| Url::parse(s).ok());
    Ok(Endpoints {
        authorize: field("authorization_endpoint"),
        token: field("token_endpoint"),
        userinfo: field("userinfo_endpoint"),
        revocation: field("revocation_endpoint"),
        introspection: field("introspection_endpoint"),
    })
}

/// An authenticated request the user composed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiRequest {
    pub method: String,
    /// Absolute, or relative to the profile's API base (Salesforce: the instance).
    pub url: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResponse {
    pub status: u16,
    /// The URL called, without its query string.
    pub endpoint: String,
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON when it is JSON (whatever the content type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// The body as text when it is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub elapsed_ms: u64,
}

impl Session {
    /// The base that relative request URLs resolve against.
    async fn api_base(&self) -> Result<Option<String>> {
        Ok(match &self.profile().provider {
            Provider::Oauth2(c) => c.api_base.clone().or(c.issuer.clone()),
            Provider::Salesforce(_) => self.token().await.and_then(|t| t.instance_url),
            Provider::WechatOfficialAccount(c) => Some(c.endpoints.api_base.clone()),
            Provider::WechatWebsite(c) => Some(c.endpoints.api_base.clone()),
        })
    }

    /// Sends an authenticated request: `Authorization: Bearer` (WeChat: `access_token` and
    /// `openid` in the query). A 401 (WeChat: 42001/40001/40014) renews the token and retries
    /// once; any other status is returned as the response, for the user to read.
    pub async fn request(&self, req: &ApiRequest) -> Result<ApiResponse> {
        let method = reqwest::Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::invalid_input(format!("`{}` is not an HTTP method", req.method)))?;
        let url = if req.url.starts_with("http://") || req.url.starts_with("https://") {
            req.url.clone()
        } else {
            let base = self.api_base().await?.ok_or_else(|| {
                Error::invalid_input(format!("`{}` is relative, and the profile has no API base to resolve it against", req.url))
                    .with_hint("give an absolute URL, or set the profile's API base")
            })?;
            join_url(&base, &req.url)
        };
        let url = parse_base_url("request URL", &url)?;
        let wechat = self.profile().kind().is_wechat();
        self.authorized(move |token| {
            let (method, mut url) = (method.clone(), url.clone());
            async move {
                if wechat {
                    let openid = token.openid.clone().unwrap_or_default();
                    url.query_pairs_mut().append_pair("access_token", token.access_token.expose()).append_pair("openid", &openid);
                }
                let mut b = self.http().reqwest().request(method, url);
                if !wechat {
                    b = b.bearer_auth(token.access_token.expose());
                }
                for (k, v) in &req.headers {
                    b = b.header(k.as_str(), v.as_str());
                }
                if let Some(body) = &req.body {
                    b = b.body(body.clone());
                }
                let built =
                    b.build().map_err(|e| Error::invalid_input(format!("cannot build the request: {}", crate::http::root_cause(&e))))?;
                let started = Instant::now();
                let raw = self.http().execute(built).await?;
                let elapsed_ms = started.elapsed().as_millis() as u64;
                let json: Option<Value> = serde_json::from_slice(&raw.body).ok();
                let rejected = if wechat {
                    json.as_ref().and_then(|j| j.get("errcode")).and_then(Value::as_i64).is_some_and(|c| matches!(c, 42001 | 40001 | 40014))
                } else {
                    raw.status == 401
                };
                if rejected {
                    let detail = json
                        .as_ref()
                        .map(|j| excerpt(&j.to_string(), 200))
                        .unwrap_or_else(|| excerpt(&String::from_utf8_lossy(&raw.body), 200));
                    return Err(Error::new(ErrorCode::TokenRejected, "the API refused the access token")
                        .with_provider(raw.status.to_string(), Some(detail), crate::http::request_id_header(&raw))
                        .with_status(raw.status)
                        .at(&raw.endpoint));
                }
                let text = if json.is_none() { Some(String::from_utf8_lossy(&raw.body).into_owned()) } else { None };
                let headers =
                    raw.headers.iter().map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
                Ok(ApiResponse { status: raw.status, endpoint: raw.endpoint, headers, json, text, elapsed_ms })
            }
            .boxed()
        })
        .await
    }

    /// OIDC userinfo for generic and Salesforce profiles; `sns/userinfo` for WeChat.
    pub async fn userinfo(&self, lang: Option<&str>) -> Result<Value> {
        match &self.profile().provider {
            Provider::Salesforce(_) => self.salesforce_userinfo().await,
            Provider::WechatOfficialAccount(_) | Provider::WechatWebsite(_) => self.wechat_userinfo(lang).await,
            Provider::Oauth2(_) => {
                let url = self.endpoints().await?.userinfo.clone().ok_or_else(|| {
                    Error::invalid_input("the profile has no userinfo URL")
                        .with_hint("set --userinfo-url, or an issuer whose discovery lists one")
                })?;
                let response = self
                    .request(&ApiRequest {
                        method: "GET".into(),
                        url: url.to_string(),
                        headers: vec![("Accept".into(), "application/json".into())],
                        body: None,
                    })
                    .await?;
                if !(200..300).contains(&response.status) {
                    return Err(Error::new(ErrorCode::ProviderError, format!("userinfo failed with HTTP {}", response.status))
                        .with_status(response.status)
                        .at(&response.endpoint));
                }
                response.json.ok_or_else(|| Error::unexpected("userinfo did not answer with JSON").at(url.as_str()))
            }
        }
    }
}
