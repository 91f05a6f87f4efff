//! A Salesforce org: the OAuth 2.0 endpoints on the login host and the REST API on the instance
//! (one server plays both). It follows PROTOCOLS.md to the letter: token responses without
//! `expires_in`, `issued_at` as a string of milliseconds, an HMAC `signature`, no new refresh
//! token on refresh, 401 `INVALID_SESSION_ID` once a session expires (403 `Bad_OAuth_Token` as plain
//! text at the identity URL and userinfo), errors as JSON arrays.

mod bulk;

use crate::html::{escape, hidden, page};
use crate::soql::{self, Dataset, Item, Query};
use crate::{now_millis, random_token};
use axum::extract::{Path, Query as QueryParams, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const ORG_ID: &str = "00DEMU000000001EAA";

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password: String,
    pub security_token: String,
    /// Index into [`soql::USERS`] for names and ids.
    pub index: usize,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub client_id: String,
    pub client_secret: String,
    pub users: Vec<User>,
    /// Session lifetime: after it, the access token gets 401 INVALID_SESSION_ID.
    pub session_ttl: Duration,
    /// Authorization codes expire after this (Salesforce: 15 minutes).
    pub code_ttl: Duration,
    pub accounts: usize,
    /// A My Domain host, where the client credentials flow is allowed (run as the first user).
    pub my_domain: bool,
    /// Whether the password grant is enabled (off by default in orgs created since Summer '23).
    pub password_grant: bool,
    /// `(label, version)`, oldest first.
    pub api_versions: Vec<(String, String)>,
    pub daily_api_limit: u64,
    /// The connected app's refresh token rotation: each refresh returns a new refresh token and
    /// revokes the one it used, so a second refresh with the old one gets `invalid_grant`.
    pub rotate_refresh_tokens: bool,
    /// Bulk API 2.0 query jobs: how long a job takes from creation to `JobComplete`.
    pub bulk_processing: Duration,
    /// Bulk API 2.0: records per results request when the client gives no `maxRecords`.
    pub bulk_page_size: usize,
    /// Added to every response, as a distant server would (the benchmark's `--latency-ms`).
    pub latency: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_id: "3MVG9EMULATOR.consumer.key".into(),
            client_secret: "EMULATOR0CONSUMER0SECRET".into(),
            users: vec![
                User { username: "ada@example.com".into(), password: "Passw0rd!".into(), security_token: "SECTOKEN42".into(), index: 0 },
                User { username: "grace@example.com".into(), password: "C0bol!59".into(), security_token: "GRACETOKEN".into(), index: 1 },
            ],
            session_ttl: Duration::from_secs(7200),
            code_ttl: Duration::from_secs(900),
            accounts: 5000,
            my_domain: true,
            password_grant: true,
            api_versions: api_versions(31, 62),
            daily_api_limit: 15000,
            rotate_refresh_tokens: false,
            bulk_processing: Duration::from_millis(150),
            bulk_page_size: 50_000,
            latency: Duration::ZERO,
        }
    }
}

/// Salesforce's release names: v31.0 was Summer '14, and three releases a year follow.
pub fn api_versions(from: u32, to: u32) -> Vec<(String, String)> {
    (from..=to)
        .map(|v| {
            let n = v - 31;
            let (season, year) = match n % 3 {
                0 => ("Summer", 14 + n / 3),
                1 => ("Winter", 15 + n / 3),
                _ => ("Spring", 15 + n / 3),
            };
            (format!("{season} '{year:02}"), format!("{v}.0"))
        })
        .collect()
}

struct CodeGrant {
    user: usize,
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
    issued: Instant,
}

struct AccessSession {
    user: usize,
    scope: String,
    issued: Instant,
    issued_ms: i64,
    family: Option<String>,
    expired: bool,
}

struct Cursor {
    query: Query,
    rows: Arc<Vec<u32>>,
    include_deleted: bool,
    batch: usize,
    version: String,
}

/// Counters a test can read at `/__emulator/stats`.
#[derive(Default, Debug, Clone, serde::Serialize)]
pub struct Stats {
    pub token_requests: HashMap<String, u64>,
    pub api_calls: u64,
    pub pages_served: u64,
    pub bulk_jobs_created: u64,
    pub bulk_jobs_deleted: u64,
    pub bulk_results_served: u64,
    /// The most Bulk results downloads that were in flight at once.
    pub bulk_results_peak_concurrency: usize,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, CodeGrant>,
    access: HashMap<String, AccessSession>,
    /// refresh token → (user, scope, revoked)
    refresh: HashMap<String, (usize, String, bool)>,
    cursors: HashMap<String, Cursor>,
    stats: Stats,
    /// The RSA public key (PKCS#1 DER) of the certificate uploaded to the connected app.
    jwt_key: Option<Vec<u8>>,
    /// Users who may not use the JWT bearer flow (not pre-authorized by an admin).
    jwt_unapproved: std::collections::HashSet<String>,
    bulk: bulk::Jobs,
}

#[derive(Clone)]
pub struct Emulator {
    config: Arc<Config>,
    data: Dataset,
    inner: Arc<Mutex<Inner>>,
    results_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    results_peak: Arc<std::sync::atomic::AtomicUsize>,
}

impl Emulator {
    pub fn new(config: Config) -> Self {
        let data = Dataset { accounts: config.accounts };
        Emulator { config: Arc::new(config), data, inner: Arc::default(), results_in_flight: Arc::default(), results_peak: Arc::default() }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.inner.lock().expect("emulator state").stats.clone();
        stats.bulk_results_peak_concurrency = self.results_peak.load(std::sync::atomic::Ordering::SeqCst);
        stats
    }

