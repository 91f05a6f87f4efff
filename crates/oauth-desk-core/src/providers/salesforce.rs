//! Salesforce: fixed OAuth paths on the login host, client credentials in the body (what jsforce
//! and the Salesforce CLI send), no `expires_in` (the session length is estimated), the token
//! `signature`, and the REST API on the instance: versions, SOQL `query`/`queryAll` streamed
//! page by page, identity, userinfo (PROTOCOLS.md, "Salesforce").
//!
//! REST errors are a JSON array `[{"message","errorCode"}]`. A refused token is 401
//! `INVALID_SESSION_ID` on the REST API, and 403 with the plain-text body `Bad_OAuth_Token` on the
//! identity URL and userinfo: both renew and retry once.

use crate::dialect::{unsupported, Dialect};
use crate::error::{excerpt, Action, Error, ErrorCode, Result};
use crate::hints;
use crate::http_client::Http;
use crate::oauth::{self, Authorization, Client, Endpoints, GrantInput};
use crate::profile::{is_loopback, join_url, ClientAuth, Profile, ProfileSecrets, Provider, ProviderKind, SalesforceConfig};
use crate::secret::Secret;
use crate::session::Session;
use crate::token::{Grant, TokenSet};
use crate::transport::{request, Purpose, RawResponse, Request};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, Stream, StreamExt};
use futures::FutureExt;
use hmac::{Hmac, Mac};
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use url::Url;

/// Bulk API 2.0 query jobs (a child module: it extends [`SalesforceApi`]).
pub mod bulk;

#[derive(Debug, Clone)]
pub struct Salesforce {
    config: SalesforceConfig,
}

impl Salesforce {
    pub fn new(config: SalesforceConfig) -> Self {
        Salesforce { config }
    }
}

/// The OAuth endpoints on the login host.
pub fn endpoints(c: &SalesforceConfig) -> Result<Endpoints> {
    let login = c.login_url()?;
    let at = |p: &str| Url::parse(&join_url(login.as_str(), p)).map_err(|e| Error::invalid_input(format!("bad login host ({e})")));
    Ok(Endpoints {
        authorize: Some(at("services/oauth2/authorize")?),
        token: Some(at("services/oauth2/token")?),
        userinfo: None,
        revocation: Some(at("services/oauth2/revoke")?),
        introspection: Some(at("services/oauth2/introspect")?),
        // Salesforce signs ID tokens with the keys at /id/keys; `iss` is the login host.
        jwks: Some(at("id/keys")?),
        issuer: Some(login.as_str().trim_end_matches('/').to_string()),
        device_authorization: None,
    })
}

/// `signature` = base64(HMAC-SHA256(key = client secret, message = id + issued_at)).
/// `None` when there is nothing to check (no signature, or no client secret).
pub fn verify_signature(obj: &Map<String, Value>, client_secret: Option<&Secret>) -> Option<bool> {
    let secret = client_secret.filter(|s| !s.is_empty())?;
    let signature = obj.get("signature")?.as_str()?;
    let id = obj.get("id")?.as_str()?;
    let issued_at = obj.get("issued_at")?.as_str()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).ok()?;
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    Some(expected == signature)
}

/// Hints for Salesforce's token errors, then the standard ones.
fn token_hint(grant: Grant, error: &str, description: Option<&str>) -> String {
    match (grant, error) {
        (Grant::Password, "invalid_grant") => "check the username and that the password is immediately followed by the security token; \
             the password grant is off by default in orgs created since Summer '23 \
             (Setup > OAuth and OpenID Connect Settings > Allow OAuth Username-Password Flows)"
            .into(),
        (Grant::ClientCredentials, _) => {
            "enable the client credentials flow on the connected app, choose its run-as user, and use the org's My Domain as login host"
                .into()
        }
        (Grant::JwtBearer, _) => jwt_bearer_hint(error, description).into(),
        (_, "invalid_client_id") => "check the connected app's consumer key (client id)".into(),
        _ => hints::token_error(grant, error, description).into(),
    }
}

/// What to do about Salesforce's answers to a JWT bearer request (its descriptions are the clue).
fn jwt_bearer_hint(error: &str, description: Option<&str>) -> &'static str {
    let desc = description.unwrap_or("").to_ascii_lowercase();
    if error == "invalid_client_id" || error == "invalid_client" {
        return "the assertion's issuer must be the connected app's consumer key (the profile's client id)";
    }
    if desc.contains("approved") || desc.contains("admin approved") {
        "the user has not been allowed this app: in the connected app's OAuth policies choose \"Admin approved users are pre-authorized\" and add the user's profile or a permission set, or approve the app once by signing in through the login window"
    } else if desc.contains("audience") {
        "the audience must be the login host: production (login.salesforce.com), sandbox (test.salesforce.com), or the Experience Cloud site's URL; set the profile's login host to it"
    } else if desc.contains("expired") {
        "the assertion had expired when Salesforce read it (it is valid for 3 minutes): check this computer's clock"
    } else if desc.contains("assertion") {
        "Salesforce could not verify the assertion: upload the certificate made from this private key to the connected app (Use digital signatures), and check the username"
    } else {
        "check the username, the connected app's certificate and its OAuth policies"
    }
}

