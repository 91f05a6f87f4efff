//! A [`Session`] is one profile at work: its secrets, its token, and the rules for keeping that
//! token usable. Grants, refresh and the retry-once-after-rejection rule live here; the
//! provider modules add their API calls as further `impl Session` blocks.
//!
//! Refresh is single-flight: the token sits behind an async mutex that a refresh holds, so ten
//! calls that find the token expired at once cause exactly one refresh, and ten calls that are
//! all refused by the provider cause one refresh too (only the first finds its rejected token
//! still current).

use crate::clock::{Clock, Millis};
use crate::error::{Error, ErrorCode, Result};
use crate::http::HttpClient;
use crate::oauth::{Endpoints, RfcClient, TokenHint};
use crate::profile::{ClientAuth, Profile, ProfileSecrets, Provider, ProviderKind};
use crate::redirect::{take_code, PastedAuthorization, RedirectMatcher, RedirectParams};
use crate::secret::Secret;
use crate::storage::{SecretKey, SecretStore};
use crate::token::{Grant, TokenSet};
use crate::{generic, salesforce, wechat};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};
use url::Url;

/// Refresh this long before the recorded expiry.
pub const EXPIRY_SKEW_MS: i64 = 60_000;

/// A sign-in in progress: what was sent, so the redirect can be checked and redeemed.
/// It holds the PKCE verifier, so it is kept with the secrets, never in the profile file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub authorize_url: String,
    pub redirect_uri: String,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkce_verifier: Option<Secret>,
    pub created_at: Millis,
}

/// One token request, as the history shows it: never a token or a secret.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRequest {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub at: Millis,
    pub grant: Grant,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub duration_ms: i64,
    /// `None` when it succeeded.
    pub error: Option<Error>,
}

/// Which token a revoke or introspect is about.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhichToken {
    Access,
    Refresh,
}

pub struct Session {
    profile: Profile,
    secrets: ProfileSecrets,
    pub(crate) http: HttpClient,
    clock: Arc<dyn Clock>,
    token: Mutex<Option<TokenSet>>,
    endpoints: OnceCell<Endpoints>,
    store: Option<Arc<dyn SecretStore>>,
    renewals: AtomicU32,
    history: std::sync::Mutex<Vec<TokenRequest>>,
}

