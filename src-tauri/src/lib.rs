//! OAuth Desk's desktop app: a thin Tauri 2 shell over `oauth-desk-core`. Commands convert,
//! call the core and return its errors as data; the login window intercepts the redirect URI;
//! profiles persist through `tauri-plugin-store`, secrets in the OS keyring.

mod commands;
mod login;
mod sandbox;
mod state;
mod store;
pub mod types;

use oauth_desk_core::{Desk, HttpConfig, ReqwestTransport, SystemClock};
use std::sync::Arc;
use tauri::{Emitter, Manager};
use tauri_plugin_store::StoreExt;

/// The event carrying the core's `DeskEvent`s to the window.
pub const DESK_EVENT: &str = "desk://event";

fn setup(app: &mut tauri::App) -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = app.path().app_data_dir()?;
    std::fs::create_dir_all(&data_dir)?;
    let mut notices = Vec::new();
    let store_path = tauri_plugin_store::resolve_store_path(app.handle(), store::STORE_FILE)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    if let Some(notice) = store::set_aside_if_unreadable(&store_path, now) {
        notices.push(format!("The profile store could not be read: {notice}"));
    }
    // Autosave off: `PluginProfileStore` writes atomically itself.
    let plugin_store = app.store_builder(store::STORE_FILE).disable_auto_save().build()?;
    let secrets = state::open_secrets(&mut notices);
    let info = types::AppInfo {
        version: app.package_info().version.to_string(),
        secret_store: secrets.describe(),
        secrets_persistent: secrets.is_persistent(),
        notices,
        data_dir: data_dir.display().to_string(),
    };
    let desk = Desk::new(
        Box::new(store::PluginProfileStore::new(plugin_store, store_path)),
        secrets,
        Arc::new(ReqwestTransport::new(HttpConfig::default())?),
        Arc::new(SystemClock),
    );
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
    app.manage(state::AppState::new(desk, info, data_dir.join("browser")));
    Ok(())
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("OAUTH_DESK_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
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
            commands::token_get,
            commands::token_refresh,
            commands::token_revoke,
            commands::token_introspect,
            commands::token_forget,
            commands::salesforce_query,
            commands::salesforce_query_cancel,
            commands::salesforce_versions,
            commands::salesforce_identity,
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
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("OAuth Desk could not start: {e}");
        std::process::exit(1);
    }
}
