//! The `oauth2` crate, for providers that follow the RFCs (Salesforce and generic OAuth 2.0 /
//! OIDC): it builds authorize URLs, token, revocation and introspection requests (client
//! authentication, PKCE). We hand it our own HTTP client as a closure.
//!
//! Real servers bend the RFCs (PROTOCOLS.md: missing `token_type`, `expires_in` as a string,
//! 201 instead of 200, form-encoded bodies as GitHub sends, errors at HTTP 200), and the crate
//! is strict about each. So the closure keeps the raw response and hands the crate a normalised
//! copy; errors are always described from the raw response, never from the crate's parse error.

use crate::error::{Error, ErrorCode, Result};
use crate::hints;
use crate::http::{HttpClient, RawResponse};
use crate::profile::{ClientAuth, ProviderKind};
use crate::secret::Secret;
use crate::token::Grant;
use futures::future::BoxFuture;
use futures::FutureExt;
use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, IntrospectionUrl,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername,
    RevocationUrl, Scope, StandardRevocableToken, StandardTokenIntrospectionResponse, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use url::Url;

/// Every field the crate does not model, kept verbatim (`instance_url`, `id`, `issued_at`, ...).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ExtraFields {
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}
impl oauth2::ExtraTokenFields for ExtraFields {}

type TokenResponse = StandardTokenResponse<ExtraFields, BasicTokenType>;
type IntrospectionResponse = StandardTokenIntrospectionResponse<ExtraFields, BasicTokenType>;
type RfcOauthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    IntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The endpoints of one provider, resolved (from the profile, Salesforce's fixed paths, or discovery).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoints {
    pub authorize: Option<Url>,
    pub token: Option<Url>,
    pub userinfo: Option<Url>,
    pub revocation: Option<Url>,
    pub introspection: Option<Url>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHint {
    AccessToken,
    RefreshToken,
}

/// A client for one RFC-following provider.
pub struct RfcClient<'a> {
    pub http: &'a HttpClient,
    pub kind: ProviderKind,
    pub client_id: &'a str,
    pub client_secret: Option<&'a Secret>,
    pub client_auth: ClientAuth,
    pub endpoints: &'a Endpoints,
}

/// The authorize URL and what must be remembered to finish the sign-in.
pub struct AuthorizeUrl {
    pub url: Url,
    pub state: String,
    pub pkce_verifier: Option<Secret>,
}

/// How the closure should bend responses for the crate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Normalise {
    Token,
    Introspection,
}

/// Our HTTP client as the crate's `AsyncHttpClient`: a named type that owns what it needs and
/// returns a boxed `Send` future. Through a closure, or a type with a lifetime, rustc cannot prove
/// the crate's request future `Send` (rust-lang/rust#102211), and the desktop app needs that.
struct Transport {
    http: HttpClient,
    rec: Arc<Recorder>,
    mode: Normalise,
}

impl<'c> oauth2::AsyncHttpClient<'c> for Transport {
    type Error = Error;
    type Future = BoxFuture<'c, Result<oauth2::HttpResponse>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        async move {
            let raw = self.http.execute_http(request).await?;
            let normalised = normalise(&raw, self.mode);
            if let Ok(mut slot) = self.rec.0.lock() {
                *slot = Some(raw);
            }
            Ok(normalised)
        }
        .boxed()
    }
}

#[derive(Default)]
struct Recorder(Mutex<Option<RawResponse>>);

impl Recorder {
    fn take(&self) -> Option<RawResponse> {
        self.0.lock().ok().and_then(|mut g| g.take())
    }
}

impl<'a> RfcClient<'a> {
    fn client(&self) -> RfcOauthClient {
        let mut c = oauth2::Client::new(ClientId::new(self.client_id.to_string()))
            .set_auth_uri_option(self.endpoints.authorize.clone().map(AuthUrl::from_url))
            .set_token_uri_option(self.endpoints.token.clone().map(TokenUrl::from_url))
            .set_revocation_url_option(self.endpoints.revocation.clone().map(RevocationUrl::from_url))
            .set_introspection_url_option(self.endpoints.introspection.clone().map(IntrospectionUrl::from_url))
            .set_auth_type(match self.client_auth {
                ClientAuth::Basic => AuthType::BasicAuth,
                ClientAuth::Body => AuthType::RequestBody,
            });
        if let Some(s) = self.client_secret.filter(|s| !s.is_empty()) {
            c = c.set_client_secret(ClientSecret::new(s.expose().to_string()));
        }
        c
    }