/// The profile's Salesforce settings, or an error saying it is another kind of profile.
pub fn config_of(profile: &Profile) -> Result<SalesforceConfig> {
    match &profile.provider {
        Provider::Salesforce(config) => Ok(config.clone()),
        _ => Err(Error::invalid_input(format!("`{}` is not a Salesforce profile", profile.name))
            .with_hint("this works with Salesforce orgs only")),
    }
}

/// A profile for an org the Salesforce CLI holds: its instance as the login host (a My Domain),
/// and the Salesforce CLI's own callback, registered on its connected app (PlatformCLI).
pub fn profile_from_auth_url(name: &str, auth: &crate::sfdx::AuthUrl) -> Profile {
    let config = SalesforceConfig { login: auth.instance_url.clone(), ..Default::default() };
    let mut p = Profile::new(name, auth.client_id.clone(), Provider::Salesforce(config));
    p.redirect_uri = Some(crate::sfdx::CLI_REDIRECT_URI.into());
    p
}

/// Hint for a Salesforce REST `errorCode`.
pub fn rest_hint(error_code: &str) -> &'static str {
    match error_code {
        "INVALID_SESSION_ID" => "the session expired or was revoked: refresh the token or sign in again",
        "MALFORMED_QUERY" => "the SOQL is not valid; check the syntax near the position given",
        "INVALID_FIELD" => "a field in the query does not exist on that object or is not visible to this user",
        "INVALID_TYPE" => "the object does not exist or is not visible to this user",
        "REQUEST_LIMIT_EXCEEDED" => "the org's daily API limit is used up; wait or ask for more",
        "API_DISABLED_FOR_ORG" => "the org's edition does not include API access",
        "INSUFFICIENT_ACCESS" | "INSUFFICIENT_ACCESS_OR_READONLY" => "the user lacks permission for this",
        "NOT_FOUND" => "check the URL and API version",
        "INVALIDJOB" => "Salesforce refused the Bulk API job as described; its message names what to change",
        "EXCEEDED_QUOTA" | "EXCEEDED_MAX_SIZE_LIMIT" => {
            "the org's Bulk API limits are used up (Setup → Bulk Data Load Jobs shows the jobs); wait, or use the REST API"
        }
        "FeatureNotEnabled" => "Bulk API 2.0 cannot run this query: use the REST API",
        _ => "read Salesforce's message; it names what to fix",
    }
}

/// The response when it succeeded; the error Salesforce described otherwise.
pub fn check_rest(raw: RawResponse) -> Result<RawResponse> {
    if raw.is_success() {
        return Ok(raw);
    }
    if let Some(e) = rejection(&raw) {
        return Err(e);
    }
    let body: Option<Value> = serde_json::from_slice(&raw.body).ok();
    let first = match &body {
        Some(Value::Array(items)) => items.first().cloned(),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let Some(first) = first else {
        let mut e = raw.not_json(None);
        e.code = ErrorCode::ProviderError;
        e.message = format!("Salesforce answered HTTP {}: {}", raw.status, e.message);
        return Err(e);
    };
    let error_code = first.get("errorCode").or_else(|| first.get("error")).and_then(Value::as_str).unwrap_or("UNKNOWN").to_string();
    let message = first.get("message").or_else(|| first.get("error_description")).and_then(Value::as_str).map(str::to_string);
    Err(Error::new(ErrorCode::ProviderError, format!("Salesforce refused the request with {}", excerpt(&error_code, 60)))
        .with_provider(&error_code, message, raw.header("x-request-id").map(str::to_string))
        .with_hint(rest_hint(&error_code))
        .with_status(raw.status)
        .at(&raw.endpoint))
}

/// Reads a REST response: JSON on success (nothing for an empty body), the error otherwise.
pub fn read_rest(raw: RawResponse) -> Result<Value> {
    let raw = check_rest(raw)?;
    if raw.body.is_empty() {
        return Ok(Value::Null);
    }
    raw.json()
}

/// 401 anywhere, `INVALID_SESSION_ID` anywhere, or 403 `Bad_OAuth_Token` (identity, userinfo).
fn rejection(raw: &RawResponse) -> Option<Error> {
    if raw.is_success() {
        return None;
    }
    let text = String::from_utf8_lossy(&raw.body);
    let bad_oauth = raw.status == 403 && text.trim() == "Bad_OAuth_Token";
    let json: Option<Value> = serde_json::from_slice(&raw.body).ok();
    let first = match &json {
        Some(Value::Array(items)) => items.first(),
        Some(v @ Value::Object(_)) => Some(v),
        _ => None,
    };
    let code = first.and_then(|f| f.get("errorCode")).and_then(Value::as_str);
    if !(raw.status == 401 || bad_oauth || code == Some("INVALID_SESSION_ID")) {
        return None;
    }
    let (pcode, message) = match (code, bad_oauth) {
        (Some(c), _) => (c.to_string(), first.and_then(|f| f.get("message")).and_then(Value::as_str).map(str::to_string)),
        (None, true) => ("Bad_OAuth_Token".to_string(), None),
        (None, false) => (raw.status.to_string(), Some(excerpt(&text, 200)).filter(|t| !t.is_empty())),
    };
    Some(
        Error::new(ErrorCode::TokenRejected, "Salesforce refused the session")
            .with_provider(pcode, message, raw.header("x-request-id").map(str::to_string))
            .with_hint(rest_hint("INVALID_SESSION_ID"))
            .with_status(raw.status)
            .at(&raw.endpoint),
    )
}

fn instance(token: &TokenSet) -> Result<String> {
    token.instance_url.clone().ok_or_else(|| {
        Error::unexpected("the token has no instance_url").with_hint("sign in again to get a Salesforce token").with_action(Action::SignIn)
    })
}

/// A URL a server handed back that will carry the token: https (or http on loopback).
fn checked_url(raw: &str, what: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| Error::unexpected(format!("the {what} `{}` is not a URL ({e})", excerpt(raw, 120))))?;
    if url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url)) {
        Ok(url)
    } else {
        Err(Error::unexpected(format!(
            "the {what} `{}` is not https: the token is not sent there",
            crate::error::strip_query(url.as_str())
        ))
        .with_hint("the server named an insecure URL; check the login host, or sign in again"))
    }
}

