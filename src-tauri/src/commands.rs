//! One thin command per grant and API call: take state, convert the input, call the core, map
//! the error. Errors reach the UI as the core's `Error` JSON (`code`, `message`, `hint`,
//! `provider`, `status`, `endpoint`).

use crate::state::AppState;
use crate::types::{AppInfo, ProfileEntry, ProfileInput, QueryDone, QueryEvent, SandboxInfo, SignInStarted, TokenDetails};
use futures::future::{AbortHandle, Abortable};
use futures::StreamExt;
use oauth_desk_core::generic::ApiRequest;
use oauth_desk_core::generic::ApiResponse;
use oauth_desk_core::salesforce::{ApiVersion, QueryOptions};
use oauth_desk_core::storage::SecretKey;
use oauth_desk_core::{soql, Error, Profile, Secret, WhichToken};
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
pub fn profile_list(state: State<'_, AppState>) -> Cmd<Vec<ProfileEntry>> {
    state.desk.list()?.iter().map(|p| state.entry(p)).collect()
}

/// Creates (empty `id`) or updates a profile and changes the secrets given.
#[tauri::command]
pub fn profile_save(state: State<'_, AppState>, input: ProfileInput) -> Cmd<ProfileEntry> {
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
    state.invalidate(&profile.id);
    state.entry(&profile)
}

#[tauri::command]
pub fn profile_delete(state: State<'_, AppState>, name: String) -> Cmd<()> {
    let p = state.desk.remove(&name)?;
    state.invalidate(&p.id);
    let _ = std::fs::remove_dir_all(state.browser_dir(&p));
    Ok(())
}

#[tauri::command]
pub fn profile_duplicate(state: State<'_, AppState>, name: String, new_name: String) -> Cmd<ProfileEntry> {
    let p = state.desk.duplicate(&name, &new_name)?;
    state.entry(&p)
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
    let (_, session) = state.session(&name)?;
    let pending = crate::login::take_pending(&state, attempt_id.as_deref())?;
    let token = session.complete_pasted(pending.as_ref(), &input).await?;
    Ok(TokenDetails::new(token, session.history()))
}

/// Signs in through the system browser with a loopback redirect (RFC 8252).
#[tauri::command]
pub async fn signin_browser(state: State<'_, AppState>, name: String) -> Cmd<TokenDetails> {
    let (_, session) = state.session(&name)?;
    let open = |url: &str| {
        if let Err(e) = webbrowser::open(url) {
            tracing::warn!("cannot open the system browser: {e}");
        }
    };
    let token = oauth_desk_core::loopback::sign_in(&session, None, open, Duration::from_secs(300)).await?;
    Ok(TokenDetails::new(token, session.history()))
}

#[tauri::command]
pub fn signin_forget_browser_data(state: State<'_, AppState>, name: String) -> Cmd<()> {
    crate::login::forget_browser_data(&state, &name)
}

#[tauri::command]
pub async fn grant_password(
    state: State<'_, AppState>,
    name: String,
    username: Option<String>,
    password: Option<String>,
    security_token: Option<String>,
) -> Cmd<TokenDetails> {
    let profile = state.desk.find(&name)?;
    let (session, overrides) = if password.is_some() || security_token.is_some() {
        let overrides = oauth_desk_core::ProfileSecrets {
            client_secret: None,
            password: password.map(Secret::new),
            security_token: security_token.map(Secret::new),
        };
        (std::sync::Arc::new(state.desk.session(&profile, overrides)?), true)
    } else {
        (state.session(&name)?.1, false)
    };
    let token = session.grant_password(username.as_deref().filter(|u| !u.is_empty())).await?;
    if overrides {
        state.invalidate(&profile.id);
    }
    Ok(TokenDetails::new(token, session.history()))
}

#[tauri::command]
pub async fn grant_client_credentials(state: State<'_, AppState>, name: String) -> Cmd<TokenDetails> {
    let (_, session) = state.session(&name)?;
    let token = session.grant_client_credentials().await?;
    Ok(TokenDetails::new(token, session.history()))
}

#[tauri::command]
pub async fn token_get(state: State<'_, AppState>, name: String) -> Cmd<Option<TokenDetails>> {
    let (_, session) = state.session(&name)?;
    Ok(session.token().await.map(|t| TokenDetails::new(t, session.history())))
}

#[tauri::command]
pub async fn token_refresh(state: State<'_, AppState>, name: String) -> Cmd<TokenDetails> {
    let (_, session) = state.session(&name)?;
    let token = session.refresh().await?;
    Ok(TokenDetails::new(token, session.history()))
}

#[tauri::command]
pub async fn token_revoke(state: State<'_, AppState>, name: String, which: WhichToken) -> Cmd<()> {
    state.session(&name)?.1.revoke(which).await
}

