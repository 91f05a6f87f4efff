//! OAuth Desk's core: every grant and API call of Salesforce, WeChat and standard OAuth 2.0 /
//! OpenID Connect, the token lifecycle, the wire log, storage, and errors as data.
//!
//! It knows nothing of windows: the desktop app and the `oauth-desk` CLI are thin shells over
//! [`Desk`] and [`Session`]. The layers, each using only those above it:
//! - leaves: [`error`], [`secret`], [`clock`], [`jwt`], [`profile`], [`token`], [`hints`];
//! - the wire: [`transport`] (requests as values, one [`Transport`] trait, reqwest),
//!   [`wire`] (the wire log, masking, curl / Python / HAR) and [`http_client`] (a transport
//!   that records into the wire log);
//! - the protocol: [`oauth`] (RFC 6749 requests and responses as pure functions),
//!   [`redirect`], [`dialect`] (the provider interface);
//! - the lifecycle: [`session`], then the provider modules in [`providers`] (each a [`Dialect`]
//!   plus its own API calls over a session), [`request`], [`soql`], [`loopback`];
//! - [`storage`] and [`desk`] (profiles, secrets, one shared session per profile).
//!
//! Time comes from a [`Clock`], HTTP from a [`Transport`], secrets from a
//! [`storage::SecretStore`]; tests replace each ([`testing::MockTransport`], [`ManualClock`]).

pub mod assertion;
pub mod clock;
pub mod desk;
pub mod dialect;
pub mod error;
pub mod hints;
pub mod http_client;
pub mod idtoken;
pub mod jwt;
pub mod loopback;
pub mod oauth;
pub mod profile;
pub mod providers;
pub mod redirect;
pub mod request;
pub mod secret;
pub mod session;
pub mod sfdx;
pub mod soql;
pub mod storage;
pub mod testing;
pub mod token;
pub mod transport;
pub mod wire;

pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use desk::{Desk, DeskEvent};
pub use dialect::Dialect;
pub use error::{Action, Error, ErrorCategory, ErrorCode, Result};
pub use http_client::Http;
pub use oauth::WhichToken;
pub use profile::{Profile, ProfileSecrets, Provider, ProviderKind};
pub use secret::Secret;
pub use session::{PasswordCredentials, PendingAuthorization, Session};
pub use token::{Grant, TokenSet};
pub use transport::{HttpConfig, ReqwestTransport, Transport};
