//! One module per provider dialect, each implementing [`Dialect`]:
//! - [`standard`]: OAuth 2.0 / OpenID Connect as the RFCs write it (discovery, Basic or body
//!   client authentication, RFC 6750 rejections);
//! - [`salesforce`]: fixed paths on the login host, no `expires_in`, the token `signature`,
//!   REST errors as JSON arrays, 403 `Bad_OAuth_Token`, and its REST API (SOQL, identity);
//! - [`wechat`]: GET exchanges with the secret in the query, errors at HTTP 200 as `text/plain`,
//!   the fixed authorize URL, and `sns/*`.
//!
//! Adding a provider: a new module here implementing [`Dialect`] (with its request-assertion
//! tests), a variant of [`crate::profile::Provider`] for its settings, and one line in
//! [`dialect`]. The session needs no change.

pub mod salesforce;
pub mod standard;
pub mod wechat;

use crate::clock::Clock;
use crate::dialect::Dialect;
use crate::http_client::Http;
use crate::profile::{Profile, ProfileSecrets, Provider};
use crate::session::Session;
use crate::transport::Transport;
use crate::wire::WireLog;
use std::sync::Arc;

/// The dialect of a profile's provider.
pub fn dialect(profile: &Profile) -> Arc<dyn Dialect> {
    match &profile.provider {
        Provider::Salesforce(c) => Arc::new(salesforce::Salesforce::new(c.clone())),
        Provider::WechatOfficialAccount(c) => Arc::new(wechat::Wechat::official_account(c.clone())),
        Provider::WechatWebsite(c) => Arc::new(wechat::Wechat::website(c.clone())),
        Provider::Oauth2(c) => Arc::new(standard::Standard::new(c.clone())),
    }
}

/// A session for a profile with its provider's dialect and a wire log of its own (tests and
/// one-off use; the [`crate::Desk`] keeps one shared session per profile).
pub fn session(profile: Profile, secrets: ProfileSecrets, transport: Arc<dyn Transport>, clock: Arc<dyn Clock>) -> Session {
    let log = Arc::new(WireLog::new(profile.id.clone(), clock.clone(), None));
    let dialect = dialect(&profile);
    Session::new(profile, dialect, secrets, Http::new(transport), log, clock)
}
