//! The provider interface: everything a [`crate::Session`] needs to know about one provider's
//! dialect of OAuth, behind one trait. Each provider is one module under [`crate::providers`]
//! implementing [`Dialect`]; the session keeps the token lifecycle and never asks which
//! provider it talks to.
//!
//! Requests are built as values ([`Request`]) and responses read from the raw bytes, so every
//! rule here is a pure function that tests check without a network.

use crate::error::{Error, ErrorCode, Result};
use crate::http_client::Http;
use crate::oauth::{Authorization, Endpoints, GrantInput, WhichToken};
use crate::profile::{ProfileSecrets, ProviderKind};
use crate::token::{Grant, TokenSet};
use crate::transport::{RawResponse, Request};
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use url::Url;

pub trait Dialect: Send + Sync + std::fmt::Debug {
    fn kind(&self) -> ProviderKind;

    /// What the provider calls the client secret, for messages ("AppSecret" for WeChat).
    fn secret_name(&self) -> &'static str {
        "client secret"
    }

    /// The endpoints: from the profile, fixed paths, or discovery sent through `http` (so it
    /// is recorded in the wire log).
    fn endpoints<'a>(&'a self, http: &'a Http) -> BoxFuture<'a, Result<Endpoints>>;

    /// The authorize URL for `redirect`, with state (and PKCE, nonce where the provider takes them).
    fn authorization(&self, endpoints: &Endpoints, client_id: &str, redirect: &Url) -> Result<Authorization>;

    /// Refuses, before any request, a grant this provider or profile cannot do, saying why.
    fn check_grant(&self, grant: Grant) -> Result<()>;

    /// Whether `grant` needs the client secret (a grant without it says so before sending).
    fn needs_client_secret(&self, grant: Grant) -> bool;

    /// The token request for `input`.
    fn token_request(&self, endpoints: &Endpoints, client_id: &str, secrets: &ProfileSecrets, input: &GrantInput) -> Result<Request>;

    /// The token endpoint's answer as an object with an `access_token`, or the provider's error.
    fn read_token_response(&self, raw: &RawResponse, grant: Grant) -> Result<Map<String, Value>>;

    /// A signature over the token response (Salesforce's HMAC), `None` when there is none to check.
    fn verify_signature(&self, _response: &Map<String, Value>, _secrets: &ProfileSecrets) -> Option<bool> {
        None
    }

    /// The session length to assume when the provider sends no expiry (Salesforce).
    fn session_seconds(&self) -> Option<u64> {
        None
    }

    /// Puts the access token on an API request (a Bearer header; WeChat's query string).
    fn authorize_call(&self, request: &mut Request, token: &TokenSet) -> Result<()>;

    /// `Some` when this answer means "the token was refused: renew and retry once".
    fn rejection(&self, raw: &RawResponse) -> Option<Error>;

    fn revocation_request(
        &self,
        endpoints: &Endpoints,
        client_id: &str,
        secrets: &ProfileSecrets,
        token: &crate::Secret,
        which: WhichToken,
    ) -> Result<Request>;

    fn read_revocation_response(&self, raw: &RawResponse) -> Result<()>;

    fn introspection_request(
        &self,
        endpoints: &Endpoints,
        client_id: &str,
        secrets: &ProfileSecrets,
        token: &crate::Secret,
        which: WhichToken,
    ) -> Result<Request>;

    fn read_introspection_response(&self, raw: &RawResponse) -> Result<Value>;

    /// The user info request (OIDC userinfo; WeChat's `sns/userinfo`).
    fn userinfo_request(&self, endpoints: &Endpoints, token: &TokenSet, lang: Option<&str>) -> Result<Request>;

    /// Reads an API answer in the provider's own error format.
    fn read_api_response(&self, raw: RawResponse) -> Result<Value>;

    /// The base relative request URLs resolve against (Salesforce: the token's instance).
    fn api_base(&self, token: Option<&TokenSet>) -> Option<String>;

    /// The error for a redirect that carries neither a code nor an error.
    fn redirect_without_code(&self) -> Error {
        Error::new(ErrorCode::MissingCode, "the redirect carries neither a code nor an error")
            .with_hint("make sure the whole redirect URL was captured, then sign in again")
    }
}

/// The error for a grant that is not possible.
pub fn unsupported(message: impl Into<String>, hint: impl Into<String>) -> Error {
    Error::new(ErrorCode::UnsupportedGrant, message).with_hint(hint)
}
