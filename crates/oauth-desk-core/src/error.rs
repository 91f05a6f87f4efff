//! One error type for everything the core does.
//!
//! An [`Error`] is data: a stable machine [`ErrorCode`] the UI and the CLI switch on, a sentence
//! for people, the provider's own words (OAuth `error`, Salesforce `errorCode`, WeChat `errcode`
//! and its request id), the HTTP status and the endpoint, and a one-line hint of what to do.
//! It must never carry a secret: endpoints are recorded without their query string (WeChat puts
//! `secret` and `access_token` there) and provider messages are bounded excerpts.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable codes, serialised in `snake_case`. Consumers switch on these, never on message text.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A value the user gave is not usable (a URL, a profile field, a pasted redirect).
    InvalidInput,
    /// No profile by that name.
    ProfileNotFound,
    /// The profile has no token yet, or a needed secret is missing.
    NotSignedIn,
    /// The redirect's `state` is not the one this sign-in sent (RFC 6749 §10.12).
    StateMismatch,
    /// The user (or the provider on their behalf) declined.
    AccessDenied,
    /// The redirect carried neither a code nor an error.
    MissingCode,
    /// The authorize step failed with an error other than denial.
    AuthorizationFailed,
    /// The token endpoint refused the grant (bad password, used or expired code, bad refresh token).
    InvalidGrant,
    /// The client id or secret was refused.
    InvalidClient,
    /// The grant is not possible with this provider or profile.
    UnsupportedGrant,
    /// The provider refused the access token (expired or revoked) and refreshing did not help.
    TokenRejected,
    /// An API answered with an error of its own (SOQL error, WeChat errcode, HTTP 4xx/5xx).
    ProviderError,
    /// The response could not be understood: HTML, empty, truncated, not JSON, missing fields.
    UnexpectedResponse,
    /// The response body was larger than the configured cap.
    ResponseTooLarge,
    /// The server did not answer in time.
    Timeout,
    /// The server could not be reached (refused, DNS, TLS).
    ConnectionFailed,
    /// The profile file or the keyring could not be read or written.
    Storage,
    /// The operation was cancelled by the caller.
    Cancelled,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::ProfileNotFound => "profile_not_found",
            ErrorCode::NotSignedIn => "not_signed_in",
            ErrorCode::StateMismatch => "state_mismatch",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::MissingCode => "missing_code",
            ErrorCode::AuthorizationFailed => "authorization_failed",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::UnsupportedGrant => "unsupported_grant",
            ErrorCode::TokenRejected => "token_rejected",
            ErrorCode::ProviderError => "provider_error",
            ErrorCode::UnexpectedResponse => "unexpected_response",
            ErrorCode::ResponseTooLarge => "response_too_large",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ConnectionFailed => "connection_failed",
            ErrorCode::Storage => "storage",
            ErrorCode::Cancelled => "cancelled",
        }
    }

    /// The broad class, which the CLI turns into its exit code.
    pub fn category(self) -> ErrorCategory {
        use ErrorCode::*;
        match self {
            InvalidInput | ProfileNotFound => ErrorCategory::Usage,
            NotSignedIn | StateMismatch | AccessDenied | MissingCode | AuthorizationFailed | InvalidGrant | InvalidClient
            | UnsupportedGrant | TokenRejected => ErrorCategory::Auth,
            Timeout | ConnectionFailed => ErrorCategory::Network,
            ProviderError | UnexpectedResponse | ResponseTooLarge => ErrorCategory::Provider,
            Storage => ErrorCategory::Storage,
            Cancelled => ErrorCategory::Cancelled,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    Usage,
    Auth,
    Network,
    Provider,
    Storage,
    Cancelled,
}

/// What the user can do next, named by the core and worded by each shell (the CLI names its
/// command, the app shows a button). Only actions a shell acts on are listed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Sign in again (interactively, or with the grant the profile uses).
    SignIn,
    /// Store the client secret (WeChat: AppSecret) with the profile.
    StoreClientSecret,
    /// Give the password (and Salesforce security token) for the password grant.
    GivePassword,
    /// Change a field of the profile; the message names it.
    EditProfile,
    /// Create a profile first.
    CreateProfile,
    /// Sign in through the system browser (the provider refuses embedded windows).
    UseSystemBrowser,
}

