//! The login window: a second webview at the authorize URL whose navigation handler asks the
//! core whether each URL is the redirect URI. On a match the navigation is cancelled (the
//! redirect URI is never requested, so it may point anywhere), the window closes, and the core
//! checks `state` and redeems the code. The window belongs to no capability: the provider's page
//! can invoke nothing. Each profile's window keeps its own browser data directory.

use crate::state::AppState;
use crate::types::{SignInOutcome, SignInStarted, TokenDetails};
use oauth_desk_core::redirect::RedirectMatcher;
use oauth_desk_core::session::PendingAuthorization;
use oauth_desk_core::{Error, ErrorCode, Result, Session};
use std::sync::Arc;
use tauri::{AppHandle, Emitter, Manager, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tokio::sync::mpsc;
use url::Url;

pub const FINISHED_EVENT: &str = "signin://finished";

/// A sign-in in progress.
pub struct Attempt {
    pub profile: String,
    pub pending: PendingAuthorization,
    pub window: Option<String>,
    events: Option<mpsc::Sender<LoginEvent>>,
}

enum LoginEvent {
    Redirect(Url),
    /// Google and others refuse embedded browsers (`disallowed_useragent`).
    EmbeddedRefused,
    Closed,
    Cancel,
}

fn attempt_id() -> String {
    oauth_desk_core::secret::random_alnum(16)
}

/// Prepares a sign-in and, with `open_window`, opens the login window.
pub async fn start(app: &AppHandle, state: &AppState, name: &str, open_window: bool) -> Result<SignInStarted> {
    let session = state.session(name)?;
    let profile = session.profile();
    let pending = session.authorize(None).await?;
    let id = attempt_id();
    let started = SignInStarted {
        attempt_id: id.clone(),
        authorize_url: pending.authorize_url.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        window_opened: open_window,
    };
    if !open_window {
        lock(state)?.insert(id, Attempt { profile: profile.name.clone(), pending, window: None, events: None });
        return Ok(started);
    }
    let label = format!("login-{id}");
    let matcher = RedirectMatcher::parse(&pending.redirect_uri)?;
    let url: Url = pending.authorize_url.parse().map_err(|e| Error::invalid_input(format!("bad authorize URL ({e})")))?;
    let (tx, rx) = mpsc::channel::<LoginEvent>(8);
    let nav = tx.clone();
    let log = session.log().clone();
    let mut builder = WebviewWindowBuilder::new(app, &label, WebviewUrl::External(url))
        .title(format!("Sign in — {}", profile.name))
        .inner_size(560.0, 760.0)
        .on_navigation(move |url| {
            let redirect = matcher.matches(url);
            // Recorded in the profile's wire log (a short in-memory push, no I/O).
            log.record_navigation(url.as_str(), redirect);
            if redirect {
                // Never block the webview thread: hand the URL over and cancel the navigation.
                let _ = nav.try_send(LoginEvent::Redirect(url.clone()));
                return false;
            }
            if url.as_str().contains("disallowed_useragent") {
                let _ = nav.try_send(LoginEvent::EmbeddedRefused);
            }
            true
        });
    // Each profile's provider cookies stay in its own data directory. Under WebDriver
    // (tauri-driver sets TAURI_WEBVIEW_AUTOMATION), WebKitGTK allows automation in one web
    // context only, the main window's; a window with its own directory would be invisible to
    // the tests, so it shares the main context there.
    if std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() != Ok("true") {
        builder = builder.data_directory(state.browser_dir(&profile));
    }
    if let Some(ua) = profile.user_agent.as_deref().filter(|u| !u.is_empty()) {
        builder = builder.user_agent(ua);
    }
    let window = builder.build().map_err(|e| Error::new(ErrorCode::InvalidInput, format!("cannot open the login window: {e}")))?;
    let closed = tx.clone();
    window.on_window_event(move |e| {
        if let WindowEvent::Destroyed = e {
            let _ = closed.try_send(LoginEvent::Closed);
        }
    });
    lock(state)?.insert(
        id.clone(),
        Attempt { profile: profile.name.clone(), pending: pending.clone(), window: Some(label.clone()), events: Some(tx) },
    );
    tauri::async_runtime::spawn(run(app.clone(), id, profile.name, label, session, pending, rx));
    Ok(started)
}

async fn run(
    app: AppHandle,
    id: String,
    profile: String,
    label: String,
    session: Arc<Session>,
    pending: PendingAuthorization,
    mut rx: mpsc::Receiver<LoginEvent>,
) {
    let mut refused = false;
    let result = loop {
        match rx.recv().await {
            Some(LoginEvent::Redirect(url)) => {
                close(&app, &label);
                break session.complete_redirect(&pending, &url).await;
            }
            Some(LoginEvent::EmbeddedRefused) => refused = true,
            Some(LoginEvent::Closed) | None => {
                let mut e = Error::new(ErrorCode::Cancelled, "the login window was closed before the sign-in finished");
                if refused {
                    e = e.with_hint(
                        "this provider refuses embedded browsers (disallowed_useragent): sign in through the system browser instead",
                    );
                }
                break Err(e);
            }
            Some(LoginEvent::Cancel) => {
                close(&app, &label);
                break Err(Error::new(ErrorCode::Cancelled, "the sign-in was cancelled"));
            }
        }
    };
    if let Some(state) = app.try_state::<AppState>() {
        if let Ok(mut s) = state.sign_ins.lock() {
            s.remove(&id);
        }
    }
    let outcome = match result {
        Ok(token) => SignInOutcome::SignedIn { attempt_id: id, profile, token: Box::new(TokenDetails::new(token, session.history())) },
        Err(error) => SignInOutcome::Failed { attempt_id: id, profile, error, suggest_system_browser: refused },
    };
    if let Err(e) = app.emit(FINISHED_EVENT, outcome) {
        tracing::error!("cannot tell the window how the sign-in ended: {e}");
    }
}

/// Closes a login window from outside its navigation callback, on the main thread.
fn close(app: &AppHandle, label: &str) {
    let (app2, label) = (app.clone(), label.to_string());
    let _ = app.run_on_main_thread(move || {
        if let Some(w) = app2.get_webview_window(&label) {
            let _ = w.destroy();
        }
    });
}

fn lock(state: &AppState) -> Result<std::sync::MutexGuard<'_, std::collections::HashMap<String, Attempt>>> {
    state.sign_ins.lock().map_err(|_| Error::storage("sign-in table poisoned"))
}

pub fn cancel(state: &AppState, attempt_id: &str) -> Result<()> {
    let attempt = lock(state)?.remove(attempt_id);
    if let Some(tx) = attempt.and_then(|a| a.events) {
        let _ = tx.try_send(LoginEvent::Cancel);
    }
    Ok(())
}

/// The pending authorization of an attempt, for the paste flow (it checks `state`).
pub fn take_pending(state: &AppState, attempt_id: Option<&str>) -> Result<Option<PendingAuthorization>> {
    Ok(match attempt_id {
        Some(id) => lock(state)?.remove(id).map(|a| a.pending),
        None => None,
    })
}

/// Deletes a profile's login-window browser data (cookies, storage).
pub fn forget_browser_data(state: &AppState, name: &str) -> Result<()> {
    let profile = state.desk.find(name)?;
    if lock(state)?.values().any(|a| a.profile == profile.name && a.window.is_some()) {
        return Err(Error::invalid_input("close this profile's login window first"));
    }
    let dir = state.browser_dir(&profile);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::storage(format!("cannot delete {}: {e}", dir.display()))),
    }
}
