//! An authenticated request the user composed, for any provider: the token goes on it as the
//! provider's dialect carries it, a refused token is renewed once, and whatever else comes back
//! is returned for the user to read.

use crate::error::{Error, Result};
use crate::profile::{join_url, parse_base_url};
use crate::session::Session;
use crate::transport::{request, Purpose};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// Sends `req` with the session's token.
pub async fn send(session: &Session, req: &ApiRequest) -> Result<ApiResponse> {
    let method = http::Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| Error::invalid_input(format!("`{}` is not an HTTP method", crate::error::excerpt(&req.method, 20))))?;
    let url = if req.url.starts_with("http://") || req.url.starts_with("https://") {
        req.url.clone()
    } else {
        let base = session.dialect().api_base(session.token().await.as_ref()).ok_or_else(|| {
            Error::invalid_input(format!("`{}` is relative, and the profile has no API base to resolve it against", req.url))
                .with_hint("give an absolute URL, or set the profile's API base")
        })?;
        join_url(&base, &req.url)
    };
    let url = parse_base_url("request URL", &url)?;
    let started = std::time::Instant::now();
    let raw = session
        .send_authorized(|_token| {
            let mut b = request(method.clone(), &url, Purpose::Api);
            for (k, v) in &req.headers {
                b = b.header(k.as_str(), v.as_str());
            }
            if let Some(body) = &req.body {
                b = b.body(body.clone());
            }
            b.build()
        })
        .await?;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let json: Option<Value> = serde_json::from_slice(&raw.body).ok();
    let text = if json.is_none() { Some(String::from_utf8_lossy(&raw.body).into_owned()) } else { None };
    let headers = raw.headers.iter().map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect();
    Ok(ApiResponse { status: raw.status, endpoint: raw.endpoint, headers, json, text, elapsed_ms })
}