impl Dialect for Salesforce {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Salesforce
    }

    fn endpoints<'a>(&'a self, _http: &'a Http) -> BoxFuture<'a, Result<Endpoints>> {
        futures::future::ready(endpoints(&self.config)).boxed()
    }

    fn authorization(&self, endpoints: &Endpoints, client_id: &str, redirect: &Url) -> Result<Authorization> {
        let extra: Vec<(String, String)> = self.config.authorize_params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let endpoint = endpoints.require(&endpoints.authorize, "authorize URL")?;
        oauth::authorize_url(endpoint, client_id, redirect, &self.config.scopes, self.config.pkce, &extra)
    }

    fn check_grant(&self, grant: Grant) -> Result<()> {
        if grant == Grant::ClientCredentials && self.config.is_shared_login_host() {
            let host = self.config.login_url()?.host_str().unwrap_or_default().to_string();
            return Err(unsupported(
                format!("Salesforce refuses the client credentials flow on {host}"),
                "set the login host to the org's My Domain URL, such as https://acme.my.salesforce.com",
            )
            .with_action(Action::EditProfile));
        }
        Ok(())
    }

    fn needs_client_secret(&self, grant: Grant) -> bool {
        // A connected app may let the web-server flow and refresh go without the secret (PKCE).
        matches!(grant, Grant::Password | Grant::ClientCredentials)
    }

    /// jsforce and the Salesforce CLI send the client credentials in the body.
    fn client_auth(&self) -> ClientAuth {
        ClientAuth::Body
    }

    fn token_error_hint(&self, grant: Grant, error: &str, description: Option<&str>) -> String {
        token_hint(grant, error, description)
    }

    /// Salesforce checks `aud` against its authorization servers: https://login.salesforce.com
    /// for production orgs and https://test.salesforce.com for sandboxes, also when the token
    /// is asked for at a My Domain host (as the Salesforce CLI does), or an Experience Cloud
    /// site's own URL. Any other host (a local test server) is its own audience.
    fn jwt_audience(&self, _endpoints: &Endpoints) -> Result<String> {
        let login = self.config.login_url()?;
        let host = login.host_str().unwrap_or_default().to_ascii_lowercase();
        let own = login.as_str().trim_end_matches('/').to_string();
        Ok(if host == "test.salesforce.com" || host.ends_with(".sandbox.my.salesforce.com") {
            crate::profile::SALESFORCE_SANDBOX.trim_end_matches('/').to_string()
        } else if host == "login.salesforce.com" || host.ends_with(".my.salesforce.com") {
            crate::profile::SALESFORCE_PRODUCTION.trim_end_matches('/').to_string()
        } else {
            own
        })
    }

    /// The JWT bearer request is the grant type and the assertion, nothing else.
    fn token_request(&self, endpoints: &Endpoints, client_id: &str, secrets: &ProfileSecrets, input: &GrantInput) -> Result<Request> {
        let endpoint = endpoints.require(&endpoints.token, "token URL")?;
        let client = match input {
            GrantInput::JwtBearer { .. } => Client { id: client_id, secret: None, auth: ClientAuth::Body },
            _ => self.client(client_id, secrets),
        };
        oauth::token_request(endpoint, &client, input, self.grant_scopes())
    }

    fn verify_signature(&self, response: &Map<String, Value>, secrets: &ProfileSecrets) -> Option<bool> {
        verify_signature(response, secrets.client_secret.as_ref())
    }

    fn session_seconds(&self) -> Option<u64> {
        Some(self.config.session_seconds)
    }

    fn rejection(&self, raw: &RawResponse) -> Option<Error> {
        rejection(raw)
    }

    /// OIDC userinfo on the instance.
    fn userinfo_request(&self, _endpoints: &Endpoints, token: &TokenSet, _lang: Option<&str>) -> Result<Request> {
        let url = checked_url(&join_url(&instance(token)?, "services/oauth2/userinfo"), "instance URL")?;
        request(Method::GET, &url, Purpose::Userinfo).accept_json().build()
    }

    fn read_api_response(&self, raw: RawResponse) -> Result<Value> {
        read_rest(raw)
    }

    fn api_base(&self, token: Option<&TokenSet>) -> Option<String> {
        token.and_then(|t| t.instance_url.clone())
    }
}

