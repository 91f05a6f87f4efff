//! Salesforce: fixed OAuth paths on the login host, the token `signature`, and the REST API on
//! the instance (versions, SOQL `query`/`queryAll` streamed page by page, identity, userinfo).
//!
//! REST errors are a JSON array `[{"message","errorCode"}]`; a 401 `INVALID_SESSION_ID` is the
//! signal to refresh and retry once (PROTOCOLS.md, "REST").

use crate::error::{Error, ErrorCode, Result};
use crate::hints;
use crate::http::RawResponse;
use crate::oauth::Endpoints;
use crate::profile::{join_url, Provider, SalesforceConfig};
use crate::secret::Secret;
use crate::session::Session;
use crate::token::TokenSet;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, Stream, StreamExt};
use futures::FutureExt;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) fn endpoints(c: &SalesforceConfig) -> Result<Endpoints> {
    let login = c.login_url()?;
    let at = |p: &str| url::Url::parse(&join_url(login.as_str(), p)).map_err(|e| Error::invalid_input(format!("bad login host ({e})")));
    Ok(Endpoints {
        authorize: Some(at("services/oauth2/authorize")?),
        token: Some(at("services/oauth2/token")?),
        userinfo: None,
        revocation: Some(at("services/oauth2/revoke")?),
        introspection: Some(at("services/oauth2/introspect")?),
    })
}

/// `signature` = base64(HMAC-SHA256(key = client secret, message = id + issued_at)).
/// `None` when there is nothing to check (no signature, or no client secret).
pub(crate) fn verify_signature(obj: &Map<String, Value>, client_secret: Option<&Secret>) -> Option<bool> {
    let secret = client_secret?;
    let signature = obj.get("signature")?.as_str()?;
    let id = obj.get("id")?.as_str()?;
    let issued_at = obj.get("issued_at")?.as_str()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).ok()?;
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    Some(expected == signature)
}

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
}

/// Where the next page of a query comes from.
enum Cursor {
    First,
    More(String),
    Done,
}

type PageFuture<'a> = BoxFuture<'a, Result<Option<(RawResponse, Cursor)>>>;

/// Pages of a query, with the next page's request sent before the current page is parsed.
struct Prefetch<'a, F> {
    in_flight: Option<PageFuture<'a>>,
    fetch: F,
}