/// What the provider itself said, in its own words.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderDetail {
    /// `invalid_grant`, `INVALID_SESSION_ID`, `40029`, ...
    pub code: String,
    /// `error_description`, Salesforce `message`, WeChat `errmsg` without its request id.
    pub message: Option<String>,
    /// WeChat's `rid` / `req_id`, or a request id header.
    pub request_id: Option<String>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The URL called, without query string or fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), hint: None, action: None, provider: None, status: None, endpoint: None }
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidInput, message)
    }
    pub fn storage(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Storage, message)
    }
    pub fn unexpected(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::UnexpectedResponse, message)
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_action(mut self, action: Action) -> Self {
        self.action = Some(action);
        self
    }
    pub fn with_provider(mut self, code: impl Into<String>, message: Option<String>, request_id: Option<String>) -> Self {
        let code = excerpt(&code.into(), 120);
        self.provider =
            Some(ProviderDetail { code, message: message.map(|m| bounded(&m, 2000)), request_id: request_id.map(|r| excerpt(&r, 120)) });
        self
    }
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
    /// Records the endpoint with its query string and fragment removed, so that a WeChat
    /// `secret=` or `access_token=` parameter can never reach an error message.
    pub fn at(mut self, endpoint: &str) -> Self {
        self.endpoint = Some(strip_query(endpoint));
        self
    }
    pub fn provider_code(&self) -> Option<&str> {
        self.provider.as_ref().map(|p| p.code.as_str())
    }
    /// The provider's own words (`error_description`, Salesforce's `message`, WeChat's `errmsg`).
    pub fn provider_message(&self) -> Option<&str> {
        self.provider.as_ref().and_then(|p| p.message.as_deref())
    }
}

/// `https://host/path?secret=..#frag` → `https://host/path`.
pub fn strip_query(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_string()
}

/// Text from a server made safe to show: control characters (a terminal's escape sequences,
/// bidi overrides) written as `\u{1b}` escapes instead of acting on the screen.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if (c.is_control() && !matches!(c, '\n' | '\t')) || bidi {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max` characters of `text`, line breaks kept (a SOQL error's caret block points at a
/// column), control characters escaped ([`printable`]), with an ellipsis when cut.
pub fn bounded(text: &str, max: usize) -> String {
    let text = printable(text.trim_end());
    if text.chars().count() <= max {
        text
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// At most `max` characters of `text`, on one line, with an ellipsis when cut; control
/// characters escaped ([`printable`]).
pub fn excerpt(text: &str, max: usize) -> String {
    let one_line: String = printable(&text.split_whitespace().collect::<Vec<_>>().join(" "));
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(p) = &self.provider {
            write!(f, " [{}", p.code)?;
            if let Some(m) = &p.message {
                write!(f, ": {m}")?;
            }
            if let Some(r) = &p.request_id {
                write!(f, "; request id {r}")?;
            }
            f.write_str("]")?;
        }
        match (self.status, &self.endpoint) {
            (Some(s), Some(e)) => write!(f, " (HTTP {s} from {e})")?,
            (None, Some(e)) => write!(f, " ({e})")?,
            (Some(s), None) => write!(f, " (HTTP {s})")?,
            (None, None) => {}
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_to_the_documented_shape() {
        let e = Error::new(ErrorCode::InvalidGrant, "the token endpoint refused the password grant")
            .with_provider("invalid_grant", Some("authentication failure".into()), None)
            .with_status(400)
            .at("https://login.salesforce.com/services/oauth2/token?x=1")
            .with_hint("check the password");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "code": "invalid_grant",
                "message": "the token endpoint refused the password grant",
                "hint": "check the password",
                "provider": {"code": "invalid_grant", "message": "authentication failure", "request_id": null},
                "status": 400,
                "endpoint": "https://login.salesforce.com/services/oauth2/token"
            }),
            "error JSON shape changed"
        );
        assert_eq!(ErrorCode::InvalidGrant.as_str(), v["code"], "as_str and serde must agree");
    }

    #[test]
    fn endpoint_never_keeps_the_query() {
        let e = Error::unexpected("x").at("https://api.weixin.qq.com/sns/oauth2/access_token?appid=a&secret=S3CR3T");
        assert!(!e.to_string().contains("S3CR3T"), "secret leaked into {e}");
        assert_eq!(e.endpoint.as_deref(), Some("https://api.weixin.qq.com/sns/oauth2/access_token"));
    }

    #[test]
    fn control_characters_never_reach_a_screen() {
        assert_eq!(excerpt("bad\u{1b}[2J\u{1b}]0;pwned\u{7}  token\u{202e}", 80), "bad\\u{1b}[2J\\u{1b}]0;pwned\\u{7} token\\u{202e}");
    }

    #[test]
    fn every_code_has_its_serde_name() {
        for code in [
            ErrorCode::InvalidInput,
            ErrorCode::ProfileNotFound,
            ErrorCode::NotSignedIn,
            ErrorCode::StateMismatch,
            ErrorCode::AccessDenied,
            ErrorCode::MissingCode,
            ErrorCode::AuthorizationFailed,
            ErrorCode::InvalidGrant,
            ErrorCode::InvalidClient,
            ErrorCode::UnsupportedGrant,
            ErrorCode::TokenRejected,
            ErrorCode::ProviderError,
            ErrorCode::UnexpectedResponse,
            ErrorCode::ResponseTooLarge,
            ErrorCode::Timeout,
            ErrorCode::ConnectionFailed,
            ErrorCode::Storage,
            ErrorCode::Cancelled,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str(), "{code:?}");
        }
    }
}