impl Session {
    pub fn new(profile: Profile, secrets: ProfileSecrets, http: HttpClient, clock: Arc<dyn Clock>) -> Self {
        Session {
            profile,
            secrets,
            http,
            clock,
            token: Mutex::new(None),
            endpoints: OnceCell::new(),
            store: None,
            renewals: AtomicU32::new(0),
            history: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Starts from a stored token.
    pub fn with_token(self, token: Option<TokenSet>) -> Self {
        Session { token: Mutex::new(token), ..self }
    }

    /// Every new token is written to this store (the keyring) as soon as it arrives.
    pub fn persist_to(self, store: Arc<dyn SecretStore>) -> Self {
        Session { store: Some(store), ..self }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }
    pub fn now(&self) -> Millis {
        self.clock.now_millis()
    }
    pub fn http(&self) -> &HttpClient {
        &self.http
    }
    /// How many times the token was renewed (refreshed or re-granted) by this session.
    pub fn renewals(&self) -> u32 {
        self.renewals.load(Ordering::SeqCst)
    }
    /// The token requests this session made, oldest first (at most the last 100).
    pub fn history(&self) -> Vec<TokenRequest> {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn record<T>(&self, grant: Grant, started: Millis, result: &Result<T>) {
        if let Ok(mut h) = self.history.lock() {
            if h.len() >= 100 {
                h.remove(0);
            }
            h.push(TokenRequest { at: started, grant, duration_ms: self.now() - started, error: result.as_ref().err().cloned() });
        }
    }

    pub async fn token(&self) -> Option<TokenSet> {
        self.token.lock().await.clone()
    }

    fn client_secret(&self) -> Option<&Secret> {
        self.secrets.client_secret.as_ref()
    }

    fn require_client_secret(&self) -> Result<&Secret> {
        self.client_secret().ok_or_else(|| {
            let what = if self.profile.kind().is_wechat() { "AppSecret" } else { "client secret" };
            Error::new(ErrorCode::NotSignedIn, format!("profile `{}` has no {what}", self.profile.name))
                .with_hint(format!("store it with `oauth-desk profile edit {} --client-secret-stdin`", self.profile.name))
        })
    }

    /// The endpoints, discovered once per session for an OIDC issuer.
    pub async fn endpoints(&self) -> Result<&Endpoints> {
        // Boxed for the same rustc `Send` limitation as `authorized`.
        self.endpoints.get_or_try_init(|| self.load_endpoints().boxed()).await
    }

    async fn load_endpoints(&self) -> Result<Endpoints> {
        match &self.profile.provider {
            Provider::Salesforce(c) => salesforce::endpoints(c),
            Provider::Oauth2(c) => generic::resolve_endpoints(&self.http, c).await,
            Provider::WechatOfficialAccount(_) | Provider::WechatWebsite(_) => Ok(Endpoints::default()),
        }
    }

    pub(crate) async fn rfc_client(&self) -> Result<RfcClient<'_>> {
        let client_auth = match &self.profile.provider {
            // jsforce and the Salesforce CLI send client credentials in the body.
            Provider::Salesforce(_) => ClientAuth::Body,
            Provider::Oauth2(c) => c.client_auth,
            _ => return Err(Error::new(ErrorCode::UnsupportedGrant, "WeChat does not follow RFC 6749 here")),
        };
        Ok(RfcClient {
            http: &self.http,
            kind: self.profile.kind(),
            client_id: &self.profile.client_id,
            client_secret: self.client_secret(),
            client_auth,
            endpoints: self.endpoints().await?,
        })
    }

    fn scopes(&self) -> Vec<String> {
        match &self.profile.provider {
            Provider::Salesforce(c) => c.scopes.clone(),
            Provider::Oauth2(c) => c.scopes.clone(),
            _ => Vec::new(),
        }
    }

    fn session_fallback(&self) -> Option<u64> {
        match &self.profile.provider {
            Provider::Salesforce(c) => Some(c.session_seconds),
            _ => None,
        }
    }

    // ---- Authorization code ------------------------------------------------------------------

    /// Builds the authorize URL for the profile's redirect URI (or `redirect_override`, such as a
    /// loopback listener's address).
    pub async fn authorize(&self, redirect_override: Option<&Url>) -> Result<PendingAuthorization> {
        let redirect = match redirect_override {
            Some(u) => u.clone(),
            None => self.profile.redirect_url()?,
        };
        let (url, state, verifier) = match &self.profile.provider {
            Provider::WechatOfficialAccount(c) => {
                let (url, state) =
                    wechat::authorize_url(&c.endpoints, "connect/oauth2/authorize", &self.profile.client_id, &redirect, c.scope.as_str())?;
                (url, state, None)
            }
            Provider::WechatWebsite(c) => {
                let (url, state) =
                    wechat::authorize_url(&c.endpoints, "connect/qrconnect", &self.profile.client_id, &redirect, "snsapi_login")?;
                (url, state, None)
            }
            Provider::Salesforce(c) => {
                let extra: Vec<(String, String)> = c.authorize_params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let a = self.rfc_client().await?.authorize_url(&redirect, &c.scopes, c.pkce, &extra)?;
                (a.url, a.state, a.pkce_verifier)
            }
            Provider::Oauth2(c) => {
                let mut extra: Vec<(String, String)> = c.authorize_params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                if c.scopes.iter().any(|s| s == "openid") && !c.authorize_params.contains_key("nonce") {
                    extra.push(("nonce".into(), crate::wechat::random_alnum(24)));
                }
                let a = self.rfc_client().await?.authorize_url(&redirect, &c.scopes, c.pkce, &extra)?;
                (a.url, a.state, a.pkce_verifier)
            }
        };
        Ok(PendingAuthorization {
            authorize_url: url.to_string(),
            redirect_uri: redirect.to_string(),
            state,
            pkce_verifier: verifier,
            created_at: self.now(),
        })
    }

    /// Finishes a sign-in from the URL the login window (or a loopback listener) saw.
    pub async fn complete_redirect(&self, pending: &PendingAuthorization, redirect: &Url) -> Result<TokenSet> {
        let matcher = RedirectMatcher::parse(&pending.redirect_uri)?;
        if !matcher.matches(redirect) {
            return Err(Error::invalid_input(format!(
                "`{}` is not the redirect URI `{}`",
                crate::error::strip_query(redirect.as_str()),
                pending.redirect_uri
            )));
        }
        let code = take_code(&RedirectParams::from_url(redirect), Some(&pending.state), self.profile.kind())?;
        self.exchange_code(&code, Some(pending)).await
    }

    /// Finishes a sign-in from pasted text: a redirect URL, its query, or a bare code. A pasted
    /// URL's state is checked against `pending` when there is one; a bare code has none to check.
    pub async fn complete_pasted(&self, pending: Option<&PendingAuthorization>, input: &str) -> Result<TokenSet> {
        let code = match PastedAuthorization::parse(input)? {
            PastedAuthorization::BareCode(c) => c,
            PastedAuthorization::Redirect(params) => take_code(&params, pending.map(|p| p.state.as_str()), self.profile.kind())?,
        };
        self.exchange_code(&code, pending).await
    }

    /// Redeems a code (RFC 6749 §4.1.3; WeChat's GET variant).
    pub async fn exchange_code(&self, code: &str, pending: Option<&PendingAuthorization>) -> Result<TokenSet> {
        let started = self.now();
        let result = self.exchange_code_inner(code, pending).await;
        self.record(Grant::AuthorizationCode, started, &result);
        result
    }

    async fn exchange_code_inner(&self, code: &str, pending: Option<&PendingAuthorization>) -> Result<TokenSet> {
        let redirect = match pending {
            Some(p) => Url::parse(&p.redirect_uri).map_err(|e| Error::invalid_input(format!("bad redirect URI ({e})")))?,
            None => self.profile.redirect_url()?,
        };
        let obj = match &self.profile.provider {
            Provider::WechatOfficialAccount(c) => {
                wechat::exchange_code(&self.http, &c.endpoints, &self.profile.client_id, self.require_client_secret()?, code).await?
            }
            Provider::WechatWebsite(c) => {
                wechat::exchange_code(&self.http, &c.endpoints, &self.profile.client_id, self.require_client_secret()?, code).await?
            }
            _ => {
                let verifier = pending.and_then(|p| p.pkce_verifier.as_ref());
                self.rfc_client().await?.exchange_code(code, verifier, &redirect).await?
            }
        };
        self.accept(obj, Grant::AuthorizationCode).await
    }

    // ---- Other grants -----------------------------------------------------------------------

    /// RFC 6749 §4.3. For Salesforce the security token is appended to the password.
    pub async fn grant_password(&self, username: Option<&str>) -> Result<TokenSet> {
        let started = self.now();
        let result = match self.password_response(username).await {
            Ok(obj) => self.accept(obj, Grant::Password).await,
            Err(e) => Err(e),
        };
        self.record(Grant::Password, started, &result);
        result
    }

    async fn password_response(&self, username: Option<&str>) -> Result<serde_json::Map<String, serde_json::Value>> {
        if self.profile.kind().is_wechat() {
            return Err(Error::new(ErrorCode::UnsupportedGrant, "WeChat has no password grant")
                .with_hint("sign in through the authorize page, or paste the code from the WeChat app"));
        }
        let username = username
            .or(self.profile.username.as_deref())
            .ok_or_else(|| Error::invalid_input("the password grant needs a username").with_hint("set it on the profile (--username)"))?;
        let password = self.secrets.password.as_ref().ok_or_else(|| {
            Error::new(ErrorCode::NotSignedIn, "the password grant needs a password")
                .with_hint("give it on standard input (--password-stdin), in OAUTH_DESK_PASSWORD, or store it with the profile")
        })?;
        let password = match (&self.profile.provider, &self.secrets.security_token) {
            (Provider::Salesforce(_), Some(t)) => Secret::new(format!("{}{}", password.expose(), t.expose())),
            _ => password.clone(),
        };
        self.rfc_client().await?.password(username, &password, &self.scopes()).await
    }

    /// RFC 6749 §4.4. Salesforce allows it only on a My Domain host.
    pub async fn grant_client_credentials(&self) -> Result<TokenSet> {
        let started = self.now();
        let result = match self.client_credentials_response().await {
            Ok(obj) => self.accept(obj, Grant::ClientCredentials).await,
            Err(e) => Err(e),
        };
        self.record(Grant::ClientCredentials, started, &result);
        result
    }

    async fn client_credentials_response(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        match &self.profile.provider {
            Provider::Salesforce(c) if c.is_shared_login_host() => {
                return Err(Error::new(
                    ErrorCode::UnsupportedGrant,
                    format!("Salesforce refuses the client credentials flow on {}", c.login_url()?.host_str().unwrap_or_default()),
                )
                .with_hint("set the login host to the org's My Domain URL, such as https://acme.my.salesforce.com"))
            }
            Provider::WechatOfficialAccount(_) | Provider::WechatWebsite(_) => {
                return Err(Error::new(ErrorCode::UnsupportedGrant, "WeChat user sign-in has no client credentials grant")
                    .with_hint("sign in through the authorize page"))
            }
            _ => {}
        }
        self.require_client_secret()?;
        self.rfc_client().await?.client_credentials(&self.scopes()).await
    }

    /// Refreshes now, whatever the expiry says.
    pub async fn refresh(&self) -> Result<TokenSet> {
        let mut guard = self.token.lock().await;
        let current = guard.clone().ok_or_else(|| self.not_signed_in())?;
        let renewed = self.renew(current).await?;
        *guard = Some(renewed.clone());
        drop(guard);
        self.persist(&renewed).await?;
        Ok(renewed)
    }

    /// A usable token: the current one, or a renewed one when it is expired or about to be.
    pub async fn valid_token(&self) -> Result<TokenSet> {
        let mut guard = self.token.lock().await;
        let current = guard.clone().ok_or_else(|| self.not_signed_in())?;
        if !current.is_expired(self.now(), EXPIRY_SKEW_MS) {
            return Ok(current);
        }
        let renewed = self.renew(current).await?;
        *guard = Some(renewed.clone());
        drop(guard);
        self.persist(&renewed).await?;
        Ok(renewed)
    }

    /// The provider refused `rejected`: renew it, unless another call already has.
    async fn renew_after_rejection(&self, rejected: &Secret) -> Result<TokenSet> {
        let mut guard = self.token.lock().await;
        let current = guard.clone().ok_or_else(|| self.not_signed_in())?;
        if &current.access_token != rejected {
            return Ok(current);
        }
        let renewed = self.renew(current).await?;
        *guard = Some(renewed.clone());
        drop(guard);
        self.persist(&renewed).await?;
        Ok(renewed)
    }

    /// Runs an authorized call; when the provider signals an expired session (Salesforce 401
    /// `INVALID_SESSION_ID`, WeChat 42001/40001/40014, a generic 401) renews once and retries once.
    ///
    /// The call returns a boxed future: it keeps every caller's future `Send` (a generic future
    /// type here trips rustc's higher-ranked `Send` inference, rust-lang/rust#102211).
    pub async fn authorized<'a, T, F>(&'a self, call: F) -> Result<T>
    where
        F: Fn(TokenSet) -> BoxFuture<'a, Result<T>>,
    {
        let token = self.valid_token().await?;
        match call(token.clone()).await {
            Err(e) if e.code == ErrorCode::TokenRejected => {
                tracing::debug!(profile = %self.profile.name, "token rejected; renewing once");
                let renewed = self.renew_after_rejection(&token.access_token).await?;
                call(renewed).await.map_err(|e| {
                    if e.code == ErrorCode::TokenRejected {
                        e.with_hint("the provider refused a freshly renewed token: sign in again")
                    } else {
                        e
                    }
                })
            }
            other => other,
        }
    }

    /// Gets a new token: the refresh grant when there is a refresh token; otherwise the grant that
    /// made the token, when it can run unattended (client credentials; password with a stored password).
    fn renew(&self, current: TokenSet) -> BoxFuture<'_, Result<TokenSet>> {
        // Boxed so that rustc proves `Send` here, with concrete lifetimes (rust-lang/rust#102211).
        async move {
            let started = self.now();
            let grant = if current.refresh_token.is_some() { Grant::RefreshToken } else { current.grant };
            let result = self.renew_inner(current).await;
            self.record(grant, started, &result);
            result
        }
        .boxed()
    }

