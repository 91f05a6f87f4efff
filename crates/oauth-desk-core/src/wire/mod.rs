//! The wire log: every exchange made for a profile (discovery, token requests, revocation,
//! introspection, API calls, query pages, the login window's navigations), kept in memory
//! (the last [`MAX_EXCHANGES`]; bodies past [`MAX_BODY_BYTES`] truncated) and never written to
//! disk unless the user exports it.
//!
//! Exchanges are stored as they went over the wire, secrets included, and only ever leave this
//! module through a view: [`ExchangeSummary`] and [`ExchangeDetail`] for the screens (secrets
//! masked), curl / Python snippets and HAR 1.2 (masked, `$ENV` placeholders, or, when the user
//! asks, with secrets). What counts as a secret is decided in [`redact`].

pub mod export;
pub mod redact;

use crate::clock::{Clock, Millis};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::token::{Grant, TokenSet};
use crate::transport::{Purpose, RawResponse, Request, Tag, Timings};
use bytes::Bytes;
pub use redact::{Redactor, Reveal, SecretKind};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Exchanges kept per profile; older ones drop off.
pub const MAX_EXCHANGES: usize = 500;
/// Body bytes kept per message.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A query page keeps only its head (`totalSize`, `done`, `nextRecordsUrl`, the first records):
/// copying every page whole would slow large queries down and hold their memory.
pub const QUERY_PAGE_BYTES: usize = 4 * 1024;
/// Secret values remembered for masking.
const MAX_SECRETS: usize = 256;

/// A body as recorded: at most the kept bytes, and the size it really had.
#[derive(Debug, Clone)]
pub struct Body {
    pub data: Bytes,
    pub size: usize,
    pub content_type: String,
}

impl Body {
    fn keep(data: &Bytes, content_type: &str, limit: usize) -> Option<Body> {
        if data.is_empty() {
            return None;
        }
        // A small body is shared (no copy); a large one is copied so its buffer can be freed.
        let kept = if data.len() <= limit { data.clone() } else { Bytes::copy_from_slice(&data[..limit]) };
        Some(Body { data: kept, size: data.len(), content_type: content_type.to_string() })
    }
    pub fn truncated(&self) -> bool {
        self.data.len() < self.size
    }
}

#[derive(Debug, Clone)]
pub struct ResponseRecord {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub timings: Timings,
}

/// One exchange, as it went over the wire. Only views of it leave this module.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub id: u64,
    pub started_at: Millis,
    pub duration_ms: f64,
    pub purpose: Purpose,
    pub grant: Option<Grant>,
    pub method: String,
    pub url: String,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Option<Body>,
    pub response: Option<ResponseRecord>,
    /// The transport error (already free of secrets: it never quotes a query string).
    pub error: Option<Error>,
    pub note: Option<String>,
}

/// Told about every exchange as it is recorded (the CLI's `--trace`, the app's live Log tab).
pub trait WireObserver: Send + Sync {
    fn recorded(&self, log: &WireLog, exchange: &Exchange);
}

/// An exchange in flight, between [`WireLog::begin`] and [`WireLog::finish`].
pub struct InFlight {
    started_at: Millis,
    started: Instant,
    tag: Tag,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
}

struct Entries {
    list: VecDeque<Arc<Exchange>>,
    next_id: u64,
}

/// One profile's exchanges.
pub struct WireLog {
    profile_id: String,
    clock: Arc<dyn Clock>,
    entries: Mutex<Entries>,
    secrets: Mutex<VecDeque<(Secret, SecretKind)>>,
    observer: Option<Arc<dyn WireObserver>>,
    enabled: AtomicBool,
}

fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

impl WireLog {
    pub fn new(profile_id: impl Into<String>, clock: Arc<dyn Clock>, observer: Option<Arc<dyn WireObserver>>) -> Self {
        WireLog {
            profile_id: profile_id.into(),
            clock,
            entries: Mutex::new(Entries { list: VecDeque::new(), next_id: 1 }),
            secrets: Mutex::new(VecDeque::new()),
            observer,
            enabled: AtomicBool::new(true),
        }
    }