// ---- The REST API -------------------------------------------------------------------------------

/// One entry of `GET /services/data/`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiVersion {
    pub label: String,
    pub url: String,
    pub version: String,
}

/// One page of a query result.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoqlPage {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub total_size: u64,
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_records_url: Option<String>,
    pub records: Vec<Value>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryOptions {
    /// `queryAll`: include deleted and archived rows.
    #[serde(default)]
    pub include_deleted: bool,
    /// `Sforce-Query-Options: batchSize=N`, 200 to 2000.
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// Stop after this many rows: no page past the one that reaches it is requested.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub max_rows: Option<u64>,
}

/// The first page's request: `GET {instance}/services/data/vXX.X/query?q=...`.
pub fn query_request(instance: &str, api_version: &str, soql: &str, options: QueryOptions) -> Result<Request> {
    if soql.trim().is_empty() {
        return Err(Error::invalid_input("the SOQL query is empty"));
    }
    let resource = if options.include_deleted { "queryAll" } else { "query" };
    let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    let url = checked_url(
        &join_url(instance, &format!("services/data/v{}/{resource}?q={q}", api_version.trim_start_matches('v'))),
        "instance URL",
    )?;
    page_request(&url, options)
}

/// A later page: `nextRecordsUrl` must be a path on the instance (never another host).
pub fn next_page_request(instance: &str, next_records_url: &str, options: QueryOptions) -> Result<Request> {
    let base = checked_url(instance, "instance URL")?;
    if !next_records_url.starts_with('/') || next_records_url.starts_with("//") {
        return Err(Error::unexpected(format!(
            "Salesforce's nextRecordsUrl `{}` is not a path on the instance: the token is not sent there",
            crate::error::strip_query(&excerpt(next_records_url, 200))
        )));
    }
    let url = base.join(next_records_url).map_err(|e| Error::unexpected(format!("cannot read nextRecordsUrl ({e})")))?;
    page_request(&url, options)
}

fn page_request(url: &Url, options: QueryOptions) -> Result<Request> {
    let mut b = request(Method::GET, url, Purpose::QueryPage).accept_json();
    if let Some(n) = options.batch_size {
        if !(200..=2000).contains(&n) {
            return Err(Error::invalid_input(format!("batch size {n} is out of range: Salesforce takes 200 to 2000")));
        }
        b = b.header("Sforce-Query-Options", format!("batchSize={n}"));
    }
    b.build()
}

/// Where the next page of a query comes from.
enum Cursor {
    First,
    More(String),
    Done,
}

/// One page as it came: the head read, the records not yet. [`RawPage::page`] reads them into
/// values; [`crate::soql::RowPlan`] reads them straight into cells for the chosen columns.
#[derive(Debug, Clone)]
pub struct RawPage {
    pub total_size: u64,
    pub done: bool,
    pub next_records_url: Option<String>,
    pub body: bytes::Bytes,
    pub status: u16,
    pub endpoint: String,
}

impl RawPage {
    /// The page with its records as JSON values.
    pub fn page(&self) -> Result<SoqlPage> {
        serde_json::from_slice::<SoqlPage>(&self.body)
            .map_err(|e| Error::unexpected(format!("unexpected query result ({e})")).with_status(self.status).at(&self.endpoint))
    }

    /// The error for records beyond what `totalSize` promised (a misbehaving server).
    pub fn check_row_count(&self, rows_so_far: u64) -> Result<()> {
        if rows_so_far > self.total_size {
            return Err(Error::unexpected(format!(
                "Salesforce sent {rows_so_far} records where totalSize promised {}; the query was stopped",
                self.total_size
            ))
            .with_hint("the server is misbehaving; run the query again, with a LIMIT if it repeats")
            .at(&self.endpoint));
        }
        Ok(())
    }
}

type PageFuture<'a> = BoxFuture<'a, Result<Option<(RawPage, Cursor)>>>;