impl<'a, F: Fn(Cursor) -> PageFuture<'a> + Unpin> Stream for Prefetch<'a, F> {
    type Item = Result<SoqlPage>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(fut) = self.in_flight.as_mut() else { return Poll::Ready(None) };
        match fut.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some((raw, next)))) => {
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
                // Parse the records while the server prepares the next page.
                let page = serde_json::from_slice::<SoqlPage>(&raw.body)
                    .map_err(|e| Error::unexpected(format!("unexpected query result ({e})")).with_status(raw.status).at(&raw.endpoint));
                Poll::Ready(Some(page))
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

/// Reads a Salesforce REST response: JSON on success, the error array otherwise.
pub(crate) fn read_rest(raw: RawResponse) -> Result<Value> {
    let raw = check_rest(raw)?;
    if raw.body.is_empty() {
        return Ok(Value::Null);
    }
    raw.json()
}

/// The response when it succeeded; the error Salesforce described otherwise.
pub(crate) fn check_rest(raw: RawResponse) -> Result<RawResponse> {
    if raw.is_success() {
        return Ok(raw);
    }
    let body: Option<Value> = serde_json::from_slice(&raw.body).ok();
    let first = match &body {
        Some(Value::Array(items)) => items.first().cloned(),
        Some(v @ Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    let Some(first) = first else {
        let mut e = raw.not_json(None);
        e.message = format!("Salesforce answered HTTP {}: {}", raw.status, e.message);
        if raw.status == 401 {
            e.code = ErrorCode::TokenRejected;
        }
        return Err(e);
    };
    let error_code = first.get("errorCode").or_else(|| first.get("error")).and_then(Value::as_str).unwrap_or("UNKNOWN").to_string();
    let message = first.get("message").or_else(|| first.get("error_description")).and_then(Value::as_str).map(str::to_string);
    let code = if raw.status == 401 || error_code == "INVALID_SESSION_ID" { ErrorCode::TokenRejected } else { ErrorCode::ProviderError };
    let text = match code {
        ErrorCode::TokenRejected => "Salesforce refused the session".to_string(),
        _ => format!("Salesforce refused the request with {error_code}"),
    };
    Err(Error::new(code, text)
        .with_provider(&error_code, message, raw.header("x-request-id").map(str::to_string))
        .with_hint(hints::salesforce(&error_code))
        .with_status(raw.status)
        .at(&raw.endpoint))
}

impl Session {
    fn salesforce_config(&self) -> Result<&SalesforceConfig> {
        match &self.profile().provider {
            Provider::Salesforce(c) => Ok(c),
            _ => Err(Error::invalid_input(format!("profile `{}` is not a Salesforce profile", self.profile().name))),
        }
    }

    fn instance(token: &TokenSet) -> Result<String> {
        token
            .instance_url
            .clone()
            .ok_or_else(|| Error::unexpected("the token has no instance_url").with_hint("sign in again to get a Salesforce token"))
    }

    /// GET an instance path (or absolute URL) with the Bearer token; refresh-and-retry once on 401.
    pub async fn salesforce_get(&self, path: &str, headers: &[(&'static str, String)]) -> Result<Value> {
        let raw = self.salesforce_get_raw(path, headers).await?;
        read_rest(raw)
    }

    /// GET with the Bearer token, refresh-and-retry once on 401; the successful response unread.
    async fn salesforce_get_raw(&self, path: &str, headers: &[(&'static str, String)]) -> Result<RawResponse> {
        self.salesforce_config()?;
        let path = path.to_string();
        let headers = headers.to_vec();
        self.authorized(move |token| {
            let (path, headers) = (path.clone(), headers.clone());
            async move {
                let url = if path.starts_with("https://") || path.starts_with("http://") {
                    path
                } else {
                    join_url(&Self::instance(&token)?, &path)
                };
                let mut req = self.http().reqwest().get(&url).bearer_auth(token.access_token.expose()).header("Accept", "application/json");
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let req = req.build().map_err(|e| Error::invalid_input(format!("bad URL: {}", crate::http::root_cause(&e))))?;
                check_rest(self.http().execute(req).await?)
            }
            .boxed()
        })
        .await
    }

    /// `GET /services/data/` (no authentication needed): the API versions the instance serves.
    pub async fn salesforce_versions(&self) -> Result<Vec<ApiVersion>> {
        let c = self.salesforce_config()?;
        let base = match self.token().await.and_then(|t| t.instance_url) {
            Some(i) => i,
            None => c.login_url()?.to_string(),
        };
        let req = self
            .http()
            .reqwest()
            .get(join_url(&base, "services/data/"))
            .build()
            .map_err(|e| Error::invalid_input(crate::http::root_cause(&e)))?;
        let raw = self.http().execute(req).await?;
        let endpoint = raw.endpoint.clone();
        let v = read_rest(raw)?;
        serde_json::from_value(v).map_err(|e| Error::unexpected(format!("unexpected versions list ({e})")).at(&endpoint))
    }

    /// Runs SOQL and yields each page as it arrives, following every `nextRecordsUrl`.
    ///
    /// The next page is requested as soon as a page is handed out, so the server works while
    /// the caller renders or writes rows. Dropping the stream stops the query: at most that one
    /// page ahead has been asked for.
    pub fn salesforce_query<'a>(&'a self, soql: &'a str, options: QueryOptions) -> BoxStream<'a, Result<SoqlPage>> {
        let fetch = move |cursor: Cursor| -> PageFuture<'a> { self.soql_page(soql, options, cursor).boxed() };
        Prefetch { in_flight: Some(fetch(Cursor::First)), fetch }.boxed()
    }

    /// Fetches one page and reads only its head (`done`, `nextRecordsUrl`), skipping over the
    /// records, so the next request can go out before the records are parsed.
    async fn soql_page(&self, soql: &str, options: QueryOptions, cursor: Cursor) -> Result<Option<(RawResponse, Cursor)>> {
        let c = self.salesforce_config()?;
        let path = match cursor {
            Cursor::Done => return Ok(None),
            Cursor::First => {
                if soql.trim().is_empty() {
                    return Err(Error::invalid_input("the SOQL query is empty"));
                }
                let resource = if options.include_deleted { "queryAll" } else { "query" };
                let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
                format!("services/data/v{}/{resource}?q={q}", c.api_version.trim_start_matches('v'))
            }
            Cursor::More(p) => p,
        };
        let mut headers = Vec::new();
        if let Some(n) = options.batch_size {
            if !(200..=2000).contains(&n) {
                return Err(Error::invalid_input(format!("batch size {n} is out of range: Salesforce takes 200 to 2000")));
            }
            headers.push(("Sforce-Query-Options", format!("batchSize={n}")));
        }
        let raw = self.salesforce_get_raw(&path, &headers).await?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Head<'b> {
            done: bool,
            next_records_url: Option<String>,
            #[serde(borrow, rename = "records")]
            _records: &'b serde_json::value::RawValue,
        }
        let head: Head = serde_json::from_slice(&raw.body).map_err(|e| raw.not_json(Some(e)))?;
        let next = match (head.next_records_url, head.done) {
            (Some(u), false) => Cursor::More(u),
            _ => Cursor::Done,
        };
        Ok(Some((raw, next)))
    }

    /// The identity URL (`id` of the token): user, org, username, display name, URLs.
    pub async fn salesforce_identity(&self) -> Result<Value> {
        let token = self.token().await.ok_or_else(|| Error::new(ErrorCode::NotSignedIn, "no token: sign in first"))?;
        let id = token.identity_url.ok_or_else(|| Error::unexpected("the token has no identity URL (`id`)"))?;
        self.salesforce_get(&id, &[]).await
    }

    /// OpenID Connect userinfo on the instance.
    pub async fn salesforce_userinfo(&self) -> Result<Value> {
        self.salesforce_get("services/oauth2/userinfo", &[]).await
    }
}