#[tauri::command]
pub async fn token_introspect(state: State<'_, AppState>, name: String, which: WhichToken) -> Cmd<Value> {
    state.session(&name)?.1.introspect(which).await
}

#[tauri::command]
pub async fn token_forget(state: State<'_, AppState>, name: String) -> Cmd<()> {
    state.session(&name)?.1.forget_token().await
}

/// Runs SOQL; each page goes to `on_page` as it arrives. `query_id` names it for cancelling.
#[tauri::command]
pub async fn salesforce_query(
    state: State<'_, AppState>,
    name: String,
    soql_text: String,
    options: QueryOptions,
    query_id: String,
    on_page: Channel<QueryEvent>,
) -> Cmd<QueryDone> {
    let (_, session) = state.session(&name)?;
    let (abort, registration) = AbortHandle::new_pair();
    state.queries.lock().map_err(|_| Error::storage("query table poisoned"))?.insert(query_id.clone(), abort);
    let started = Instant::now();
    let (rows, total) = (AtomicU64::new(0), AtomicU64::new(0));
    let pages = AtomicU64::new(0);
    let work = async {
        let declared = soql::select_columns(&soql_text);
        let mut stream = session.salesforce_query(&soql_text, options);
        let mut columns: Option<Vec<String>> = None;
        while let Some(page) = stream.next().await {
            let page = page?;
            let cols = columns.get_or_insert_with(|| {
                declared.clone().or_else(|| page.records.first().map(soql::columns_from_record)).unwrap_or_default()
            });
            let labels = soql::header_labels(cols, page.records.first());
            let n = page.records.len() as u64;
            let so_far = rows.fetch_add(n, Ordering::SeqCst) + n;
            total.store(page.total_size, Ordering::SeqCst);
            let index = pages.fetch_add(1, Ordering::SeqCst) as u32;
            let records = page.records.iter().map(soql::strip_attributes).collect();
            on_page
                .send(QueryEvent::Page {
                    index,
                    columns: labels,
                    records,
                    total_size: page.total_size,
                    rows_so_far: so_far,
                    done: page.done,
                })
                .map_err(|e| Error::new(oauth_desk_core::ErrorCode::Cancelled, format!("the window stopped listening: {e}")))?;
        }
        Ok::<(), Error>(())
    };
    let result = Abortable::new(work, registration).await;
    if let Ok(mut q) = state.queries.lock() {
        q.remove(&query_id);
    }
    let done = |cancelled| QueryDone {
        rows: rows.load(Ordering::SeqCst),
        pages: pages.load(Ordering::SeqCst) as u32,
        total_size: total.load(Ordering::SeqCst),
        cancelled,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    match result {
        Ok(Ok(())) => Ok(done(false)),
        Ok(Err(e)) => Err(e),
        Err(_aborted) => Ok(done(true)),
    }
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
    state.session(&name)?.1.salesforce_versions().await
}

#[tauri::command]
pub async fn salesforce_identity(state: State<'_, AppState>, name: String) -> Cmd<Value> {
    state.session(&name)?.1.salesforce_identity().await
}

#[tauri::command]
pub async fn wechat_userinfo(state: State<'_, AppState>, name: String, lang: Option<String>) -> Cmd<Value> {
    state.session(&name)?.1.wechat_userinfo(lang.as_deref()).await
}

#[tauri::command]
pub async fn wechat_check(state: State<'_, AppState>, name: String) -> Cmd<Value> {
    state.session(&name)?.1.wechat_check().await
}

#[tauri::command]
pub async fn api_request(state: State<'_, AppState>, name: String, request: ApiRequest) -> Cmd<ApiResponse> {
    state.session(&name)?.1.request(&request).await
}

#[tauri::command]
pub async fn userinfo(state: State<'_, AppState>, name: String, lang: Option<String>) -> Cmd<Value> {
    state.session(&name)?.1.userinfo(lang.as_deref()).await
}

#[tauri::command]
pub async fn sandbox_start(state: State<'_, AppState>) -> Cmd<SandboxInfo> {
    crate::sandbox::start(&state).await
}

/// Saves exported results in the Downloads folder (atomically) and returns the file's path.
#[tauri::command]
pub fn export_write(app: AppHandle, file_name: String, contents: String) -> Cmd<String> {
    use tauri::Manager;
    let safe: String = file_name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    if safe.is_empty() || safe.starts_with('.') {
        return Err(Error::invalid_input(format!("`{file_name}` is not a usable file name")));
    }
    let dir =
        app.path().download_dir().or_else(|_| app.path().home_dir()).map_err(|e| Error::storage(format!("no Downloads folder: {e}")))?;
    let path = dir.join(safe);
    oauth_desk_core::storage::write_atomically(&path, contents.as_bytes())?;
    Ok(path.display().to_string())
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
