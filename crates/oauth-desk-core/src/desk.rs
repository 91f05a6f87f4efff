//! [`Desk`]: the profiles, their secrets, and one shared [`Session`] per profile, as one API for
//! the CLI and the app. Each shell gives it a [`ProfileStore`], a [`SecretStore`] and a
//! [`Transport`]; it enforces the rules (names unique, secrets never in the profile store,
//! secrets removed with their profile) and tells subscribers when a token changes or an
//! exchange is recorded.

use crate::clock::Clock;
use crate::error::{Action, Error, ErrorCode, Result};
use crate::http_client::Http;
use crate::profile::{Profile, ProfileSecrets};
use crate::providers;
use crate::secret::Secret;
use crate::session::{PendingAuthorization, Session, TokenObserver};
use crate::storage::{ProfileDocument, ProfileStore, RenewalLocks, SecretKey, SecretStore};
use crate::token::TokenSet;
use crate::transport::{HttpConfig, ReqwestTransport, Transport};
use crate::wire::{Exchange, WireLog, WireObserver};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Where a profile's token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// Not expired (or no expiry known).
    Valid,
    /// Expired, and the next call renews it (refresh token, stored password, secret or key).
    ExpiredRenewable,
    /// Expired, and only a new sign-in helps.
    Expired,
    SignedOut,
}

/// A profile at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileStatus {
    pub name: String,
    pub kind: crate::profile::ProviderKind,
    pub state: TokenState,
    /// A call made now would have a token: valid, or renewed without the user.
    pub usable: bool,
    pub expires_at: Option<crate::clock::Millis>,
    pub expires_in_seconds: Option<i64>,
    /// How the expiry is known; `session_estimate` for Salesforce (it sends none).
    pub expiry_source: Option<crate::token::ExpirySource>,
    /// The grant that renews it without the user, if any.
    pub renews_by: Option<crate::token::Grant>,
}

/// Environment variables that supply secrets for one run, before the keyring is asked.
pub const ENV_CLIENT_SECRET: &str = "OAUTH_DESK_CLIENT_SECRET";
pub const ENV_PASSWORD: &str = "OAUTH_DESK_PASSWORD";
pub const ENV_SECURITY_TOKEN: &str = "OAUTH_DESK_SECURITY_TOKEN";
/// A PEM private key for the JWT bearer grant (CI keeps it in its secret store, not a keyring).
pub const ENV_PRIVATE_KEY: &str = "OAUTH_DESK_PRIVATE_KEY";

/// What subscribers hear about.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskEvent {
    /// A profile's token changed: a grant, a renewal (also an automatic one), a revocation.
    TokenChanged { profile_id: String },
    /// An exchange was recorded in a profile's wire log.
    Exchange {
        profile_id: String,
        #[cfg_attr(feature = "ts", ts(type = "number"))]
        id: u64,
    },
}

/// Fans session notifications out to subscribers and to the shell's own wire observer.
struct Hub {
    events: broadcast::Sender<DeskEvent>,
    wire: Option<Arc<dyn WireObserver>>,
}

impl TokenObserver for Hub {
    fn token_changed(&self, profile_id: &str) {
        let _ = self.events.send(DeskEvent::TokenChanged { profile_id: profile_id.to_string() });
    }
}

impl WireObserver for Hub {
    fn recorded(&self, log: &WireLog, exchange: &Exchange) {
        let _ = self.events.send(DeskEvent::Exchange { profile_id: log.profile_id().to_string(), id: exchange.id });
        if let Some(w) = &self.wire {
            w.recorded(log, exchange);
        }
    }
}

pub struct Desk {
    profiles: Box<dyn ProfileStore>,
    secrets: Arc<dyn SecretStore>,
    http: Http,
    /// Set when the transport is reqwest: profiles with their own CA get a client of their own.
    http_config: Option<HttpConfig>,
    with_ca: Mutex<HashMap<String, Http>>,
    clock: Arc<dyn Clock>,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    hub: Arc<Hub>,
    recording: bool,
    locks: Option<Arc<dyn RenewalLocks>>,
}

