//! The seam under every HTTP exchange: a request is a plain [`Request`] value (an
//! `http::Request` with its whole body), one [`Transport`] trait sends it and returns the
//! [`RawResponse`] unread. reqwest implements it for real ([`ReqwestTransport`]); tests answer
//! with [`crate::testing::MockTransport`]; [`crate::http_client::Http`] adds the user agent
//! and the wire log on top.
//!
//! The reqwest client follows no redirects (the oauth2 crate's SSRF advice: a token endpoint
//! that redirects is an error worth seeing), has a timeout and a cap on the body size, and its
//! errors never quote a URL's query string (WeChat puts `secret` and `access_token` there).

use crate::error::{excerpt, strip_query, Error, ErrorCode, Result};
use crate::token::Grant;
use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::FutureExt;
use http::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::Method;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use url::Url;

/// A request as a value: method, URL, headers, the whole body, and its [`Purpose`] as an
/// extension. Builders in the provider modules return these; tests compare them.
pub type Request = http::Request<Bytes>;

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";
pub const USER_AGENT_VALUE: &str = concat!("oauth-desk/", env!("CARGO_PKG_VERSION"));

/// What an exchange was for. It rides on the request (an `http` extension) so the wire log can
/// name each exchange without the transport knowing anything of OAuth.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// OIDC discovery (`/.well-known/openid-configuration`).
    Discovery,
    /// A token request; the grant is recorded beside it.
    Token,
    Revocation,
    Introspection,
    Userinfo,
    /// An authenticated API call (identity, `sns/*`, a request the user composed).
    Api,
    /// One page of a SOQL query: recorded as a summary, not copied whole.
    QueryPage,
    /// An unauthenticated call (Salesforce's API versions).
    Public,
    /// A navigation of the login window (recorded by the app, never sent by us).
    Navigation,
    /// The redirect the login window intercepted: never requested.
    Redirect,
}

/// The request extension carrying the purpose and, for token requests, the grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub purpose: Purpose,
    pub grant: Option<Grant>,
}

impl Tag {
    pub fn of(request: &Request) -> Tag {
        request.extensions().get::<Tag>().copied().unwrap_or(Tag { purpose: Purpose::Api, grant: None })
    }
}

/// Starts a request value. `url` must be absolute http(s); its fragment is dropped.
pub fn request(method: Method, url: &Url, purpose: Purpose) -> RequestBuilder {
    RequestBuilder { method, url: url.clone(), headers: Vec::new(), body: Bytes::new(), tag: Tag { purpose, grant: None } }
}

/// A small builder that keeps headers in the order given (tests compare them in order).
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: Method,
    url: Url,
    headers: Vec<(String, String)>,
    body: Bytes,
    tag: Tag,
}

impl RequestBuilder {
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn accept_json(self) -> Self {
        self.header(ACCEPT.as_str(), JSON)
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header(AUTHORIZATION.as_str(), format!("Bearer {token}"))
    }
    pub fn grant(mut self, grant: Grant) -> Self {
        self.tag.grant = Some(grant);
        self
    }
    /// A form body (`application/x-www-form-urlencoded`), fields in the order given.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k.as_ref(), v.as_ref());
        }
        self.body = Bytes::from(s.finish());
        self.header(CONTENT_TYPE.as_str(), FORM)
    }
    pub fn json_body(mut self, value: &serde_json::Value) -> Self {
        self.body = Bytes::from(value.to_string());
        self.header(CONTENT_TYPE.as_str(), JSON)
    }
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
    pub fn url_mut(&mut self) -> &mut Url {
        &mut self.url
    }

    pub fn build(self) -> Result<Request> {
        let mut url = self.url;
        url.set_fragment(None);
        let endpoint = strip_query(url.as_str());
        let mut b = http::Request::builder().method(self.method).uri(url.as_str());
        for (k, v) in &self.headers {
            let name = HeaderName::try_from(k.as_str())
                .map_err(|_| Error::invalid_input(format!("`{}` is not a valid header name", excerpt(k, 60))))?;
            let value = HeaderValue::try_from(v.as_str())
                .map_err(|_| Error::invalid_input(format!("the value of header `{name}` has characters a header cannot carry")))?;
            b = b.header(name, value);
        }
        b.extension(self.tag).body(self.body).map_err(|e| Error::invalid_input(format!("cannot build the request ({e})")).at(&endpoint))
    }
}

/// The URL of a request, parsed back (for policies and error messages).
pub fn request_url(request: &Request) -> Option<Url> {
    Url::parse(&request.uri().to_string()).ok()
}