    async fn renew_inner(&self, current: TokenSet) -> Result<TokenSet> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        if let Some(rt) = &current.refresh_token {
            let obj = match &self.profile.provider {
                Provider::WechatOfficialAccount(c) => wechat::refresh(&self.http, &c.endpoints, &self.profile.client_id, rt).await?,
                Provider::WechatWebsite(c) => wechat::refresh(&self.http, &c.endpoints, &self.profile.client_id, rt).await?,
                _ => self.rfc_client().await?.refresh(rt, &[]).await?,
            };
            let fresh = self.build_token(obj, Grant::RefreshToken)?;
            return Ok(current.refreshed(fresh));
        }
        match current.grant {
            Grant::ClientCredentials => {
                let obj = self.client_credentials_response().await?;
                self.build_token(obj, Grant::ClientCredentials)
            }
            Grant::Password if self.secrets.password.is_some() => {
                let obj = self.password_response(None).await?;
                self.build_token(obj, Grant::Password)
            }
            _ => Err(Error::new(ErrorCode::TokenRejected, "the token expired and there is no refresh token")
                .with_hint("sign in again (add the refresh_token / offline_access scope to get refresh tokens)")),
        }
    }

    fn build_token(&self, obj: serde_json::Map<String, serde_json::Value>, grant: Grant) -> Result<TokenSet> {
        let mut t = TokenSet::from_response(&obj, self.now(), grant, self.session_fallback())?;
        if self.profile.kind() == ProviderKind::Salesforce {
            t.signature_valid = salesforce::verify_signature(&obj, self.client_secret());
            if t.signature_valid == Some(false) {
                tracing::warn!(profile = %self.profile.name, "Salesforce token signature does not match the client secret");
            }
        }
        Ok(t)
    }

    /// Installs a token a grant produced.
    async fn accept(&self, obj: serde_json::Map<String, serde_json::Value>, grant: Grant) -> Result<TokenSet> {
        let t = self.build_token(obj, grant)?;
        *self.token.lock().await = Some(t.clone());
        self.persist(&t).await?;
        Ok(t)
    }

    /// Forgets the token locally (after revoke, or on sign-out).
    pub async fn forget_token(&self) -> Result<()> {
        *self.token.lock().await = None;
        if let Some(store) = self.store.clone() {
            let id = self.profile.id.clone();
            tokio::task::spawn_blocking(move || store.delete(&id, SecretKey::Token))
                .await
                .map_err(|e| Error::storage(format!("keyring task failed: {e}")))??;
        }
        Ok(())
    }

    async fn persist(&self, token: &TokenSet) -> Result<()> {
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        let id = self.profile.id.clone();
        let json = serde_json::to_string(token).map_err(|e| Error::storage(format!("cannot encode the token: {e}")))?;
        tokio::task::spawn_blocking(move || store.set(&id, SecretKey::Token, &Secret::new(json)))
            .await
            .map_err(|e| Error::storage(format!("keyring task failed: {e}")))?
    }

    fn not_signed_in(&self) -> Error {
        Error::new(ErrorCode::NotSignedIn, format!("profile `{}` has no token", self.profile.name))
            .with_hint(format!("sign in first: `oauth-desk login ... {}`", self.profile.name))
    }

    // ---- Revoke and introspect --------------------------------------------------------------

    /// RFC 7009 (Salesforce, generic). Forgets the token locally when the access token, or the
    /// refresh token (which takes its access tokens with it), is revoked.
    pub async fn revoke(&self, which: WhichToken) -> Result<()> {
        let token = self.token().await.ok_or_else(|| self.not_signed_in())?;
        if self.profile.kind().is_wechat() {
            return Err(Error::new(ErrorCode::UnsupportedGrant, "WeChat has no token revocation endpoint")
                .with_hint("the user can revoke the app's access in WeChat; locally, `oauth-desk logout` forgets the token"));
        }
        let (secret, hint) = match which {
            WhichToken::Access => (token.access_token.clone(), TokenHint::AccessToken),
            WhichToken::Refresh => (
                token.refresh_token.clone().ok_or_else(|| Error::invalid_input("this token set has no refresh token to revoke"))?,
                TokenHint::RefreshToken,
            ),
        };
        self.rfc_client().await?.revoke(&secret, hint).await?;
        self.forget_token().await
    }

    /// RFC 7662 introspection of the current access or refresh token.
    pub async fn introspect(&self, which: WhichToken) -> Result<serde_json::Value> {
        let token = self.token().await.ok_or_else(|| self.not_signed_in())?;
        if self.profile.kind().is_wechat() {
            return Err(Error::new(ErrorCode::UnsupportedGrant, "WeChat has no introspection endpoint")
                .with_hint("use the token check (sns/auth) instead"));
        }
        let (secret, hint) = match which {
            WhichToken::Access => (token.access_token.clone(), TokenHint::AccessToken),
            WhichToken::Refresh => (
                token.refresh_token.clone().ok_or_else(|| Error::invalid_input("this token set has no refresh token"))?,
                TokenHint::RefreshToken,
            ),
        };
        self.rfc_client().await?.introspect(&secret, hint).await
    }
}
