//! Standard OAuth 2.0 as pure functions: the authorize URL (through the `oauth2` crate, which
//! does it well: state, PKCE S256), token, revocation and introspection requests as values, and
//! lenient reading of what servers really answer.
//!
//! Why not the crate for token requests: it builds them only while sending them through its own
//! client, and it refuses what real servers send (PROTOCOLS.md: a missing `token_type`,
//! `expires_in` as a string or a float, 201 instead of 200, form-encoded bodies as GitHub
//! sends, errors at HTTP 200, any content type other than JSON). The form bodies themselves are
//! a few lines of RFC 6749, written here once for every RFC-following provider.

use crate::error::{Error, ErrorCode, Result};
use crate::profile::{is_loopback, ClientAuth};
use crate::secret::Secret;
use crate::token::Grant;
use crate::transport::{request, request_id_header, Purpose, RawResponse, Request};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::Method;
use oauth2::{AuthUrl, ClientId, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

/// The endpoints of one provider, resolved (from the profile, Salesforce's fixed paths, or discovery).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoints {
    pub authorize: Option<Url>,
    pub token: Option<Url>,
    pub userinfo: Option<Url>,
    pub revocation: Option<Url>,
    pub introspection: Option<Url>,
    /// The issuer's signing keys (`jwks_uri`), for verifying ID tokens.
    #[serde(default)]
    pub jwks: Option<Url>,
    /// The issuer an ID token must name exactly.
    #[serde(default)]
    pub issuer: Option<String>,
    /// RFC 8628 §3.1 (discovery's `device_authorization_endpoint`).
    #[serde(default)]
    pub device_authorization: Option<Url>,
}

impl Endpoints {
    pub fn require<'a>(&self, url: &'a Option<Url>, what: &str) -> Result<&'a Url> {
        url.as_ref().ok_or_else(|| {
            Error::invalid_input(format!("the profile has no {what}"))
                .with_hint(format!("set the {what} in the profile, or an issuer whose discovery document lists it"))
                .with_action(crate::error::Action::EditProfile)
        })
    }
}

/// Which token a revoke or introspect is about.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhichToken {
    Access,
    Refresh,
}

impl WhichToken {
    /// RFC 7009 §2.1 `token_type_hint`.
    pub fn hint(self) -> &'static str {
        match self {
            WhichToken::Access => "access_token",
            WhichToken::Refresh => "refresh_token",
        }
    }
}

/// The client as a token endpoint sees it.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub id: &'a str,
    pub secret: Option<&'a Secret>,
    pub auth: ClientAuth,
}