    /// Turns recording on or off (nothing is recorded while off; the secrets stay known).
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }
    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn profile_id(&self) -> &str {
        &self.profile_id
    }

    /// Remembers a secret value so that every view masks it wherever it appears.
    pub fn register_secret(&self, value: &Secret, kind: SecretKind) {
        if value.is_empty() {
            return;
        }
        if let Ok(mut s) = self.secrets.lock() {
            if s.iter().any(|(v, _)| v == value) {
                return;
            }
            if s.len() >= MAX_SECRETS {
                s.pop_front();
            }
            s.push_back((value.clone(), kind));
        }
    }

    /// Registers every secret of a token set.
    pub fn register_token(&self, token: &TokenSet) {
        self.register_secret(&token.access_token, SecretKind::AccessToken);
        if let Some(r) = &token.refresh_token {
            self.register_secret(r, SecretKind::RefreshToken);
        }
        if let Some(i) = &token.id_token {
            self.register_secret(i, SecretKind::IdToken);
        }
    }

    /// The masking rules with every secret this log knows.
    pub fn redactor(&self) -> Redactor {
        let known = self.secrets.lock().map(|s| s.iter().map(|(v, k)| (v.expose().to_string(), *k)).collect()).unwrap_or_default();
        Redactor::new(known)
    }

    pub fn begin(&self, request: &Request) -> InFlight {
        let content_type = request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        InFlight {
            started_at: self.clock.now_millis(),
            started: Instant::now(),
            tag: Tag::of(request),
            method: request.method().as_str().to_string(),
            url: request.uri().to_string(),
            headers: header_pairs(request.headers()),
            body: Body::keep(request.body(), content_type, MAX_BODY_BYTES),
        }
    }

    pub fn finish(&self, f: InFlight, result: &Result<RawResponse>) {
        let limit = if f.tag.purpose == Purpose::QueryPage { QUERY_PAGE_BYTES } else { MAX_BODY_BYTES };
        let (response, error) = match result {
            Ok(raw) => (
                Some(ResponseRecord {
                    status: raw.status,
                    headers: header_pairs(&raw.headers),
                    body: Body::keep(&raw.body, raw.content_type(), limit),
                    timings: raw.timings,
                }),
                None,
            ),
            Err(e) => (None, Some(e.clone())),
        };
        self.push(Exchange {
            id: 0,
            started_at: f.started_at,
            duration_ms: f.started.elapsed().as_secs_f64() * 1000.0,
            purpose: f.tag.purpose,
            grant: f.tag.grant,
            method: f.method,
            url: f.url,
            request_headers: f.headers,
            request_body: f.body,
            response,
            error,
            note: None,
        });
    }

    /// A navigation of the login window. `intercepted`: this is the redirect URI, which the
    /// window cancelled, so it was never requested.
    pub fn record_navigation(&self, url: &str, intercepted: bool) {
        if !self.is_enabled() {
            return;
        }
        let note = if intercepted {
            "the login window intercepted this redirect: it was never requested; OAuth Desk took the code from it"
        } else {
            "a navigation of the login window (its response stays inside the window)"
        };
        self.push(Exchange {
            id: 0,
            started_at: self.clock.now_millis(),
            duration_ms: 0.0,
            purpose: if intercepted { Purpose::Redirect } else { Purpose::Navigation },
            grant: None,
            method: "GET".into(),
            url: url.to_string(),
            request_headers: Vec::new(),
            request_body: None,
            response: None,
            error: None,
            note: Some(note.into()),
        });
    }

    fn push(&self, mut exchange: Exchange) {
        let recorded = {
            let Ok(mut e) = self.entries.lock() else { return };
            exchange.id = e.next_id;
            e.next_id += 1;
            if e.list.len() >= MAX_EXCHANGES {
                e.list.pop_front();
            }
            let arc = Arc::new(exchange);
            e.list.push_back(arc.clone());
            arc
        };
        if let Some(o) = &self.observer {
            o.recorded(self, &recorded);
        }
    }

    /// Every exchange kept, oldest first.
    pub fn exchanges(&self) -> Vec<Arc<Exchange>> {
        self.entries.lock().map(|e| e.list.iter().cloned().collect()).unwrap_or_default()
    }

    pub fn get(&self, id: u64) -> Option<Arc<Exchange>> {
        self.entries.lock().ok()?.list.iter().find(|e| e.id == id).cloned()
    }

    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.lock() {
            e.list.clear();
        }
    }

    pub fn summaries(&self) -> Vec<ExchangeSummary> {
        let r = self.redactor();
        self.exchanges().iter().map(|e| ExchangeSummary::new(e, &r)).collect()
    }

    pub fn detail(&self, id: u64) -> Option<ExchangeDetail> {
        let r = self.redactor();
        self.get(id).map(|e| ExchangeDetail::new(&e, &r))
    }
}

