//! One thin command per grant and API call: take state, convert the input, call the core, map
//! the error. Errors reach the UI as the core's `Error` JSON (`code`, `message`, `hint`,
//! `provider`, `status`, `endpoint`).

use crate::state::AppState;
use crate::types::{
    AppInfo, CopyFormat, DeviceStarted, DuplicateOutcome, ProfileEntry, ProfileInput, QueryApi, QueryDone, QueryEvent, SandboxInfo,
    SignInStarted, TokenDetails,
};
use futures::future::{AbortHandle, Abortable};
use futures::StreamExt;
use oauth_desk_core::providers::salesforce::bulk::{bulk_unsupported, BulkDownload};
use oauth_desk_core::providers::salesforce::{ApiVersion, QueryOptions, SalesforceApi};
use oauth_desk_core::providers::wechat::WechatApi;
use oauth_desk_core::request::{self, ApiRequest, ApiResponse};
use oauth_desk_core::soql::{self, QueryColumns};
use oauth_desk_core::storage::SecretKey;
use oauth_desk_core::wire::{export, ExchangeDetail, ExchangeSummary, Reveal};
use oauth_desk_core::{Error, PasswordCredentials, Profile, Secret, WhichToken};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tauri::ipc::Channel;
use tauri::{AppHandle, State};

type Cmd<T> = std::result::Result<T, Error>;

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    state.info.clone()
}

#[tauri::command]
pub async fn profile_list(state: State<'_, AppState>) -> Cmd<Vec<ProfileEntry>> {
    let mut out = Vec::new();
    for p in state.desk.list()? {
        out.push(state.entry(&p).await?);
    }
    Ok(out)
}

/// Creates (empty `id`) or updates a profile and changes the secrets given.
#[tauri::command]
pub async fn profile_save(state: State<'_, AppState>, input: ProfileInput) -> Cmd<ProfileEntry> {
    let mut profile = input.profile;
    if profile.id.is_empty() {
        profile.id = oauth_desk_core::profile::new_profile_id();
    }
    state.desk.save(&profile)?;
    for (key, value) in [
        (SecretKey::ClientSecret, input.client_secret),
        (SecretKey::Password, input.password),
        (SecretKey::SecurityToken, input.security_token),
    ] {
        if let Some(v) = value {
            state.desk.set_secret(&profile, key, Some(&Secret::new(v)))?;
        }
    }
    state.entry(&profile).await
}

#[tauri::command]
pub fn profile_delete(state: State<'_, AppState>, name: String) -> Cmd<()> {
    let p = state.desk.remove(&name)?;
    let _ = std::fs::remove_dir_all(state.browser_dir(&p));
    Ok(())
}

/// Copies a profile with its stored secrets and says which were copied.
#[tauri::command]
pub async fn profile_duplicate(state: State<'_, AppState>, name: String, new_name: String) -> Cmd<DuplicateOutcome> {
    let (p, copied) = state.desk.duplicate(&name, &new_name)?;
    Ok(DuplicateOutcome { entry: state.entry(&p).await?, copied: copied.iter().map(|k| k.as_str().to_string()).collect() })
}

/// Validation as the user types: the first problem, or nothing.
#[tauri::command]
pub fn profile_validate(profile: Profile) -> Option<Error> {
    profile.validate().err()
}

#[tauri::command]
pub async fn signin_start(app: AppHandle, state: State<'_, AppState>, name: String, open_window: bool) -> Cmd<SignInStarted> {
    crate::login::start(&app, &state, &name, open_window).await
}

#[tauri::command]
pub fn signin_cancel(state: State<'_, AppState>, attempt_id: String) -> Cmd<()> {
    crate::login::cancel(&state, &attempt_id)
}

/// Finishes a sign-in from a pasted redirect URL or bare code (WeChat Official Accounts).
#[tauri::command]
pub async fn signin_paste(state: State<'_, AppState>, name: String, input: String, attempt_id: Option<String>) -> Cmd<TokenDetails> {
    let session = state.session(&name)?;
    let pending = crate::login::take_pending(&state, attempt_id.as_deref())?;
    let token = session.complete_pasted(pending.as_ref(), &input).await?;
    Ok(TokenDetails::of(&session).await.unwrap_or_else(|| TokenDetails::new(token, session.history())))
}