/// RFC 7523 §2.2's `client_assertion_type`.
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `grant_type` of RFC 8628 §3.4.
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The `grant_type` of RFC 7523 §2.1.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// What a token request asks for.
#[derive(Debug, Clone, Copy)]
pub enum GrantInput<'a> {
    /// RFC 6749 §4.1.3 (and RFC 7636 §4.5).
    AuthorizationCode { code: &'a str, redirect_uri: &'a str, pkce_verifier: Option<&'a Secret> },
    /// RFC 6749 §4.3.2. Salesforce's dialect appends the security token to the password.
    Password { username: &'a str, password: &'a Secret, security_token: Option<&'a Secret> },
    /// RFC 6749 §6.
    RefreshToken { refresh_token: &'a Secret },
    /// RFC 6749 §4.4.2.
    ClientCredentials,
    /// RFC 7523 §2.1.
    JwtBearer { assertion: &'a Secret },
    /// RFC 8628 §3.4.
    DeviceCode { device_code: &'a Secret },
}

impl GrantInput<'_> {
    pub fn grant(&self) -> Grant {
        match self {
            GrantInput::AuthorizationCode { .. } => Grant::AuthorizationCode,
            GrantInput::Password { .. } => Grant::Password,
            GrantInput::RefreshToken { .. } => Grant::RefreshToken,
            GrantInput::ClientCredentials => Grant::ClientCredentials,
            GrantInput::JwtBearer { .. } => Grant::JwtBearer,
            GrantInput::DeviceCode { .. } => Grant::DeviceCode,
        }
    }
}

/// The authorize URL and what must be remembered to finish the sign-in.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub url: Url,
    pub state: String,
    pub pkce_verifier: Option<Secret>,
    pub nonce: Option<String>,
}

/// RFC 6749 §4.1.1, with PKCE S256 (RFC 7636 §4.2) when `pkce` is on; `extra` in order.
pub fn authorize_url(
    endpoint: &Url,
    client_id: &str,
    redirect: &Url,
    scopes: &[String],
    pkce: bool,
    extra: &[(String, String)],
) -> Result<Authorization> {
    let client = oauth2::basic::BasicClient::new(ClientId::new(client_id.to_string()))
        .set_auth_uri(AuthUrl::from_url(endpoint.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect.clone()));
    let mut req = client.authorize_url(CsrfToken::new_random).add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
    let verifier = if pkce {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        req = req.set_pkce_challenge(challenge);
        Some(Secret::new(verifier.into_secret()))
    } else {
        None
    };
    let nonce = extra.iter().find(|(k, _)| k == "nonce").map(|(_, v)| v.clone());
    for (k, v) in extra {
        req = req.add_extra_param(k.clone(), v.clone());
    }
    let (url, state) = req.url();
    Ok(Authorization { url, state: state.into_secret(), pkce_verifier: verifier, nonce })
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Adds client authentication (RFC 6749 §2.3.1): HTTP Basic with id and secret form-encoded
/// first, or both as form fields; a public client (no secret) sends its `client_id` (§3.2.1).
fn with_client(mut fields: Vec<(&'static str, String)>, client: &Client) -> (Vec<(&'static str, String)>, Option<String>) {
    let secret = client.secret.filter(|s| !s.is_empty());
    match (client.auth, secret) {
        (ClientAuth::Basic, Some(s)) => {
            let basic = STANDARD.encode(format!("{}:{}", form_encode(client.id), form_encode(s.expose())));
            (fields, Some(format!("Basic {basic}")))
        }
        // `secret` is the client assertion here, made for this request by the session.
        (ClientAuth::PrivateKeyJwt, Some(assertion)) => {
            fields.push(("client_id", client.id.to_string()));
            fields.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.to_string()));
            fields.push(("client_assertion", assertion.expose().to_string()));
            (fields, None)
        }
        (ClientAuth::Body, Some(s)) => {
            fields.push(("client_id", client.id.to_string()));
            fields.push(("client_secret", s.expose().to_string()));
            (fields, None)
        }
        (_, None) => {
            fields.push(("client_id", client.id.to_string()));
            (fields, None)
        }
    }
}

fn post_form(
    endpoint: &Url,
    purpose: Purpose,
    grant: Option<Grant>,
    fields: Vec<(&'static str, String)>,
    client: &Client,
) -> Result<Request> {
    let (fields, authorization) = with_client(fields, client);
    let mut b = request(Method::POST, endpoint, purpose).accept_json();
    if let Some(g) = grant {
        b = b.grant(g);
    }
    if let Some(a) = authorization {
        b = b.header("Authorization", a);
    }
    b.form(&fields).build()
}

/// The token request for a grant (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6). `scopes` go with the
/// password and client-credentials grants; a refresh keeps the scope already granted.
pub fn token_request(endpoint: &Url, client: &Client, input: &GrantInput, scopes: &[String]) -> Result<Request> {
    let scope = scopes.join(" ");
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    match input {
        GrantInput::AuthorizationCode { code, redirect_uri, pkce_verifier } => {
            fields.push(("grant_type", "authorization_code".into()));
            fields.push(("code", code.to_string()));
            fields.push(("redirect_uri", redirect_uri.to_string()));
            if let Some(v) = pkce_verifier {
                fields.push(("code_verifier", v.expose().to_string()));
            }
        }
        GrantInput::Password { username, password, security_token } => {
            fields.push(("grant_type", "password".into()));
            fields.push(("username", username.to_string()));
            let mut pw = password.expose().to_string();
            if let Some(t) = security_token {
                pw.push_str(t.expose());
            }
            fields.push(("password", pw));
            if !scope.is_empty() {
                fields.push(("scope", scope));
            }
        }
        GrantInput::RefreshToken { refresh_token } => {
            fields.push(("grant_type", "refresh_token".into()));
            fields.push(("refresh_token", refresh_token.expose().to_string()));
        }
        GrantInput::ClientCredentials => {
            fields.push(("grant_type", "client_credentials".into()));
            if !scope.is_empty() {
                fields.push(("scope", scope));
            }
        }
        GrantInput::DeviceCode { device_code } => {
            fields.push(("grant_type", DEVICE_CODE.into()));
            fields.push(("device_code", device_code.expose().to_string()));
        }
        GrantInput::JwtBearer { assertion } => {
            fields.push(("grant_type", JWT_BEARER.into()));
            fields.push(("assertion", assertion.expose().to_string()));
            if !scope.is_empty() {
                fields.push(("scope", scope));
            }
            // The assertion names the client; a client with a secret authenticates as well
            // (RFC 7523 §2.1 allows both), one without sends nothing more.
            if client.secret.is_none_or(|s| s.is_empty()) {
                return request(Method::POST, endpoint, Purpose::Token).accept_json().grant(Grant::JwtBearer).form(&fields).build();
            }
        }
    }
    post_form(endpoint, Purpose::Token, Some(input.grant()), fields, client)
}

/// RFC 7009 §2.1. The endpoint must be https (§2: "Clients MUST verify that the URL is an HTTPS
/// URL"), except on loopback addresses, where the emulators and the app's Sandbox live.
pub fn revocation_request(endpoint: &Url, client: &Client, token: &Secret, which: WhichToken) -> Result<Request> {
    require_https(endpoint, "revocation URL", "RFC 7009 §2")?;
    let fields = vec![("token", token.expose().to_string()), ("token_type_hint", which.hint().to_string())];
    post_form(endpoint, Purpose::Revocation, None, fields, client)
}

/// RFC 7662 §2.1.
pub fn introspection_request(endpoint: &Url, client: &Client, token: &Secret, which: WhichToken) -> Result<Request> {
    let fields = vec![("token", token.expose().to_string()), ("token_type_hint", which.hint().to_string())];
    post_form(endpoint, Purpose::Introspection, None, fields, client)
}

pub fn require_https(url: &Url, what: &str, rule: &str) -> Result<()> {
    if url.scheme() == "https" || is_loopback(url) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!("the {what} {} must use https ({rule})", crate::error::strip_query(url.as_str()))))
    }
}

