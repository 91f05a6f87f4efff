//! Bulk API 2.0 query jobs (PROTOCOLS.md, "Bulk API 2.0 query"): create a job, poll it with
//! back-off, download its CSV results (several `resultPages` at once where the API version has
//! them, else one `Sforce-Locator` after another), delete it.
//!
//! Results come as CSV chunks, each with its own header line, in the order Salesforce lists them;
//! the caller decides whether to copy them straight to a CSV file or to read them.

use super::{check_rest, checked_url, instance, SalesforceApi};
use crate::error::{excerpt, Error, ErrorCode, Result};
use crate::profile::join_url;
use crate::transport::{request, Purpose, RawResponse};
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

/// A query job as Salesforce describes it (`POST`/`GET …/jobs/query[/{id}]`).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkJob {
    pub id: String,
    /// `UploadComplete`, `InProgress`, `JobComplete`, `Failed` or `Aborted`.
    pub state: String,
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub object: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub number_records_processed: Option<u64>,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl BulkJob {
    pub fn is_complete(&self) -> bool {
        self.state == "JobComplete"
    }
    pub fn is_finished(&self) -> bool {
        matches!(self.state.as_str(), "JobComplete" | "Failed" | "Aborted")
    }
}

/// How results are downloaded.
#[derive(Debug, Clone, Copy)]
pub struct BulkDownload {
    /// Result downloads in flight at once (API 58.0+ `resultPages`); 1 downloads one after
    /// another.
    pub parallel: usize,
    /// `maxRecords` per download on the locator path (the server decides on `resultPages`).
    pub max_records: Option<u32>,
}

impl Default for BulkDownload {
    fn default() -> Self {
        BulkDownload { parallel: 4, max_records: None }
    }
}

/// One downloaded piece of the results: CSV with its header line.
#[derive(Debug, Clone)]
pub struct BulkChunk {
    pub csv: Bytes,
    /// `Sforce-NumberOfRecords`, when the server sent it.
    pub records: Option<u64>,
}

impl BulkChunk {
    /// The CSV after its header line (every chunk repeats the header).
    pub fn rows(&self) -> Bytes {
        match self.csv.iter().position(|b| *b == b'\n') {
            Some(i) => self.csv.slice(i + 1..),
            None => Bytes::new(),
        }
    }
    /// The header line, without its line ending.
    pub fn header(&self) -> &[u8] {
        let end = self.csv.iter().position(|b| *b == b'\n').unwrap_or(self.csv.len());
        let line = &self.csv[..end];
        line.strip_suffix(b"\r").unwrap_or(line)
    }
}

/// Why Bulk API 2.0 cannot run this query, or `None` when it can. Bulk queries take plain fields
/// and parent relationship paths; not parent-to-child sub-queries, aggregate or other functions,
/// `GROUP BY`, `OFFSET`, `TYPEOF` or `FIELDS()`.
pub fn bulk_unsupported(soql: &str) -> Option<String> {
    let Some(columns) = crate::soql::select_columns(soql) else {
        return Some("its select list uses FIELDS() or TYPEOF, which Bulk API 2.0 does not take".into());
    };
    let list = crate::soql::select_list(soql).unwrap_or_default();
    if list.iter().any(|item| item.trim_start().starts_with('(')) {
        return Some("it has a parent-to-child sub-query, which Bulk API 2.0 does not take".into());
    }
    if list.iter().any(|item| item.contains('(')) {
        return Some("its select list calls a function (COUNT(), toLabel() …), which Bulk API 2.0 does not take".into());
    }
    let lower = soql.to_ascii_lowercase();
    for (kw, what) in [("group by", "GROUP BY"), ("offset", "OFFSET"), ("typeof", "TYPEOF")] {
        if crate::soql::has_top_level_keyword(&lower, kw) {
            return Some(format!("it uses {what}, which Bulk API 2.0 does not take"));
        }
    }
    let _ = columns;
    None
}

fn bulk_job(raw: RawResponse) -> Result<BulkJob> {
    let raw = check_rest(raw)?;
    serde_json::from_slice(&raw.body).map_err(|e| raw.not_json(Some(e)))
}

