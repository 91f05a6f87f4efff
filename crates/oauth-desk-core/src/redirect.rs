//! Is this navigated URL the redirect URI, and what did the provider put on it?
//!
//! The login window asks [`RedirectMatcher::matches`] about every navigation. The match is exact
//! on scheme, host, port (a default port equals none) and path: never a prefix match, so an
//! identity broker's intermediate URL that also carries `code=` is not taken for the redirect.

use crate::error::{Error, ErrorCode, Result};
use crate::profile::ProviderKind;
use url::Url;

#[derive(Debug, Clone)]
pub struct RedirectMatcher {
    registered: Url,
}

impl RedirectMatcher {
    pub fn new(registered: Url) -> Self {
        RedirectMatcher { registered }
    }

    pub fn parse(registered: &str) -> Result<Self> {
        Ok(Self::new(crate::profile::parse_base_url("redirect URI", registered)?))
    }

    pub fn registered(&self) -> &Url {
        &self.registered
    }

    /// Same scheme, host (case-insensitive; `url` lowercases it), effective port and path.
    /// Query and fragment are ignored: the provider adds its own parameters.
    pub fn matches(&self, candidate: &Url) -> bool {
        let r = &self.registered;
        candidate.scheme() == r.scheme()
            && candidate.host() == r.host()
            && candidate.port_or_known_default() == r.port_or_known_default()
            && normalise_path(candidate.path()) == normalise_path(r.path())
    }

    pub fn matches_str(&self, candidate: &str) -> bool {
        Url::parse(candidate).map(|u| self.matches(&u)).unwrap_or(false)
    }
}

/// `https://h` and `https://h/` are the same URL; `/cb` and `/cb/` are not.
fn normalise_path(p: &str) -> &str {
    if p.is_empty() {
        "/"
    } else {
        p
    }
}

/// The parameters a provider puts on the redirect (RFC 6749 §4.1.2 and §4.1.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl RedirectParams {
    pub fn from_url(url: &Url) -> Self {
        let mut p = RedirectParams::default();
        for (k, v) in url.query_pairs() {
            match k.as_ref() {
                "code" => p.code = Some(v.into_owned()),
                "state" => p.state = Some(v.into_owned()),
                "error" => p.error = Some(v.into_owned()),
                "error_description" => p.error_description = Some(v.into_owned()),
                _ => {}
            }
        }
        p
    }
}

/// What the user pasted: a whole redirect URL, a query string, or a bare code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PastedAuthorization {
    Redirect(RedirectParams),
    BareCode(String),
}

impl PastedAuthorization {
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Error::invalid_input("nothing was pasted: give the redirect URL or the code"));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            let url = Url::parse(s).map_err(|e| Error::invalid_input(format!("the pasted redirect URL is not a URL ({e})")))?;
            return Ok(PastedAuthorization::Redirect(RedirectParams::from_url(&url)));
        }
        if s.contains('=') {
            let q = s.trim_start_matches('?');
            let url = Url::parse(&format!("http://x/?{q}")).map_err(|e| Error::invalid_input(format!("cannot read `{q}` ({e})")))?;
            return Ok(PastedAuthorization::Redirect(RedirectParams::from_url(&url)));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) || s.len() > 2048 {
            return Err(Error::invalid_input("the pasted text is neither a redirect URL nor a code")
                .with_hint("paste the whole address the provider redirected to, or just the value of its `code` parameter"));
        }
        Ok(PastedAuthorization::BareCode(s.to_string()))
    }
}

/// Turns the redirect into a code, or the precise reason there is none.
///
/// `expected_state` is `None` only for a bare pasted code, which carries no state to check.
pub fn take_code(params: &RedirectParams, expected_state: Option<&str>, kind: ProviderKind) -> Result<String> {
    if let Some(expected) = expected_state {
        match params.state.as_deref() {
            Some(s) if s == expected => {}
            Some(_) => {
                return Err(Error::new(ErrorCode::StateMismatch, "the redirect's state does not match this sign-in")
                    .with_hint("the redirect belongs to another sign-in attempt (or was forged): start the sign-in again"))
            }
            // WeChat omits `state` when none was sent, but we always send one.
            None => {
                return Err(Error::new(ErrorCode::StateMismatch, "the redirect carries no state, but this sign-in sent one")
                    .with_hint("start the sign-in again and paste the whole redirect URL"))
            }
        }
    }
    if let Some(error) = &params.error {
        let description = params.error_description.clone();
        let e = if error == "access_denied" {
            Error::new(ErrorCode::AccessDenied, "the sign-in was declined")
                .with_hint("the user or the provider declined access; sign in again and approve the request")
        } else {
            Error::new(ErrorCode::AuthorizationFailed, format!("the provider ended the sign-in with `{error}`"))
                .with_hint(authorize_error_hint(error))
        };
        return Err(e.with_provider(error.clone(), description, None));
    }
    match &params.code {
        Some(code) if !code.is_empty() => Ok(code.clone()),
        _ if kind.is_wechat() => Err(Error::new(ErrorCode::AccessDenied, "WeChat redirected without a code: the user declined")
            .with_hint("WeChat signals refusal by redirecting with only `state`; sign in again and tap Allow")),
        _ => Err(Error::new(ErrorCode::MissingCode, "the redirect carries neither a code nor an error")
            .with_hint("make sure the whole redirect URL was captured, then sign in again")),
    }
}

