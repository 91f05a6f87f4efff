//! The provider interface: everything a [`crate::Session`] needs to know about one provider's
//! dialect of OAuth, behind one trait. Each provider is one module under [`crate::providers`]
//! implementing [`Dialect`]; the session keeps the token lifecycle and never asks which
//! provider it talks to.
//!
//! Requests are built as values ([`Request`]) and responses read from the raw bytes, so every
//! rule here is a pure function that tests check without a network. The provided methods are
//! the standard (RFC 6749, 6750, 7009, 7662); a dialect overrides where its provider departs.

use crate::error::{Error, ErrorCode, Result};
use crate::http_client::Http;
use crate::oauth::{self, Authorization, Client, Endpoints, GrantInput, WhichToken};
use crate::profile::{ClientAuth, ProfileSecrets, ProviderKind};
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

    /// How the client authenticates at the token, revocation and introspection endpoints.
    fn client_auth(&self) -> ClientAuth {
        ClientAuth::Basic
    }

    /// The scopes a password or client-credentials token request names (RFC 6749 §4.3.2, §4.4.2).
    fn grant_scopes(&self) -> &[String] {
        &[]
    }

    /// What the user can do about an OAuth error (`error`, `error_description`) at this grant.
    fn token_error_hint(&self, grant: Grant, error: &str, description: Option<&str>) -> String {
        crate::hints::token_error(grant, error, description).to_string()
    }

    /// The `aud` of a JWT bearer assertion: who checks it. Standard: the token endpoint.
    fn jwt_audience(&self, endpoints: &Endpoints) -> Result<String> {
        Ok(endpoints.require(&endpoints.token, "token URL")?.to_string())
    }

    /// The client as the token endpoint sees it.
    fn client<'a>(&self, client_id: &'a str, secrets: &'a ProfileSecrets) -> Client<'a> {
        let secret = match self.client_auth() {
            ClientAuth::PrivateKeyJwt => secrets.client_assertion.as_ref(),
            _ => secrets.client_secret.as_ref(),
        };
        Client { id: client_id, secret, auth: self.client_auth() }
    }

    /// The token request for `input` (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6).
    fn token_request(&self, endpoints: &Endpoints, client_id: &str, secrets: &ProfileSecrets, input: &GrantInput) -> Result<Request> {
        let endpoint = endpoints.require(&endpoints.token, "token URL")?;
        oauth::token_request(endpoint, &self.client(client_id, secrets), input, self.grant_scopes())
    }

    /// The token endpoint's answer as an object with an `access_token`, or the provider's error.
    fn read_token_response(&self, raw: &RawResponse, grant: Grant) -> Result<Map<String, Value>> {
        oauth::read_token_response(raw, grant, &|code, desc| self.token_error_hint(grant, code, desc))
    }

    /// A signature over the token response (Salesforce's HMAC), `None` when there is none to check.
    fn verify_signature(&self, _response: &Map<String, Value>, _secrets: &ProfileSecrets) -> Option<bool> {
        None
    }

    /// The session length to assume when the provider sends no expiry (Salesforce).
    fn session_seconds(&self) -> Option<u64> {
        None
    }

    /// Puts the access token on an API request: `Authorization: Bearer` (RFC 6750 §2.1).
    fn authorize_call(&self, request: &mut Request, token: &TokenSet) -> Result<()> {
        let value = http::HeaderValue::try_from(format!("Bearer {}", token.access_token.expose()))
            .map_err(|_| Error::unexpected("the access token has characters a header cannot carry"))?;
        request.headers_mut().insert(http::header::AUTHORIZATION, value);
        Ok(())
    }

    /// `Some` when this answer means "the token was refused: renew and retry once".
    fn rejection(&self, raw: &RawResponse) -> Option<Error>;

    /// RFC 7009 §2.1.
    fn revocation_request(
        &self,
        endpoints: &Endpoints,
        client_id: &str,
        secrets: &ProfileSecrets,
        token: &crate::Secret,
        which: WhichToken,
    ) -> Result<Request> {
        let endpoint = endpoints.require(&endpoints.revocation, "revocation URL")?;
        oauth::revocation_request(endpoint, &self.client(client_id, secrets), token, which)
    }

    fn read_revocation_response(&self, raw: &RawResponse) -> Result<()> {
        oauth::read_revocation_response(raw, &|code, desc| self.token_error_hint(Grant::RefreshToken, code, desc))
    }

    /// RFC 7662 §2.1.
    fn introspection_request(
        &self,
        endpoints: &Endpoints,
        client_id: &str,
        secrets: &ProfileSecrets,
        token: &crate::Secret,
        which: WhichToken,
    ) -> Result<Request> {
        let endpoint = endpoints.require(&endpoints.introspection, "introspection URL")?;
        oauth::introspection_request(endpoint, &self.client(client_id, secrets), token, which)
    }

    fn read_introspection_response(&self, raw: &RawResponse) -> Result<Value> {
        oauth::read_introspection_response(raw, &|code, desc| self.token_error_hint(Grant::RefreshToken, code, desc))
    }

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