/// Signs in through the system browser with a loopback redirect (RFC 8252).
#[tauri::command]
pub async fn signin_browser(state: State<'_, AppState>, name: String) -> Cmd<TokenDetails> {
    let session = state.session(&name)?;
    let open = |url: &str| {
        if let Err(e) = webbrowser::open(url) {
            tracing::warn!("cannot open the system browser: {e}");
        }
    };
    let token = oauth_desk_core::loopback::sign_in(&session, None, open, Duration::from_secs(300)).await?;
    Ok(TokenDetails::of(&session).await.unwrap_or_else(|| TokenDetails::new(token, session.history())))
}

#[tauri::command]
pub fn signin_forget_browser_data(state: State<'_, AppState>, name: String) -> Cmd<()> {
    crate::login::forget_browser_data(&state, &name)
}

/// The password grant with what the form gives; what it leaves empty comes from the profile.
#[tauri::command]
pub async fn grant_password(
    state: State<'_, AppState>,
    name: String,
    username: Option<String>,
    password: Option<String>,
    security_token: Option<String>,
) -> Cmd<TokenDetails> {
    let session = state.session(&name)?;
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let credentials = PasswordCredentials {
        username: nonempty(username),
        password: nonempty(password).map(Secret::new),
        security_token: nonempty(security_token).map(Secret::new),
    };
    let token = session.grant_password(credentials).await?;
    Ok(TokenDetails::of(&session).await.unwrap_or_else(|| TokenDetails::new(token, session.history())))
}