fn authorize_error_hint(error: &str) -> &'static str {
    match error {
        "invalid_client_id" | "invalid_client" | "unauthorized_client" => "check the client id (consumer key) of the profile",
        "redirect_uri_mismatch" => "the redirect URI must equal the callback URL registered with the provider, character for character",
        "invalid_scope" => "ask only for scopes the connected app or client is allowed",
        "inactive_user" | "inactive_org" => "the user or the org is inactive; ask its administrator",
        "rate_limit_exceeded" => "too many sign-ins in a short time; wait a minute and try again",
        "login_required" | "consent_required" | "interaction_required" => "remove `prompt=none` and sign in interactively",
        _ => "read the provider's message; it usually names the setting to fix",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(r: &str) -> RedirectMatcher {
        RedirectMatcher::parse(r).unwrap()
    }

    #[test]
    fn exact_match_rules() {
        let cases = [
            ("https://app.example.com/cb", "https://app.example.com/cb?code=1&state=2", true),
            ("https://app.example.com/cb", "https://APP.example.com/cb?code=1", true),
            ("https://app.example.com/cb", "https://app.example.com:443/cb?code=1", true),
            ("http://localhost:8000/oauth/callback", "http://localhost:8000/oauth/callback?code=x", true),
            ("https://app.example.com", "https://app.example.com/?code=1", true),
            ("https://app.example.com/cb", "http://app.example.com/cb?code=1", false),
            ("https://app.example.com/cb", "https://app.example.com:8443/cb?code=1", false),
            ("https://app.example.com/cb", "https://app.example.com/cb/?code=1", false),
            ("https://app.example.com/cb", "https://app.example.com/cb/extra?code=1", false),
            ("https://app.example.com/cb", "https://app.example.com/c?code=1", false),
            ("https://app.example.com/cb", "https://app.example.com.evil.io/cb?code=1", false),
            ("http://localhost:8000/cb", "http://127.0.0.1:8000/cb?code=1", false),
            // An identity broker's intermediate URL that also carries `code`.
            ("https://app.example.com/cb", "https://sso.broker.example/saml/cb?code=zzz&state=1", false),
            ("https://app.example.com/cb", "https://app.example.com/cbx?code=1", false),
        ];
        for (registered, candidate, want) in cases {
            assert_eq!(m(registered).matches_str(candidate), want, "{registered} vs {candidate}");
        }
    }

    #[test]
    fn take_code_distinguishes_every_failure() {
        let ok = RedirectParams { code: Some("c1".into()), state: Some("s".into()), ..Default::default() };
        assert_eq!(take_code(&ok, Some("s"), ProviderKind::Salesforce).unwrap(), "c1");

        let wrong = RedirectParams { state: Some("t".into()), ..ok.clone() };
        assert_eq!(take_code(&wrong, Some("s"), ProviderKind::Salesforce).unwrap_err().code, ErrorCode::StateMismatch);

        let denied = RedirectParams {
            error: Some("access_denied".into()),
            error_description: Some("end-user denied authorization".into()),
            state: Some("s".into()),
            ..Default::default()
        };
        let e = take_code(&denied, Some("s"), ProviderKind::Salesforce).unwrap_err();
        assert_eq!(e.code, ErrorCode::AccessDenied);
        assert_eq!(e.provider.unwrap().message.as_deref(), Some("end-user denied authorization"));

        let other = RedirectParams { error: Some("redirect_uri_mismatch".into()), state: Some("s".into()), ..Default::default() };
        assert_eq!(take_code(&other, Some("s"), ProviderKind::Oauth2).unwrap_err().code, ErrorCode::AuthorizationFailed);

        let wechat_refusal = RedirectParams { state: Some("s".into()), ..Default::default() };
        assert_eq!(take_code(&wechat_refusal, Some("s"), ProviderKind::WechatOfficialAccount).unwrap_err().code, ErrorCode::AccessDenied);
        assert_eq!(take_code(&wechat_refusal, Some("s"), ProviderKind::Oauth2).unwrap_err().code, ErrorCode::MissingCode);

        let bare = RedirectParams { code: Some("c".into()), ..Default::default() };
        assert_eq!(take_code(&bare, None, ProviderKind::WechatOfficialAccount).unwrap(), "c");
        assert_eq!(take_code(&bare, Some("s"), ProviderKind::Oauth2).unwrap_err().code, ErrorCode::StateMismatch);
    }

    #[test]
    fn pasted_input_forms() {
        assert_eq!(PastedAuthorization::parse("  061Abc  ").unwrap(), PastedAuthorization::BareCode("061Abc".into()));
        match PastedAuthorization::parse("https://app.example.com/cb?code=0a1&state=XY").unwrap() {
            PastedAuthorization::Redirect(p) => {
                assert_eq!(p.code.as_deref(), Some("0a1"));
                assert_eq!(p.state.as_deref(), Some("XY"));
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
        match PastedAuthorization::parse("?code=a%2Fb&state=1").unwrap() {
            PastedAuthorization::Redirect(p) => assert_eq!(p.code.as_deref(), Some("a/b")),
            other => panic!("expected a redirect, got {other:?}"),
        }
        assert_eq!(PastedAuthorization::parse("two words").unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(PastedAuthorization::parse("").unwrap_err().code, ErrorCode::InvalidInput);
    }
}
