//! The app's state: the core's `Desk` (profiles through the store plugin, secrets in the
//! keyring, one shared session per profile), running queries and sign-in attempts, the Sandbox.

use crate::types::{AppInfo, ProfileEntry, SecretFlags, TokenDetails};
use futures::future::AbortHandle;
use oauth_desk_core::storage::{KeyringSecretStore, MemorySecretStore, SecretKey, SecretStore};
use oauth_desk_core::{Desk, Profile, Result, Session};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub struct AppState {
    pub desk: Desk,
    pub info: AppInfo,
    /// Each profile's login-window browser data lives under here, one directory per profile id.
    pub browser_data: PathBuf,
    pub queries: Mutex<HashMap<String, AbortHandle>>,
    pub sign_ins: Mutex<HashMap<String, crate::login::Attempt>>,
    pub sandbox: tokio::sync::Mutex<Option<crate::sandbox::Sandbox>>,
}

/// The OS keyring, or (with the notice why) memory for this run. Reaching the keyring is one
/// D-Bus connection (about 1.5 ms); `setup` calls this before the window is built.
pub fn open_secrets() -> (Arc<dyn SecretStore>, Option<String>) {
    // As in the CLI: OAUTH_DESK_SECRETS=memory keeps secrets for this run only.
    let mut notice = None;
    match std::env::var("OAUTH_DESK_SECRETS").as_deref() {
        Err(_) | Ok("keyring") => {}
        Ok("memory") => {
            return (
                Arc::new(MemorySecretStore::default()),
                Some(
                    "OAUTH_DESK_SECRETS=memory: secrets and tokens are kept in memory for this run only; nothing is written to disk."
                        .into(),
                ),
            )
        }
        Ok(other) => {
            notice = Some(format!(
                "OAUTH_DESK_SECRETS={other:?} is neither `keyring` nor `memory`; the OS keyring is used. Unset it or choose one of the two."
            ))
        }
    }
    let service = std::env::var("OAUTH_DESK_KEYRING_SERVICE").unwrap_or_else(|_| "oauth-desk".into());
    let started = std::time::Instant::now();
    let opened = KeyringSecretStore::open(service);
    tracing::debug!(took = ?started.elapsed(), ok = opened.is_ok(), "keyring reached");
    match opened {
        Ok(k) => (Arc::new(k), notice),
        Err(e) => (
            Arc::new(MemorySecretStore::default()),
            Some(format!("{} Secrets and tokens are kept in memory for this run only; nothing is written to disk.", e.message)),
        ),
    }
}

impl AppState {
    pub fn new(desk: Desk, info: AppInfo, browser_data: PathBuf) -> Self {
        AppState { desk, info, browser_data, queries: Mutex::default(), sign_ins: Mutex::default(), sandbox: tokio::sync::Mutex::new(None) }
    }

    /// The profile's one session, kept by the core.
    pub fn session(&self, name: &str) -> Result<Arc<Session>> {
        self.desk.session_named(name)
    }

    /// The profile with its secret flags and token: the session's when one is open (it may
    /// have renewed the token by itself), else the stored one.
    pub async fn entry(&self, profile: &Profile) -> Result<ProfileEntry> {
        let has = |k| self.desk.has_secret(profile, k);
        let token = match self.desk.open_session(&profile.id) {
            Some(s) => {
                // The CLI may have signed in, renewed or signed out meanwhile.
                s.reload_from_store().await?;
                TokenDetails::of(&s).await
            }
            None => self.desk.stored_token(profile)?.map(|t| TokenDetails::new(t, Vec::new())),
        };
        Ok(ProfileEntry {
            secrets: SecretFlags {
                client_secret: has(SecretKey::ClientSecret)?,
                password: has(SecretKey::Password)?,
                security_token: has(SecretKey::SecurityToken)?,
                private_key: has(SecretKey::PrivateKey)?,
            },
            token,
            profile: profile.clone(),
        })
    }

    pub fn browser_dir(&self, profile: &Profile) -> PathBuf {
        self.browser_data.join(&profile.id)
    }
}