/// RFC 8628: starts a device sign-in, hands the code to the window through `on_started`, then
/// polls until the user approves on another device (or denies, or the code expires).
/// `attempt_id` names it for `signin_device_cancel`.
#[tauri::command]
pub async fn signin_device(
    state: State<'_, AppState>,
    name: String,
    attempt_id: String,
    on_started: Channel<DeviceStarted>,
) -> Cmd<TokenDetails> {
    let session = state.session(&name)?;
    let d = session.start_device().await?;
    let open = d.verification_uri_complete.clone().unwrap_or_else(|| d.verification_uri.clone());
    let qr_svg = qrcode::QrCode::new(open.as_bytes())
        .map(|c| c.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
        .unwrap_or_default();
    on_started
        .send(DeviceStarted {
            user_code: d.user_code.clone(),
            verification_uri: d.verification_uri.clone(),
            verification_uri_complete: d.verification_uri_complete.clone(),
            expires_at: d.expires_at,
            interval_seconds: d.interval_seconds,
            qr_svg,
        })
        .map_err(|e| Error::new(oauth_desk_core::ErrorCode::Cancelled, format!("the window stopped listening: {e}")))?;
    let (abort, registration) = AbortHandle::new_pair();
    state.queries.lock().map_err(|_| Error::storage("attempt table poisoned"))?.insert(attempt_id.clone(), abort);
    let result = Abortable::new(session.poll_device(&d), registration).await;
    if let Ok(mut q) = state.queries.lock() {
        q.remove(&attempt_id);
    }
    let token = result.map_err(|_| Error::new(oauth_desk_core::ErrorCode::Cancelled, "the device sign-in was cancelled"))??;
    Ok(TokenDetails::of(&session).await.unwrap_or_else(|| TokenDetails::new(token, session.history())))
}

#[tauri::command]
pub fn signin_device_cancel(state: State<'_, AppState>, attempt_id: String) -> Cmd<bool> {
    salesforce_query_cancel(state, attempt_id)
}

/// RFC 7523 §2.1 with the profile's private key and username.
#[tauri::command]
pub async fn grant_jwt_bearer(state: State<'_, AppState>, name: String) -> Cmd<TokenDetails> {
    let session = state.session(&name)?;
    let token = session.grant_jwt_bearer().await?;
    Ok(TokenDetails::of(&session).await.unwrap_or_else(|| TokenDetails::new(token, session.history())))
}

/// A new RSA 2048 key for the JWT bearer grant, kept in the keyring; returns the self-signed
/// certificate (PEM) the connected app needs. The key itself never reaches the window.
#[tauri::command]
pub async fn private_key_create(state: State<'_, AppState>, name: String) -> Cmd<String> {
    let p = state.desk.find(&name)?;
    // Key generation takes a moment of CPU; other commands keep their worker threads.
    tokio::task::block_in_place(|| state.desk.create_private_key(&p))
}

/// Keeps a pasted PEM private key (refused with the reason when it is not a usable key).
#[tauri::command]
pub fn private_key_import(state: State<'_, AppState>, name: String, pem: String) -> Cmd<()> {
    let p = state.desk.find(&name)?;
    state.desk.import_private_key(&p, &Secret::new(pem))
}

/// A new Salesforce profile from a Salesforce CLI auth URL; nothing is kept when its refresh
/// token does not work.
#[tauri::command]
pub async fn profile_import_sfdx_url(state: State<'_, AppState>, name: String, url: String) -> Cmd<ProfileEntry> {
    let (p, _) = state.desk.import_sfdx_url(&name, &Secret::new(url)).await?;
    state.entry(&p).await
}

/// The profile's auth URL for `sf org login sfdx-url` (the UI warns before asking).
#[tauri::command]
pub fn profile_sfdx_url(state: State<'_, AppState>, name: String) -> Cmd<String> {
    let p = state.desk.find(&name)?;
    Ok(state.desk.sfdx_url(&p)?.expose().to_string())
}

#[tauri::command]
pub async fn grant_client_credentials(state: State<'_, AppState>, name: String) -> Cmd<TokenDetails> {
    let session = state.session(&name)?;
    let token = session.grant_client_credentials().await?;
    Ok(TokenDetails::of(&session).await.unwrap_or_else(|| TokenDetails::new(token, session.history())))
}

#[tauri::command]
pub async fn token_get(state: State<'_, AppState>, name: String) -> Cmd<Option<TokenDetails>> {
    let session = state.session(&name)?;
    Ok(TokenDetails::of(&session).await)
}

#[tauri::command]
pub async fn token_refresh(state: State<'_, AppState>, name: String) -> Cmd<TokenDetails> {
    let session = state.session(&name)?;
    let token = session.refresh().await?;
    Ok(TokenDetails::of(&session).await.unwrap_or_else(|| TokenDetails::new(token, session.history())))
}

#[tauri::command]
pub async fn token_revoke(state: State<'_, AppState>, name: String, which: WhichToken) -> Cmd<()> {
    state.session(&name)?.revoke(which).await
}

#[tauri::command]
pub async fn token_introspect(state: State<'_, AppState>, name: String, which: WhichToken) -> Cmd<Value> {
    state.session(&name)?.introspect(which).await
}

#[tauri::command]
pub async fn token_forget(state: State<'_, AppState>, name: String) -> Cmd<()> {
    state.session(&name)?.forget_token().await
}

/// Runs SOQL; each page goes to `on_page` as it arrives. `query_id` names it for cancelling.
/// With `api: bulk` the query runs as a Bulk API 2.0 job: its state goes to `on_page` while it
/// runs, then each results download arrives as a page of text cells; the job is deleted once
/// read, and aborted and deleted when the query is cancelled.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn salesforce_query(
    state: State<'_, AppState>,
    name: String,
    soql_text: String,
    options: QueryOptions,
    query_id: String,
    api: Option<QueryApi>,
    on_page: Channel<QueryEvent>,
) -> Cmd<QueryDone> {
    let session = state.session(&name)?;
    let api = api.unwrap_or_default();
    if api == QueryApi::Bulk {
        if let Some(why) = bulk_unsupported(&soql_text) {
            return Err(Error::invalid_input(format!("Bulk API 2.0 cannot run this query: {why}")).with_hint("run it with the REST API"));
        }
    }
    let (abort, registration) = AbortHandle::new_pair();
    state.queries.lock().map_err(|_| Error::storage("query table poisoned"))?.insert(query_id.clone(), abort);
    let started = Instant::now();
    let (rows, total) = (AtomicU64::new(0), AtomicU64::new(0));
    let pages = AtomicU64::new(0);
    let job_id: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let send = |event: QueryEvent| {
        on_page.send(event).map_err(|e| Error::new(oauth_desk_core::ErrorCode::Cancelled, format!("the window stopped listening: {e}")))
    };
    let rest = async {
        let mut columns = QueryColumns::for_query(&soql_text);
        let mut stream = SalesforceApi::of(&session)?.query(&soql_text, options);
        while let Some(page) = stream.next().await {
            let page = page?;
            columns.resolve(page.records.first());
            let n = page.records.len() as u64;
            let so_far = rows.fetch_add(n, Ordering::SeqCst) + n;
            total.store(page.total_size, Ordering::SeqCst);
            let index = pages.fetch_add(1, Ordering::SeqCst) as u32;
            send(QueryEvent::Page {
                index,
                columns: columns.labels().to_vec(),
                rows: page.records.iter().map(|r| columns.values(r)).collect(),
                records: page.records.iter().map(soql::strip_attributes).collect(),
                total_size: page.total_size,
                rows_so_far: so_far,
                done: page.done,
            })?;
        }
        Ok::<(), Error>(())
    };
    let bulk = async {
        let sf = SalesforceApi::of(&session)?;
        let job = sf.bulk_create(&soql_text, options.include_deleted).await?;
        if let Ok(mut j) = job_id.lock() {
            *j = Some(job.id.clone());
        }
        let result = async {
            let mut last = String::new();
            let done = sf
                .bulk_wait(&job.id, |j| {
                    let processed = j.number_records_processed.unwrap_or(0);
                    let key = format!("{}/{processed}", j.state);
                    if key != last {
                        let _ = send(QueryEvent::Job { id: j.id.clone(), state: j.state.clone(), records_processed: processed });
                        last = key;
                    }
                })
                .await?;
            let expected = done.number_records_processed.unwrap_or(0);
            total.store(expected, Ordering::SeqCst);
            let mut columns: Vec<String> = Vec::new();
            let mut chunks = sf.bulk_results(&job.id, BulkDownload::default());
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk?;
                if columns.is_empty() {
                    columns = csv_line(chunk.header())?;
                }
                let (cells, records) = csv_rows(&chunk.rows(), &columns)?;
                let n = cells.len() as u64;
                let so_far = rows.fetch_add(n, Ordering::SeqCst) + n;
                let index = pages.fetch_add(1, Ordering::SeqCst) as u32;
                send(QueryEvent::Page {
                    index,
                    columns: columns.clone(),
                    rows: cells,
                    records,
                    total_size: expected.max(so_far),
                    rows_so_far: so_far,
                    done: false,
                })?;
            }
            Ok::<(), Error>(())
        }
        .await;
        if result.is_ok() {
            let _ = sf.bulk_delete(&job.id).await;
        }
        result
    };
    let work = async {
        match api {
            QueryApi::Rest => rest.await,
            QueryApi::Bulk => bulk.await,
        }
    };
    let result = Abortable::new(work, registration).await;
    if let Ok(mut q) = state.queries.lock() {
        q.remove(&query_id);
    }
    let job = job_id.lock().ok().and_then(|j| j.clone());
    // A job left behind by a cancelled or failed query: abort it (it may still run) and delete
    // it, in the background.
    if let (Some(id), false) = (job.clone(), matches!(result, Ok(Ok(())))) {
        let session = session.clone();
        tauri::async_runtime::spawn(async move {
            if let Ok(sf) = SalesforceApi::of(&session) {
                let _ = sf.bulk_abort(&id).await;
                let _ = sf.bulk_delete(&id).await;
            }
        });
    }
    let done = |cancelled| QueryDone {
        rows: rows.load(Ordering::SeqCst),
        pages: pages.load(Ordering::SeqCst) as u32,
        total_size: total.load(Ordering::SeqCst),
        cancelled,
        elapsed_ms: started.elapsed().as_millis() as u64,
        api,
        job_id: job.clone(),
    };
    match result {
        Ok(Ok(())) => Ok(done(false)),
        Ok(Err(e)) => Err(e),
        Err(_aborted) => Ok(done(true)),
    }
}