/// The error for a job that ended without results.
fn job_error(job: &BulkJob) -> Error {
    let message = job.error_message.clone().unwrap_or_default();
    let (code, hint) = if message.starts_with("FeatureNotEnabled") || message.contains("not supported in Bulk Query") {
        (ErrorCode::InvalidInput, "Bulk API 2.0 cannot run this query: use the REST API (--api rest)")
    } else if job.state == "Aborted" {
        (ErrorCode::ProviderError, "someone aborted the job (Setup → Bulk Data Load Jobs, or another client); run the query again")
    } else {
        (ErrorCode::ProviderError, "read Salesforce's message; Setup → Bulk Data Load Jobs shows the job too")
    };
    let state = if job.state == "Aborted" { "was aborted" } else { "failed" };
    Error::new(code, format!("the Bulk API 2.0 query job {} {state}", excerpt(&job.id, 40)))
        .with_provider(job.state.clone(), Some(message).filter(|m| !m.is_empty()), None)
        .with_hint(hint)
}

impl<'s> SalesforceApi<'s> {
    fn jobs_path(&self, rest: &str) -> String {
        self.data_path(&format!("jobs/query{rest}"))
    }

    /// Whether this profile's API version has `resultPages` (58.0 and later).
    pub fn has_result_pages(&self) -> bool {
        self.config.api_version.trim_start_matches('v').parse::<f64>().is_ok_and(|v| v >= 58.0)
    }

    /// `POST …/jobs/query`: starts a query (or queryAll) job.
    pub async fn bulk_create(&self, soql: &str, include_deleted: bool) -> Result<BulkJob> {
        if soql.trim().is_empty() {
            return Err(Error::invalid_input("the SOQL query is empty"));
        }
        let body = json!({"operation": if include_deleted { "queryAll" } else { "query" }, "query": soql});
        let path = self.jobs_path("");
        let raw = self
            .session
            .send_authorized(|token| {
                let url = checked_url(&join_url(&instance(token)?, &path), "instance URL")?;
                request(Method::POST, &url, Purpose::Api).accept_json().json_body(&body).build()
            })
            .await?;
        bulk_job(raw)
    }

