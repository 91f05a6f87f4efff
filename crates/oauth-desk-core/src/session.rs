//! A [`Session`] is one profile at work: its secrets, its token, and the rules that keep that
//! token usable: grants, refresh, renew-and-retry-once after a rejection. What each provider
//! sends and means is asked of its [`Dialect`]; the session never asks which provider it is.
//!
//! Renewal is single-flight: the token sits behind an async mutex that a renewal holds, so ten
//! calls that find the token expired at once cause exactly one refresh, and ten calls that are
//! all refused by the provider cause one refresh too (only the first finds its rejected token
//! still current).
//!
//! Every exchange goes through the session's [`Http`], which records it in the profile's
//! [`WireLog`]; every secret the session holds is registered there so views mask it.

use crate::clock::{Clock, Millis};
use crate::dialect::Dialect;
use crate::error::{Action, Error, ErrorCode, Result};
use crate::http_client::Http;
use crate::oauth::{Endpoints, GrantInput, WhichToken};
use crate::profile::{Profile, ProfileSecrets};
use crate::redirect::{take_code, PastedAuthorization, RedirectMatcher, RedirectParams};
use crate::secret::Secret;
use crate::storage::{FileLock, RenewalLocks, SecretKey, SecretStore};
use crate::token::{Grant, TokenSet};
use crate::transport::{RawResponse, Request};
use crate::wire::{SecretKind, WireLog};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;
use url::Url;

/// Refresh this long before the recorded expiry.
pub const EXPIRY_SKEW_MS: i64 = 60_000;
/// Token requests kept in a session's history.
const HISTORY: usize = 100;

/// A sign-in in progress: what was sent, so the redirect can be checked and redeemed.
/// It holds the PKCE verifier, so it is kept with the secrets, never in the profile file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub authorize_url: String,
    pub redirect_uri: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce_verifier: Option<Secret>,
    /// The OIDC `nonce` sent, which the ID token must carry back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub created_at: Millis,
}

pub use crate::oauth::DeviceAuthorization;

/// One token request, as the history shows it: never a token or a secret.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRequest {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at: Millis,
    pub grant: Grant,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_ms: i64,
    /// True when the session renewed the token by itself (expiry, or the provider refused it).
    #[serde(default)]
    pub automatic: bool,
    /// `None` when it succeeded.
    pub error: Option<Error>,
}

/// The password grant's credentials for one sign-in; what is not given comes from the profile.
#[derive(Debug, Clone, Default)]
pub struct PasswordCredentials {
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub security_token: Option<Secret>,
}

/// Told when a session's token changes (a grant, a renewal, a revocation, forgetting it).
pub trait TokenObserver: Send + Sync {
    fn token_changed(&self, profile_id: &str);
}

/// A profile's secrets: given, or read from the secret store at the first need (a query with a
/// valid token reads none of them).
#[derive(Clone)]
struct Secrets {
    cell: Arc<std::sync::OnceLock<ProfileSecrets>>,
    load: Option<Arc<dyn Fn() -> Result<ProfileSecrets> + Send + Sync>>,
}

impl Secrets {
    fn given(secrets: ProfileSecrets) -> Self {
        Secrets { cell: Arc::new(std::sync::OnceLock::from(secrets)), load: None }
    }
}

/// What the session works with; replaced whole when the profile or its secrets change.
struct Setup {
    profile: Profile,
    dialect: Arc<dyn Dialect>,
    secrets: Secrets,
    /// Recording into the session's wire log; per profile, because a profile may trust an
    /// extra CA.
    http: Http,
    generation: u64,
}

pub struct Session {
    profile_id: String,
    setup: RwLock<Arc<Setup>>,
    log: Arc<WireLog>,
    clock: Arc<dyn Clock>,
    token: Mutex<Option<TokenSet>>,
    endpoints: Mutex<Option<(u64, Endpoints)>>,
    store: Option<Arc<dyn SecretStore>>,
    locks: Option<Arc<dyn RenewalLocks>>,
    observer: Option<Arc<dyn TokenObserver>>,
    renewals: AtomicU32,
    history: std::sync::Mutex<VecDeque<TokenRequest>>,
    /// Why the provider refuses the current token, when it does and renewing did not help.
    refused: std::sync::Mutex<Option<Error>>,
    /// The issuer's signing keys (JWKS), fetched on the first ID token; again on an unknown `kid`.
    jwks: Mutex<Option<Vec<jsonwebtoken::jwk::Jwk>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("profile_id", &self.profile_id).finish_non_exhaustive()
    }
}

impl Session {
    /// A session over `http` that records into `log`.
    pub fn new(
        profile: Profile,
        dialect: Arc<dyn Dialect>,
        secrets: ProfileSecrets,
        http: Http,
        log: Arc<WireLog>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        register_secrets(&log, &secrets);
        let secrets = Secrets::given(secrets);
        Session {
            profile_id: profile.id.clone(),
            setup: RwLock::new(Arc::new(Setup { profile, dialect, secrets, http: http.recording(log.clone()), generation: 0 })),
            log,
            clock,
            token: Mutex::new(None),
            endpoints: Mutex::new(None),
            store: None,
            locks: None,
            observer: None,
            renewals: AtomicU32::new(0),
            history: std::sync::Mutex::new(VecDeque::new()),
            refused: std::sync::Mutex::new(None),
            jwks: Mutex::new(None),
        }
    }