/// One CSV line's fields (a Bulk API results header).
fn csv_line(line: &[u8]) -> Cmd<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(line);
    match reader.records().next() {
        Some(Ok(r)) => Ok(r.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(Error::unexpected(format!("the Bulk API results' header is not CSV ({e})"))),
        None => Ok(Vec::new()),
    }
}

/// Bulk API CSV rows as the grid's cells (an empty field shown empty) and as records for the
/// JSON view (`{"Owner.Name": "…"}`: Bulk results are flat, every value text).
fn csv_rows(rows: &[u8], columns: &[String]) -> Cmd<(Vec<Vec<Value>>, Vec<Value>)> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(false).from_reader(rows);
    let (mut cells, mut records) = (Vec::new(), Vec::new());
    for r in reader.records() {
        let r = r.map_err(|e| Error::unexpected(format!("the Bulk API results are not CSV ({e})")))?;
        let row: Vec<Value> = r.iter().map(|f| if f.is_empty() { Value::Null } else { Value::String(f.to_string()) }).collect();
        records.push(Value::Object(columns.iter().cloned().zip(row.iter().cloned()).collect()));
        cells.push(row);
    }
    Ok((cells, records))
}

#[tauri::command]
pub fn salesforce_query_cancel(state: State<'_, AppState>, query_id: String) -> Cmd<bool> {
    Ok(match state.queries.lock().map_err(|_| Error::storage("query table poisoned"))?.remove(&query_id) {
        Some(handle) => {
            handle.abort();
            true
        }
        None => false,
    })
}

