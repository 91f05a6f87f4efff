//! Bulk API 2.0 query jobs through the core, against the Salesforce emulator: the whole
//! lifecycle (create, poll, download, delete), failure and abort, locator paging on API versions
//! before 58.0, and parallel `resultPages` downloads after it.

mod common;

use common::*;
use futures::StreamExt;
use oauth_desk_core::profile::{Provider, SalesforceConfig};
use oauth_desk_core::providers::salesforce::bulk::{BulkChunk, BulkDownload};
use oauth_desk_core::providers::salesforce::{QueryOptions, SalesforceApi};
use oauth_desk_core::{ErrorCode, Session};
use oauth_desk_emulators::salesforce;
use std::time::Duration;

const SOQL: &str = "SELECT Id, Name, Owner.Name, AnnualRevenue, Description FROM Account";

fn session_with_version(base: &str, version: &str) -> Session {
    let mut p = salesforce_profile(base);
    p.provider = Provider::Salesforce(SalesforceConfig { login: base.to_string(), api_version: version.into(), ..Default::default() });
    oauth_desk_core::providers::session(p, salesforce_secrets(), transport(), system())
}

/// The CSV rows of every chunk (each repeats the header), parsed.
fn rows(chunks: &[BulkChunk]) -> (Vec<String>, Vec<Vec<String>>) {
    let header: Vec<String> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(chunks[0].header())
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    let mut out = Vec::new();
    for c in chunks {
        assert_eq!(c.header(), chunks[0].header(), "every chunk has the same header");
        for r in csv::ReaderBuilder::new().has_headers(false).from_reader(&c.rows()[..]).records() {
            out.push(r.unwrap().iter().map(String::from).collect());
        }
    }
    (header, out)
}