/// Pages of a query, with the next page's request sent as soon as a page's head is read.
struct Prefetch<'a, F> {
    in_flight: Option<PageFuture<'a>>,
    fetch: F,
}

impl<'a, F: Fn(Cursor) -> PageFuture<'a> + Unpin> Stream for Prefetch<'a, F> {
    type Item = Result<RawPage>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(fut) = self.in_flight.as_mut() else { return Poll::Ready(None) };
        match fut.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some((page, next)))) => {
                self.in_flight = match next {
                    Cursor::Done => None,
                    cursor => {
                        // Poll once: that sends the request; the result is picked up next time.
                        let mut next = (self.fetch)(cursor);
                        match next.as_mut().poll(cx) {
                            Poll::Pending => Some(next),
                            Poll::Ready(done) => Some(futures::future::ready(done).boxed()),
                        }
                    }
                };
                Poll::Ready(Some(Ok(page)))
            }
            Poll::Ready(Ok(None)) => {
                self.in_flight = None;
                Poll::Ready(None)
            }
            Poll::Ready(Err(e)) => {
                self.in_flight = None;
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

/// What the pager has seen, to stop hostile or broken paging.
#[derive(Default)]
struct Paging {
    seen: HashSet<String>,
    rows: u64,
    total: Option<u64>,
}

/// Salesforce's REST API for one session. Calls go through the session's token lifecycle and
/// wire log; nothing here reaches into the session.
pub struct SalesforceApi<'s> {
    session: &'s Session,
    config: SalesforceConfig,
}

impl<'s> SalesforceApi<'s> {
    pub fn of(session: &'s Session) -> Result<Self> {
        match session.profile().provider {
            Provider::Salesforce(config) => Ok(SalesforceApi { session, config }),
            _ => Err(Error::invalid_input(format!("profile `{}` is not a Salesforce profile", session.profile().name))),
        }
    }

