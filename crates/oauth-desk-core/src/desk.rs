//! [`Desk`]: the profiles, their secrets and sessions, as one API for the CLI and the app.
//! Each shell gives it a [`ProfileStore`] and a [`SecretStore`]; it enforces the rules (names
//! unique, secrets never in the profile store, secrets removed with their profile).

use crate::clock::Clock;
use crate::error::{Error, ErrorCode, Result};
use crate::http::HttpClient;
use crate::profile::{Profile, ProfileSecrets};
use crate::secret::Secret;
use crate::session::{PendingAuthorization, Session};
use crate::storage::{ProfileDocument, ProfileStore, SecretKey, SecretStore};
use crate::token::TokenSet;
use std::sync::Arc;

/// Environment variables that supply secrets for one run, before the keyring is asked.
pub const ENV_CLIENT_SECRET: &str = "OAUTH_DESK_CLIENT_SECRET";
pub const ENV_PASSWORD: &str = "OAUTH_DESK_PASSWORD";
pub const ENV_SECURITY_TOKEN: &str = "OAUTH_DESK_SECURITY_TOKEN";

pub struct Desk {
    profiles: Box<dyn ProfileStore>,
    secrets: Arc<dyn SecretStore>,
    http: HttpClient,
    clock: Arc<dyn Clock>,
}

impl Desk {
    pub fn new(profiles: Box<dyn ProfileStore>, secrets: Arc<dyn SecretStore>, http: HttpClient, clock: Arc<dyn Clock>) -> Self {
        Desk { profiles, secrets, http, clock }
    }