    /// RFC 6749 §4.1.1, with PKCE S256 (RFC 7636 §4.2) when `pkce` is on.
    pub fn authorize_url(&self, redirect: &Url, scopes: &[String], pkce: bool, extra: &[(String, String)]) -> Result<AuthorizeUrl> {
        let client = self.client().set_redirect_uri(RedirectUrl::from_url(redirect.clone()));
        let mut req = client.authorize_url(CsrfToken::new_random).map_err(|_| missing("authorize URL"))?;
        req = req.add_scopes(scopes.iter().map(|s| Scope::new(s.clone())));
        let verifier = if pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            Some(Secret::new(verifier.into_secret()))
        } else {
            None
        };
        for (k, v) in extra {
            req = req.add_extra_param(k.clone(), v.clone());
        }
        let (url, state) = req.url();
        Ok(AuthorizeUrl { url, state: state.into_secret(), pkce_verifier: verifier })
    }

    /// The HTTP client handed to the crate; `rec` keeps the raw response.
    fn transport(&self, rec: Arc<Recorder>, mode: Normalise) -> Transport {
        Transport { http: self.http.clone(), rec, mode }
    }

    pub fn exchange_code<'s>(
        &'s self,
        code: &'s str,
        verifier: Option<&'s Secret>,
        redirect: &'s Url,
    ) -> BoxFuture<'s, Result<Map<String, Value>>> {
        async move {
            let rec = Arc::new(Recorder::default());
            let http = self.transport(rec.clone(), Normalise::Token);
            let client = self.client();
            let mut req = client.exchange_code(AuthorizationCode::new(code.to_string())).map_err(|_| missing("token URL"))?;
            req = req.set_redirect_uri(Cow::Owned(RedirectUrl::from_url(redirect.clone())));
            if let Some(v) = verifier {
                req = req.set_pkce_verifier(PkceCodeVerifier::new(v.expose().to_string()));
            }
            let result = req.request_async(&http).await;
            self.finish(result, &rec, Grant::AuthorizationCode)
        }
        .boxed()
    }

    pub fn password<'s>(
        &'s self,
        username: &'s str,
        password: &'s Secret,
        scopes: &'s [String],
    ) -> BoxFuture<'s, Result<Map<String, Value>>> {
        async move {
            let rec = Arc::new(Recorder::default());
            let http = self.transport(rec.clone(), Normalise::Token);
            let client = self.client();
            let user = ResourceOwnerUsername::new(username.to_string());
            let pass = ResourceOwnerPassword::new(password.expose().to_string());
            let req = client.exchange_password(&user, &pass).map_err(|_| missing("token URL"))?;
            let result = req.add_scopes(scopes.iter().map(|s| Scope::new(s.clone()))).request_async(&http).await;
            self.finish(result, &rec, Grant::Password)
        }
        .boxed()
    }

    pub fn refresh<'s>(&'s self, refresh_token: &'s Secret, scopes: &'s [String]) -> BoxFuture<'s, Result<Map<String, Value>>> {
        async move {
            let rec = Arc::new(Recorder::default());
            let http = self.transport(rec.clone(), Normalise::Token);
            let client = self.client();
            let rt = RefreshToken::new(refresh_token.expose().to_string());
            let req = client.exchange_refresh_token(&rt).map_err(|_| missing("token URL"))?;
            let result = req.add_scopes(scopes.iter().map(|s| Scope::new(s.clone()))).request_async(&http).await;
            self.finish(result, &rec, Grant::RefreshToken)
        }
        .boxed()
    }

    pub fn client_credentials<'s>(&'s self, scopes: &'s [String]) -> BoxFuture<'s, Result<Map<String, Value>>> {
        async move {
            let rec = Arc::new(Recorder::default());
            let http = self.transport(rec.clone(), Normalise::Token);
            let client = self.client();
            let req = client.exchange_client_credentials().map_err(|_| missing("token URL"))?;
            let result = req.add_scopes(scopes.iter().map(|s| Scope::new(s.clone()))).request_async(&http).await;
            self.finish(result, &rec, Grant::ClientCredentials)
        }
        .boxed()
    }

    /// RFC 7009 revocation. Sent without the crate, which refuses any non-https URL: we keep
    /// that rule (§2: "Clients MUST verify that the URL is an HTTPS URL") except for loopback
    /// addresses, where the emulators and the app's Sandbox live.
    pub fn revoke<'s>(&'s self, token: &'s Secret, hint: TokenHint) -> BoxFuture<'s, Result<()>> {
        async move {
            let url = self.endpoints.revocation.clone().ok_or_else(|| missing("revocation URL"))?;
            if url.scheme() != "https" && !crate::profile::is_loopback(&url) {
                return Err(Error::invalid_input(format!(
                    "the revocation URL {} must use https (RFC 7009 §2)",
                    crate::error::strip_query(url.as_str())
                )));
            }
            let request = {
                let hint = match hint {
                    TokenHint::AccessToken => "access_token",
                    TokenHint::RefreshToken => "refresh_token",
                };
                let mut form: Vec<(&str, String)> = vec![("token", token.expose().to_string()), ("token_type_hint", hint.to_string())];
                let mut b = self.http.reqwest().post(url).header(http::header::ACCEPT, "application/json");
                let secret = self.client_secret.filter(|s| !s.is_empty());
                match (self.client_auth, secret) {
                    // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
                    (ClientAuth::Basic, Some(s)) => b = b.basic_auth(form_encode(self.client_id), Some(form_encode(s.expose()))),
                    (ClientAuth::Body, Some(s)) => {
                        form.push(("client_id", self.client_id.to_string()));
                        form.push(("client_secret", s.expose().to_string()));
                    }
                    (_, None) => form.push(("client_id", self.client_id.to_string())),
                }
                b.form(&form)
                    .build()
                    .map_err(|e| Error::invalid_input(format!("cannot build the revocation request: {}", crate::http::root_cause(&e))))?
            };
            let raw = self.http.execute(request).await?;
            if raw.is_success() {
                Ok(())
            } else {
                Err(token_error_from_raw(&raw, self.kind, Grant::RefreshToken, "revocation"))
            }
        }
        .boxed()
    }

    /// RFC 7662: the response as JSON (`active`, `exp`, `scope`, `username`, ...).
    pub fn introspect<'s>(&'s self, token: &'s Secret, hint: TokenHint) -> BoxFuture<'s, Result<Value>> {
        async move {
            let rec = Arc::new(Recorder::default());
            let http = self.transport(rec.clone(), Normalise::Introspection);
            let client = self.client();
            let at = oauth2::AccessToken::new(token.expose().to_string());
            let mut req = client.introspect(&at).map_err(|_| missing("introspection URL"))?;
            if hint == TokenHint::RefreshToken {
                req = req.set_token_type_hint("refresh_token");
            }
            match req.request_async(&http).await {
                // Return the raw JSON: it has every field, typed or not.
                Ok(_) => rec.take().map(|r| r.json()).unwrap_or_else(|| Err(Error::unexpected("no introspection response"))),
                Err(e) => Err(self.describe(e, rec.take(), Grant::RefreshToken, "introspection")),
            }
        }
        .boxed()
    }

    fn finish(
        &self,
        result: std::result::Result<TokenResponse, RequestTokenError<Error, BasicErrorResponse>>,
        rec: &Recorder,
        grant: Grant,
    ) -> Result<Map<String, Value>> {
        match result {
            Ok(_) => {
                // Read the raw response (normalised the same way) rather than re-serialising the
                // crate's struct: it keeps every field exactly as the provider sent it.
                let raw = rec.take().ok_or_else(|| Error::unexpected("no token response recorded"))?;
                match lenient_object(&raw) {
                    Some(obj) => Ok(obj),
                    None => Err(raw.not_json(None)),
                }
            }
            Err(e) => Err(self.describe(e, rec.take(), grant, "token")),
        }
    }

    fn describe<RE: oauth2::ErrorResponse + 'static>(
        &self,
        e: RequestTokenError<Error, RE>,
        raw: Option<RawResponse>,
        grant: Grant,
        what: &str,
    ) -> Error {
        if let RequestTokenError::Request(transport) = e {
            return transport;
        }
        match raw {
            Some(raw) => token_error_from_raw(&raw, self.kind, grant, what),
            None => Error::unexpected(format!("the {what} request failed: {e}")),
        }
    }
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn missing(what: &str) -> Error {
    Error::invalid_input(format!("the profile has no {what}"))
        .with_hint(format!("set the {what} in the profile, or an issuer whose discovery document lists it"))
}