/// The body as a JSON object, or parsed from a form-encoded body (GitHub without `Accept`).
pub fn lenient_object(raw: &RawResponse) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(&raw.body) {
        return Some(o);
    }
    let text = std::str::from_utf8(&raw.body).ok()?.trim();
    let form_like = raw.content_type().starts_with(crate::transport::FORM)
        || (!text.is_empty() && !text.starts_with(['<', '{', '[']) && text.contains('=') && !text.contains(char::is_whitespace));
    if !form_like {
        return None;
    }
    let obj: Map<String, Value> =
        url::form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
    (!obj.is_empty()).then_some(obj)
}

/// Says what to do about an OAuth error code; each dialect words its own.
pub type HintFor<'a> = &'a dyn Fn(&str, Option<&str>) -> String;

fn error_code(code: &str) -> ErrorCode {
    match code {
        "invalid_grant" => ErrorCode::InvalidGrant,
        "invalid_client" | "invalid_client_id" | "unauthorized_client" => ErrorCode::InvalidClient,
        "unsupported_grant_type" => ErrorCode::UnsupportedGrant,
        "access_denied" => ErrorCode::AccessDenied,
        _ => ErrorCode::ProviderError,
    }
}

/// An OAuth error object (`error`, `error_description`) as an [`Error`].
fn oauth_error(raw: &RawResponse, obj: &Map<String, Value>, message: String, hint: HintFor) -> Option<Error> {
    let code = obj.get("error").and_then(Value::as_str)?;
    let description = obj.get("error_description").and_then(Value::as_str).map(str::to_string);
    let at200 = if raw.is_success() { " (at HTTP 200)" } else { "" };
    let ecode = error_code(code);
    let mut e = Error::new(ecode, format!("{message}{at200}"))
        .with_provider(code, description.clone(), request_id_header(raw))
        .with_hint(hint(code, description.as_deref()))
        .with_status(raw.status)
        .at(&raw.endpoint);
    if matches!(ecode, ErrorCode::InvalidGrant) {
        e = e.with_action(crate::error::Action::SignIn);
    }
    Some(e)
}

