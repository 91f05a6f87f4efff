//! OAuth Desk's desktop app: a thin Tauri 2 shell over `oauth-desk-core`. Commands convert,
//! call the core and return its errors as data; the login window intercepts the redirect URI;
//! profiles live in the data directory the CLI shares, secrets in the OS keyring.

mod commands;
mod login;
mod sandbox;
mod state;
mod store;
pub mod types;

use oauth_desk_core::storage::{FileLocks, JsonFileProfileStore};
use oauth_desk_core::{Clock, Desk, HttpConfig, SystemClock};
use std::sync::Arc;
use tauri::{Emitter, Manager};

/// The store of the UI's own state (query texts, the last request), not of profiles.
pub const UI_STATE: &str = "ui-state.json";

/// The event carrying the core's `DeskEvent`s to the window.
pub const DESK_EVENT: &str = "desk://event";

type Secrets = (Arc<dyn oauth_desk_core::storage::SecretStore>, Option<String>);

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    tracing::debug!("setup: start");
    let app_dir = app.path().app_data_dir()?;
    std::fs::create_dir_all(&app_dir)?;
    // The profiles and keyring entries the CLI uses too.
    let data_dir = oauth_desk_core::storage::default_data_dir();
    let profiles = JsonFileProfileStore::new(&data_dir);
    let mut notices = Vec::new();
    let now = SystemClock.now_millis();
    if let Some(notice) = store::set_aside_if_unreadable(profiles.path(), now / 1000) {
        notices.push(format!("The profile file could not be read: {notice}"));
    }
    // Versions before the shared directory kept the app's profiles in its own store.
    let legacy = app_dir.join("profiles.json");
    match profiles.adopt(&legacy, now) {
        Ok(Some(report)) => notices.push(report.describe(&legacy, &profiles.path().display().to_string())),
        Ok(None) => {}
        Err(e) => notices.push(format!("The app's old profiles were not brought over: {}", e.message)),
    }
    let before_keyring = started.elapsed();
    // The keyring is reached here, after GTK has started and before the window exists (about
    // 1.5 ms), not from a thread racing GTK's and WebKit's start: launches that did that waited
    // about 500 ms before the page loaded more often (bench/app.sh; see the README).
    let (secrets, keyring_notice): Secrets = state::open_secrets();
    notices.extend(keyring_notice);
    tracing::debug!(profiles = ?before_keyring, keyring_wait = ?(started.elapsed() - before_keyring), "setup: profile file and keyring");
    let info = types::AppInfo {
        version: app.package_info().version.to_string(),
        secret_store: secrets.describe(),
        secrets_persistent: secrets.is_persistent(),
        notices,
        data_dir: data_dir.display().to_string(),
    };
    let desk = Desk::reqwest(Box::new(profiles), secrets, HttpConfig::default(), Arc::new(SystemClock))?
        .renewal_locks(Arc::new(FileLocks::new(data_dir.join("locks"))));
    tracing::debug!(at = ?started.elapsed(), "setup: desk built");
    // Token changes (automatic renewals too) and new exchanges reach the window as they happen.
    let mut events = desk.subscribe();
    let handle = app.handle().clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let _ = handle.emit(DESK_EVENT, event);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    // The first screen needs the app's facts and the profile names; the window gets them with its
    // page (an initialization script) instead of asking over IPC after the bundle has loaded.
    // Token states (keyring reads) follow through `profile_list`.
    let boot = serde_json::json!({ "info": &info, "profiles": desk.list().unwrap_or_default() });
    app.manage(state::AppState::new(desk, info, app_dir.join("browser")));
    let main = app.config().app.windows.iter().find(|w| w.label == "main").ok_or("tauri.conf.json has no `main` window")?.clone();
    tracing::debug!(at = ?started.elapsed(), "setup: state managed");
    tauri::WebviewWindowBuilder::from_config(app, &main)?
        .initialization_script(format!("window.__OAUTH_DESK_BOOT__ = {boot};"))
        .on_page_load(|_, page| tracing::debug!(event = ?page.event(), "main window page load"))
        .build()?;
    tracing::debug!(total = ?started.elapsed(), "setup done");
    Ok(())
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OAUTH_DESK_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    tracing::debug!("run: start");
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_dialog::init())
        .setup(setup)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::profile_list,
            commands::profile_save,
            commands::profile_delete,
            commands::profile_duplicate,
            commands::profile_validate,
            commands::signin_start,
            commands::signin_cancel,
            commands::signin_paste,
            commands::signin_browser,
            commands::signin_forget_browser_data,
            commands::grant_password,
            commands::grant_client_credentials,
            commands::grant_jwt_bearer,
            commands::signin_device,
            commands::signin_device_cancel,
            commands::private_key_create,
            commands::private_key_import,
            commands::profile_import_sfdx_url,
            commands::profile_sfdx_url,
            commands::token_get,
            commands::token_refresh,
            commands::token_revoke,
            commands::token_introspect,
            commands::token_forget,
            commands::salesforce_query,
            commands::salesforce_query_cancel,
            commands::salesforce_versions,
            commands::salesforce_identity,
            commands::salesforce_describe_global,
            commands::salesforce_describe,
            commands::salesforce_limits,
            commands::wechat_userinfo,
            commands::wechat_check,
            commands::api_request,
            commands::userinfo,
            commands::wirelog_list,
            commands::wirelog_get,
            commands::wirelog_copy,
            commands::wirelog_export_har,
            commands::wirelog_clear,
            commands::sandbox_start,
            commands::export_write,
            commands::export_save,
            commands::workspace_get,
            commands::workspace_set,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("OAuth Desk could not start: {e}");
        std::process::exit(1);
    }
}