    /// Starts from a stored token.
    pub fn with_token(self, token: Option<TokenSet>) -> Self {
        if let Some(t) = &token {
            self.log.register_token(t);
        }
        Session { token: Mutex::new(token), ..self }
    }

    /// Every new token is written to this store (the keyring) as soon as it arrives.
    pub fn persist_to(self, store: Arc<dyn SecretStore>) -> Self {
        Session { store: Some(store), ..self }
    }

    /// Renewals take this per-profile lock, shared with every other process on the machine,
    /// and read the stored token again once they hold it (see [`Session::refresh`]).
    pub fn with_renewal_locks(self, locks: Arc<dyn RenewalLocks>) -> Self {
        Session { locks: Some(locks), ..self }
    }

    pub fn observed_by(self, observer: Arc<dyn TokenObserver>) -> Self {
        Session { observer: Some(observer), ..self }
    }

    /// Reads the secrets from `load` when first needed, instead of the ones given to
    /// [`Session::new`]; once per session (a change comes through [`Session::set_secrets`]).
    pub fn with_secrets_from(self, load: impl Fn() -> Result<ProfileSecrets> + Send + Sync + 'static) -> Self {
        self.replace_setup(|s| Setup {
            profile: s.profile.clone(),
            dialect: s.dialect.clone(),
            secrets: Secrets { cell: Arc::new(std::sync::OnceLock::new()), load: Some(Arc::new(load)) },
            http: s.http.clone(),
            generation: 0,
        });
        self
    }

    /// The setup's secrets, read now if they were not yet (and then masked in the wire log).
    fn secrets_of(&self, setup: &Setup) -> Result<ProfileSecrets> {
        if let Some(s) = setup.secrets.cell.get() {
            return Ok(s.clone());
        }
        let loaded = match &setup.secrets.load {
            Some(load) => load()?,
            None => ProfileSecrets::default(),
        };
        register_secrets(&self.log, &loaded);
        Ok(setup.secrets.cell.get_or_init(|| loaded).clone())
    }