/// A token endpoint's answer: the JSON (or form) object with an `access_token`, or the precise
/// reason there is none. Anything else in a successful response is read tolerantly later.
pub fn read_token_response(raw: &RawResponse, grant: Grant, hint: HintFor) -> Result<Map<String, Value>> {
    let Some(obj) = lenient_object(raw) else {
        let mut e = raw.not_json(None);
        if !raw.is_success() {
            e.message = if raw.body.is_empty() {
                format!("the token endpoint failed with HTTP {} and an empty body", raw.status)
            } else {
                format!("the token endpoint failed with HTTP {}: {}", raw.status, e.message)
            };
        }
        return Err(e);
    };
    if let Some(e) = oauth_error(raw, &obj, format!("the token endpoint refused the {} grant", grant.as_str()), hint) {
        return Err(e);
    }
    if !raw.is_success() {
        return Err(Error::new(ErrorCode::ProviderError, format!("the token endpoint failed with HTTP {}", raw.status))
            .with_status(raw.status)
            .at(&raw.endpoint));
    }
    match obj.get("access_token") {
        Some(Value::String(s)) if !s.is_empty() => Ok(obj),
        Some(_) => {
            Err(Error::unexpected("the token response's access_token is not a non-empty string").with_status(raw.status).at(&raw.endpoint))
        }
        None => Err(Error::unexpected("the token response has no access_token").with_status(raw.status).at(&raw.endpoint)),
    }
}

/// RFC 7009 §2.2: 200 means revoked (or already invalid).
pub fn read_revocation_response(raw: &RawResponse, hint: HintFor) -> Result<()> {
    if raw.is_success() {
        return Ok(());
    }
    if let Some(obj) = lenient_object(raw) {
        if let Some(e) = oauth_error(raw, &obj, "the revocation endpoint refused the request".into(), hint) {
            return Err(e);
        }
    }
    Err(Error::new(ErrorCode::ProviderError, format!("the revocation endpoint failed with HTTP {}", raw.status))
        .with_status(raw.status)
        .at(&raw.endpoint))
}

/// RFC 7662 §2.2: the JSON as sent (`active`, `exp`, `scope`, `username`, ...).
pub fn read_introspection_response(raw: &RawResponse, hint: HintFor) -> Result<Value> {
    let obj = lenient_object(raw);
    if let Some(e) = obj.as_ref().and_then(|o| oauth_error(raw, o, "the introspection endpoint refused the request".into(), hint)) {
        return Err(e);
    }
    match obj {
        Some(o) if raw.is_success() => Ok(Value::Object(o)),
        Some(_) => Err(Error::new(ErrorCode::ProviderError, format!("the introspection endpoint failed with HTTP {}", raw.status))
            .with_status(raw.status)
            .at(&raw.endpoint)),
        None => Err(raw.not_json(None)),
    }
}

/// RFC 6750 §3: the `error` of a `WWW-Authenticate: Bearer ...` challenge.
pub fn bearer_challenge_error(raw: &RawResponse) -> Option<String> {
    let v = raw.header("www-authenticate")?;
    let rest = v.trim_start().strip_prefix("Bearer").or_else(|| v.trim_start().strip_prefix("bearer"))?;
    rest.split(',').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == "error").then(|| v.trim().trim_matches('"').to_string())
    })
}

/// What the device authorization endpoint answered (RFC 8628 §3.2).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
pub struct DeviceAuthorization {
    /// Stays in the process that polls; never shown.
    #[cfg_attr(feature = "ts", ts(skip))]
    #[serde(skip)]
    pub device_code: Secret,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_at: crate::clock::Millis,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub interval_seconds: u64,
}

/// RFC 8628 §3.1: `client_id` (with the client's authentication) and the scopes.
pub fn device_authorization_request(endpoint: &Url, client: &Client, scopes: &[String]) -> Result<Request> {
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    if !scopes.is_empty() {
        fields.push(("scope", scopes.join(" ")));
    }
    post_form(endpoint, Purpose::Token, Some(Grant::DeviceCode), fields, client)
}