    /// Ends every session now, as an org's session timeout would.
    pub fn expire_sessions(&self) {
        for s in self.inner.lock().expect("emulator state").access.values_mut() {
            s.expired = true;
        }
    }

    /// Revokes every access and refresh token, as an admin revoking the connected app's access
    /// (Setup → Connected Apps OAuth Usage) does.
    pub fn revoke_all(&self) {
        let mut inner = self.inner.lock().expect("emulator state");
        for s in inner.access.values_mut() {
            s.expired = true;
        }
        for r in inner.refresh.values_mut() {
            r.2 = true;
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/services/oauth2/authorize", get(authorize_page).post(authorize_submit))
            .route("/services/oauth2/token", post(token))
            .route("/services/oauth2/revoke", post(revoke).get(revoke_get))
            .route("/services/oauth2/introspect", post(introspect))
            .route("/services/oauth2/userinfo", get(userinfo))
            .route("/id/{org}/{user}", get(identity))
            .route("/id/keys", get(id_keys))
            .route("/services/data/", get(versions))
            .route("/services/data", get(versions))
            .route("/services/data/{version}", get(resources))
            .route("/services/data/{version}/", get(resources))
            .route("/services/data/{version}/query", get(query))
            .route("/services/data/{version}/queryAll", get(query_all))
            .route("/services/data/{version}/query/{cursor}", get(query_more))
            .route("/services/data/{version}/sobjects", get(describe_global))
            .route("/services/data/{version}/sobjects/", get(describe_global))
            .route("/services/data/{version}/sobjects/{object}/describe", get(describe))
            .route("/services/data/{version}/limits", get(limits))
            .route("/services/data/{version}/sobjects/{object}/{id}", get(sobject))
            .route("/__emulator/expire", post(admin_expire))
            .route("/__emulator/revoke-all", post(admin_revoke_all))
            .route("/__emulator/stats", get(admin_stats))
            .route("/__emulator/jwt-certificate", post(admin_jwt_certificate))
            .route("/__emulator/jwt-approval", post(admin_jwt_approval))
            .merge(bulk::routes())
            .fallback(unknown_path)
            .layer(axum::middleware::from_fn_with_state(self.clone(), bulk::latency))
            .with_state(self.clone())
    }

    fn user_id(&self, user: usize) -> String {
        self.data.id(soql::Object::User, self.config.users[user].index)
    }

    fn base(headers: &HeaderMap) -> String {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
        format!("http://{host}")
    }
}

/// Any other path: Salesforce's 404, and a line on standard error naming it, so that a client
/// asking for something the emulator lacks is seen at once.
async fn unknown_path(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    tracing::warn!(%method, path = uri.path(), "the Salesforce emulator has no such resource");
    eprintln!("salesforce emulator: no resource for {method} {}", uri.path());
    rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist")
}

fn sf_json(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    r
}

fn oauth_error(error: &str, description: &str) -> Response {
    sf_json(StatusCode::BAD_REQUEST, json!({"error": error, "error_description": description}))
}

fn rest_error(status: StatusCode, code: &str, message: &str) -> Response {
    sf_json(status, json!([{"message": message, "errorCode": code}]))
}

// ---- Authorize ----------------------------------------------------------------------------

fn login_form(params: &HashMap<String, String>, error: Option<&str>, config: &Config) -> Html<String> {
    let keep: Vec<(&str, &str)> = [
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "login_hint",
        "nonce",
        "display",
    ]
    .iter()
    .filter_map(|k| params.get(*k).map(|v| (*k, v.as_str())))
    .collect();
    let hint = params.get("login_hint").map(String::as_str).unwrap_or("");
    let err = error.map(|e| format!(r#"<p class="error" id="error">{}</p>"#, escape(e))).unwrap_or_default();
    let demo = config.users.first().map(|u| format!("Demo user: {} / {}", escape(&u.username), escape(&u.password))).unwrap_or_default();
    Html(page(
        "Login | Salesforce",
        "#0176d3",
        &format!(
            r#"<h1>Salesforce (emulator)</h1>
{err}
<form method="post" action="/services/oauth2/authorize" id="login_form">
{hidden}
<label for="username">Username</label><input type="email" id="username" name="username" value="{hint}" autocomplete="username">
<label for="password">Password</label><input type="password" id="password" name="pw" autocomplete="current-password">
<button class="primary" type="submit" id="Login" name="action" value="login">Log In and Allow</button>
<button class="secondary" type="submit" id="Deny" name="action" value="deny">Deny</button>
</form>
<p class="note" id="demo-credentials">{demo}</p>"#,
            hidden = hidden(&keep),
            hint = escape(hint),
        ),
    ))
}

fn error_page(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(page("Error | Salesforce", "#c23934", &format!(r#"<h1>Error</h1><p class="error" id="error">{}</p>"#, escape(message)))),
    )
        .into_response()
}

fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(u) => u,
        Err(_) => return error_page("error=redirect_uri_mismatch&error_description=redirect_uri%20must%20be%20a%20URL"),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

async fn authorize_page(State(em): State<Emulator>, QueryParams(params): QueryParams<HashMap<String, String>>) -> Response {
    if let Err(r) = check_authorize(&em, &params) {
        return r;
    }
    login_form(&params, None, &em.config).into_response()
}

fn check_authorize(em: &Emulator, params: &HashMap<String, String>) -> Result<(), Response> {
    let redirect = params.get("redirect_uri").cloned().unwrap_or_default();
    if url::Url::parse(&redirect).is_err() {
        return Err(error_page("error=redirect_uri_mismatch&error_description=redirect_uri%20must%20match%20configuration"));
    }
    let state = params.get("state").cloned().unwrap_or_default();
    if params.get("client_id") != Some(&em.config.client_id) {
        return Err(redirect_with(
            &redirect,
            &[("error", "invalid_client_id"), ("error_description", "client identifier invalid"), ("state", &state)],
        ));
    }
    if params.get("response_type").map(String::as_str) != Some("code") {
        return Err(redirect_with(
            &redirect,
            &[("error", "unsupported_response_type"), ("error_description", "response type not supported"), ("state", &state)],
        ));
    }
    Ok(())
}

async fn authorize_submit(State(em): State<Emulator>, Form(form): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = check_authorize(&em, &form) {
        return r;
    }
    let redirect = form.get("redirect_uri").cloned().unwrap_or_default();
    let state = form.get("state").cloned().unwrap_or_default();
    let mut out: Vec<(&str, &str)> = Vec::new();
    if form.get("action").map(String::as_str) == Some("deny") {
        out.push(("error", "access_denied"));
        out.push(("error_description", "end-user denied authorization"));
        if !state.is_empty() {
            out.push(("state", &state));
        }
        return redirect_with(&redirect, &out);
    }
    let username = form.get("username").map(|s| s.trim().to_string()).unwrap_or_default();
    let pw = form.get("pw").cloned().unwrap_or_default();
    let Some(user) = em.config.users.iter().position(|u| u.username.eq_ignore_ascii_case(&username) && u.password == pw) else {
        return login_form(
            &form,
            Some("Please check your username and password. If you still can't log in, contact your Salesforce administrator."),
            &em.config,
        )
        .into_response();
    };
    let challenge = form.get("code_challenge").filter(|c| !c.is_empty()).cloned();
    if challenge.is_some() && form.get("code_challenge_method").is_some_and(|m| m != "S256") {
        return redirect_with(
            &redirect,
            &[("error", "invalid_request"), ("error_description", "unsupported code_challenge_method"), ("state", &state)],
        );
    }
    // Real codes are base64 with `=` padding (PROTOCOLS.md); they reach the redirect as `%3D%3D`.
    let code = format!("aPrx{}==", random_token(58));
    em.inner.lock().expect("state").codes.insert(
        code.clone(),
        CodeGrant {
            user,
            redirect_uri: redirect.clone(),
            challenge,
            scope: form.get("scope").cloned().unwrap_or_else(|| "api refresh_token".into()),
            issued: Instant::now(),
        },
    );
    out.push(("code", &code));
    if !state.is_empty() {
        out.push(("state", &state));
    }
    redirect_with(&redirect, &out)
}

// ---- Token --------------------------------------------------------------------------------

/// Client id and secret from HTTP Basic or the body (Salesforce accepts both).
fn client_auth(headers: &HeaderMap, form: &HashMap<String, String>) -> (Option<String>, Option<String>) {
    if let Some(basic) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic ")) {
        if let Ok(decoded) = STANDARD.decode(basic.trim()) {
            if let Ok(text) = String::from_utf8(decoded) {
                if let Some((id, secret)) = text.split_once(':') {
                    let dec = |s: &str| {
                        url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
                    };
                    return (Some(dec(id)), Some(dec(secret)));
                }
            }
        }
    }
    (form.get("client_id").cloned(), form.get("client_secret").cloned())
}

fn scope_allows_refresh(scope: &str) -> bool {
    scope.split_whitespace().any(|s| matches!(s, "refresh_token" | "offline_access" | "full"))
}

impl Emulator {
    fn issue(&self, user: usize, scope: &str, family: Option<String>, with_refresh: bool, headers: &HeaderMap) -> Value {
        let base = Self::base(headers);
        let token = format!("{ORG_ID}!AQ{}", random_token(94));
        let issued_ms = now_millis();
        let issued_at = issued_ms.to_string();
        let id = format!("{base}/id/{ORG_ID}/{}", self.user_id(user));
        let mut mac = Hmac::<Sha256>::new_from_slice(self.config.client_secret.as_bytes()).expect("hmac key");
        mac.update(id.as_bytes());
        mac.update(issued_at.as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        let mut inner = self.inner.lock().expect("state");
        let mut family = family;
        let mut body = json!({
            "access_token": token,
            "signature": signature,
            "scope": scope,
            "instance_url": base,
            "id": id,
            "token_type": "Bearer",
            "issued_at": issued_at,
        });
        if with_refresh && scope_allows_refresh(scope) {
            let rt = format!("5Aep{}", random_token(83));
            inner.refresh.insert(rt.clone(), (user, scope.to_string(), false));
            family = Some(rt.clone());
            body["refresh_token"] = json!(rt);
        }
        if scope.split_whitespace().any(|s| s == "openid") {
            body["id_token"] = json!(self.id_token(user, &base, issued_ms, body["access_token"].as_str().unwrap_or_default()));
        }
        inner
            .access
            .insert(token, AccessSession { user, scope: scope.to_string(), issued: Instant::now(), issued_ms, family, expired: false });
        body
    }

    /// An RS256 JWT signed with the org's key (served at `/id/keys`), with `at_hash`, as Salesforce sends.
    fn id_token(&self, user: usize, base: &str, issued_ms: i64, access_token: &str) -> String {
        let u = &soql::USERS[self.config.users[user].index];
        let iat = issued_ms / 1000;
        let digest = Sha256::digest(access_token.as_bytes());
        let claims = json!({
            "iss": base, "sub": format!("{base}/id/{ORG_ID}/{}", self.user_id(user)), "aud": self.config.client_id,
            "iat": iat, "exp": iat + 300, "name": format!("{} {}", u.0, u.1), "email": u.2,
            "preferred_username": self.config.users[user].username,
            "at_hash": URL_SAFE_NO_PAD.encode(&digest[..16]),
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(ID_TOKEN_KID.into());
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(ID_TOKEN_KEY.as_bytes()).expect("the emulator's key");
        jsonwebtoken::encode(&header, &claims, &key).expect("signing")
    }

    fn count_token_request(&self, grant: &str) {
        *self.inner.lock().expect("state").stats.token_requests.entry(grant.to_string()).or_default() += 1;
    }
}

async fn token(State(em): State<Emulator>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    em.count_token_request(&grant);
    if grant == JWT_BEARER {
        return jwt_bearer(&em, &headers, form.get("assertion").map(String::as_str).unwrap_or_default());
    }
    let (client_id, client_secret) = client_auth(&headers, &form);
    if client_id.as_deref() != Some(em.config.client_id.as_str()) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let secret_ok = client_secret.as_deref() == Some(em.config.client_secret.as_str());
    match grant.as_str() {
        "authorization_code" => {
            let code = form.get("code").cloned().unwrap_or_default();
            let grant = em.inner.lock().expect("state").codes.remove(&code);
            let Some(g) = grant else { return oauth_error("invalid_grant", "invalid authorization code") };
            if g.issued.elapsed() > em.config.code_ttl {
                return oauth_error("invalid_grant", "expired authorization code");
            }
            if form.get("redirect_uri") != Some(&g.redirect_uri) {
                return oauth_error("invalid_grant", "redirect_uri must match configuration");
            }
            match (&g.challenge, form.get("code_verifier")) {
                (Some(ch), Some(v)) => {
                    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
                    if &computed != ch {
                        return oauth_error("invalid_grant", "invalid code verifier");
                    }
                }
                (Some(_), None) => return oauth_error("invalid_grant", "invalid code verifier"),
                (None, _) if !secret_ok => return oauth_error("invalid_client", "invalid client credentials"),
                (None, _) => {}
            }
            if client_secret.is_some() && !secret_ok {
                return oauth_error("invalid_client", "invalid client credentials");
            }
            sf_json(StatusCode::OK, em.issue(g.user, &g.scope, None, true, &headers))
        }
        "password" => {
            if !secret_ok {
                return oauth_error("invalid_client", "invalid client credentials");
            }
            if !em.config.password_grant {
                return oauth_error("invalid_grant", "authentication failure");
            }
            let username = form.get("username").cloned().unwrap_or_default();
            let password = form.get("password").cloned().unwrap_or_default();
            let user = em
                .config
                .users
                .iter()
                .position(|u| u.username.eq_ignore_ascii_case(&username) && password == format!("{}{}", u.password, u.security_token));
            match user {
                // The password grant issues no refresh token.
                Some(u) => sf_json(StatusCode::OK, em.issue(u, "api web openid", None, false, &headers)),
                None => oauth_error("invalid_grant", "authentication failure"),
            }
        }
        "refresh_token" => {
            if client_secret.is_some() && !secret_ok {
                return oauth_error("invalid_client", "invalid client credentials");
            }
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            let found = em.inner.lock().expect("state").refresh.get(&rt).cloned();
            match found {
                Some((user, scope, false)) if em.config.rotate_refresh_tokens => {
                    // Rotation: a new refresh token; the one just used is revoked.
                    if let Some(used) = em.inner.lock().expect("state").refresh.get_mut(&rt) {
                        used.2 = true;
                    }
                    sf_json(StatusCode::OK, em.issue(user, &scope, None, true, &headers))
                }
                Some((user, scope, false)) => {
                    // No new refresh token on refresh (no rotation).
                    let body = em.issue(user, &scope, Some(rt), false, &headers);
                    sf_json(StatusCode::OK, body)
                }
                _ => oauth_error("invalid_grant", "expired access/refresh token"),
            }
        }
        "client_credentials" => {
            if !em.config.my_domain {
                return oauth_error("invalid_grant", "request not supported on this domain");
            }
            if !secret_ok {
                return oauth_error("invalid_client", "invalid client credentials");
            }
            sf_json(StatusCode::OK, em.issue(0, "api", None, false, &headers))
        }
        "" => oauth_error("unsupported_grant_type", "grant type not supported"),
        _ => oauth_error("unsupported_grant_type", "grant type not supported"),
    }
}

async fn revoke_get(State(em): State<Emulator>, QueryParams(q): QueryParams<HashMap<String, String>>) -> Response {
    do_revoke(&em, q.get("token").cloned().unwrap_or_default())
}

async fn revoke(State(em): State<Emulator>, Form(form): Form<HashMap<String, String>>) -> Response {
    do_revoke(&em, form.get("token").cloned().unwrap_or_default())
}

fn do_revoke(em: &Emulator, token: String) -> Response {
    let mut inner = em.inner.lock().expect("state");
    if let Some(r) = inner.refresh.get_mut(&token) {
        r.2 = true;
        // Revoking a refresh token revokes the access tokens it made.
        for s in inner.access.values_mut().filter(|s| s.family.as_deref() == Some(token.as_str())) {
            s.expired = true;
        }
        return StatusCode::OK.into_response();
    }
    if inner.access.remove(&token).is_some() {
        return StatusCode::OK.into_response();
    }
    oauth_error("invalid_token", "invalid token")
}

async fn introspect(State(em): State<Emulator>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let (id, secret) = client_auth(&headers, &form);
    if id.as_deref() != Some(em.config.client_id.as_str()) || secret.as_deref() != Some(em.config.client_secret.as_str()) {
        return sf_json(StatusCode::UNAUTHORIZED, json!({"error": "invalid_client", "error_description": "invalid client credentials"}));
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let base = Emulator::base(&headers);
    let inner = em.inner.lock().expect("state");
    if let Some(s) = inner.access.get(&token) {
        let live = !s.expired && s.issued.elapsed() < em.config.session_ttl;
        if live {
            let iat = s.issued_ms / 1000;
            return sf_json(
                StatusCode::OK,
                json!({
                    "active": true, "scope": s.scope, "client_id": em.config.client_id,
                    "username": em.config.users[s.user].username, "sub": format!("{base}/id/{ORG_ID}/{}", em.user_id(s.user)),
                    "token_type": "access_token", "exp": iat + em.config.session_ttl.as_secs() as i64, "iat": iat, "nbf": iat
                }),
            );
        }
    }
    if let Some((user, scope, false)) = inner.refresh.get(&token) {
        return sf_json(
            StatusCode::OK,
            json!({
                "active": true, "scope": scope, "client_id": em.config.client_id, "username": em.config.users[*user].username,
                "sub": format!("{base}/id/{ORG_ID}/{}", em.user_id(*user)), "token_type": "refresh_token"
            }),
        );
    }
    sf_json(StatusCode::OK, json!({"active": false}))
}

// ---- REST ---------------------------------------------------------------------------------

impl Emulator {
    /// The session behind a Bearer token, or the 401 Salesforce sends.
    fn authenticate(&self, headers: &HeaderMap) -> Result<(usize, u64), Response> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))
            .unwrap_or("");
        let mut inner = self.inner.lock().expect("state");
        let user = match inner.access.get(token) {
            Some(s) if !s.expired && s.issued.elapsed() < self.config.session_ttl => s.user,
            _ => return Err(rest_error(StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID", "Session expired or invalid")),
        };
        inner.stats.api_calls += 1;
        Ok((user, inner.stats.api_calls))
    }

    fn with_limit_info(&self, calls: u64, mut r: Response) -> Response {
        if let Ok(v) = HeaderValue::from_str(&format!("api-usage={calls}/{}", self.config.daily_api_limit)) {
            r.headers_mut().insert("Sforce-Limit-Info", v);
        }
        r
    }
}

async fn versions(State(em): State<Emulator>) -> Response {
    let list: Vec<Value> = em
        .config
        .api_versions
        .iter()
        .map(|(label, v)| json!({"label": label, "url": format!("/services/data/v{v}"), "version": v}))
        .collect();
    sf_json(StatusCode::OK, Value::Array(list))
}

/// `GET /services/data/vXX.X`: the resources of an API version (the Salesforce CLI reads it).
async fn resources(State(em): State<Emulator>, Path(version): Path<String>, headers: HeaderMap) -> Response {
    let (_, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(v) = version_ok(&em, &version) else {
        return rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    };
    let base = format!("/services/data/v{v}");
    let list: serde_json::Map<String, Value> = ["sobjects", "query", "queryAll", "limits", "jobs/query"]
        .iter()
        .map(|r| (r.replace("jobs/query", "jobs"), json!(format!("{base}/{r}"))))
        .collect();
    em.with_limit_info(calls, sf_json(StatusCode::OK, Value::Object(list)))
}

fn version_ok(em: &Emulator, version: &str) -> Option<String> {
    let v = version.strip_prefix('v')?;
    em.config.api_versions.iter().any(|(_, known)| known == v).then(|| v.to_string())
}

async fn query(State(em): State<Emulator>, Path(version): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    run_query(em, version, headers, q, false)
}

async fn query_all(State(em): State<Emulator>, Path(version): Path<String>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    run_query(em, version, headers, q, true)
}

fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("Sforce-Query-Options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|p| p.trim().strip_prefix("batchSize=")))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map(|n| n.clamp(200, 2000))
        .unwrap_or(2000)
}

fn run_query(em: Emulator, version: String, headers: HeaderMap, raw_query: Option<String>, include_deleted: bool) -> Response {
    let (_, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(version) = version_ok(&em, &version) else {
        return rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    };
    let soql_text = raw_query
        .as_deref()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "q").map(|(_, v)| v.into_owned()))
        .unwrap_or_default();
    if soql_text.trim().is_empty() {
        return rest_error(StatusCode::BAD_REQUEST, "MALFORMED_QUERY", "A query string has to be specified");
    }
    let parsed = match soql::parse(&soql_text) {
        Ok(q) => q,
        Err(e) => return em.with_limit_info(calls, rest_error(StatusCode::BAD_REQUEST, e.error_code, &e.message)),
    };
    let wants_columns =
        raw_query.as_deref().is_some_and(|q| url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "columns" && v == "true"));
    if wants_columns {
        // The column metadata the Developer Console and `sf data query` ask for.
        return em.with_limit_info(calls, sf_json(StatusCode::OK, soql::column_metadata(&parsed)));
    }
    let rows = Arc::new(em.data.select(&parsed, include_deleted));
    if parsed.items.iter().all(|i| matches!(i, Item::Count)) {
        return em.with_limit_info(calls, sf_json(StatusCode::OK, json!({"totalSize": rows.len(), "done": true, "records": []})));
    }
    let cursor = Cursor { query: parsed, rows, include_deleted, batch: batch_size(&headers), version };
    em.with_limit_info(calls, page_response(&em, cursor, 0))
}

fn page_response(em: &Emulator, cursor: Cursor, offset: usize) -> Response {
    let total = cursor.rows.len();
    let end = (offset + cursor.batch).min(total);
    let mut body = String::with_capacity((end - offset) * 300 + 200);
    body.push_str(&format!("{{\"totalSize\":{total},\"done\":{}", end >= total));
    let mut inner_cursor = None;
    if end < total {
        let id = format!("01gEMU{}", random_token(12));
        body.push_str(&format!(",\"nextRecordsUrl\":\"/services/data/v{}/query/{id}-{end}\"", cursor.version));
        inner_cursor = Some(id);
    }
    body.push_str(",\"records\":[");
    for (n, i) in cursor.rows[offset..end].iter().enumerate() {
        if n > 0 {
            body.push(',');
        }
        body.push_str(&em.data.render(&cursor.query, *i as usize, &cursor.version, cursor.include_deleted).to_string());
    }
    body.push_str("]}");
    {
        let mut inner = em.inner.lock().expect("state");
        inner.stats.pages_served += 1;
        if let Some(id) = inner_cursor {
            inner.cursors.insert(id, cursor);
        }
    }
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    r
}

async fn query_more(State(em): State<Emulator>, Path((version, cursor)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (_, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if version_ok(&em, &version).is_none() {
        return rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    }
    let Some((id, offset)) = cursor.rsplit_once('-').and_then(|(id, off)| off.parse::<usize>().ok().map(|o| (id.to_string(), o))) else {
        return rest_error(StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR", "invalid query locator");
    };
    let found = em.inner.lock().expect("state").cursors.remove(&id);
    match found {
        Some(c) if offset <= c.rows.len() => em.with_limit_info(calls, page_response(&em, c, offset)),
        _ => rest_error(StatusCode::BAD_REQUEST, "INVALID_QUERY_LOCATOR", "invalid query locator"),
    }
}

/// `GET /services/data/vXX.X/sobjects`: describeGlobal, the objects of the org.
async fn describe_global(State(em): State<Emulator>, Path(version): Path<String>, headers: HeaderMap) -> Response {
    let (_, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if version_ok(&em, &version).is_none() {
        return rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    }
    let objects: Vec<Value> = soql::Object::ALL
        .iter()
        .map(|o| json!({"name": o.name(), "label": o.name(), "queryable": true, "custom": false, "keyPrefix": o.describe()["keyPrefix"]}))
        .collect();
    em.with_limit_info(calls, sf_json(StatusCode::OK, json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": objects})))
}

/// `GET /services/data/vXX.X/sobjects/{Object}/describe`: fields and relationships.
async fn describe(State(em): State<Emulator>, Path((version, object)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let (_, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match (version_ok(&em, &version), soql::Object::parse(&object)) {
        (Some(_), Some(o)) => em.with_limit_info(calls, sf_json(StatusCode::OK, o.describe())),
        (_, None) => rest_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            &format!("The requested resource does not exist: sObject type '{object}' is not supported."),
        ),
        _ => rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist"),
    }
}

/// `GET /services/data/vXX.X/limits`: the org's limits and what is left of them.
async fn limits(State(em): State<Emulator>, Path(version): Path<String>, headers: HeaderMap) -> Response {
    let (_, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if version_ok(&em, &version).is_none() {
        return rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    }
    let max = em.config.daily_api_limit;
    let body = json!({
        "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(calls)},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 5, "Remaining": 4},
        "FileStorageMB": {"Max": 20, "Remaining": 20},
    });
    em.with_limit_info(calls, sf_json(StatusCode::OK, body))
}

/// `GET /services/data/vXX.X/sobjects/{Object}/{Id}`: one record with every field.
async fn sobject(State(em): State<Emulator>, Path((version, object, id)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    let (_, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(version) = version_ok(&em, &version) else {
        return rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    };
    let Some(o) = soql::Object::parse(&object) else {
        return rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    };
    // Accept 15- and 18-character ids.
    let index = em.data.index_of(o, &id);
    match index {
        Some(i) => em.with_limit_info(calls, sf_json(StatusCode::OK, em.data.render_all(o, i, &version))),
        None => {
            rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("Provided external ID field does not exist or is not accessible: {id}"))
        }
    }
}

fn user_document(em: &Emulator, user: usize, base: &str) -> Value {
    let u = &soql::USERS[em.config.users[user].index];
    let uid = em.user_id(user);
    let v = em.config.api_versions.last().map(|(_, v)| v.as_str()).unwrap_or("62.0");
    json!({
        "id": format!("{base}/id/{ORG_ID}/{uid}"), "asserted_user": true, "user_id": uid, "organization_id": ORG_ID,
        "username": em.config.users[user].username, "nick_name": u.0.to_lowercase(), "display_name": format!("{} {}", u.0, u.1),
        "email": u.2, "email_verified": true, "first_name": u.0, "last_name": u.1, "timezone": "America/Los_Angeles",
        "active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": -28800000,
        "urls": {
            "enterprise": format!("{base}/services/Soap/c/{{version}}/{ORG_ID}"),
            "rest": format!("{base}/services/data/v{{version}}/"),
            "query": format!("{base}/services/data/v{{version}}/query/"),
            "sobjects": format!("{base}/services/data/v{{version}}/sobjects/"),
            "profile": format!("{base}/{uid}"),
            "custom_domain": base
        },
        "is_app_installed": true, "last_modified_date": format!("2024-0{}-01T00:00:00Z", user % 9 + 1), "api_version": v
    })
}

/// What the identity URL and `/services/oauth2/userinfo` send for a bad or expired token:
/// HTTP 403 and the plain-text body `Bad_OAuth_Token`, not the REST API's JSON 401.
fn bad_oauth_token() -> Response {
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")], "Bad_OAuth_Token").into_response()
}

async fn identity(State(em): State<Emulator>, Path((org, uid)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Ok((user, calls)) = em.authenticate(&headers) else { return bad_oauth_token() };
    if org != ORG_ID || uid != em.user_id(user) {
        return sf_json(StatusCode::FORBIDDEN, json!("Bad_Id"));
    }
    em.with_limit_info(calls, sf_json(StatusCode::OK, user_document(&em, user, &Emulator::base(&headers))))
}

async fn userinfo(State(em): State<Emulator>, headers: HeaderMap) -> Response {
    let Ok((user, calls)) = em.authenticate(&headers) else { return bad_oauth_token() };
    let base = Emulator::base(&headers);
    let d = user_document(&em, user, &base);
    let body = json!({
        "sub": d["id"], "user_id": d["user_id"], "organization_id": ORG_ID, "preferred_username": d["username"],
        "nickname": d["nick_name"], "name": d["display_name"], "email": d["email"], "email_verified": true,
        "given_name": d["first_name"], "family_name": d["last_name"], "zoneinfo": d["timezone"], "urls": d["urls"],
        "active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": -28800000,
        "updated_at": "2024-01-01T00:00:00Z"
    });
    em.with_limit_info(calls, sf_json(StatusCode::OK, body))
}

async fn admin_expire(State(em): State<Emulator>) -> Response {
    em.expire_sessions();
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_revoke_all(State(em): State<Emulator>) -> Response {
    em.revoke_all();
    StatusCode::NO_CONTENT.into_response()
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The org's ID token signing key: a fixed test key (this is an emulator, not a secret).
const ID_TOKEN_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC0PE3l+i2YcEH+
huI47a2gMV0s/oO+C32dUizExq3ZRqXt78nuex5n++zb1jeKsLvIaHLjTUGmTmAm
5j1xjSU8YwnVE0nfJc92UPKmbBhR1vNw5ifSmzTMw1uQelE8/u6mGT99P6J1rZ6L
rqbIX1LobQfjsbd7vmWsCKYxGlFw4AcxpW9kzEQfexLQUKn6ogpAfkBG8tk+G47d
wUDdF3LW7QWlAC5ARoYOqrwiMfmOKHLc3Dj1cVGP+R7fIUWRGxDdPzz6ZLPpgkBg
RZRM935znwC/xe3Gwe3ep/Z9DqjRsdwSz74Zww5ViLLolEtqLaIoGcza9nGtO7EZ
dyfbBc4pAgMBAAECggEAJ8KT5rN5goLlNBqaZjeckVXCec4Nzwtm4yFBKgmwSVnJ
+gLnd5ome4b6WgbYStqxGkVcbuNYo7DvijVJgbbC657niN9P8Q+8xBuYY/k9pjQ2
kQXc7Bt8Gt3P4b/yEvQkPnUcaetzUeWCr8rQFSzeM9L1phfK49v9PuXLj9J/+9e4
6obXEUxjnISlZTkPHX13KtmmFAugK1HAv3QE2WuNMrxQyTsuZf4lvb2GVUBGUb2+
fZVnrqDMFaSmRDcxAQINEumByE5l2qbwAaRRebyr1xJX0ThqAQu84emmlWd9uoYW
rt0JnRZB4LRi8JVIzx+0En29CuET4DI6d8EdSx8qnwKBgQDqlYIS4Oujateyo2MV
VMbI0V2wklnw8z+jJBG+c9Lt3H+RcI5nnG/tzDg5KXOQ/irIR3696yQCMMlSsku4
aRIRzl48G4LNCroWEewK43oeVC4ThcY9/A9Ho1QCDC76nZt2FXzgrG/MolrxnHio
s4aMc+vWfmmOZt4iS5Cwa4PlJwKBgQDEsJygaRQc17qirT4/gutCj88Q2TrIGhhc
2ifXYTHqg6zBno39Z6avI5sRf/ZBW9Vld4oZBawFezQ51mFReuK0DTaIsi/EDqga
kmj1Ic8VWbP3tUDsptY014M5VE1URNv86qgSYLqaxqkiqQEPJzmkixf4NbdzefZH
RuHjb4jkLwKBgBvGuDAkEcK30/KDBihwcVk18TIHIj81jkNy8ebrL/6aLUC7YyFB
lL9DfyTFk7mHXul4DbnPLeRUgoIYOn8LcehJ1z6mw0YkDwSt+pUPelY9AXeuT1rn
jaed30SezLFAGDhTMwYnZNWGI96X+HGBUF0xHKu5LCaAZ60H5Yn+MQ/hAoGBALPk
ZBxCfuayWDyY/qnP76P9K4FZbO2/EDE8RdwzRRgcPlEH1w3BUy4z/ovO4Ud92nrn
DiM8kMyilm2fqXqATgAnZY04i39heFZ1OhGZTnFUjcksuai4HopN4fL5K5C7Ogjk
BbxpQ8JzmBXfRNy7H3lizhVx68tt7NXb+pWtWSJ5AoGBAJbi4VSa+38tNPUfNK0B
Z55mV3bhRGkmV8o4BQHVT9nNivQtZEm+XaXi3ATmlD34p0GVkLyzDOhgZiWOkiUK
T4mVgLzlYE6lZXPJivEn4+k2YkWm2MzDrZKJdLGJXRMGmUNOvYvK/TzEC2azzlf4
vhRxH8Rompy3d0FfM/OnoTF6
-----END PRIVATE KEY-----";
const ID_TOKEN_KID: &str = "emulator-2026";
const ID_TOKEN_N: &str = "tDxN5fotmHBB_obiOO2toDFdLP6Dvgt9nVIsxMat2Ual7e_J7nseZ_vs29Y3irC7yGhy401Bpk5gJuY9cY0lPGMJ1RNJ3yXPdlDypmwYUdbzcOYn0ps0zMNbkHpRPP7uphk_fT-ida2ei66myF9S6G0H47G3e75lrAimMRpRcOAHMaVvZMxEH3sS0FCp-qIKQH5ARvLZPhuO3cFA3Rdy1u0FpQAuQEaGDqq8IjH5jihy3Nw49XFRj_ke3yFFkRsQ3T88-mSz6YJAYEWUTPd-c58Av8XtxsHt3qf2fQ6o0bHcEs--GcMOVYiy6JRLai2iKBnM2vZxrTuxGXcn2wXOKQ";

/// `GET /id/keys`: the JWKS ID tokens are signed with.
async fn id_keys() -> Response {
    sf_json(
        StatusCode::OK,
        json!({"keys": [{"kty": "RSA", "kid": ID_TOKEN_KID, "use": "sig", "alg": "RS256", "n": ID_TOKEN_N, "e": "AQAB"}]}),
    )
}

/// The JWT bearer flow as Salesforce runs it: the assertion verified with the connected app's
/// certificate (RS256 only), then `iss` (consumer key), `aud` (this login host), `exp`, and
/// whether the user (`sub`) is pre-authorized. No refresh token, no `issued_at`, no `signature`.
fn jwt_bearer(em: &Emulator, headers: &HeaderMap, assertion: &str) -> Response {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let invalid = || oauth_error("invalid_grant", "invalid assertion");
    let Ok(header) = decode_header(assertion) else { return invalid() };
    let Some(key) = em.inner.lock().expect("state").jwt_key.clone() else { return invalid() };
    if header.alg != Algorithm::RS256 {
        return invalid();
    }
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let Ok(data) = decode::<Value>(assertion, &DecodingKey::from_rsa_der(&key), &v) else { return invalid() };
    let claims = data.claims;
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    if text("iss") != em.config.client_id {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let aud = text("aud");
    let aud_host = aud.trim_end_matches('/').split_once("://").map(|(_, h)| h).unwrap_or_default();
    if aud_host != host {
        return oauth_error("invalid_grant", "audience is invalid");
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp * 1000 > now_millis() => {}
        _ => return oauth_error("invalid_grant", "expired authorization code"),
    }
    let sub = text("sub");
    let user = em.config.users.iter().position(|u| u.username.eq_ignore_ascii_case(&sub));
    let approved = !em.inner.lock().expect("state").jwt_unapproved.contains(&sub.to_ascii_lowercase());
    match user {
        Some(u) if approved => {
            let mut body = em.issue(u, "api web openid", None, false, headers);
            if let Some(o) = body.as_object_mut() {
                o.remove("issued_at");
                o.remove("signature");
            }
            sf_json(StatusCode::OK, body)
        }
        _ => oauth_error("invalid_grant", "user hasn't approved this consumer"),
    }
}

/// `POST /__emulator/jwt-certificate` with an X.509 PEM: what an admin uploads to the connected
/// app ("Use digital signatures").
async fn admin_jwt_certificate(State(em): State<Emulator>, body: String) -> Response {
    use base64::Engine;
    let b64: String = body.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = match base64::engine::general_purpose::STANDARD.decode(b64) {
        Ok(d) if body.contains("BEGIN CERTIFICATE") => d,
        _ => return (StatusCode::BAD_REQUEST, "not an X.509 PEM certificate").into_response(),
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(&der) else {
        return (StatusCode::BAD_REQUEST, "not an X.509 certificate").into_response();
    };
    em.inner.lock().expect("state").jwt_key = Some(cert.public_key().subject_public_key.data.to_vec());
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /__emulator/jwt-approval?user=…&approved=false`: whether a user is pre-authorized.
async fn admin_jwt_approval(State(em): State<Emulator>, QueryParams(q): QueryParams<HashMap<String, String>>) -> Response {
    let user = q.get("user").cloned().unwrap_or_default().to_ascii_lowercase();
    let mut inner = em.inner.lock().expect("state");
    if q.get("approved").map(String::as_str) == Some("false") {
        inner.jwt_unapproved.insert(user);
    } else {
        inner.jwt_unapproved.remove(&user);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_stats(State(em): State<Emulator>) -> Response {
    sf_json(StatusCode::OK, serde_json::to_value(em.stats()).unwrap_or_default())
}

/// Starts an emulator on 127.0.0.1 (`port` 0 for any free port).
pub async fn start(config: Config, port: u16) -> std::io::Result<(Emulator, crate::Running)> {
    let em = Emulator::new(config);
    let running = crate::serve(port, em.router()).await?;
    Ok((em, running))
}