/// The body as a JSON object, or parsed from a form-encoded body (GitHub without `Accept`).
pub fn lenient_object(raw: &RawResponse) -> Option<Map<String, Value>> {
    if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(&raw.body) {
        return Some(o);
    }
    let text = std::str::from_utf8(&raw.body).ok()?.trim();
    let form_like = raw.content_type().starts_with("application/x-www-form-urlencoded")
        || (!text.is_empty() && !text.starts_with(['<', '{', '[']) && text.contains('=') && !text.contains(char::is_whitespace));
    if !form_like {
        return None;
    }
    let obj: Map<String, Value> =
        url::form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))).collect();
    (!obj.is_empty()).then_some(obj)
}

/// The copy of the response the crate gets: JSON content type, 200 for a token with 2xx,
/// 400 for an error at 2xx, a default `token_type` and numeric `expires_in`.
fn normalise(raw: &RawResponse, mode: Normalise) -> oauth2::HttpResponse {
    let passthrough = || {
        let mut b = http::Response::builder().status(raw.status);
        for (k, v) in &raw.headers {
            b = b.header(k, v);
        }
        b.body(raw.body.to_vec()).unwrap_or_default()
    };
    let json_response = |status: u16, obj: &Map<String, Value>| {
        http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(obj).unwrap_or_default())
            .unwrap_or_default()
    };
    match mode {
        Normalise::Introspection | Normalise::Token => {
            let Some(mut obj) = lenient_object(raw) else {
                return passthrough();
            };
            let has_error = obj.get("error").is_some_and(|e| e.is_string());
            if has_error {
                let status = if raw.is_success() { 400 } else { raw.status };
                return json_response(status, &obj);
            }
            if mode == Normalise::Token && obj.contains_key("access_token") {
                obj.entry("token_type").or_insert_with(|| Value::String("Bearer".into()));
                if let Some(Value::String(s)) = obj.get("expires_in") {
                    match s.trim().parse::<u64>() {
                        Ok(n) => {
                            obj.insert("expires_in".into(), Value::from(n));
                        }
                        Err(_) => {
                            obj.remove("expires_in");
                        }
                    }
                }
            }
            let status = if raw.is_success() { 200 } else { raw.status };
            json_response(status, &obj)
        }
    }
}

