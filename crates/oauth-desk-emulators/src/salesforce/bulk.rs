//! Bulk API 2.0 query jobs, as PROTOCOLS.md describes them: `POST …/jobs/query` creates a job in
//! `UploadComplete`; it goes `InProgress`, then `JobComplete` after the configured processing
//! time; results come as CSV (every field quoted, a null empty, parent fields as `Owner.Name`
//! columns) in chunks chained by `Sforce-Locator` (the string `null` after the last);
//! since API 58.0 `…/resultPages` hands out up to five result URLs at once. Parent-to-child
//! sub-queries fail the job as Salesforce fails them. `/__emulator/bulk-next` makes the next job
//! fail or be aborted, for the tests.

use super::{rest_error, sf_json, version_ok, Emulator};
use crate::random_token;
use crate::soql::{self, Item, Query};
use axum::body::Body;
use axum::extract::{Path, Query as QueryParams, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Result URLs per `resultPages` answer (Salesforce: up to five).
const RESULT_PAGES_PER_ANSWER: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Complete,
    Fail,
    Abort,
}

struct Job {
    user: usize,
    operation: String,
    version: String,
    query: Query,
    rows: Arc<Vec<u32>>,
    created: Instant,
    created_iso: String,
    polled: bool,
    outcome: Outcome,
    error_message: Option<String>,
    aborted_by_client: bool,
}

impl Job {
    fn state(&self, processing: std::time::Duration) -> &'static str {
        if self.aborted_by_client {
            return "Aborted";
        }
        if !self.polled {
            return "UploadComplete";
        }
        if self.created.elapsed() < processing {
            return "InProgress";
        }
        match self.outcome {
            Outcome::Complete => "JobComplete",
            Outcome::Fail => "Failed",
            Outcome::Abort => "Aborted",
        }
    }
}

#[derive(Default)]
pub(super) struct Jobs {
    jobs: HashMap<String, Job>,
    /// What the next created job does instead of completing, with its error message.
    next: Option<(Outcome, String)>,
}

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/services/data/{version}/jobs/query", post(create).get(list))
        .route("/services/data/{version}/jobs/query/{id}", get(info).patch(abort).delete(delete))
        .route("/services/data/{version}/jobs/query/{id}/results", get(results))
        .route("/services/data/{version}/jobs/query/{id}/resultPages", get(result_pages))
        .route("/__emulator/bulk-next", post(admin_next))
}

/// Every response waits the configured latency; results downloads are counted while in flight,
/// so a test can see how many ran at once.
pub(super) async fn latency(State(em): State<Emulator>, req: Request, next: Next) -> Response {
    let results = req.uri().path().ends_with("/results");
    if results {
        let now = em.results_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        em.results_peak.fetch_max(now, Ordering::SeqCst);
    }
    let response = next.run(req).await;
    if !em.config.latency.is_zero() {
        tokio::time::sleep(em.config.latency).await;
    }
    if results {
        em.results_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    response
}

fn not_found() -> Response {
    rest_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist")
}

/// Now as Salesforce writes dates: `2026-01-02T17:38:59.000+0000`.
fn iso_now() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000");
    time::OffsetDateTime::now_utc().format(&format).unwrap_or_default()
}