#[tauri::command]
pub async fn salesforce_versions(state: State<'_, AppState>, name: String) -> Cmd<Vec<ApiVersion>> {
    let session = state.session(&name)?;
    SalesforceApi::of(&session)?.versions().await
}

#[tauri::command]
pub async fn salesforce_identity(state: State<'_, AppState>, name: String) -> Cmd<Value> {
    let session = state.session(&name)?;
    SalesforceApi::of(&session)?.identity().await
}

#[tauri::command]
pub async fn salesforce_describe_global(state: State<'_, AppState>, name: String) -> Cmd<Value> {
    let session = state.session(&name)?;
    SalesforceApi::of(&session)?.describe_global().await
}

#[tauri::command]
pub async fn salesforce_describe(state: State<'_, AppState>, name: String, object: String) -> Cmd<Value> {
    let session = state.session(&name)?;
    SalesforceApi::of(&session)?.describe(&object).await
}

#[tauri::command]
pub async fn salesforce_limits(state: State<'_, AppState>, name: String) -> Cmd<Value> {
    let session = state.session(&name)?;
    SalesforceApi::of(&session)?.limits().await
}

#[tauri::command]
pub async fn wechat_userinfo(state: State<'_, AppState>, name: String, lang: Option<String>) -> Cmd<Value> {
    let session = state.session(&name)?;
    WechatApi::of(&session)?.userinfo(lang.as_deref()).await
}

#[tauri::command]
pub async fn wechat_check(state: State<'_, AppState>, name: String) -> Cmd<Value> {
    let session = state.session(&name)?;
    WechatApi::of(&session)?.check().await
}

#[tauri::command]
pub async fn api_request(state: State<'_, AppState>, name: String, request: ApiRequest) -> Cmd<ApiResponse> {
    let session = state.session(&name)?;
    request::send(&session, &request).await
}

/// The profile's wire log, oldest first, secrets masked.
#[tauri::command]
pub fn wirelog_list(state: State<'_, AppState>, name: String) -> Cmd<Vec<ExchangeSummary>> {
    Ok(state.session(&name)?.log().summaries())
}