/// RFC 8628 §3.2, leniently: `expires_in` and `interval` may come as strings; `interval`
/// defaults to 5 seconds. The URIs must be http(s), so nothing else is offered to open.
pub fn read_device_authorization(raw: &RawResponse, now: crate::clock::Millis) -> Result<DeviceAuthorization> {
    let Some(obj) = lenient_object(raw) else { return Err(raw.not_json(None)) };
    if let Some(e) = oauth_error(raw, &obj, "the device authorization endpoint refused".into(), &|code, _| {
        crate::hints::token_error(Grant::DeviceCode, code, None).to_string()
    }) {
        return Err(e);
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
    let number = |k: &str| obj.get(k).and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())));
    let web = |s: String| Url::parse(&s).ok().filter(|u| matches!(u.scheme(), "http" | "https")).map(|_| s);
    let missing = |k: &str| Error::unexpected(format!("the device authorization response has no {k}")).at(&raw.endpoint);
    Ok(DeviceAuthorization {
        device_code: Secret::new(text("device_code").ok_or_else(|| missing("device_code"))?),
        user_code: text("user_code").ok_or_else(|| missing("user_code"))?,
        verification_uri: text("verification_uri")
            .or_else(|| text("verification_url"))
            .and_then(web)
            .ok_or_else(|| missing("http(s) verification_uri"))?,
        verification_uri_complete: text("verification_uri_complete").and_then(web),
        expires_at: now + 1000 * number("expires_in").unwrap_or(600) as i64,
        interval_seconds: number("interval").unwrap_or(5),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn body(r: &Request) -> String {
        String::from_utf8(r.body().to_vec()).unwrap()
    }

    #[test]
    fn basic_auth_form_encodes_id_and_secret_first() {
        let secret = Secret::new("s3cr:t+/");
        let client = Client { id: "my app", secret: Some(&secret), auth: ClientAuth::Basic };
        let r = token_request(&url("https://idp.example/token"), &client, &GrantInput::ClientCredentials, &["read".into(), "write".into()])
            .unwrap();
        assert_eq!(body(&r), "grant_type=client_credentials&scope=read+write");
        let expected = format!("Basic {}", STANDARD.encode("my+app:s3cr%3At%2B%2F"));
        assert_eq!(r.headers()["authorization"], expected.as_str(), "RFC 6749 §2.3.1");
    }

    #[test]
    fn public_clients_send_their_id() {
        let client = Client { id: "spa", secret: None, auth: ClientAuth::Basic };
        let v = Secret::new("verifier");
        let r = token_request(
            &url("https://idp.example/token"),
            &client,
            &GrantInput::AuthorizationCode { code: "c", redirect_uri: "https://app/cb", pkce_verifier: Some(&v) },
            &[],
        )
        .unwrap();
        assert_eq!(
            body(&r),
            "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fapp%2Fcb&code_verifier=verifier&client_id=spa"
        );
        assert!(!r.headers().contains_key("authorization"));
    }

    #[test]
    fn revocation_must_be_https_except_loopback() {
        let client = Client { id: "c", secret: None, auth: ClientAuth::Body };
        let t = Secret::new("t");
        let e = revocation_request(&url("http://idp.example/revoke"), &client, &t, WhichToken::Access).unwrap_err();
        assert!(e.message.contains("must use https"), "{e}");
        assert!(revocation_request(&url("http://127.0.0.1:9/revoke"), &client, &t, WhichToken::Access).is_ok());
    }

    #[test]
    fn token_responses_are_read_leniently_and_errors_precisely() {
        let hint: HintFor = &|_, _| "do this".to_string();
        let ok = RawResponse::new(201, "text/plain", r#"{"access_token":"a","expires_in":"3600"}"#, "https://t/token");
        assert_eq!(read_token_response(&ok, Grant::Password, hint).unwrap()["access_token"], "a", "201 and text/plain are fine");
        let form =
            RawResponse::new(200, "application/x-www-form-urlencoded", "access_token=gho_1&scope=repo&token_type=bearer", "https://t");
        assert_eq!(read_token_response(&form, Grant::AuthorizationCode, hint).unwrap()["scope"], "repo");
        let at200 = RawResponse::new(200, "application/json", r#"{"error":"invalid_grant","error_description":"bad"}"#, "https://t");
        let e = read_token_response(&at200, Grant::RefreshToken, hint).unwrap_err();
        assert_eq!((e.code, e.provider_code()), (ErrorCode::InvalidGrant, Some("invalid_grant")));
        assert!(e.message.contains("at HTTP 200"), "{e}");
        let empty = RawResponse::new(502, "text/html", "", "https://t");
        assert!(read_token_response(&empty, Grant::Password, hint).unwrap_err().message.contains("HTTP 502 and an empty body"));
        let none = RawResponse::new(200, "application/json", r#"{"token_type":"bearer"}"#, "https://t");
        assert!(read_token_response(&none, Grant::Password, hint).unwrap_err().message.contains("no access_token"));
    }

    #[test]
    fn bearer_challenges() {
        let mut r = RawResponse::new(401, "application/json", "", "https://api");
        r.headers.insert("www-authenticate", r#"Bearer realm="api", error="invalid_token", error_description="expired""#.parse().unwrap());
        assert_eq!(bearer_challenge_error(&r).as_deref(), Some("invalid_token"));
    }
}
