//! The app's state: the core's `Desk` (profiles through the store plugin, secrets in the
//! keyring), one `Session` per profile, running queries and sign-in attempts, the Sandbox.

use crate::types::{AppInfo, ProfileEntry, SecretFlags, TokenDetails};
use futures::future::AbortHandle;
use oauth_desk_core::storage::{KeyringSecretStore, MemorySecretStore, SecretKey, SecretStore};
use oauth_desk_core::{Desk, Error, Profile, ProfileSecrets, Result, Session};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub struct AppState {
    pub desk: Desk,
    pub info: AppInfo,
    /// Each profile's login-window browser data lives under here, one directory per profile id.
    pub browser_data: PathBuf,
    sessions: Mutex<HashMap<String, (Profile, Arc<Session>)>>,
    pub queries: Mutex<HashMap<String, AbortHandle>>,
    pub sign_ins: Mutex<HashMap<String, crate::login::Attempt>>,
    pub sandbox: tokio::sync::Mutex<Option<crate::sandbox::Sandbox>>,
}

pub fn open_secrets(notices: &mut Vec<String>) -> Arc<dyn SecretStore> {
    let service = std::env::var("OAUTH_DESK_KEYRING_SERVICE").unwrap_or_else(|_| "oauth-desk".into());
    match KeyringSecretStore::open(service) {
        Ok(k) => Arc::new(k),
        Err(e) => {
            notices.push(format!("{} Secrets and tokens are kept in memory for this run only; nothing is written to disk.", e.message));
            Arc::new(MemorySecretStore::default())
        }
    }
}

impl AppState {
    pub fn new(desk: Desk, info: AppInfo, browser_data: PathBuf) -> Self {
        AppState {
            desk,
            info,
            browser_data,
            sessions: Mutex::default(),
            queries: Mutex::default(),
            sign_ins: Mutex::default(),
            sandbox: tokio::sync::Mutex::new(None),
        }
    }

    /// The profile and its session; a session is kept while its profile is unchanged.
    pub fn session(&self, name: &str) -> Result<(Profile, Arc<Session>)> {
        let profile = self.desk.find(name)?;
        let mut sessions = self.sessions.lock().map_err(|_| Error::storage("session table poisoned"))?;
        if let Some((p, s)) = sessions.get(&profile.id) {
            if *p == profile {
                return Ok((profile, s.clone()));
            }
        }
        let session = Arc::new(self.desk.session(&profile, ProfileSecrets::default())?);
        sessions.insert(profile.id.clone(), (profile.clone(), session.clone()));
        Ok((profile, session))
    }

    /// Forgets the cached session, so the next call reads the profile and its secrets again.
    pub fn invalidate(&self, profile_id: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(profile_id);
        }
    }

    pub fn entry(&self, profile: &Profile) -> Result<ProfileEntry> {
        let has = |k| self.desk.has_secret(profile, k);
        let history = self.sessions.lock().ok().and_then(|s| s.get(&profile.id).map(|(_, s)| s.history())).unwrap_or_default();
        Ok(ProfileEntry {
            secrets: SecretFlags {
                client_secret: has(SecretKey::ClientSecret)?,
                password: has(SecretKey::Password)?,
                security_token: has(SecretKey::SecurityToken)?,
            },
            token: self.desk.stored_token(profile)?.map(|t| TokenDetails::new(t, history)),
            profile: profile.clone(),
        })
    }

    pub fn browser_dir(&self, profile: &Profile) -> PathBuf {
        self.browser_data.join(&profile.id)
    }
}