/// One exchange whole, secrets masked.
#[tauri::command]
pub fn wirelog_get(state: State<'_, AppState>, name: String, id: u64) -> Cmd<ExchangeDetail> {
    state.session(&name)?.log().detail(id).ok_or_else(|| gone(id))
}

/// One exchange as a curl command or a Python snippet: secrets as `$ENV` placeholders, or the
/// secrets themselves when the user ticked "include secrets".
#[tauri::command]
pub fn wirelog_copy(state: State<'_, AppState>, name: String, id: u64, format: CopyFormat, include_secrets: bool) -> Cmd<String> {
    let session = state.session(&name)?;
    let exchange = session.log().get(id).ok_or_else(|| gone(id))?;
    let reveal = if include_secrets { Reveal::Secrets } else { Reveal::Placeholders };
    let r = session.log().redactor();
    Ok(match format {
        CopyFormat::Curl => export::curl(&exchange, &r, reveal),
        CopyFormat::Python => export::python(&exchange, &r, reveal),
    })
}

/// Saves the profile's exchanges as HAR 1.2 in the Downloads folder and returns the path.
#[tauri::command]
pub fn wirelog_export_har(app: AppHandle, state: State<'_, AppState>, name: String, include_secrets: bool) -> Cmd<String> {
    let session = state.session(&name)?;
    let reveal = if include_secrets { Reveal::Secrets } else { Reveal::Masked };
    let doc = export::har(&session.log().exchanges(), &session.log().redactor(), reveal);
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::unexpected(e.to_string()))?;
    let stamp = oauth_desk_core::clock::rfc3339(state.desk.clock().now_millis()).replace(':', "-");
    export_write(app, format!("{name}-{stamp}.har"), text)
}

#[tauri::command]
pub fn wirelog_clear(state: State<'_, AppState>, name: String) -> Cmd<()> {
    state.session(&name)?.log().clear();
    Ok(())
}

fn gone(id: u64) -> Error {
    Error::invalid_input(format!("exchange {id} is no longer in the log (it keeps the last {})", oauth_desk_core::wire::MAX_EXCHANGES))
}

#[tauri::command]
pub async fn userinfo(state: State<'_, AppState>, name: String, lang: Option<String>) -> Cmd<Value> {
    state.session(&name)?.userinfo(lang.as_deref()).await
}

#[tauri::command]
pub async fn sandbox_start(state: State<'_, AppState>) -> Cmd<SandboxInfo> {
    crate::sandbox::start(&state).await
}

/// The Downloads folder: XDG's; without user-dirs, ~/Downloads when it exists; else the home.
fn downloads(app: &AppHandle) -> Cmd<std::path::PathBuf> {
    use tauri::Manager;
    let home = app.path().home_dir().map_err(|e| Error::storage(format!("no home folder: {e}")))?;
    Ok(app.path().download_dir().ok().filter(|d| d.is_dir()).unwrap_or_else(|| {
        let downloads = home.join("Downloads");
        if downloads.is_dir() {
            downloads
        } else {
            home.clone()
        }
    }))
}

fn safe_file_name(file_name: &str) -> Cmd<String> {
    let safe: String = file_name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    if safe.is_empty() || safe.starts_with('.') {
        return Err(Error::invalid_input(format!("`{file_name}` is not a usable file name")));
    }
    Ok(safe)
}

/// Saves exported results in the Downloads folder (atomically) and returns the file's path.
#[tauri::command]
pub fn export_write(app: AppHandle, file_name: String, contents: String) -> Cmd<String> {
    let path = downloads(&app)?.join(safe_file_name(&file_name)?);
    oauth_desk_core::storage::write_atomically(&path, contents.as_bytes())?;
    Ok(path.display().to_string())
}