    pub fn secret_store(&self) -> &Arc<dyn SecretStore> {
        &self.secrets
    }
    pub fn profile_location(&self) -> String {
        self.profiles.location()
    }
    pub fn http(&self) -> &HttpClient {
        &self.http
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn list(&self) -> Result<Vec<Profile>> {
        let mut all = self.profiles.load()?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    pub fn find(&self, name: &str) -> Result<Profile> {
        let all = self.profiles.load()?;
        if let Some(p) = all.iter().find(|p| p.name == name) {
            return Ok(p.clone());
        }
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        let hint = if names.is_empty() {
            "there are no profiles yet: create one with `oauth-desk profile add`".to_string()
        } else {
            format!("profiles here: {}", names.join(", "))
        };
        Err(Error::new(ErrorCode::ProfileNotFound, format!("no profile named `{name}` in {}", self.profiles.location())).with_hint(hint))
    }

    /// Adds or replaces (by id) a profile, after validating it. Names stay unique.
    pub fn save(&self, profile: &Profile) -> Result<()> {
        profile.validate()?;
        let mut all = self.profiles.load()?;
        if all.iter().any(|p| p.name == profile.name && p.id != profile.id) {
            return Err(Error::invalid_input(format!("a profile named `{}` already exists", profile.name))
                .with_hint("choose another name, or edit the existing profile"));
        }
        match all.iter_mut().find(|p| p.id == profile.id) {
            Some(slot) => *slot = profile.clone(),
            None => all.push(profile.clone()),
        }
        self.profiles.save(&all)
    }

    /// Removes a profile and every secret it had.
    pub fn remove(&self, name: &str) -> Result<Profile> {
        let profile = self.find(name)?;
        for key in SecretKey::ALL {
            self.secrets.delete(&profile.id, key)?;
        }
        let all: Vec<Profile> = self.profiles.load()?.into_iter().filter(|p| p.id != profile.id).collect();
        self.profiles.save(&all)?;
        Ok(profile)
    }

    /// A copy under a new name and id, without secrets or tokens.
    pub fn duplicate(&self, name: &str, new_name: &str) -> Result<Profile> {
        let mut copy = self.find(name)?;
        copy.id = crate::profile::new_profile_id();
        copy.name = new_name.to_string();
        self.save(&copy)?;
        Ok(copy)
    }

    pub fn set_secret(&self, profile: &Profile, key: SecretKey, value: Option<&Secret>) -> Result<()> {
        match value {
            Some(v) if !v.is_empty() => self.secrets.set(&profile.id, key, v),
            _ => self.secrets.delete(&profile.id, key),
        }
    }

    pub fn has_secret(&self, profile: &Profile, key: SecretKey) -> Result<bool> {
        Ok(self.secrets.get(&profile.id, key)?.is_some())
    }

    /// The profile's secrets: environment variables first, then the secret store.
    pub fn profile_secrets(&self, profile: &Profile) -> Result<ProfileSecrets> {
        let pick = |env: &str, key: SecretKey| -> Result<Option<Secret>> {
            match std::env::var(env) {
                Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
                _ => self.secrets.get(&profile.id, key),
            }
        };
        Ok(ProfileSecrets {
            client_secret: pick(ENV_CLIENT_SECRET, SecretKey::ClientSecret)?,
            password: pick(ENV_PASSWORD, SecretKey::Password)?,
            security_token: pick(ENV_SECURITY_TOKEN, SecretKey::SecurityToken)?,
        })
    }

    pub fn stored_token(&self, profile: &Profile) -> Result<Option<TokenSet>> {
        let Some(raw) = self.secrets.get(&profile.id, SecretKey::Token)? else {
            return Ok(None);
        };
        match serde_json::from_str(raw.expose()) {
            Ok(t) => Ok(Some(t)),
            Err(_) => {
                tracing::warn!(profile = %profile.name, "the stored token cannot be read; ignoring it");
                Ok(None)
            }
        }
    }

    /// A session for the profile, with its stored token, saving every new token back.
    /// `overrides` fills secrets given on the command line for this run.
    pub fn session(&self, profile: &Profile, overrides: ProfileSecrets) -> Result<Session> {
        let stored = self.profile_secrets(profile)?;
        let secrets = ProfileSecrets {
            client_secret: overrides.client_secret.or(stored.client_secret),
            password: overrides.password.or(stored.password),
            security_token: overrides.security_token.or(stored.security_token),
        };
        Ok(Session::new(profile.clone(), secrets, self.http.clone(), self.clock.clone())
            .with_token(self.stored_token(profile)?)
            .persist_to(self.secrets.clone()))
    }

    pub fn save_pending(&self, profile: &Profile, pending: &PendingAuthorization) -> Result<()> {
        let json = serde_json::to_string(pending).map_err(|e| Error::storage(e.to_string()))?;
        self.secrets.set(&profile.id, SecretKey::PendingAuthorization, &Secret::new(json))
    }

    /// The pending sign-in, if one was started less than 15 minutes ago.
    pub fn pending(&self, profile: &Profile) -> Result<Option<PendingAuthorization>> {
        let Some(raw) = self.secrets.get(&profile.id, SecretKey::PendingAuthorization)? else {
            return Ok(None);
        };
        let pending: Option<PendingAuthorization> = serde_json::from_str(raw.expose()).ok();
        Ok(pending.filter(|p| self.clock.now_millis() - p.created_at < 15 * 60 * 1000))
    }

    pub fn clear_pending(&self, profile: &Profile) -> Result<()> {
        self.secrets.delete(&profile.id, SecretKey::PendingAuthorization)
    }

    /// Profiles as a document with no secrets and no ids, for sharing.
    pub fn export(&self, names: &[String]) -> Result<ProfileDocument> {
        let all = self.list()?;
        let chosen: Vec<Profile> = if names.is_empty() { all } else { names.iter().map(|n| self.find(n)).collect::<Result<_>>()? };
        Ok(ProfileDocument::new(chosen.into_iter().map(|p| Profile { id: String::new(), ..p }).collect()))
    }

    /// Imports profiles under new ids. An existing name is an error unless `replace`.
    pub fn import(&self, doc: ProfileDocument, replace: bool) -> Result<Vec<String>> {
        let mut all = self.profiles.load()?;
        let mut names = Vec::new();
        for mut p in doc.profiles {
            p.validate()?;
            match all.iter().position(|q| q.name == p.name) {
                Some(i) if replace => {
                    p.id = all[i].id.clone();
                    all[i] = p.clone();
                }
                Some(_) => {
                    return Err(Error::invalid_input(format!("a profile named `{}` already exists; nothing was imported", p.name))
                        .with_hint("remove or rename it first, or import with --replace"))
                }
                None => {
                    p.id = crate::profile::new_profile_id();
                    all.push(p.clone());
                }
            }
            names.push(p.name);
        }
        self.profiles.save(&all)?;
        Ok(names)
    }
}