    /// GET an instance path (or an absolute https URL) with the token; renew-and-retry once.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let raw = self
            .session
            .send_authorized(|token| {
                let url = if path.starts_with("https://") || path.starts_with("http://") {
                    checked_url(path, "URL")?
                } else {
                    checked_url(&join_url(&instance(token)?, path), "instance URL")?
                };
                request(Method::GET, &url, Purpose::Api).accept_json().build()
            })
            .await?;
        read_rest(raw)
    }

    /// `GET /services/data/` (no authentication needed): the API versions the instance serves.
    pub async fn versions(&self) -> Result<Vec<ApiVersion>> {
        let base = match self.session.token().await.and_then(|t| t.instance_url) {
            Some(i) => i,
            None => self.config.login_url()?.to_string(),
        };
        let url = checked_url(&join_url(&base, "services/data/"), "instance URL")?;
        let raw = self.session.send(request(Method::GET, &url, Purpose::Public).accept_json().build()?).await?;
        let endpoint = raw.endpoint.clone();
        let v = read_rest(raw)?;
        serde_json::from_value(v).map_err(|e| Error::unexpected(format!("unexpected versions list ({e})")).at(&endpoint))
    }

    /// The identity URL (`id` of the token): user, org, username, display name, URLs.
    pub async fn identity(&self) -> Result<Value> {
        let token = self
            .session
            .token()
            .await
            .ok_or_else(|| Error::new(ErrorCode::NotSignedIn, "no token: sign in first").with_action(Action::SignIn))?;
        let id = token.identity_url.ok_or_else(|| Error::unexpected("the token has no identity URL (`id`)"))?;
        checked_url(&id, "identity URL")?;
        self.get(&id).await
    }

    /// OpenID Connect userinfo on the instance.
    pub async fn userinfo(&self) -> Result<Value> {
        self.session.userinfo(None).await
    }

    fn data_path(&self, rest: &str) -> String {
        format!("services/data/v{}/{rest}", self.config.api_version.trim_start_matches('v'))
    }

    /// `GET /services/data/vXX.X/sobjects`: the org's objects (describeGlobal).
    pub async fn describe_global(&self) -> Result<Value> {
        self.get(&self.data_path("sobjects")).await
    }

    /// `GET /services/data/vXX.X/sobjects/{Object}/describe`: its fields and relationships.
    pub async fn describe(&self, object: &str) -> Result<Value> {
        if object.is_empty() || !object.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::invalid_input(format!(
                "`{}` is not an object name: use its API name, such as Account or Invoice__c",
                excerpt(object, 80)
            )));
        }
        self.get(&self.data_path(&format!("sobjects/{object}/describe"))).await
    }

    /// `GET /services/data/vXX.X/limits`: the org's limits and what is left of them.
    pub async fn limits(&self) -> Result<Value> {
        self.get(&self.data_path("limits")).await
    }

    /// Runs SOQL and yields each page as it arrives, following every `nextRecordsUrl`.
    ///
    /// The next page is requested as soon as a page's head is read, so the server works while
    /// the caller renders or writes rows. Dropping the stream stops the query: at most that one
    /// page ahead has been asked for. Paging stops with an error when a `nextRecordsUrl` comes
    /// back a second time or more records arrive than `totalSize` promised.
    pub fn query(self, soql: &'s str, options: QueryOptions) -> BoxStream<'s, Result<SoqlPage>> {
        let mut rows = 0u64;
        self.query_raw(soql, options)
            .map(move |raw| {
                let raw = raw?;
                let page = raw.page()?;
                rows += page.records.len() as u64;
                raw.check_row_count(rows)?;
                Ok(page)
            })
            .boxed()
    }

    /// As [`query`](Self::query), with each page's records left unread: for callers that read
    /// them in one pass into their own shape (the CLI's CSV) and check the row count themselves
    /// ([`RawPage::check_row_count`]). Only the head of each page is read here, and only up to the
    /// `records` array when the head comes first (as Salesforce sends it).
    pub fn query_raw(self, soql: &'s str, options: QueryOptions) -> BoxStream<'s, Result<RawPage>> {
        let session = self.session;
        let config = Arc::new(self.config);
        let paging = Arc::new(std::sync::Mutex::new(Paging::default()));
        let fetch =
            move |cursor: Cursor| -> PageFuture<'s> { soql_page(session, config.clone(), paging.clone(), soql, options, cursor).boxed() };
        Prefetch { in_flight: Some(fetch(Cursor::First)), fetch }.boxed()
    }
}

/// Fetches one page and reads only its head (`totalSize`, `done`, `nextRecordsUrl`; with
/// `max_rows` the number of records too), so the next request can go out before the records
/// are read.
async fn soql_page(
    session: &Session,
    config: Arc<SalesforceConfig>,
    paging: Arc<std::sync::Mutex<Paging>>,
    soql: &str,
    options: QueryOptions,
    cursor: Cursor,
) -> Result<Option<(RawPage, Cursor)>> {
    let next = match cursor {
        Cursor::Done => return Ok(None),
        Cursor::First => None,
        Cursor::More(p) => Some(p),
    };
    let raw = session
        .send_authorized(|token| match &next {
            None => query_request(&instance(token)?, &config.api_version, soql, options),
            Some(p) => next_page_request(&instance(token)?, p, options),
        })
        .await?;
    let raw = check_rest(raw)?;
    // With --max-rows the records are counted before the next page is asked for (a full scan);
    // otherwise the head alone decides, read up to the records.
    let head = read_head(&raw.body, options.max_rows.is_some()).map_err(|e| raw.not_json(Some(e)))?;
    let mut p = paging.lock().map_err(|_| Error::unexpected("query state poisoned"))?;
    p.rows += head.records.unwrap_or(0);
    let total = *p.total.get_or_insert(head.total_size.unwrap_or(u64::MAX));
    let limit_reached = options.max_rows.is_some_and(|m| p.rows >= m);
    let next = match (head.next_records_url.clone(), head.done) {
        (Some(u), false) if !limit_reached => {
            if !p.seen.insert(u.clone()) {
                return Err(Error::unexpected(format!(
                    "Salesforce sent the same nextRecordsUrl twice ({}); the query was stopped rather than loop",
                    excerpt(&u, 120)
                ))
                .at(&raw.endpoint));
            }
            Cursor::More(u)
        }
        _ => Cursor::Done,
    };
    drop(p);
    let page = RawPage {
        total_size: head.total_size.unwrap_or(total),
        done: head.done,
        next_records_url: head.next_records_url,
        body: raw.body,
        status: raw.status,
        endpoint: raw.endpoint,
    };
    Ok(Some((page, next)))
}

/// A page's head. `records` is counted only when asked.
struct PageHead {
    total_size: Option<u64>,
    done: bool,
    next_records_url: Option<String>,
    records: Option<u64>,
}

/// Reads `totalSize`, `done` and `nextRecordsUrl`, stopping at `records` when they came before
/// it (the rest of the body is read once, later, by whoever reads the records).
fn read_head(body: &[u8], count_records: bool) -> std::result::Result<PageHead, serde_json::Error> {
    use serde::de::{Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
    const STOP: &str = "oauth-desk: head read";

    struct Count;
    impl<'de> Visitor<'de> for Count {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<u64, A::Error> {
            let mut n = 0;
            while seq.next_element::<IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(n)
        }
    }
    struct CountSeed;
    impl<'de> serde::de::DeserializeSeed<'de> for CountSeed {
        type Value = u64;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<u64, D::Error> {
            d.deserialize_seq(Count)
        }
    }

    struct HeadVisitor<'h> {
        head: &'h mut PageHead,
        done_seen: bool,
        count_records: bool,
    }
    impl<'de> Visitor<'de> for HeadVisitor<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a query result object")
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> std::result::Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match key.as_ref() {
                    "totalSize" => self.head.total_size = map.next_value()?,
                    "done" => {
                        self.head.done = map.next_value()?;
                        self.done_seen = true;
                    }
                    "nextRecordsUrl" => self.head.next_records_url = map.next_value()?,
                    "records" if self.count_records => self.head.records = Some(map.next_value_seed(CountSeed)?),
                    "records" if self.done_seen && (self.head.done || self.head.next_records_url.is_some()) => {
                        return Err(A::Error::custom(STOP));
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            if !self.done_seen {
                return Err(A::Error::missing_field("done"));
            }
            Ok(())
        }
    }

    let mut head = PageHead { total_size: None, done: false, next_records_url: None, records: None };
    let mut de = serde_json::Deserializer::from_slice(body);
    let visitor = HeadVisitor { head: &mut head, done_seen: false, count_records };
    match de.deserialize_map(visitor) {
        Ok(()) => Ok(head),
        Err(e) if e.is_data() && e.to_string().starts_with(STOP) => Ok(head),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{GrantInput, WhichToken};
    use crate::testing::{form, header_names};

    fn dialect(login: &str) -> Salesforce {
        Salesforce::new(SalesforceConfig { login: login.into(), ..Default::default() })
    }

    fn secrets() -> ProfileSecrets {
        ProfileSecrets {
            client_secret: Some(Secret::new("CONSUMER0SECRET")),
            password: Some(Secret::new("Passw0rd!")),
            security_token: Some(Secret::new("SECTOKEN42")),
            private_key: None,
            client_assertion: None,
        }
    }

    #[test]
    fn jwt_bearer_sends_the_assertion_alone_for_the_login_host() {
        for (login, aud) in [
            ("production", "https://login.salesforce.com"),
            ("sandbox", "https://test.salesforce.com"),
            ("acme.my.salesforce.com", "https://login.salesforce.com"),
            ("https://acme--dev.sandbox.my.salesforce.com", "https://test.salesforce.com"),
            ("https://acme.my.site.com/partners", "https://acme.my.site.com/partners"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ] {
            let d = dialect(login);
            let e = endpoints(&d.config).unwrap();
            assert_eq!(d.jwt_audience(&e).unwrap(), aud, "{login}");
        }
        let d = dialect("https://acme.my.salesforce.com");
        let e = endpoints(&d.config).unwrap();
        let a = Secret::new("eyJ.a.b");
        let r = d.token_request(&e, "3MVG9", &secrets(), &GrantInput::JwtBearer { assertion: &a }).unwrap();
        assert_eq!(r.uri(), "https://acme.my.salesforce.com/services/oauth2/token");
        assert_eq!(crate::testing::form(&r), "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJ.a.b");
        assert!(!r.headers().contains_key("authorization"), "no client secret travels with an assertion");
    }

    #[test]
    fn every_grant_sends_credentials_in_the_body() {
        let d = dialect("https://acme.my.salesforce.com");
        let e = endpoints(&d.config).unwrap();
        let s = secrets();
        let v = Secret::new("ver");
        let rt = Secret::new("5Aep861");
        let cases: Vec<(GrantInput, &str)> = vec![
            (
                GrantInput::AuthorizationCode { code: "aPrx==", redirect_uri: "https://app.example.com/oauth/callback", pkce_verifier: Some(&v) },
                "grant_type=authorization_code&code=aPrx%3D%3D&redirect_uri=https%3A%2F%2Fapp.example.com%2Foauth%2Fcallback&code_verifier=ver&client_id=3MVG9&client_secret=CONSUMER0SECRET",
            ),
            (
                GrantInput::Password { username: "ada@example.com", password: s.password.as_ref().unwrap(), security_token: s.security_token.as_ref() },
                "grant_type=password&username=ada%40example.com&password=Passw0rd%21SECTOKEN42&client_id=3MVG9&client_secret=CONSUMER0SECRET",
            ),
            (GrantInput::RefreshToken { refresh_token: &rt }, "grant_type=refresh_token&refresh_token=5Aep861&client_id=3MVG9&client_secret=CONSUMER0SECRET"),
            (GrantInput::ClientCredentials, "grant_type=client_credentials&client_id=3MVG9&client_secret=CONSUMER0SECRET"),
        ];
        for (input, body) in cases {
            let r = d.token_request(&e, "3MVG9", &s, &input).unwrap();
            assert_eq!(
                (r.method(), r.uri().to_string()),
                (&Method::POST, "https://acme.my.salesforce.com/services/oauth2/token".to_string())
            );
            assert_eq!(header_names(&r), ["accept", "content-type"], "no Basic header: jsforce and the CLI send the body");
            assert_eq!(form(&r), body, "{:?}", input.grant());
        }
    }

    #[test]
    fn client_credentials_only_on_my_domain() {
        let e = dialect("production").check_grant(Grant::ClientCredentials).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrant);
        assert!(e.message.contains("login.salesforce.com"), "{e}");
        assert!(dialect("https://acme.my.salesforce.com").check_grant(Grant::ClientCredentials).is_ok());
    }

    #[test]
    fn revocation_introspection_and_api_requests() {
        let d = dialect("sandbox");
        let e = endpoints(&d.config).unwrap();
        let t = Secret::new("00Dxx!AQ0");
        let r = d.revocation_request(&e, "3MVG9", &secrets(), &t, WhichToken::Refresh).unwrap();
        assert_eq!(r.uri(), "https://test.salesforce.com/services/oauth2/revoke");
        assert_eq!(form(&r), "token=00Dxx%21AQ0&token_type_hint=refresh_token&client_id=3MVG9&client_secret=CONSUMER0SECRET");
        let r = d.introspection_request(&e, "3MVG9", &secrets(), &t, WhichToken::Access).unwrap();
        assert_eq!(r.uri(), "https://test.salesforce.com/services/oauth2/introspect");

        let mut token = crate::testing::token("00Dxx!AQ0");
        token.instance_url = Some("https://acme.my.salesforce.com".into());
        let mut r = d.userinfo_request(&e, &token, None).unwrap();
        d.authorize_call(&mut r, &token).unwrap();
        assert_eq!(r.uri(), "https://acme.my.salesforce.com/services/oauth2/userinfo");
        assert_eq!(r.headers()["authorization"], "Bearer 00Dxx!AQ0");

        let q = query_request(
            "https://acme.my.salesforce.com",
            "62.0",
            "SELECT Id FROM Account",
            QueryOptions { batch_size: Some(500), ..Default::default() },
        )
        .unwrap();
        assert_eq!(q.uri(), "https://acme.my.salesforce.com/services/data/v62.0/query?q=SELECT+Id+FROM+Account");
        assert_eq!(q.headers()["sforce-query-options"], "batchSize=500");
        let q = query_request(
            "https://acme.my.salesforce.com/",
            "v61.0",
            "SELECT Id FROM Account",
            QueryOptions { include_deleted: true, ..Default::default() },
        )
        .unwrap();
        assert_eq!(q.uri(), "https://acme.my.salesforce.com/services/data/v61.0/queryAll?q=SELECT+Id+FROM+Account");
        let n = next_page_request(
            "https://acme.my.salesforce.com",
            "/services/data/v62.0/query/01gD0000002HU6KIAW-2000",
            QueryOptions::default(),
        )
        .unwrap();
        assert_eq!(n.uri(), "https://acme.my.salesforce.com/services/data/v62.0/query/01gD0000002HU6KIAW-2000");
    }

    #[test]
    fn server_urls_that_would_carry_the_token_elsewhere_are_refused() {
        for next in ["https://evil.example/services/data/v62.0/query/01g-2000", "//evil.example/x", "http://evil.example/x"] {
            let e = next_page_request("https://acme.my.salesforce.com", next, QueryOptions::default()).unwrap_err();
            assert!(e.message.contains("not a path on the instance"), "{next}: {e}");
        }
        let e = query_request("http://evil.example", "62.0", "SELECT Id FROM Account", QueryOptions::default()).unwrap_err();
        assert!(e.message.contains("not https"), "{e}");
        assert!(query_request("http://127.0.0.1:9", "62.0", "SELECT Id FROM Account", QueryOptions::default()).is_ok(), "loopback is fine");
    }

    #[test]
    fn rejections_include_bad_oauth_token_at_403() {
        let d = dialect("production");
        let r = RawResponse::new(
            401,
            "application/json",
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
            "https://i/x",
        );
        assert_eq!(d.rejection(&r).unwrap().provider_code(), Some("INVALID_SESSION_ID"));
        let r = RawResponse::new(403, "text/plain", "Bad_OAuth_Token", "https://login.salesforce.com/id/00D/005");
        assert_eq!(d.rejection(&r).unwrap().provider_code(), Some("Bad_OAuth_Token"));
        let r = RawResponse::new(403, "application/json", r#"[{"message":"no","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#, "https://i/x");
        assert!(d.rejection(&r).is_none());
        assert_eq!(check_rest(r).unwrap_err().provider_code(), Some("REQUEST_LIMIT_EXCEEDED"));
    }

    #[test]
    fn signature_is_hmac_of_id_and_issued_at() {
        let id = "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS";
        let mut mac = Hmac::<Sha256>::new_from_slice(b"CONSUMER0SECRET").unwrap();
        mac.update(format!("{id}1278448384422").as_bytes());
        let sig = STANDARD.encode(mac.finalize().into_bytes());
        let obj = serde_json::json!({"id": id, "issued_at": "1278448384422", "signature": sig});
        let s = Secret::new("CONSUMER0SECRET");
        assert_eq!(verify_signature(obj.as_object().unwrap(), Some(&s)), Some(true));
        assert_eq!(verify_signature(obj.as_object().unwrap(), Some(&Secret::new("other"))), Some(false));
        assert_eq!(verify_signature(obj.as_object().unwrap(), None), None);
    }
}
