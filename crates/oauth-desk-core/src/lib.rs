//! OAuth Desk's core: every grant and API call of Salesforce, WeChat and standard OAuth 2.0 /
//! OpenID Connect, the token lifecycle, storage, and errors as data.
//!
//! It knows nothing of windows: the desktop app and the `oauth-desk` CLI are thin shells over
//! [`Desk`] and [`Session`]. Time comes from a [`Clock`], HTTP from an [`HttpClient`] with
//! redirects off, secrets from a [`storage::SecretStore`].

pub mod clock;
pub mod desk;
pub mod error;
pub mod generic;
pub mod hints;
pub mod http;
pub mod jwt;
pub mod loopback;
pub mod oauth;
pub mod profile;
pub mod redirect;
pub mod salesforce;
pub mod secret;
pub mod session;
pub mod soql;
pub mod storage;
pub mod token;
pub mod wechat;

pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use desk::Desk;
pub use error::{Error, ErrorCategory, ErrorCode, Result};
pub use http::{HttpClient, HttpConfig};
pub use profile::{Profile, ProfileSecrets, Provider, ProviderKind};
pub use secret::Secret;
pub use session::{PendingAuthorization, Session, WhichToken};
pub use token::{Grant, TokenSet};