impl Desk {
    pub fn new(
        profiles: Box<dyn ProfileStore>,
        secrets: Arc<dyn SecretStore>,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (events, _) = broadcast::channel(256);
        Desk {
            profiles,
            secrets,
            http: Http::new(transport),
            http_config: None,
            with_ca: Mutex::new(HashMap::new()),
            clock,
            sessions: Mutex::new(HashMap::new()),
            hub: Arc::new(Hub { events, wire: None }),
            recording: true,
            locks: None,
        }
    }

    /// The real network, with this configuration; a profile that names its own CA certificate
    /// gets a client that trusts it too.
    pub fn reqwest(
        profiles: Box<dyn ProfileStore>,
        secrets: Arc<dyn SecretStore>,
        config: HttpConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let transport = Arc::new(ReqwestTransport::new(config.clone())?);
        Ok(Desk { http_config: Some(config), ..Desk::new(profiles, secrets, transport, clock) })
    }

    /// The profile's way to the network: the shared client, or one trusting its CA.
    fn http_for(&self, profile: &Profile) -> Result<Http> {
        let (Some(pem), Some(config)) = (profile.ca_certificate.as_ref().filter(|p| !p.trim().is_empty()), &self.http_config) else {
            return Ok(self.http.clone());
        };
        let mut cache = self.with_ca.lock().map_err(|_| Error::storage("transport table poisoned"))?;
        if let Some(h) = cache.get(pem) {
            return Ok(h.clone());
        }
        let transport = ReqwestTransport::new(HttpConfig { extra_ca_pem: Some(pem.clone()), ..config.clone() })?;
        let http = Http::new(Arc::new(transport));
        cache.insert(pem.clone(), http.clone());
        Ok(http)
    }

    /// Renewals hold these per-profile locks, shared with every other process using the same
    /// data directory, so a token several processes share is renewed once.
    pub fn renewal_locks(mut self, locks: Arc<dyn RenewalLocks>) -> Self {
        self.locks = Some(locks);
        self
    }

    /// Whether sessions record their exchanges (on by default; the CLI turns it on only for
    /// `--trace` and `--har`, where something reads the log).
    pub fn recording(mut self, on: bool) -> Self {
        self.recording = on;
        self
    }