/// Asks where to save (the system's save dialog, starting in Downloads with `file_name`), then
/// writes atomically. `None` when the user cancelled.
#[tauri::command]
pub async fn export_save(app: AppHandle, file_name: String, contents: String) -> Cmd<Option<String>> {
    use tauri_plugin_dialog::DialogExt;
    let dir = downloads(&app)?;
    let name = safe_file_name(&file_name)?;
    let dialog = app.dialog().file().set_title("Save exported results").set_directory(&dir).set_file_name(&name);
    let chosen = tauri::async_runtime::spawn_blocking(move || dialog.blocking_save_file())
        .await
        .map_err(|e| Error::storage(format!("the save dialog failed: {e}")))?;
    let Some(chosen) = chosen else { return Ok(None) };
    let path = chosen.into_path().map_err(|e| Error::invalid_input(format!("cannot save there: {e}")))?;
    oauth_desk_core::storage::write_atomically(&path, contents.as_bytes())?;
    Ok(Some(path.display().to_string()))
}

/// What the UI keeps per profile across restarts: one JSON object per profile with a field for
/// each part of the UI (`soql`, the query text; `request`, the last request).
#[tauri::command]
pub fn workspace_get(app: AppHandle, profile_id: String) -> Cmd<Value> {
    Ok(workspace(&app)?.get(&profile_id).unwrap_or(Value::Null))
}

/// Sets one part of a profile's workspace, keeping the others (the parts are written by
/// different panels, so the merge happens here, under the store's lock, not in the UI).
#[tauri::command]
pub fn workspace_set(app: AppHandle, profile_id: String, part: String, value: Value) -> Cmd<()> {
    if !WORKSPACE_PARTS.contains(&part.as_str()) {
        return Err(Error::invalid_input(format!("`{part}` is not a part of the workspace (one of {})", WORKSPACE_PARTS.join(", "))));
    }
    let store = workspace(&app)?;
    let mut all = match store.get(&profile_id) {
        Some(Value::Object(o)) => o,
        _ => serde_json::Map::new(),
    };
    all.insert(part, value);
    store.set(profile_id, Value::Object(all));
    Ok(())
}

const WORKSPACE_PARTS: &[&str] = &["soql", "request"];

/// `ui-state.json` through tauri-plugin-store (saved 100 ms after a change). It holds what the
/// user was typing, never a profile or a secret: those live in the profile file and the keyring.
fn workspace(app: &AppHandle) -> Cmd<std::sync::Arc<tauri_plugin_store::Store<tauri::Wry>>> {
    use tauri_plugin_store::StoreExt;
    app.store(crate::UI_STATE).map_err(|e| Error::storage(format!("cannot open the UI state: {e}")))
}

#[cfg(test)]
mod tests {
    use oauth_desk_core::{Error, ErrorCode};

    /// The UI switches on these fields; their JSON shape is the contract.
    #[test]
    fn errors_reach_the_ui_as_this_json() {
        let e = Error::new(ErrorCode::ProviderError, "WeChat refused the call with errcode 48001")
            .with_provider("48001", Some("api unauthorized".into()), Some("6581a2b3-4c5d6e7f-0a1b2c3d".into()))
            .with_hint("sign in with snsapi_userinfo to read user info")
            .with_status(200)
            .at("https://api.weixin.qq.com/sns/userinfo?access_token=SECRET");
        let v = serde_json::to_value(tauri::ipc::InvokeError::from(serde_json::to_value(&e).unwrap()).0).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "code": "provider_error",
                "message": "WeChat refused the call with errcode 48001",
                "hint": "sign in with snsapi_userinfo to read user info",
                "provider": {"code": "48001", "message": "api unauthorized", "request_id": "6581a2b3-4c5d6e7f-0a1b2c3d"},
                "status": 200,
                "endpoint": "https://api.weixin.qq.com/sns/userinfo"
            })
        );
    }

    /// What a command's `Err` becomes on its way to the window.
    #[test]
    fn a_command_error_is_serialised_whole() {
        let invoke_error: tauri::ipc::InvokeError = Error::new(ErrorCode::StateMismatch, "x").with_hint("start again").into();
        assert_eq!(invoke_error.0["code"], "state_mismatch");
        assert_eq!(invoke_error.0["hint"], "start again");
    }
}
