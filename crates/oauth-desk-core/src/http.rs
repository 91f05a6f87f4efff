//! The one HTTP client every provider uses: no redirects followed (the oauth2 crate's SSRF
//! advice; a token endpoint that redirects is an error worth seeing), a timeout, a cap on the
//! body size, and errors that never quote a URL's query string.

use crate::error::{excerpt, strip_query, Error, ErrorCode, Result};
use bytes::{Bytes, BytesMut};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: usize,
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 64 * 1024 * 1024,
            user_agent: concat!("oauth-desk/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
}

/// A whole response, body read (within the cap).
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The URL called, without its query string.
    pub endpoint: String,
}

impl RawResponse {
    pub fn content_type(&self) -> &str {
        self.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// Parses the body as JSON whatever the content type says (WeChat sends `text/plain`), and
    /// explains precisely why when it is not JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).map_err(|e| self.not_json(Some(e)))
    }

    /// The error for a body that is not the JSON we expected: empty, HTML, truncated, other.
    pub fn not_json(&self, parse_error: Option<serde_json::Error>) -> Error {
        let parse_error = match parse_error {
            Some(e) => Some(e),
            None => match serde_json::from_slice::<serde_json::Value>(&self.body) {
                Err(e) => Some(e),
                Ok(v) if !v.is_object() => {
                    let kind = match v {
                        serde_json::Value::Array(_) => "an array",
                        serde_json::Value::String(_) => "a string",
                        serde_json::Value::Null => "null",
                        _ => "a scalar",
                    };
                    return Error::unexpected(format!("the response is JSON {kind}, not a JSON object"))
                        .with_status(self.status)
                        .at(&self.endpoint);
                }
                Ok(_) => None,
            },
        };
        let text = String::from_utf8_lossy(&self.body);
        let trimmed = text.trim_start();
        let e = if self.body.is_empty() || trimmed.is_empty() {
            Error::unexpected("the server sent an empty body where JSON was expected")
        } else if self.content_type().starts_with("text/html") || trimmed.starts_with('<') {
            let title = html_title(&text).map(|t| format!(" titled \"{}\"", excerpt(&t, 80))).unwrap_or_default();
            Error::unexpected(format!("the server sent an HTML page{title} instead of JSON"))
                .with_hint("the URL may point at a web page, a proxy or a login screen rather than the API; check the endpoint")
        } else if parse_error.as_ref().is_some_and(|e| e.is_eof()) {
            Error::unexpected("the JSON response ends early (truncated body)")
                .with_hint("the connection was cut or a proxy truncated the response; try again")
        } else {
            let what = parse_error.map(|e| format!(" ({e})")).unwrap_or_default();
            Error::unexpected(format!("the response is not valid JSON{what}"))
        };
        e.with_status(self.status).at(&self.endpoint)
    }
}

fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = lower[start..].find('>')? + start + 1;
    let close = lower[open_end..].find("</title>")? + open_end;
    let t = text[open_end..close].trim();
    (!t.is_empty()).then(|| t.to_string())
}

impl HttpClient {
    pub fn new(config: HttpConfig) -> Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .build()
            .map_err(|e| Error::new(ErrorCode::ConnectionFailed, format!("cannot set up the HTTP client: {}", root_cause(&e))))?;
        Ok(HttpClient { client, config })
    }

    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Sends a request and reads the whole body, within the size cap.
    pub async fn execute(&self, request: reqwest::Request) -> Result<RawResponse> {
        let endpoint = strip_query(request.url().as_str());
        let method = request.method().clone();
        let started = Instant::now();
        let mut response = self.client.execute(request).await.map_err(|e| self.transport_error(&e, &endpoint))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let cap = self.config.max_body_bytes;
        if let Some(len) = response.content_length() {
            if len as usize > cap {
                return Err(too_large(cap, status, &endpoint));
            }
        }
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > cap {
                        return Err(too_large(cap, status, &endpoint));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.transport_error(&e, &endpoint).with_status(status)),
            }
        }
        tracing::debug!(%method, endpoint, status, bytes = body.len(), ms = started.elapsed().as_millis() as u64, "http");
        Ok(RawResponse { status, headers, body: body.freeze(), endpoint })
    }

    /// Sends a request the oauth2 crate built.
    pub async fn execute_http(&self, request: http::Request<Vec<u8>>) -> Result<RawResponse> {
        let endpoint = strip_query(&request.uri().to_string());
        let request = reqwest::Request::try_from(request)
            .map_err(|e| Error::invalid_input(format!("cannot send the request: {}", root_cause(&e))).at(&endpoint))?;
        self.execute(request).await
    }

    fn transport_error(&self, e: &reqwest::Error, endpoint: &str) -> Error {
        let cause = root_cause(e);
        let err = if e.is_timeout() {
            Error::new(ErrorCode::Timeout, format!("no answer within {} s", self.config.timeout.as_secs()))
                .with_hint("the server is slow or unreachable; check the URL and your network, or raise the timeout")
        } else if e.is_connect() {
            Error::new(ErrorCode::ConnectionFailed, format!("could not connect: {cause}"))
                .with_hint("check the host and port, and that the server is running and reachable")
        } else if e.is_body() || e.is_decode() {
            Error::unexpected(format!("the response body was cut off: {cause}"))
                .with_hint("the connection closed before the whole response arrived; try again")
        } else if e.is_builder() {
            Error::invalid_input(format!("the request could not be built: {cause}"))
        } else {
            Error::new(ErrorCode::ConnectionFailed, format!("the request failed: {cause}"))
        };
        err.at(endpoint)
    }
}

fn too_large(cap: usize, status: u16, endpoint: &str) -> Error {
    Error::new(ErrorCode::ResponseTooLarge, format!("the response is larger than the {} MiB cap", cap / (1024 * 1024)))
        .with_hint("ask for less (a smaller batch size or LIMIT), or raise the cap")
        .with_status(status)
        .at(endpoint)
}

/// The innermost cause's text: for reqwest that is the io or hyper error, which (unlike
/// reqwest's own Display) never quotes the URL and its query string.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    if text.contains("://") {
        // Still a URL in there: drop it rather than risk a query-string secret.
        "request failed".to_string()
    } else {
        text
    }
}

/// A request id a provider put in its headers, worth showing next to an error.
pub fn request_id_header(raw: &RawResponse) -> Option<String> {
    ["x-request-id", "x-sfdc-request-id", "x-amzn-requestid", "request-id"].iter().find_map(|h| raw.header(h).map(|s| s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, ct: &str, body: &str) -> RawResponse {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
        RawResponse { status, headers, body: Bytes::from(body.to_string()), endpoint: "https://h/p".into() }
    }

    #[test]
    fn bad_bodies_are_named() {
        assert!(raw(200, "application/json", "").json().unwrap_err().message.contains("empty body"));
        let html = raw(502, "text/html", "<html><head><title>502 Bad Gateway</title></head></html>").json().unwrap_err();
        assert!(html.message.contains("HTML page titled \"502 Bad Gateway\""), "{html}");
        assert_eq!(html.status, Some(502));
        assert!(raw(200, "application/json", "{\"access_token\":\"abc").json().unwrap_err().message.contains("truncated"));
        assert!(raw(200, "application/json", "hello").json().unwrap_err().message.contains("not valid JSON"));
        assert_eq!(raw(200, "text/plain", "{\"a\":1}").json().unwrap()["a"], 1, "text/plain JSON is still JSON");
    }
}