    async fn job_call(&self, method: Method, id: &str, body: Option<serde_json::Value>) -> Result<RawResponse> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::unexpected(format!("`{}` is not a Bulk API job id", excerpt(id, 40))));
        }
        let path = self.jobs_path(&format!("/{id}"));
        self.session
            .send_authorized(|token| {
                let url = checked_url(&join_url(&instance(token)?, &path), "instance URL")?;
                let b = request(method.clone(), &url, Purpose::Api).accept_json();
                match &body {
                    Some(v) => b.json_body(v).build(),
                    None => b.build(),
                }
            })
            .await
    }

    /// `GET …/jobs/query/{id}`: the job's state and records processed so far.
    pub async fn bulk_status(&self, id: &str) -> Result<BulkJob> {
        bulk_job(self.job_call(Method::GET, id, None).await?)
    }

    /// Polls until the job completes, with back-off (0.1 s growing to 2 s), reporting each state.
    /// A failed or aborted job is an error naming Salesforce's message.
    pub async fn bulk_wait(&self, id: &str, mut progress: impl FnMut(&BulkJob)) -> Result<BulkJob> {
        let mut delay = Duration::from_millis(100);
        loop {
            let job = self.bulk_status(id).await?;
            progress(&job);
            if job.is_complete() {
                return Ok(job);
            }
            if job.is_finished() {
                return Err(job_error(&job));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(2));
        }
    }

    /// `PATCH …/jobs/query/{id}` to `Aborted`.
    pub async fn bulk_abort(&self, id: &str) -> Result<()> {
        check_rest(self.job_call(Method::PATCH, id, Some(json!({"state": "Aborted"}))).await?).map(|_| ())
    }

    /// `DELETE …/jobs/query/{id}`: Salesforce drops the job and its results.
    pub async fn bulk_delete(&self, id: &str) -> Result<()> {
        check_rest(self.job_call(Method::DELETE, id, None).await?).map(|_| ())
    }

    /// GETs a results resource: our own path (relative to the instance) or one Salesforce handed
    /// back (see [`result_url`]). `accept` is `text/csv` for results, JSON for `resultPages`.
    async fn results_get(&self, path: &str, accept: &str) -> Result<RawResponse> {
        let raw = self
            .session
            .send_authorized(|token| {
                let base = instance(token)?;
                let url = if path.starts_with('/') || path.starts_with("https://") || path.starts_with("http://") {
                    result_url(&base, path)?
                } else {
                    checked_url(&join_url(&base, path), "instance URL")?
                };
                request(Method::GET, &url, Purpose::QueryPage).header("Accept", accept).build()
            })
            .await?;
        check_rest(raw)
    }

    /// The job's results as CSV chunks, in order. With `resultPages` (API 58.0+) up to
    /// `parallel` downloads run at once; else each download's `Sforce-Locator` names the next.
    pub fn bulk_results(&'s self, id: &'s str, download: BulkDownload) -> BoxStream<'s, Result<BulkChunk>> {
        if self.has_result_pages() && download.parallel > 1 {
            self.result_urls(id).map(move |url| async move { self.chunk(&url?).await }).buffered(download.parallel).boxed()
        } else {
            self.locator_chunks(id, download.max_records)
        }
    }

    async fn chunk(&self, path: &str) -> Result<BulkChunk> {
        let raw = self.results_get(path, CSV).await?;
        let records = raw.header("Sforce-NumberOfRecords").and_then(|n| n.trim().parse().ok());
        Ok(BulkChunk { csv: raw.body, records })
    }

    /// Result URLs from `…/resultPages`, following its `nextRecordUrl` until `done`.
    fn result_urls(&'s self, id: &'s str) -> BoxStream<'s, Result<String>> {
        struct State {
            next: Option<String>,
            seen: HashSet<String>,
        }
        let first = self.jobs_path(&format!("/{id}/resultPages"));
        let state = State { next: Some(first), seen: HashSet::new() };
        stream::unfold(Some(state), move |state| async move {
            let mut state = state?;
            let path = state.next.take()?;
            let answer = async {
                let raw = self.results_get(&path, crate::transport::JSON).await?;
                let v: ResultPages = serde_json::from_slice(&raw.body).map_err(|e| raw.not_json(Some(e)))?;
                let mut urls = Vec::new();
                for p in v.result_pages {
                    let url = server_path(p.url(), "resultUrl")?;
                    if !state.seen.insert(url.clone()) {
                        return Err(Error::unexpected(format!(
                            "Salesforce listed the result URL {} twice; stopped rather than loop",
                            excerpt(&url, 120)
                        )));
                    }
                    urls.push(Ok(url));
                }
                state.next = match (v.done, v.next_record_url) {
                    (false, Some(n)) => Some(server_path(&n, "nextRecordUrl")?),
                    (false, None) => return Err(Error::unexpected("Salesforce's resultPages is not done but names no nextRecordUrl")),
                    (true, _) => None,
                };
                Ok(urls)
            }
            .await;
            match answer {
                Ok(urls) => Some((stream::iter(urls), Some(state))),
                Err(e) => Some((stream::iter(vec![Err(e)]), None)),
            }
        })
        .flatten()
        .boxed()
    }

    /// Downloads one after another, each `Sforce-Locator` naming the next (`null` at the end).
    fn locator_chunks(&'s self, id: &'s str, max_records: Option<u32>) -> BoxStream<'s, Result<BulkChunk>> {
        let base = self.jobs_path(&format!("/{id}/results"));
        stream::unfold(Some((None::<String>, HashSet::new())), move |state| {
            let base = base.clone();
            async move {
                let (locator, mut seen) = state?;
                let query = {
                    let mut q = url::form_urlencoded::Serializer::new(String::new());
                    if let Some(l) = &locator {
                        q.append_pair("locator", l);
                    }
                    if let Some(m) = max_records {
                        q.append_pair("maxRecords", &m.to_string());
                    }
                    q.finish()
                };
                let path = if query.is_empty() { base } else { format!("{base}?{query}") };
                let raw = match self.results_get(&path, CSV).await {
                    Ok(r) => r,
                    Err(e) => return Some((Err(e), None)),
                };
                let next = raw.header("Sforce-Locator").map(str::trim).filter(|l| !l.is_empty() && *l != "null").map(str::to_string);
                let records = raw.header("Sforce-NumberOfRecords").and_then(|n| n.trim().parse().ok());
                let chunk = BulkChunk { csv: raw.body, records };
                match next {
                    Some(l) if !seen.insert(l.clone()) => Some((
                        Err(Error::unexpected(format!("Salesforce sent the locator {} twice; stopped rather than loop", excerpt(&l, 60)))),
                        None,
                    )),
                    Some(l) => Some((Ok(chunk), Some((Some(l), seen)))),
                    None => Some((Ok(chunk), None)),
                }
            }
        })
        .boxed()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultPages {
    #[serde(default)]
    result_pages: Vec<ResultPage>,
    // The docs' table says `nextRecordUrl`, their prose `nextRecordsUrl`: take either.
    #[serde(default, alias = "nextRecordsUrl")]
    next_record_url: Option<String>,
    #[serde(default)]
    done: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ResultPage {
    Link {
        #[serde(alias = "resultLink")]
        #[serde(rename = "resultUrl")]
        url: String,
    },
    Bare(String),
}

impl ResultPage {
    fn url(&self) -> &str {
        match self {
            ResultPage::Link { url } | ResultPage::Bare(url) => url,
        }
    }
}

const CSV: &str = "text/csv";

fn not_on_instance(p: &str, what: &str) -> Error {
    Error::unexpected(format!(
        "Salesforce's {what} `{}` is not on the instance: the token is not sent there",
        crate::error::strip_query(&excerpt(p, 200))
    ))
    .with_hint("the server named another host for the results; run the query with --api rest, and tell the org's admin")
}

/// A results location Salesforce handed back, as given: a path from the host's root (as
/// `nextRecordsUrl` is) or an absolute URL, whose host [`result_url`] checks.
fn server_path(p: &str, what: &str) -> Result<String> {
    if (p.starts_with('/') && !p.starts_with("//")) || p.starts_with("https://") || p.starts_with("http://") {
        Ok(p.to_string())
    } else {
        Err(not_on_instance(p, what))
    }
}

/// The URL of a results location on the instance `base`: a root path joined to it, an absolute
/// URL only when it has the instance's scheme, host and port (the token goes there).
fn result_url(base: &str, p: &str) -> Result<url::Url> {
    let base = checked_url(base, "instance URL")?;
    if p.starts_with('/') && !p.starts_with("//") {
        return base.join(p).map_err(|e| Error::unexpected(format!("cannot read a result URL ({e})")));
    }
    let url = url::Url::parse(p).map_err(|_| not_on_instance(p, "result URL"))?;
    if url.origin() != base.origin() {
        return Err(not_on_instance(p, "result URL"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_queries_bulk_takes() {
        assert_eq!(bulk_unsupported("SELECT Id, Name, Owner.Name FROM Account WHERE Name LIKE 'A%' ORDER BY Name LIMIT 5"), None);
        assert!(bulk_unsupported("SELECT Id, (SELECT LastName FROM Contacts) FROM Account").unwrap().contains("sub-query"));
        assert!(bulk_unsupported("SELECT COUNT() FROM Account").unwrap().contains("function"));
        assert!(bulk_unsupported("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry").is_some());
        assert!(bulk_unsupported("SELECT Id FROM Account OFFSET 10").unwrap().contains("OFFSET"));
        assert!(bulk_unsupported("SELECT FIELDS(ALL) FROM Account LIMIT 200").is_some());
        assert_eq!(bulk_unsupported("SELECT Offset__c FROM Account"), None, "a field named like a keyword is a field");
    }

    #[test]
    fn chunks_split_header_and_rows() {
        let c = BulkChunk { csv: Bytes::from_static(b"\"Id\",\"Name\"\r\n\"1\",\"a\nb\"\n"), records: Some(1) };
        assert_eq!(c.header(), b"\"Id\",\"Name\"");
        assert_eq!(&c.rows()[..], b"\"1\",\"a\nb\"\n");
    }

    #[test]
    fn result_pages_read_either_spelling() {
        let a: ResultPages =
            serde_json::from_str(r#"{"resultPages":[{"resultUrl":"/a"},"/b"],"nextRecordsUrl":"/n","done":false}"#).unwrap();
        assert_eq!(a.result_pages.iter().map(ResultPage::url).collect::<Vec<_>>(), ["/a", "/b"]);
        assert_eq!(a.next_record_url.as_deref(), Some("/n"));
        assert!(server_path("//evil.example/x", "resultUrl").is_err());
        assert!(server_path("results?locator=x", "resultUrl").is_err());
        let base = "https://acme.my.salesforce.com";
        assert_eq!(
            result_url(base, "/services/data/v62.0/jobs/query/750/results?locator=MA").unwrap().as_str(),
            "https://acme.my.salesforce.com/services/data/v62.0/jobs/query/750/results?locator=MA"
        );
        assert!(
            result_url(base, "https://acme.my.salesforce.com/services/data/v62.0/jobs/query/750/results").is_ok(),
            "an absolute URL on the instance"
        );
        for elsewhere in [
            "https://evil.example/x",
            "http://acme.my.salesforce.com/x",
            "https://acme.my.salesforce.com:8443/x",
            "https://acme.my.salesforce.com.evil.example/x",
        ] {
            let e = result_url(base, elsewhere).unwrap_err();
            assert!(e.message.contains("not on the instance"), "{elsewhere}: {e}");
        }
    }
}