    /// Told about every exchange as it is recorded (the CLI's `--trace`).
    pub fn with_wire_observer(mut self, observer: Arc<dyn WireObserver>) -> Self {
        self.hub = Arc::new(Hub { events: self.hub.events.clone(), wire: Some(observer) });
        self
    }

    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.hub.events.subscribe()
    }

    pub fn secret_store(&self) -> &Arc<dyn SecretStore> {
        &self.secrets
    }
    pub fn profile_location(&self) -> String {
        self.profiles.location()
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
        let (hint, action) = if names.is_empty() {
            ("there are no profiles yet: create one first".to_string(), Some(Action::CreateProfile))
        } else {
            (format!("profiles here: {}", names.join(", ")), None)
        };
        let mut e = Error::new(
            ErrorCode::ProfileNotFound,
            format!("no profile named `{}` in {}", crate::error::excerpt(name, 80), self.profiles.location()),
        )
        .with_hint(hint);
        if let Some(a) = action {
            e = e.with_action(a);
        }
        Err(e)
    }

    /// Adds or replaces (by id) a profile, after validating it. Names stay unique. A session
    /// already open for it takes the change without losing its token.
    pub fn save(&self, profile: &Profile) -> Result<()> {
        profile.validate()?;
        self.profiles.update(&mut |all| {
            if all.iter().any(|p| p.name == profile.name && p.id != profile.id) {
                return Err(Error::invalid_input(format!("a profile named `{}` already exists", profile.name))
                    .with_hint("choose another name, or edit the existing profile"));
            }
            match all.iter_mut().find(|p| p.id == profile.id) {
                Some(slot) => *slot = profile.clone(),
                None => all.push(profile.clone()),
            }
            Ok(())
        })?;
        if let Some(s) = self.open_session(&profile.id) {
            s.reconfigure(profile.clone(), providers::dialect(profile), self.http_for(profile)?);
        }
        Ok(())
    }

    /// Removes a profile and every secret it had.
    pub fn remove(&self, name: &str) -> Result<Profile> {
        let profile = self.find(name)?;
        for key in SecretKey::ALL {
            self.secrets.delete(&profile.id, key)?;
        }
        self.profiles.update(&mut |all| {
            all.retain(|p| p.id != profile.id);
            Ok(())
        })?;
        if let Ok(mut s) = self.sessions.lock() {
            s.remove(&profile.id);
        }
        Ok(profile)
    }

    /// A copy under a new name and id, with the original's client secret, password and security
    /// token (not its token: the copy signs in on its own). Returns the copy and which secrets
    /// were copied.
    pub fn duplicate(&self, name: &str, new_name: &str) -> Result<(Profile, Vec<SecretKey>)> {
        let original = self.find(name)?;
        let mut copy = original.clone();
        copy.id = crate::profile::new_profile_id();
        copy.name = new_name.to_string();
        copy.validate()?;
        let mut copied = Vec::new();
        for key in [SecretKey::ClientSecret, SecretKey::Password, SecretKey::SecurityToken, SecretKey::PrivateKey] {
            if let Some(v) = self.secrets.get(&original.id, key)? {
                self.secrets.set(&copy.id, key, &v)?;
                copied.push(key);
            }
        }
        if let Err(e) = self.save(&copy) {
            for key in &copied {
                let _ = self.secrets.delete(&copy.id, *key);
            }
            return Err(e);
        }
        Ok((copy, copied))
    }

    /// Stores (or, with `None` or an empty value, removes) a secret; an open session takes it.
    pub fn set_secret(&self, profile: &Profile, key: SecretKey, value: Option<&Secret>) -> Result<()> {
        match value {
            Some(v) if !v.is_empty() => self.secrets.set(&profile.id, key, v)?,
            _ => self.secrets.delete(&profile.id, key)?,
        }
        if let (Some(s), true) = (self.open_session(&profile.id), key.is_profile_secret()) {
            s.set_secrets(self.profile_secrets(profile)?);
        }
        Ok(())
    }

    /// Keeps a PEM private key for the JWT bearer grant, once it has been read as a signing key
    /// (a certificate, an encrypted key or garbage is refused, saying which).
    pub fn import_private_key(&self, profile: &Profile, pem: &Secret) -> Result<()> {
        crate::assertion::signing_key(pem)?;
        self.set_secret(profile, SecretKey::PrivateKey, Some(pem))
    }

    /// A new RSA key for the JWT bearer grant, kept with the profile; returns the self-signed
    /// certificate (PEM) to upload to the connected app. Replaces a key the profile had.
    pub fn create_private_key(&self, profile: &Profile) -> Result<String> {
        let (key, cert) = crate::assertion::generate_key_and_certificate(&format!("OAuth Desk {}", profile.name))?;
        self.set_secret(profile, SecretKey::PrivateKey, Some(&key))?;
        Ok(cert)
    }

    /// A new Salesforce profile from a Salesforce CLI auth URL (`sf org display --verbose`): the
    /// client secret and the token go to the keyring. The refresh token is redeemed at once; when
    /// that fails, nothing is kept.
    pub async fn import_sfdx_url(&self, name: &str, url: &Secret) -> Result<(Profile, TokenSet)> {
        let auth = crate::sfdx::AuthUrl::parse(url)?;
        let p = providers::salesforce::profile_from_auth_url(name, &auth);
        self.save(&p)?;
        let adopted = async {
            if let Some(s) = &auth.client_secret {
                self.set_secret(&p, SecretKey::ClientSecret, Some(s))?;
            }
            self.session(&p)?.adopt_refresh_token(auth.refresh_token.clone()).await
        }
        .await;
        match adopted {
            Ok(t) => Ok((p, t)),
            Err(e) => {
                let _ = self.remove(&p.name);
                Err(e)
            }
        }
    }

    /// The profile's Salesforce CLI auth URL, for `sf org login sfdx-url`. A credential: the
    /// caller says so before showing it.
    pub fn sfdx_url(&self, profile: &Profile) -> Result<Secret> {
        providers::salesforce::config_of(profile)?;
        let token = self.stored_token(profile)?.ok_or_else(|| {
            Error::new(crate::error::ErrorCode::NotSignedIn, format!("profile `{}` has no token", profile.name))
                .with_hint("sign in first (through the login window or the browser: they give a refresh token)")
                .with_action(crate::error::Action::SignIn)
        })?;
        let refresh_token = token.refresh_token.clone().ok_or_else(|| {
            Error::new(crate::error::ErrorCode::NotSignedIn, format!("the token of `{}` has no refresh token", profile.name))
                .with_hint("an auth URL needs one: sign in through the login window or the browser with the refresh_token scope")
                .with_action(crate::error::Action::SignIn)
        })?;
        let instance_url = token.instance_url.clone().ok_or_else(|| Error::unexpected("the token names no instance_url"))?;
        let auth = crate::sfdx::AuthUrl {
            client_id: profile.client_id.clone(),
            client_secret: self.profile_secrets(profile)?.client_secret,
            refresh_token,
            instance_url: instance_url.trim_end_matches('/').to_string(),
        };
        Ok(auth.render())
    }

    /// One profile at a glance: signed in or not, until when, and whether an expired token can
    /// be renewed without the user (`oauth-desk status`).
    pub fn status(&self, profile: &Profile) -> Result<ProfileStatus> {
        let now = self.clock.now_millis();
        let token = self.stored_token(profile)?;
        let Some(t) = token else {
            return Ok(ProfileStatus {
                name: profile.name.clone(),
                kind: profile.kind(),
                state: TokenState::SignedOut,
                usable: false,
                expires_at: None,
                expires_in_seconds: None,
                expiry_source: None,
                renews_by: None,
            });
        };
        let has = |k| self.has_secret(profile, k);
        let renews_by = match t.grant {
            _ if t.refresh_token.is_some() => Some(crate::token::Grant::RefreshToken),
            g @ crate::token::Grant::Password if has(SecretKey::Password)? => Some(g),
            g @ crate::token::Grant::ClientCredentials if has(SecretKey::ClientSecret)? => Some(g),
            g @ crate::token::Grant::JwtBearer if has(SecretKey::PrivateKey)? => Some(g),
            _ => None,
        };
        let expired = t.is_expired(now, 0);
        let state = match (expired, renews_by.is_some()) {
            (false, _) => TokenState::Valid,
            (true, true) => TokenState::ExpiredRenewable,
            (true, false) => TokenState::Expired,
        };
        Ok(ProfileStatus {
            name: profile.name.clone(),
            kind: profile.kind(),
            usable: state != TokenState::Expired,
            state,
            expires_at: t.expires_at,
            expires_in_seconds: t.seconds_left(now),
            expiry_source: Some(t.expiry_source),
            renews_by,
        })
    }

    pub fn has_secret(&self, profile: &Profile, key: SecretKey) -> Result<bool> {
        Ok(self.secrets.get(&profile.id, key)?.is_some())
    }

    /// The profile's secrets: environment variables first, then the secret store.
    pub fn profile_secrets(&self, profile: &Profile) -> Result<ProfileSecrets> {
        read_profile_secrets(self.secrets.as_ref(), &profile.id)
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

    /// The profile's session if one is open (without opening one, which reads the keyring).
    pub fn open_session(&self, profile_id: &str) -> Option<Arc<Session>> {
        self.sessions.lock().ok()?.get(profile_id).cloned()
    }

    /// The profile's one session, shared by every caller, with its stored token; every new
    /// token is saved back to the secret store.
    pub fn session(&self, profile: &Profile) -> Result<Arc<Session>> {
        let mut sessions = self.sessions.lock().map_err(|_| Error::storage("session table poisoned"))?;
        if let Some(s) = sessions.get(&profile.id) {
            if s.profile() != *profile {
                s.reconfigure(profile.clone(), providers::dialect(profile), self.http_for(profile)?);
            }
            return Ok(s.clone());
        }
        let log = Arc::new(WireLog::new(profile.id.clone(), self.clock.clone(), Some(self.hub.clone() as Arc<dyn WireObserver>)));
        log.set_enabled(self.recording);
        // The client secret, password and keys are read when a grant needs them, not before:
        // a call with a valid token reads the token alone.
        let (store, profile_id) = (self.secrets.clone(), profile.id.clone());
        let session = Session::new(
            profile.clone(),
            providers::dialect(profile),
            ProfileSecrets::default(),
            self.http_for(profile)?,
            log,
            self.clock.clone(),
        )
        .with_secrets_from(move || read_profile_secrets(store.as_ref(), &profile_id))
        .with_token(self.stored_token(profile)?)
        .persist_to(self.secrets.clone())
        .observed_by(self.hub.clone());
        let session = match &self.locks {
            Some(l) => session.with_renewal_locks(l.clone()),
            None => session,
        };
        let session = Arc::new(session);
        sessions.insert(profile.id.clone(), session.clone());
        Ok(session)
    }

    /// The session of the profile named `name`.
    pub fn session_named(&self, name: &str) -> Result<Arc<Session>> {
        self.session(&self.find(name)?)
    }

    /// The sessions open now (their wire logs hold this run's exchanges).
    pub fn sessions(&self) -> Vec<Arc<Session>> {
        self.sessions.lock().map(|s| s.values().cloned().collect()).unwrap_or_default()
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
        Ok(pending.filter(|p| self.clock.now_millis().saturating_sub(p.created_at) < 15 * 60 * 1000))
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
        for p in &doc.profiles {
            p.validate()?;
        }
        let mut names = Vec::new();
        self.profiles.update(&mut |all| {
            names.clear();
            for p in &doc.profiles {
                let mut p = p.clone();
                match all.iter().position(|q| q.name == p.name) {
                    Some(i) if replace => {
                        p.id = all[i].id.clone();
                        all[i] = p.clone();
                    }
                    Some(_) => {
                        return Err(Error::invalid_input(format!("a profile named `{}` already exists; nothing was imported", p.name))
                            .with_hint("remove or rename it first, or import replacing profiles of the same name"))
                    }
                    None => {
                        p.id = crate::profile::new_profile_id();
                        all.push(p.clone());
                    }
                }
                names.push(p.name);
            }
            Ok(())
        })?;
        Ok(names)
    }
}

/// A profile's secrets: environment variables first, then the secret store.
fn read_profile_secrets(store: &dyn SecretStore, profile_id: &str) -> Result<ProfileSecrets> {
    let pick = |env: &str, key: SecretKey| -> Result<Option<Secret>> {
        match std::env::var(env) {
            Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => store.get(profile_id, key),
        }
    };
    Ok(ProfileSecrets {
        client_secret: pick(ENV_CLIENT_SECRET, SecretKey::ClientSecret)?,
        password: pick(ENV_PASSWORD, SecretKey::Password)?,
        security_token: pick(ENV_SECURITY_TOKEN, SecretKey::SecurityToken)?,
        private_key: pick(ENV_PRIVATE_KEY, SecretKey::PrivateKey)?,
        client_assertion: None,
    })
}