fn job_json(em: &Emulator, id: &str, job: &Job, full: bool) -> Value {
    let state = job.state(em.config.bulk_processing);
    let mut v = json!({
        "id": id, "operation": job.operation, "object": job.query.object.name(),
        "createdById": em.user_id(job.user), "createdDate": job.created_iso, "systemModstamp": job.created_iso,
        "state": state, "concurrencyMode": "Parallel", "contentType": "CSV",
        "apiVersion": job.version.parse::<f64>().unwrap_or(0.0), "lineEnding": "LF", "columnDelimiter": "COMMA",
    });
    if full {
        let processed = match state {
            "JobComplete" => job.rows.len(),
            "InProgress" => {
                let part = job.created.elapsed().as_secs_f64() / em.config.bulk_processing.as_secs_f64().max(0.001);
                ((job.rows.len() as f64) * part.min(1.0) * 0.9) as usize
            }
            _ => 0,
        };
        v["jobType"] = json!("V2Query");
        v["numberRecordsProcessed"] = json!(processed);
        v["retries"] = json!(0);
        v["totalProcessingTime"] = json!(if state == "JobComplete" { em.config.bulk_processing.as_millis() as u64 } else { 0 });
        v["isPkChunkingSupported"] = json!(true);
        if let (Some(msg), "Failed" | "Aborted") = (&job.error_message, state) {
            v["errorMessage"] = json!(msg);
        }
    }
    v
}

async fn create(State(em): State<Emulator>, Path(version): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (user, calls) = match em.authenticate(&headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Some(version) = version_ok(&em, &version) else { return not_found() };
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return rest_error(StatusCode::BAD_REQUEST, "JSON_PARSER_ERROR", "Unexpected character in the request body");
    };
    let operation = req.get("operation").and_then(Value::as_str).unwrap_or_default().to_string();
    if operation != "query" && operation != "queryAll" {
        return rest_error(StatusCode::BAD_REQUEST, "INVALIDJOB", &format!("Invalid operation: {operation}"));
    }
    let text = req.get("query").and_then(Value::as_str).unwrap_or_default();
    let query = match soql::parse(text) {
        Ok(q) => q,
        Err(e) => return em.with_limit_info(calls, rest_error(StatusCode::BAD_REQUEST, e.error_code, &e.message)),
    };
    if query.items.iter().any(|i| matches!(i, Item::Count)) {
        return rest_error(StatusCode::BAD_REQUEST, "API_ERROR", "Aggregate queries are not supported by Bulk API 2.0");
    }
    let include_deleted = operation == "queryAll";
    let rows = Arc::new(em.data.select(&query, include_deleted));
    let id = format!("750EMU{}", random_token(12));
    let mut inner = em.inner.lock().expect("state");
    let (mut outcome, mut error_message) = match inner.bulk.next.take() {
        Some((o, m)) => (o, Some(m)),
        None => (Outcome::Complete, None),
    };
    if query.items.iter().any(|i| matches!(i, Item::SubQuery { .. })) {
        outcome = Outcome::Fail;
        error_message = Some("FeatureNotEnabled : Aggregate Relationships not supported in Bulk Query".into());
    }
    let job = Job {
        user,
        operation,
        version,
        query,
        rows,
        created: Instant::now(),
        created_iso: iso_now(),
        polled: false,
        outcome,
        error_message,
        aborted_by_client: false,
    };
    let body = job_json(&em, &id, &job, false);
    inner.bulk.jobs.insert(id, job);
    inner.stats.bulk_jobs_created += 1;
    drop(inner);
    em.with_limit_info(calls, sf_json(StatusCode::OK, body))
}

async fn list(State(em): State<Emulator>, Path(version): Path<String>, headers: HeaderMap) -> Response {
    if let Err(r) = em.authenticate(&headers) {
        return r;
    }
    if version_ok(&em, &version).is_none() {
        return not_found();
    }
    let inner = em.inner.lock().expect("state");
    let records: Vec<Value> = inner.bulk.jobs.iter().map(|(id, j)| job_json(&em, id, j, false)).collect();
    sf_json(StatusCode::OK, json!({"done": true, "records": records, "nextRecordsUrl": null}))
}

/// The job, if it exists and belongs to this API version's caller; else the error to send.
fn with_job<T>(em: &Emulator, version: &str, id: &str, f: impl FnOnce(&Emulator, &mut Job) -> T) -> Result<T, Response> {
    let version = version_ok(em, version).ok_or_else(not_found)?;
    let mut inner = em.inner.lock().expect("state");
    let job = inner.bulk.jobs.get_mut(id).ok_or_else(not_found)?;
    if job.version != version {
        return Err(rest_error(
            StatusCode::CONFLICT,
            "INVALIDJOB",
            &format!("The job was created with API version {}; use the same version to get its results", job.version),
        ));
    }
    Ok(f(em, job))
}