impl std::fmt::Debug for WireLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireLog").field("profile_id", &self.profile_id).finish_non_exhaustive()
    }
}

/// One line of the timeline. Secrets masked.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangeSummary {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub started_at: Millis,
    pub duration_ms: f64,
    pub purpose: Purpose,
    pub grant: Option<Grant>,
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    /// The transport error, when the exchange got no response.
    pub error: Option<String>,
    pub note: Option<String>,
}

impl ExchangeSummary {
    pub fn new(e: &Exchange, r: &Redactor) -> Self {
        ExchangeSummary {
            id: e.id,
            started_at: e.started_at,
            duration_ms: (e.duration_ms * 10.0).round() / 10.0,
            purpose: e.purpose,
            grant: e.grant,
            method: e.method.clone(),
            url: r.url(&e.url).render(Reveal::Masked),
            status: e.response.as_ref().map(|r| r.status),
            error: e.error.as_ref().map(|e| e.to_string()),
            note: e.note.clone(),
        }
    }
}

/// A body for the screen: text with secrets masked.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BodyView {
    pub text: String,
    pub content_type: String,
    /// The size the body really had, in bytes.
    pub size: usize,
    /// True when only the first bytes were kept.
    pub truncated: bool,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageView {
    pub headers: Vec<(String, String)>,
    pub body: Option<BodyView>,
}

/// Everything about one exchange, secrets masked.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangeDetail {
    pub summary: ExchangeSummary,
    /// The URL's query parameters, decoded and masked.
    pub query: Vec<(String, String)>,
    pub request: MessageView,
    pub response: Option<MessageView>,
    pub wait_ms: Option<f64>,
    pub receive_ms: Option<f64>,
}

impl ExchangeDetail {
    pub fn new(e: &Exchange, r: &Redactor) -> Self {
        let body = |b: &Body| BodyView {
            text: r.body(&b.content_type, &b.data).render(Reveal::Masked),
            content_type: b.content_type.clone(),
            size: b.size,
            truncated: b.truncated(),
        };
        let headers = |h: &[(String, String)]| h.iter().map(|(k, v)| (k.clone(), r.header(k, v).render(Reveal::Masked))).collect();
        ExchangeDetail {
            summary: ExchangeSummary::new(e, r),
            query: r.query_pairs(&e.url).into_iter().map(|(k, v)| (k, v.render(Reveal::Masked))).collect(),
            request: MessageView { headers: headers(&e.request_headers), body: e.request_body.as_ref().map(body) },
            response: e.response.as_ref().map(|resp| MessageView { headers: headers(&resp.headers), body: resp.body.as_ref().map(body) }),
            wait_ms: e.response.as_ref().map(|r| r.timings.wait_ms),
            receive_ms: e.response.as_ref().map(|r| r.timings.receive_ms),
        }
    }
}