    fn setup(&self) -> Arc<Setup> {
        self.setup.read().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    fn replace_setup(&self, f: impl FnOnce(&Setup) -> Setup) {
        let mut guard = self.setup.write().unwrap_or_else(|p| p.into_inner());
        let mut next = f(&guard);
        next.generation = guard.generation + 1;
        if let Some(secrets) = next.secrets.cell.get() {
            register_secrets(&self.log, secrets);
        }
        *guard = Arc::new(next);
    }

    /// Takes a changed profile (same id) without losing the token or a renewal in flight.
    pub fn reconfigure(&self, profile: Profile, dialect: Arc<dyn Dialect>, http: Http) {
        let http = http.recording(self.log.clone());
        self.replace_setup(|s| Setup { profile, dialect, secrets: s.secrets.clone(), http, generation: 0 });
    }

    /// Takes changed secrets (the user stored a client secret, say).
    pub fn set_secrets(&self, secrets: ProfileSecrets) {
        self.replace_setup(|s| Setup {
            profile: s.profile.clone(),
            dialect: s.dialect.clone(),
            secrets: Secrets::given(secrets),
            http: s.http.clone(),
            generation: 0,
        });
    }

    pub fn profile(&self) -> Profile {
        self.setup().profile.clone()
    }
    pub fn profile_id(&self) -> &str {
        &self.profile_id
    }
    pub fn dialect(&self) -> Arc<dyn Dialect> {
        self.setup().dialect.clone()
    }
    pub fn now(&self) -> Millis {
        self.clock.now_millis()
    }
    pub fn log(&self) -> &Arc<WireLog> {
        &self.log
    }
    /// How many times the token was renewed (refreshed or re-granted) by this session.
    pub fn renewals(&self) -> u32 {
        self.renewals.load(Ordering::SeqCst)
    }
    /// The token requests this session made, oldest first (at most the last 100).
    pub fn history(&self) -> Vec<TokenRequest> {
        self.history.lock().map(|h| h.iter().cloned().collect()).unwrap_or_default()
    }

    fn record<T>(&self, grant: Grant, started: Millis, automatic: bool, result: &Result<T>) {
        if let Ok(mut h) = self.history.lock() {
            if h.len() >= HISTORY {
                h.pop_front();
            }
            h.push_back(TokenRequest {
                at: started,
                grant,
                duration_ms: self.now().saturating_sub(started),
                automatic,
                error: result.as_ref().err().cloned(),
            });
        }
    }

    pub async fn token(&self) -> Option<TokenSet> {
        self.token.lock().await.clone()
    }

    /// Why the provider refuses the current token (revoked, its refresh token expired), when it
    /// does and renewing could not help: the token is not usable until the user signs in again.
    pub fn refused(&self) -> Option<Error> {
        self.refused.lock().ok().and_then(|r| r.clone())
    }

    fn set_refused(&self, why: Option<Error>) {
        let changed = match self.refused.lock() {
            Ok(mut r) => {
                let changed = r.is_some() != why.is_some();
                *r = why;
                changed
            }
            Err(_) => false,
        };
        if changed {
            self.notify();
        }
    }

    /// Takes the token another process (the CLI, the app) stored since this session read it.
    /// True when it changed.
    pub async fn reload_from_store(&self) -> Result<bool> {
        if self.store.is_none() {
            return Ok(false);
        }
        let stored = self.stored_token().await?;
        let mut guard = self.token.lock().await;
        if guard.as_ref().map(|t| &t.access_token) == stored.as_ref().map(|t| &t.access_token) {
            return Ok(false);
        }
        if let Some(t) = &stored {
            self.log.register_token(t);
        }
        *guard = stored;
        drop(guard);
        self.set_refused(None);
        self.notify();
        Ok(true)
    }

    /// The endpoints, resolved once per profile version (discovery for an OIDC issuer).
    pub async fn endpoints(&self) -> Result<Endpoints> {
        let setup = self.setup();
        let mut slot = self.endpoints.lock().await;
        if let Some((generation, e)) = slot.as_ref() {
            if *generation == setup.generation {
                return Ok(e.clone());
            }
        }
        // Boxed: keeps the caller's future `Send` (rustc's higher-ranked inference,
        // rust-lang/rust#102211, fails on the dialect's borrowed future otherwise).
        let e = setup.dialect.endpoints(&setup.http).boxed().await?;
        *slot = Some((setup.generation, e.clone()));
        Ok(e)
    }

    /// Sends a request with no token (a discovery document, Salesforce's version list),
    /// recorded in the wire log.
    pub async fn send(&self, request: Request) -> Result<RawResponse> {
        let http = self.setup().http.clone();
        http.send(request).await
    }

    // ---- Authorization code ------------------------------------------------------------------

    /// Builds the authorize URL for the profile's redirect URI (or `redirect_override`, such as a
    /// loopback listener's address).
    pub async fn authorize(&self, redirect_override: Option<&Url>) -> Result<PendingAuthorization> {
        let setup = self.setup();
        let redirect = match redirect_override {
            Some(u) => u.clone(),
            None => setup.profile.redirect_url()?,
        };
        let endpoints = self.endpoints().await?;
        let a = setup.dialect.authorization(&endpoints, &setup.profile.client_id, &redirect)?;
        if let Some(v) = &a.pkce_verifier {
            self.log.register_secret(v, SecretKind::CodeVerifier);
        }
        Ok(PendingAuthorization {
            authorize_url: a.url.to_string(),
            redirect_uri: redirect.to_string(),
            state: a.state,
            pkce_verifier: a.pkce_verifier,
            nonce: a.nonce,
            created_at: self.now(),
        })
    }

    fn code_from(&self, params: &RedirectParams, expected_state: Option<&str>) -> Result<String> {
        match take_code(params, expected_state)? {
            Some(code) => Ok(code),
            None => Err(self.dialect().redirect_without_code()),
        }
    }

    /// Finishes a sign-in from the URL the login window (or a loopback listener) saw.
    pub async fn complete_redirect(&self, pending: &PendingAuthorization, redirect: &Url) -> Result<TokenSet> {
        check_redirect(&pending.redirect_uri, redirect)?;
        let code = self.code_from(&RedirectParams::from_url(redirect), Some(&pending.state))?;
        self.exchange_code(&code, Some(pending)).await
    }

    /// Finishes a sign-in from pasted text: a redirect URL (which must be the redirect URI), its
    /// query, or a bare code. The state is checked against `pending` when there is one.
    pub async fn complete_pasted(&self, pending: Option<&PendingAuthorization>, input: &str) -> Result<TokenSet> {
        let expected = pending.map(|p| p.state.as_str());
        let code = match PastedAuthorization::parse(input)? {
            PastedAuthorization::BareCode(c) => c,
            PastedAuthorization::Query(params) => self.code_from(&params, expected)?,
            PastedAuthorization::Url(url) => {
                let registered = match pending {
                    Some(p) => p.redirect_uri.clone(),
                    None => self.profile().redirect_url()?.to_string(),
                };
                check_redirect(&registered, &url)?;
                self.code_from(&RedirectParams::from_url(&url), expected)?
            }
        };
        self.exchange_code(&code, pending).await
    }

    /// Redeems a code (RFC 6749 §4.1.3; WeChat's GET variant).
    pub async fn exchange_code(&self, code: &str, pending: Option<&PendingAuthorization>) -> Result<TokenSet> {
        let started = self.now();
        self.log.register_secret(&Secret::new(code), SecretKind::AuthorizationCode);
        let result = async {
            let redirect_uri = match pending {
                Some(p) => p.redirect_uri.clone(),
                None => self.profile().redirect_url()?.to_string(),
            };
            let input = GrantInput::AuthorizationCode {
                code,
                redirect_uri: &redirect_uri,
                pkce_verifier: pending.and_then(|p| p.pkce_verifier.as_ref()),
            };
            let obj = self.run_grant(&input).await?;
            self.accept_checked(obj, Grant::AuthorizationCode, pending.and_then(|p| p.nonce.as_deref())).await
        }
        .await;
        self.record(Grant::AuthorizationCode, started, false, &result);
        result
    }

    // ---- Other grants -----------------------------------------------------------------------

    /// RFC 6749 §4.3. Credentials not given come from the profile and its stored secrets.
    pub async fn grant_password(&self, credentials: PasswordCredentials) -> Result<TokenSet> {
        let started = self.now();
        let result = async {
            let obj = self.password_response(&credentials).await?;
            self.accept(obj, Grant::Password).await
        }
        .await;
        self.record(Grant::Password, started, false, &result);
        result
    }

    async fn password_response(&self, c: &PasswordCredentials) -> Result<Map<String, Value>> {
        let setup = self.setup();
        setup.dialect.check_grant(Grant::Password)?;
        let username = c.username.clone().filter(|u| !u.is_empty()).or_else(|| setup.profile.username.clone()).ok_or_else(|| {
            Error::invalid_input("the password grant needs a username")
                .with_hint("set the username on the profile")
                .with_action(Action::EditProfile)
        })?;
        let stored = self.secrets_of(&setup)?;
        let password = c.password.clone().or_else(|| stored.password.clone()).ok_or_else(|| {
            Error::new(ErrorCode::NotSignedIn, "the password grant needs a password")
                .with_hint("give the password (it can be stored with the profile)")
                .with_action(Action::GivePassword)
        })?;
        let security_token = c.security_token.clone().or_else(|| stored.security_token.clone());
        self.log.register_secret(&password, SecretKind::Password);
        if let Some(t) = &security_token {
            self.log.register_secret(t, SecretKind::SecurityToken);
        }
        let input = GrantInput::Password { username: &username, password: &password, security_token: security_token.as_ref() };
        self.run_grant(&input).await
    }

    /// RFC 6749 §4.4.
    pub async fn grant_client_credentials(&self) -> Result<TokenSet> {
        let started = self.now();
        let result = async {
            let obj = self.run_grant(&GrantInput::ClientCredentials).await?;
            self.accept(obj, Grant::ClientCredentials).await
        }
        .await;
        self.record(Grant::ClientCredentials, started, false, &result);
        result
    }

    /// RFC 7523 §2.1: an assertion signed with the profile's private key, `iss` the client id,
    /// `sub` the profile's username, `aud` what the provider checks (the dialect says).
    pub async fn grant_jwt_bearer(&self) -> Result<TokenSet> {
        let started = self.now();
        let result = async {
            let obj = self.jwt_bearer_response().await?;
            self.accept(obj, Grant::JwtBearer).await
        }
        .await;
        self.record(Grant::JwtBearer, started, false, &result);
        result
    }

    async fn jwt_bearer_response(&self) -> Result<Map<String, Value>> {
        let setup = self.setup();
        setup.dialect.check_grant(Grant::JwtBearer)?;
        let subject = setup.profile.username.clone().filter(|u| !u.trim().is_empty()).ok_or_else(|| {
            Error::invalid_input("the JWT bearer grant needs the username to sign in as")
                .with_hint("set the username on the profile")
                .with_action(Action::EditProfile)
        })?;
        let key = self.secrets_of(&setup)?.private_key.filter(|k| !k.is_empty()).ok_or_else(|| {
            Error::new(ErrorCode::NotSignedIn, format!("profile `{}` has no private key for the JWT bearer grant", setup.profile.name))
                .with_hint("create a key and certificate (and upload the certificate to the connected app), or import the PEM key")
                .with_action(Action::EditProfile)
        })?;
        let endpoints = self.endpoints().await?;
        let audience = setup.dialect.jwt_audience(&endpoints)?;
        let claims = crate::assertion::AssertionClaims {
            issuer: &setup.profile.client_id,
            subject: &subject,
            audience: &audience,
            now: self.now() / 1000,
        };
        let assertion = crate::assertion::jwt_bearer(&key, claims)?;
        self.log.register_secret(&assertion, SecretKind::Assertion);
        self.run_grant(&GrantInput::JwtBearer { assertion: &assertion }).await
    }

    /// Takes a refresh token made elsewhere (a Salesforce CLI auth URL) and redeems it at once,
    /// so a token that does not work is known now; the refresh token is kept with the result.
    pub async fn adopt_refresh_token(&self, refresh_token: Secret) -> Result<TokenSet> {
        let started = self.now();
        self.log.register_secret(&refresh_token, SecretKind::RefreshToken);
        let result = async {
            let obj = self.run_grant(&GrantInput::RefreshToken { refresh_token: &refresh_token }).await?;
            let mut t = self.build_token(&obj, Grant::RefreshToken)?;
            if t.refresh_token.is_none() {
                t.refresh_token = Some(refresh_token.clone());
            }
            self.check_id_token(&mut t, None).await;
            *self.token.lock().await = Some(t.clone());
            self.set_refused(None);
            self.persist(&t).await?;
            Ok(t)
        }
        .await;
        self.record(Grant::RefreshToken, started, false, &result);
        result
    }

    /// The profile's secrets, with a fresh client assertion when the client authenticates with
    /// `private_key_jwt` (RFC 7523 §2.2): `iss` = `sub` = the client id, `aud` the issuer when
    /// discovery named one (RFC 7523bis, what oidc-provider requires) or else the token endpoint,
    /// a new `jti`, valid for a minute. Signed with the profile's private key.
    fn with_client_assertion(&self, setup: &Setup, endpoints: &Endpoints) -> Result<ProfileSecrets> {
        let mut secrets = self.secrets_of(setup)?;
        if setup.dialect.client_auth() != crate::profile::ClientAuth::PrivateKeyJwt {
            return Ok(secrets);
        }
        let key = secrets.private_key.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
            Error::new(
                ErrorCode::NotSignedIn,
                format!("profile `{}` authenticates with private_key_jwt but has no private key", setup.profile.name),
            )
            .with_hint("create a key (and register its public half with the provider), or import the PEM key")
            .with_action(Action::EditProfile)
        })?;
        let audience = match &endpoints.issuer {
            Some(issuer) => issuer.clone(),
            None => endpoints.require(&endpoints.token, "token URL")?.to_string(),
        };
        let assertion = crate::assertion::client_assertion(&key, &setup.profile.client_id, &audience, self.now() / 1000)?;
        self.log.register_secret(&assertion, SecretKind::Assertion);
        secrets.client_assertion = Some(assertion);
        Ok(secrets)
    }

    /// RFC 8628 §3.1–3.2: asks for a device code and the user code to show.
    pub async fn start_device(&self) -> Result<DeviceAuthorization> {
        let setup = self.setup();
        setup.dialect.check_grant(Grant::DeviceCode)?;
        let endpoints = self.endpoints().await?;
        let url = endpoints.require(&endpoints.device_authorization, "device authorization URL")?.clone();
        let secrets = self.with_client_assertion(&setup, &endpoints)?;
        let request = crate::oauth::device_authorization_request(
            &url,
            &setup.dialect.client(&setup.profile.client_id, &secrets),
            setup.dialect.grant_scopes(),
        )?;
        let raw = setup.http.send(request).await?;
        let d = crate::oauth::read_device_authorization(&raw, self.now())?;
        self.log.register_secret(&d.device_code, SecretKind::DeviceCode);
        Ok(d)
    }

    /// RFC 8628 §3.4–3.5: polls the token endpoint at the server's interval until the user
    /// approves (the token), denies (`access_denied`) or the code expires (`expired_token`);
    /// `slow_down` adds 5 seconds to the interval, `authorization_pending` waits.
    pub async fn poll_device(&self, d: &DeviceAuthorization) -> Result<TokenSet> {
        let started = self.now();
        let result = async {
            let mut interval = d.interval_seconds.max(1);
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
                if self.now() >= d.expires_at {
                    return Err(Error::new(ErrorCode::InvalidGrant, "the device code expired before the user approved it")
                        .with_hint("start again and enter the new code"));
                }
                match self.run_grant(&GrantInput::DeviceCode { device_code: &d.device_code }).await {
                    Ok(obj) => return self.accept(obj, Grant::DeviceCode).await,
                    Err(e) => match e.provider_code() {
                        Some("authorization_pending") => continue,
                        Some("slow_down") => interval += 5,
                        Some("access_denied") => {
                            return Err(Error::new(ErrorCode::AccessDenied, "the user denied the request on the other device")
                                .with_hint("start again if that was a mistake"))
                        }
                        Some("expired_token") => {
                            return Err(Error::new(ErrorCode::InvalidGrant, "the device code expired before the user approved it")
                                .with_hint("start again and enter the new code"))
                        }
                        _ => return Err(e),
                    },
                }
            }
        }
        .await;
        self.record(Grant::DeviceCode, started, false, &result);
        result
    }

    /// Checks, builds, sends and reads one token request.
    async fn run_grant(&self, input: &GrantInput<'_>) -> Result<Map<String, Value>> {
        let setup = self.setup();
        let grant = input.grant();
        setup.dialect.check_grant(grant)?;
        if setup.dialect.needs_client_secret(grant) && self.secrets_of(&setup)?.client_secret.as_ref().is_none_or(|s| s.is_empty()) {
            let what = setup.dialect.secret_name();
            return Err(Error::new(ErrorCode::NotSignedIn, format!("profile `{}` has no {what}", setup.profile.name))
                .with_hint(format!("the {} grant needs it: store the {what} with the profile", grant.as_str()))
                .with_action(Action::StoreClientSecret));
        }
        let endpoints = self.endpoints().await?;
        let secrets = self.with_client_assertion(&setup, &endpoints)?;
        let request = setup.dialect.token_request(&endpoints, &setup.profile.client_id, &secrets, input)?;
        let raw = setup.http.send(request).await?;
        setup.dialect.read_token_response(&raw, grant)
    }

    fn build_token(&self, obj: &Map<String, Value>, grant: Grant) -> Result<TokenSet> {
        let setup = self.setup();
        let mut t = TokenSet::from_response(obj, self.now(), grant, setup.dialect.session_seconds())?;
        t.signature_valid = setup.dialect.verify_signature(obj, &self.secrets_of(&setup)?);
        if t.signature_valid == Some(false) {
            tracing::warn!(profile = %setup.profile.name, "the token response's signature does not match the client secret");
        }
        self.log.register_token(&t);
        Ok(t)
    }

    /// Installs a token a grant produced.
    async fn accept(&self, obj: Map<String, Value>, grant: Grant) -> Result<TokenSet> {
        self.accept_checked(obj, grant, None).await
    }

    /// Checks the ID token a response carries (the signature against the issuer's JWKS and the
    /// claims, `nonce` when the sign-in sent one) and keeps the outcome with the token. A token
    /// that fails is still kept, marked: the user sees why it is not to be trusted.
    pub async fn check_id_token(&self, t: &mut TokenSet, nonce: Option<&str>) {
        let Some(id_token) = t.id_token.clone() else { return };
        let failed = |reason: String| Some(crate::idtoken::IdTokenCheck::Failed { reason });
        let endpoints = match self.endpoints().await {
            Ok(e) => e,
            Err(e) => {
                t.id_token_check = failed(format!("the issuer's keys could not be found ({})", e.message));
                return;
            }
        };
        let (Some(jwks_url), Some(issuer)) = (endpoints.jwks.clone(), endpoints.issuer.clone()) else {
            t.id_token_check = failed("the provider names no JWKS (jwks_uri) to check it against".into());
            return;
        };
        let expect = crate::idtoken::Expect {
            issuer: &issuer,
            client_id: &self.profile().client_id,
            nonce,
            access_token: Some(t.access_token.expose()),
            now: self.now() / 1000,
        };
        let mut fetched_now = false;
        for _ in 0..2 {
            let cached = self.jwks.lock().await.clone();
            let keys = match cached {
                Some(k) => k,
                None => match self.fetch_jwks(&jwks_url).await {
                    Ok(k) => {
                        fetched_now = true;
                        k
                    }
                    Err(e) => {
                        t.id_token_check = failed(format!("the issuer's keys could not be fetched ({})", e.message));
                        return;
                    }
                },
            };
            match crate::idtoken::verify(id_token.expose(), &keys, &expect) {
                Ok(v) => {
                    t.id_token_check = Some(v);
                    return;
                }
                // A key the cache does not have: the issuer may have rotated its keys.
                Err(crate::idtoken::Failure::UnknownKey(_)) if !fetched_now => *self.jwks.lock().await = None,
                Err(crate::idtoken::Failure::UnknownKey(r) | crate::idtoken::Failure::Invalid(r)) => {
                    t.id_token_check = failed(r);
                    return;
                }
            }
        }
    }

    async fn fetch_jwks(&self, url: &url::Url) -> Result<Vec<jsonwebtoken::jwk::Jwk>> {
        let request = crate::transport::request(http::Method::GET, url, crate::transport::Purpose::Discovery).accept_json().build()?;
        let raw = self.send(request).await?;
        if !raw.is_success() {
            return Err(Error::new(ErrorCode::ProviderError, format!("the JWKS answered HTTP {}", raw.status)).at(&raw.endpoint));
        }
        let keys = crate::idtoken::keys_of(&raw.json()?);
        *self.jwks.lock().await = Some(keys.clone());
        Ok(keys)
    }

    async fn accept_checked(&self, obj: Map<String, Value>, grant: Grant, nonce: Option<&str>) -> Result<TokenSet> {
        let mut t = self.build_token(&obj, grant)?;
        self.check_id_token(&mut t, nonce).await;
        *self.token.lock().await = Some(t.clone());
        self.set_refused(None);
        self.persist(&t).await?;
        Ok(t)
    }

    // ---- Renewal ----------------------------------------------------------------------------

    /// Refreshes now, whatever the expiry says (unless another process renewed the token
    /// since this one read it: then that token is taken).
    pub async fn refresh(&self) -> Result<TokenSet> {
        let mut guard = self.token.lock().await;
        let current = guard.clone().ok_or_else(|| self.not_signed_in())?;
        let renewed = self.renew(current, false).await?;
        *guard = Some(renewed.clone());
        Ok(renewed)
    }

    /// A usable token: the current one, or a renewed one when it is expired or about to be.
    pub async fn valid_token(&self) -> Result<TokenSet> {
        let mut guard = self.token.lock().await;
        let current = guard.clone().ok_or_else(|| self.not_signed_in())?;
        if !current.is_expired(self.now(), EXPIRY_SKEW_MS) {
            return Ok(current);
        }
        let renewed = self.renew(current, true).await?;
        *guard = Some(renewed.clone());
        Ok(renewed)
    }

    /// The provider refused `rejected`: renew it, unless another call already has.
    async fn renew_after_rejection(&self, rejected: &Secret) -> Result<TokenSet> {
        let mut guard = self.token.lock().await;
        let current = guard.clone().ok_or_else(|| self.not_signed_in())?;
        if &current.access_token != rejected {
            return Ok(current);
        }
        let renewed = self.renew(current, true).await?;
        *guard = Some(renewed.clone());
        Ok(renewed)
    }

    /// The token in the secret store, which another process may have renewed.
    async fn stored_token(&self) -> Result<Option<TokenSet>> {
        let Some(store) = self.store.clone() else { return Ok(None) };
        let id = self.profile_id.clone();
        let raw = tokio::task::spawn_blocking(move || store.get(&id, SecretKey::Token))
            .await
            .map_err(|e| Error::storage(format!("keyring task failed: {e}")))??;
        Ok(raw.and_then(|r| serde_json::from_str(r.expose()).ok()))
    }

    async fn renewal_lock(&self) -> Result<Option<FileLock>> {
        let Some(locks) = self.locks.clone() else { return Ok(None) };
        let id = self.profile_id.clone();
        tokio::task::spawn_blocking(move || locks.acquire(&id))
            .await
            .map_err(|e| Error::storage(format!("lock task failed: {e}")))?
            .map(Some)
    }

    /// Gets a new token: the refresh grant when there is a refresh token; otherwise the grant that
    /// made the token, when it can run unattended (client credentials; password with a stored
    /// password).
    ///
    /// Across processes: the renewal holds the profile's lock and first reads the stored token
    /// again, so a token another process renewed meanwhile is used instead of renewing twice
    /// (with rotating refresh tokens, the second refresh would be refused). A refresh refused
    /// all the same reads the store once more before giving up. The new token is saved before
    /// the lock is let go. Boxed so that rustc proves `Send` here (rust-lang/rust#102211).
    fn renew(&self, current: TokenSet, automatic: bool) -> BoxFuture<'_, Result<TokenSet>> {
        async move {
            let _cross_process = self.renewal_lock().await?;
            let current = match self.stored_token().await? {
                // Renewals save before they let go of the lock, so the store holds the latest.
                Some(stored) if stored.access_token != current.access_token => {
                    self.log.register_token(&stored);
                    // Just renewed by another process: used while it lasts (no early-refresh
                    // margin here, or a short-lived token would be renewed by every process).
                    if !stored.is_expired(self.now(), 0) {
                        self.notify();
                        return Ok(stored);
                    }
                    // Expired too, but it may carry a refresh token rotated since.
                    stored
                }
                _ => current,
            };
            let started = self.now();
            let grant = if current.refresh_token.is_some() { Grant::RefreshToken } else { current.grant };
            self.renewals.fetch_add(1, Ordering::SeqCst);
            let mut result = self.renew_inner(current.clone()).await;
            if matches!(&result, Err(e) if e.code == ErrorCode::InvalidGrant) && current.refresh_token.is_some() {
                if let Some(stored) = self.stored_token().await? {
                    if stored.refresh_token.is_some() && stored.refresh_token != current.refresh_token {
                        self.log.register_token(&stored);
                        result = if stored.is_expired(self.now(), 0) { self.renew_inner(stored).await } else { Ok(stored) };
                    }
                }
            }
            if let Ok(t) = &mut result {
                if t.id_token.is_some() && t.id_token_check.is_none() {
                    self.check_id_token(t, None).await;
                }
            }
            self.record(grant, started, automatic, &result);
            match &result {
                Ok(t) => {
                    self.set_refused(None);
                    self.persist(t).await?;
                }
                // The token cannot be renewed: it stays refused until the user signs in again.
                Err(e) if matches!(e.code, ErrorCode::InvalidGrant | ErrorCode::TokenRejected) => self.set_refused(Some(e.clone())),
                Err(_) => {}
            }
            result
        }
        .boxed()
    }

    async fn renew_inner(&self, current: TokenSet) -> Result<TokenSet> {
        if let Some(rt) = &current.refresh_token {
            let obj = self.run_grant(&GrantInput::RefreshToken { refresh_token: rt }).await?;
            let fresh = self.build_token(&obj, Grant::RefreshToken)?;
            return Ok(current.refreshed(fresh));
        }
        let stored = self.secrets_of(&self.setup())?;
        let (has_password, has_key) = (stored.password.is_some(), stored.private_key.is_some());
        match current.grant {
            // A new assertion, signed now: no user action.
            Grant::JwtBearer if has_key => {
                let obj = self.jwt_bearer_response().await?;
                self.build_token(&obj, Grant::JwtBearer)
            }
            Grant::ClientCredentials => {
                let obj = self.run_grant(&GrantInput::ClientCredentials).await?;
                self.build_token(&obj, Grant::ClientCredentials)
            }
            Grant::Password if has_password => {
                let obj = self.password_response(&PasswordCredentials::default()).await?;
                self.build_token(&obj, Grant::Password)
            }
            _ => Err(Error::new(ErrorCode::TokenRejected, "the token expired and there is no refresh token")
                .with_hint("sign in again (ask for the refresh_token / offline_access scope to get refresh tokens)")
                .with_action(Action::SignIn)),
        }
    }

    // ---- Authorized calls -------------------------------------------------------------------

    /// Sends an API request with the token, as the dialect carries it. When the provider's
    /// answer means the token was refused (Salesforce 401 `INVALID_SESSION_ID` or 403
    /// `Bad_OAuth_Token`, WeChat 42001/40001/40014, RFC 6750's 401), renews once and retries
    /// once. Any other answer is returned unread, for the caller to read.
    ///
    /// `build` makes the request from the token (Salesforce URLs start at its instance).
    pub async fn send_authorized<F>(&self, build: F) -> Result<RawResponse>
    where
        F: Fn(&TokenSet) -> Result<Request> + Send + Sync,
    {
        let token = self.valid_token().await?;
        let raw = self.send_with(&token, &build).await?;
        let Some(_) = self.dialect().rejection(&raw) else { return Ok(raw) };
        tracing::debug!(profile = %self.profile_id, "token rejected; renewing once");
        let renewed = self.renew_after_rejection(&token.access_token).await?;
        let raw = self.send_with(&renewed, &build).await?;
        match self.dialect().rejection(&raw) {
            None => Ok(raw),
            Some(e) => {
                let e = e.with_hint("the provider refused a freshly renewed token: sign in again").with_action(Action::SignIn);
                self.set_refused(Some(e.clone()));
                Err(e)
            }
        }
    }

    async fn send_with<F>(&self, token: &TokenSet, build: &F) -> Result<RawResponse>
    where
        F: Fn(&TokenSet) -> Result<Request> + Send + Sync,
    {
        let setup = self.setup();
        let mut request = build(token)?;
        setup.dialect.authorize_call(&mut request, token)?;
        setup.http.send(request).await
    }

    /// User info: OIDC userinfo (Salesforce's on the instance), WeChat's `sns/userinfo`.
    pub async fn userinfo(&self, lang: Option<&str>) -> Result<Value> {
        let endpoints = self.endpoints().await?;
        let dialect = self.dialect();
        let raw = self.send_authorized(|t| dialect.userinfo_request(&endpoints, t, lang)).await?;
        dialect.read_api_response(raw)
    }

    // ---- Revoke, introspect, forget ---------------------------------------------------------

    /// RFC 7009 (Salesforce, generic). Forgets the token locally when the access token, or the
    /// refresh token (which takes its access tokens with it), is revoked.
    pub async fn revoke(&self, which: WhichToken) -> Result<()> {
        let token = self.token().await.ok_or_else(|| self.not_signed_in())?;
        let secret = self.which(&token, which)?;
        let setup = self.setup();
        let endpoints = self.endpoints().await?;
        let secrets = self.with_client_assertion(&setup, &endpoints)?;
        let request = setup.dialect.revocation_request(&endpoints, &setup.profile.client_id, &secrets, &secret, which)?;
        let raw = setup.http.send(request).await?;
        setup.dialect.read_revocation_response(&raw)?;
        self.forget_token().await
    }

    /// RFC 7662 introspection of the current access or refresh token.
    pub async fn introspect(&self, which: WhichToken) -> Result<Value> {
        let token = self.token().await.ok_or_else(|| self.not_signed_in())?;
        let secret = self.which(&token, which)?;
        let setup = self.setup();
        let endpoints = self.endpoints().await?;
        let secrets = self.with_client_assertion(&setup, &endpoints)?;
        let request = setup.dialect.introspection_request(&endpoints, &setup.profile.client_id, &secrets, &secret, which)?;
        let raw = setup.http.send(request).await?;
        setup.dialect.read_introspection_response(&raw)
    }

    fn which(&self, token: &TokenSet, which: WhichToken) -> Result<Secret> {
        match which {
            WhichToken::Access => Ok(token.access_token.clone()),
            WhichToken::Refresh => token.refresh_token.clone().ok_or_else(|| Error::invalid_input("this token set has no refresh token")),
        }
    }

    /// Forgets the token locally (after revoke, or on sign-out).
    pub async fn forget_token(&self) -> Result<()> {
        *self.token.lock().await = None;
        if let Ok(mut r) = self.refused.lock() {
            *r = None;
        }
        if let Some(store) = self.store.clone() {
            let id = self.profile_id.clone();
            tokio::task::spawn_blocking(move || store.delete(&id, SecretKey::Token))
                .await
                .map_err(|e| Error::storage(format!("keyring task failed: {e}")))??;
        }
        self.notify();
        Ok(())
    }

    async fn persist(&self, token: &TokenSet) -> Result<()> {
        let result = match self.store.clone() {
            None => Ok(()),
            Some(store) => {
                let id = self.profile_id.clone();
                let json = serde_json::to_string(token).map_err(|e| Error::storage(format!("cannot encode the token: {e}")))?;
                tokio::task::spawn_blocking(move || store.set(&id, SecretKey::Token, &Secret::new(json)))
                    .await
                    .map_err(|e| Error::storage(format!("keyring task failed: {e}")))?
            }
        };
        self.notify();
        result
    }

    fn notify(&self) {
        if let Some(o) = &self.observer {
            o.token_changed(&self.profile_id);
        }
    }

    fn not_signed_in(&self) -> Error {
        Error::new(ErrorCode::NotSignedIn, format!("profile `{}` has no token", self.setup().profile.name))
            .with_hint("sign in first")
            .with_action(Action::SignIn)
    }
}

fn register_secrets(log: &WireLog, secrets: &ProfileSecrets) {
    for (s, k) in [
        (&secrets.client_secret, SecretKind::ClientSecret),
        (&secrets.password, SecretKind::Password),
        (&secrets.security_token, SecretKind::SecurityToken),
    ] {
        if let Some(s) = s {
            log.register_secret(s, k);
        }
    }
}

/// A URL handed back as the redirect must be the redirect URI: same scheme, host, port, path.
fn check_redirect(registered: &str, candidate: &Url) -> Result<()> {
    let matcher = RedirectMatcher::parse(registered)?;
    if matcher.matches(candidate) {
        return Ok(());
    }
    Err(Error::invalid_input(format!(
        "`{}` is not the redirect URI `{}`",
        crate::error::strip_query(candidate.as_str()),
        crate::error::strip_query(registered)
    ))
    .with_hint(
        "scheme, host, port and path must be those of the redirect URI this sign-in used; paste the address the provider redirected to",
    ))
}