/// A whole response, body read (within the cap).
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The URL called, without its query string.
    pub endpoint: String,
    pub timings: Timings,
}

/// How long the server took to send headers (`wait`) and the body (`receive`), as HAR counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    pub wait_ms: f64,
    pub receive_ms: f64,
}

impl RawResponse {
    /// A response made in memory (tests, the mock transport).
    pub fn new(status: u16, content_type: &str, body: impl Into<Bytes>, endpoint: &str) -> Self {
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = HeaderValue::try_from(content_type) {
            headers.insert(CONTENT_TYPE, v);
        }
        RawResponse { status, headers, body: body.into(), endpoint: strip_query(endpoint), timings: Timings::default() }
    }
    pub fn content_type(&self) -> &str {
        self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
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
            let start = excerpt(trimmed, 60);
            Error::unexpected(format!("the response is not valid JSON{what}; it starts with \"{start}\""))
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

/// A request id a provider put in its headers, worth showing next to an error.
pub fn request_id_header(raw: &RawResponse) -> Option<String> {
    ["x-request-id", "x-sfdc-request-id", "x-amzn-requestid", "request-id"].iter().find_map(|h| raw.header(h).map(|s| s.to_string()))
}

/// Sends a request and returns the raw response. The one seam under every exchange.
pub trait Transport: Send + Sync {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<RawResponse>>;
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: usize,
    /// Extra CA certificates (PEM) to trust besides the OS store, `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR` and the Mozilla roots: a profile's on-prem or company CA.
    pub extra_ca_pem: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_body_bytes: 64 * 1024 * 1024,
            extra_ca_pem: None,
        }
    }
}

/// The certificates of a PEM bundle, or why it is not one.
pub fn parse_ca_pem(pem: &str) -> Result<Vec<reqwest::Certificate>> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|e| Error::invalid_input(format!("the CA certificate is not a PEM certificate ({})", root_cause(&e))))?;
    if certs.is_empty() {
        return Err(Error::invalid_input("the CA certificate holds no `-----BEGIN CERTIFICATE-----` block")
            .with_hint("give the CA's certificate in PEM form (a .pem or .crt file that starts with -----BEGIN CERTIFICATE-----)"));
    }
    Ok(certs)
}

/// A TLS failure in words: what is wrong with the server's certificate, and how to trust a
/// private CA. `None` when the failure is not about the certificate.
fn tls_error(cause: &str, endpoint: &str) -> Option<Error> {
    if !cause.contains("certificate") {
        return None;
    }
    let host = url::Url::parse(endpoint).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_else(|| endpoint.to_string());
    // rustls names the failure in its Debug form (`UnknownIssuer`) or, for newer variants, in
    // words (`certificate expired: ...`): match both.
    let c = cause.to_ascii_lowercase().replace([' ', '_'], "");
    let what = if c.contains("unknownissuer") {
        "was issued by a certificate authority this computer does not trust (a company's TLS inspection, a private CA, or a self-signed certificate)".to_string()
    } else if c.contains("causedasendentity") {
        "is a CA certificate the server uses as its own (a self-signed server)".to_string()
    } else if c.contains("notvalidyet") {
        "is not valid yet (check this computer's clock)".to_string()
    } else if c.contains("expired") {
        "has expired".to_string()
    } else if c.contains("notvalidforname") {
        format!("is not valid for the host name {host} (it was issued for another name)")
    } else if c.contains("revoked") {
        "has been revoked".to_string()
    } else {
        format!("was refused ({cause})")
    };
    Some(
        Error::new(ErrorCode::ConnectionFailed, format!("the TLS certificate of {host} {what}"))
            .with_hint("to trust a private or company CA, give its certificate (PEM) as the profile's CA certificate (in the app's profile editor, or `--ca-cert FILE` in the CLI), or set SSL_CERT_FILE / SSL_CERT_DIR")
            .at(endpoint),
    )
}

/// The real transport: reqwest with rustls, no redirects, a timeout and a body cap.
///
/// Two clients: plain `http://` (which only loopback hosts get a token over) uses one that does
/// not load the operating system's certificate store; the first `https://` request builds the
/// one that trusts the OS store, `SSL_CERT_FILE` / `SSL_CERT_DIR`, Mozilla's roots and the
/// profile's extra CA. Loading the OS store (hundreds of files) costs a run that never uses TLS
/// several milliseconds and a fragmented heap.
#[derive(Debug)]
pub struct ReqwestTransport {
    plain: reqwest::Client,
    tls: std::sync::OnceLock<std::result::Result<reqwest::Client, Error>>,
    config: HttpConfig,
}