/// Describes a failed token / revocation / introspection call from what the server sent.
pub fn token_error_from_raw(raw: &RawResponse, kind: ProviderKind, grant: Grant, what: &str) -> Error {
    let Some(obj) = lenient_object(raw) else {
        if raw.is_success() && what == "revocation" {
            return Error::unexpected("the revocation endpoint answered oddly").at(&raw.endpoint);
        }
        let mut e = raw.not_json(None);
        if !raw.is_success() && !raw.body.is_empty() {
            e.message = format!("the {what} endpoint failed with HTTP {}: {}", raw.status, e.message);
        } else if !raw.is_success() {
            e.message = format!("the {what} endpoint failed with HTTP {} and an empty body", raw.status);
        }
        return e;
    };
    if let Some(code) = obj.get("error").and_then(Value::as_str) {
        let description = obj.get("error_description").and_then(Value::as_str).map(str::to_string);
        let ecode = match code {
            "invalid_grant" => ErrorCode::InvalidGrant,
            "invalid_client" | "invalid_client_id" | "unauthorized_client" => ErrorCode::InvalidClient,
            "unsupported_grant_type" => ErrorCode::UnsupportedGrant,
            "access_denied" => ErrorCode::AccessDenied,
            _ => ErrorCode::ProviderError,
        };
        let at200 = if raw.is_success() { " (at HTTP 200)" } else { "" };
        let message = match what {
            "token" => format!("the token endpoint refused the {} grant{at200}", grant.as_str()),
            other => format!("the {other} endpoint refused the request{at200}"),
        };
        return Error::new(ecode, message)
            .with_provider(code, description.clone(), crate::http::request_id_header(raw))
            .with_hint(hints::token_error(kind, grant, code, description.as_deref()))
            .with_status(raw.status)
            .at(&raw.endpoint);
    }
    if what == "token" && !obj.contains_key("access_token") {
        return Error::unexpected("the token response has no access_token").with_status(raw.status).at(&raw.endpoint);
    }
    Error::unexpected(format!("the {what} endpoint answered with HTTP {}", raw.status)).with_status(raw.status).at(&raw.endpoint)
}