/// The same query through REST, as the CLI's CSV renders each cell.
async fn rest_rows(session: &Session, soql: &str) -> Vec<Vec<String>> {
    let mut columns = oauth_desk_core::soql::QueryColumns::for_query(soql);
    let mut out = Vec::new();
    let mut pages = SalesforceApi::of(session).unwrap().query(soql, QueryOptions::default());
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        columns.resolve(page.records.first());
        out.extend(page.records.iter().map(|r| columns.cells(r).map(|c| c.into_owned()).collect::<Vec<_>>()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_downloads_its_result_pages_in_parallel_and_is_deleted() {
    let config = salesforce::Config {
        accounts: 3000,
        bulk_page_size: 400,
        bulk_processing: Duration::from_millis(300),
        latency: Duration::from_millis(40),
        ..Default::default()
    };
    let (em, srv) = salesforce(config).await;
    let session = sf_session(&srv.base_url(), system());
    session.grant_password(Default::default()).await.unwrap();
    let api = SalesforceApi::of(&session).unwrap();
    assert!(api.has_result_pages(), "API 62.0 has resultPages");

    let job = api.bulk_create(SOQL, false).await.unwrap();
    assert_eq!((job.state.as_str(), job.operation.as_deref(), job.object.as_deref()), ("UploadComplete", Some("query"), Some("Account")));
    let mut states = Vec::new();
    let done = api.bulk_wait(&job.id, |j| states.push(j.state.clone())).await.unwrap();
    assert_eq!(done.number_records_processed, Some(2940), "every 50th account is deleted");
    assert!(states.contains(&"InProgress".to_string()) && states.last().unwrap() == "JobComplete", "{states:?}");

    let chunks: Vec<BulkChunk> =
        api.bulk_results(&job.id, BulkDownload { parallel: 4, max_records: None }).map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks.len(), 8, "2940 rows in downloads of 400");
    assert_eq!(chunks.iter().map(|c| c.records.unwrap()).sum::<u64>(), 2940);
    let stats = em.stats();
    assert!(stats.bulk_results_peak_concurrency >= 2, "downloads overlapped: {stats:?}");
    assert!(stats.bulk_results_peak_concurrency <= 4, "at most 4 at once: {stats:?}");

    let (header, bulk) = rows(&chunks);
    assert_eq!(header, ["Id", "Name", "Owner.Name", "AnnualRevenue", "Description"]);
    let rest = rest_rows(&session, SOQL).await;
    assert_eq!(bulk, rest, "Bulk and REST give the same cells in the same order (line breaks, quotes, formulas, Chinese, nulls)");
    assert!(bulk.iter().any(|r| r[4].contains('\n')) && bulk.iter().any(|r| r[1].contains('"')) && bulk.iter().any(|r| r[3].is_empty()));

    api.bulk_delete(&job.id).await.unwrap();
    let gone = api.bulk_status(&job.id).await.unwrap_err();
    assert_eq!(gone.provider_code(), Some("NOT_FOUND"));
    assert_eq!(em.stats().bulk_jobs_deleted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_api_58_results_follow_the_locator_one_after_another() {
    let (em, srv) = salesforce(salesforce::Config { accounts: 1000, bulk_processing: Duration::ZERO, ..Default::default() }).await;
    let session = session_with_version(&srv.base_url(), "57.0");
    session.grant_password(Default::default()).await.unwrap();
    let api = SalesforceApi::of(&session).unwrap();
    assert!(!api.has_result_pages());
    let job = api.bulk_create("SELECT Id, Name FROM Account", true).await.unwrap();
    assert_eq!(job.operation.as_deref(), Some("queryAll"));
    api.bulk_wait(&job.id, |_| {}).await.unwrap();
    let chunks: Vec<BulkChunk> =
        api.bulk_results(&job.id, BulkDownload { parallel: 4, max_records: Some(300) }).map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks.iter().map(|c| c.records.unwrap()).collect::<Vec<_>>(), [300, 300, 300, 100], "queryAll includes deleted rows");
    let (_, all) = rows(&chunks);
    assert_eq!(all.len(), 1000);
    assert_eq!(all[0][0], "001EMU000000001AAA");
    assert_eq!(all[999][1], "Account 001000", "in order");
    assert_eq!(em.stats().bulk_results_peak_concurrency, 1, "one download at a time");
}

#[tokio::test]
async fn failed_and_aborted_jobs_are_errors_with_salesforces_words() {
    let (_em, srv) =
        salesforce(salesforce::Config { accounts: 100, bulk_processing: Duration::from_millis(50), ..Default::default() }).await;
    let base = srv.base_url();
    let session = sf_session(&base, system());
    session.grant_password(Default::default()).await.unwrap();
    let api = SalesforceApi::of(&session).unwrap();
    let http = reqwest::Client::new();

    http.post(format!("{base}/__emulator/bulk-next?outcome=fail&message=InternalServerError%20:%20disk%20full")).send().await.unwrap();
    let job = api.bulk_create("SELECT Id FROM Account", false).await.unwrap();
    let e = api.bulk_wait(&job.id, |_| {}).await.unwrap_err();
    assert_eq!((e.code, e.provider_code()), (ErrorCode::ProviderError, Some("Failed")));
    assert!(
        e.message.contains("failed") && e.provider.as_ref().and_then(|p| p.message.as_deref()).is_some_and(|m| m.contains("disk full")),
        "{e:?}"
    );

    http.post(format!("{base}/__emulator/bulk-next?outcome=abort&message=Aborted%20by%20an%20admin")).send().await.unwrap();
    let job = api.bulk_create("SELECT Id FROM Account", false).await.unwrap();
    let e = api.bulk_wait(&job.id, |_| {}).await.unwrap_err();
    assert!(e.message.contains("was aborted") && e.hint.as_deref().is_some_and(|h| h.contains("aborted")), "{e:?}");

    // Salesforce fails a job with a parent-to-child sub-query.
    let job = api.bulk_create("SELECT Id, (SELECT LastName FROM Contacts) FROM Account", false).await.unwrap();
    let e = api.bulk_wait(&job.id, |_| {}).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(
        e.provider.as_ref().and_then(|p| p.message.as_deref()).is_some_and(|m| m.contains("Aggregate Relationships"))
            && e.hint.unwrap().contains("REST")
    );

    // The client aborts a job that is still running.
    let (_em2, slow) =
        salesforce(salesforce::Config { accounts: 100, bulk_processing: Duration::from_secs(30), ..Default::default() }).await;
    let session = sf_session(&slow.base_url(), system());
    session.grant_password(Default::default()).await.unwrap();
    let api = SalesforceApi::of(&session).unwrap();
    let job = api.bulk_create("SELECT Id FROM Account", false).await.unwrap();
    assert_eq!(api.bulk_status(&job.id).await.unwrap().state, "InProgress");
    api.bulk_abort(&job.id).await.unwrap();
    assert_eq!(api.bulk_status(&job.id).await.unwrap().state, "Aborted");
    let e = api.bulk_results(&job.id, BulkDownload::default()).next().await.unwrap().unwrap_err();
    assert!(e.message.contains("INVALIDJOB"), "no results from an aborted job: {e:?}");

    // Bad SOQL is refused when the job is created.
    let e = api.bulk_create("SELECT Id FRM Account", false).await.unwrap_err();
    assert_eq!(e.provider_code(), Some("MALFORMED_QUERY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_is_renewed_between_downloads() {
    let (em, srv) =
        salesforce(salesforce::Config { accounts: 1000, bulk_page_size: 250, bulk_processing: Duration::ZERO, ..Default::default() }).await;
    let session = sf_session(&srv.base_url(), system());
    session.grant_password(Default::default()).await.unwrap();
    let api = SalesforceApi::of(&session).unwrap();
    let job = api.bulk_create("SELECT Id FROM Account", false).await.unwrap();
    api.bulk_wait(&job.id, |_| {}).await.unwrap();
    em.expire_sessions();
    let chunks: Vec<BulkChunk> =
        api.bulk_results(&job.id, BulkDownload { parallel: 2, max_records: None }).map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks.iter().map(|c| c.records.unwrap()).sum::<u64>(), 980);
    assert_eq!(em.stats().token_requests.get("password"), Some(&2), "renewed once for both downloads in flight");
}