async fn info(State(em): State<Emulator>, Path((version, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let calls = match em.authenticate(&headers) {
        Ok((_, c)) => c,
        Err(r) => return r,
    };
    match with_job(&em, &version, &id, |em, job| {
        job.polled = true;
        job_json(em, &id, job, true)
    }) {
        Ok(v) => em.with_limit_info(calls, sf_json(StatusCode::OK, v)),
        Err(r) => r,
    }
}

async fn abort(State(em): State<Emulator>, Path((version, id)): Path<(String, String)>, headers: HeaderMap, body: String) -> Response {
    if let Err(r) = em.authenticate(&headers) {
        return r;
    }
    let wants_abort = serde_json::from_str::<Value>(&body).ok().and_then(|v| v.get("state").and_then(Value::as_str).map(str::to_owned));
    if wants_abort.as_deref() != Some("Aborted") {
        return rest_error(StatusCode::BAD_REQUEST, "INVALIDJOB", "A query job can only be set to Aborted");
    }
    match with_job(&em, &version, &id, |em, job| {
        if job.state(em.config.bulk_processing) == "JobComplete" {
            return Err(rest_error(StatusCode::BAD_REQUEST, "INVALIDJOB", "The job is complete and cannot be aborted"));
        }
        job.aborted_by_client = true;
        Ok(job_json(em, &id, job, false))
    }) {
        Ok(Ok(v)) => sf_json(StatusCode::OK, v),
        Ok(Err(r)) | Err(r) => r,
    }
}

async fn delete(State(em): State<Emulator>, Path((version, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    if let Err(r) = em.authenticate(&headers) {
        return r;
    }
    if let Err(r) = with_job(&em, &version, &id, |_, _| ()) {
        return r;
    }
    let mut inner = em.inner.lock().expect("state");
    inner.bulk.jobs.remove(&id);
    inner.stats.bulk_jobs_deleted += 1;
    StatusCode::NO_CONTENT.into_response()
}

fn locator(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(offset.to_string())
}

fn read_locator(l: &str) -> Option<usize> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(l).ok()?).ok()?.parse().ok()
}

/// The row a request's `locator` points at (the first without one).
fn offset_of(q: &HashMap<String, String>) -> Result<usize, Response> {
    match q.get("locator").filter(|l| !l.is_empty()) {
        None => Ok(0),
        Some(l) => read_locator(l).ok_or_else(|| rest_error(StatusCode::BAD_REQUEST, "INVALIDJOB", "Invalid locator")),
    }
}

/// A CSV field as Bulk API 2.0 writes it: always quoted, quotes doubled, a null empty.
fn push_field(out: &mut String, v: &Value) {
    out.push('"');
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.replace('"', "\"\""),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            // Plain decimal, no exponent, no trailing `.0`.
            (None, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        other => other.to_string().replace('"', "\"\""),
    };
    out.push_str(&text);
    out.push('"');
}

/// The query and rows of a job whose results may be read (`JobComplete`), or the error to send.
fn complete_job(em: &Emulator, version: &str, id: &str) -> Result<(Query, Arc<Vec<u32>>), Response> {
    with_job(em, version, id, |em, job| {
        if job.state(em.config.bulk_processing) != "JobComplete" {
            return Err(rest_error(StatusCode::BAD_REQUEST, "INVALIDJOB", "The job is not complete: results are not available yet"));
        }
        Ok((job.query.clone(), job.rows.clone()))
    })?
}

fn paths(q: &Query) -> Vec<&Vec<String>> {
    q.items
        .iter()
        .filter_map(|i| match i {
            Item::Path(p) => Some(p),
            _ => None,
        })
        .collect()
}

async fn results(
    State(em): State<Emulator>,
    Path((version, id)): Path<(String, String)>,
    QueryParams(q): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let calls = match em.authenticate(&headers) {
        Ok((_, c)) => c,
        Err(r) => return r,
    };
    let page_size = em.config.bulk_page_size;
    let max = match q.get("maxRecords").map(|m| m.parse::<usize>()) {
        None => page_size,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => return rest_error(StatusCode::BAD_REQUEST, "INVALIDJOB", "maxRecords must be a positive integer"),
    };
    let offset = match offset_of(&q) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let (query, rows) = match complete_job(&em, &version, &id) {
        Ok(j) => j,
        Err(r) => return r,
    };
    if offset > rows.len() {
        return rest_error(StatusCode::BAD_REQUEST, "INVALIDJOB", "Invalid locator");
    }
    let end = (offset + max).min(rows.len());
    let paths = paths(&query);
    let mut body = String::with_capacity((end - offset) * 120 + 100);
    for (n, p) in paths.iter().enumerate() {
        if n > 0 {
            body.push(',');
        }
        push_field(&mut body, &Value::String(p.join(".")));
    }
    body.push('\n');
    for &i in &rows[offset..end] {
        for (n, p) in paths.iter().enumerate() {
            if n > 0 {
                body.push(',');
            }
            push_field(&mut body, &em.data.path_value(query.object, i as usize, p));
        }
        body.push('\n');
    }
    em.inner.lock().expect("state").stats.bulk_results_served += 1;
    let next = if end < rows.len() { locator(end) } else { "null".to_string() };
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    h.insert("Sforce-Locator", HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("null")));
    h.insert("Sforce-NumberOfRecords", HeaderValue::from(end - offset));
    em.with_limit_info(calls, r)
}

async fn result_pages(
    State(em): State<Emulator>,
    Path((version, id)): Path<(String, String)>,
    QueryParams(q): QueryParams<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let calls = match em.authenticate(&headers) {
        Ok((_, c)) => c,
        Err(r) => return r,
    };
    if version_ok(&em, &version).and_then(|v| v.parse::<f64>().ok()).is_none_or(|v| v < 58.0) {
        return not_found();
    }
    let start = match offset_of(&q) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let total = match complete_job(&em, &version, &id) {
        Ok((_, rows)) => rows.len(),
        Err(r) => return r,
    };
    let page = em.config.bulk_page_size;
    let base = format!("/services/data/v{}/jobs/query/{id}", version.trim_start_matches('v'));
    let mut pages = Vec::new();
    let mut at = start.min(total);
    while pages.len() < RESULT_PAGES_PER_ANSWER && (at < total || (total == 0 && pages.is_empty())) {
        pages.push(json!({"resultUrl": format!("{base}/results?locator={}&maxRecords={page}", locator(at))}));
        at += page;
    }
    let done = at >= total;
    let next = if done { Value::Null } else { json!(format!("{base}/resultPages?locator={}", locator(at))) };
    em.with_limit_info(calls, sf_json(StatusCode::OK, json!({"resultPages": pages, "nextRecordUrl": next, "done": done})))
}

/// `POST /__emulator/bulk-next?outcome=fail|abort&message=…`: the next job created ends so.
async fn admin_next(State(em): State<Emulator>, QueryParams(q): QueryParams<HashMap<String, String>>) -> Response {
    let outcome = match q.get("outcome").map(String::as_str) {
        Some("fail") => Outcome::Fail,
        Some("abort") => Outcome::Abort,
        _ => return (StatusCode::BAD_REQUEST, "outcome=fail|abort").into_response(),
    };
    let message = q.get("message").cloned().unwrap_or_else(|| "InternalServerError : the job failed".into());
    em.inner.lock().expect("state").bulk.next = Some((outcome, message));
    StatusCode::NO_CONTENT.into_response()
}