impl ReqwestTransport {
    pub fn new(config: HttpConfig) -> Result<Self> {
        if let Some(pem) = &config.extra_ca_pem {
            parse_ca_pem(pem)?;
        }
        let plain = Self::builder(&config)
            .tls_built_in_native_certs(false)
            .build()
            .map_err(|e| Error::new(ErrorCode::ConnectionFailed, format!("cannot set up the HTTP client: {}", root_cause(&e))))?;
        Ok(ReqwestTransport { plain, tls: std::sync::OnceLock::new(), config })
    }

    fn builder(config: &HttpConfig) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(USER_AGENT_VALUE)
    }

    fn tls_client(&self) -> Result<&reqwest::Client> {
        self.tls
            .get_or_init(|| {
                let mut builder = Self::builder(&self.config);
                if let Some(pem) = &self.config.extra_ca_pem {
                    for cert in parse_ca_pem(pem)? {
                        builder = builder.add_root_certificate(cert);
                    }
                }
                builder
                    .build()
                    .map_err(|e| Error::new(ErrorCode::ConnectionFailed, format!("cannot set up the HTTPS client: {}", root_cause(&e))))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn execute(&self, request: Request) -> Result<RawResponse> {
        let endpoint = strip_query(&request.uri().to_string());
        let client = if request.uri().scheme_str() == Some("https") { self.tls_client()? } else { &self.plain };
        let request = reqwest::Request::try_from(request)
            .map_err(|e| Error::invalid_input(format!("cannot send the request: {}", root_cause(&e))).at(&endpoint))?;
        let started = Instant::now();
        let mut response = client.execute(request).await.map_err(|e| self.transport_error(&e, &endpoint))?;
        let wait_ms = started.elapsed().as_secs_f64() * 1000.0;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let cap = self.config.max_body_bytes;
        if let Some(len) = response.content_length() {
            if len as usize > cap {
                return Err(too_large(cap, status, &endpoint));
            }
        }
        let mut body = BytesMut::with_capacity(response.content_length().unwrap_or(0).min(cap as u64) as usize);
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
        let receive_ms = started.elapsed().as_secs_f64() * 1000.0 - wait_ms;
        Ok(RawResponse { status, headers, body: body.freeze(), endpoint, timings: Timings { wait_ms, receive_ms } })
    }

    fn transport_error(&self, e: &reqwest::Error, endpoint: &str) -> Error {
        let cause = root_cause(e);
        if let Some(tls) = tls_error(&cause, endpoint) {
            return tls;
        }
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

impl Transport for ReqwestTransport {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<RawResponse>> {
        self.execute(request).boxed()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(status: u16, ct: &str, body: &str) -> RawResponse {
        RawResponse::new(status, ct, body.to_string(), "https://h/p")
    }

    #[test]
    fn bad_bodies_are_named() {
        assert!(raw(200, "application/json", "").json().unwrap_err().message.contains("empty body"));
        let html = raw(502, "text/html", "<html><head><title>502 Bad Gateway</title></head></html>").json().unwrap_err();
        assert!(html.message.contains("HTML page titled \"502 Bad Gateway\""), "{html}");
        assert_eq!(html.status, Some(502));
        assert!(raw(200, "application/json", "{\"access_token\":\"abc").json().unwrap_err().message.contains("truncated"));
        assert!(raw(200, "text/plain", "Bad_OAuth_Token").json().unwrap_err().message.contains("starts with \"Bad_OAuth_Token\""));
        assert_eq!(raw(200, "text/plain", "{\"a\":1}").json().unwrap()["a"], 1, "text/plain JSON is still JSON");
    }

    #[test]
    fn builder_keeps_header_order_and_tags_the_purpose() {
        let url = Url::parse("https://login.example.com/token#frag").unwrap();
        let r = request(Method::POST, &url, Purpose::Token)
            .grant(Grant::Password)
            .accept_json()
            .form(&[("grant_type", "password"), ("username", "a b")])
            .build()
            .unwrap();
        assert_eq!(r.uri().to_string(), "https://login.example.com/token", "fragment dropped");
        let names: Vec<_> = r.headers().keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["accept", "content-type"]);
        assert_eq!(&r.body()[..], b"grant_type=password&username=a+b");
        assert_eq!(Tag::of(&r), Tag { purpose: Purpose::Token, grant: Some(Grant::Password) });
        let bad = request(Method::GET, &url, Purpose::Api).header("X-Bad", "line\nbreak").build().unwrap_err();
        assert!(bad.message.contains("X-Bad") || bad.message.contains("x-bad"), "{bad}");
    }
}
