//! Is this navigated URL the redirect URI, and what did the provider put on it?
//!
//! The login window asks [`RedirectMatcher::matches`] about every navigation. The match is exact
//! on scheme, host, port (a default port equals none) and path: never a prefix match, so an
//! identity broker's intermediate URL that also carries `code=` is not taken for the redirect.

use crate::error::{Action, Error, ErrorCode, Result};
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

/// What the user pasted: a whole redirect URL, its query, or a bare code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PastedAuthorization {
    /// A URL: it must be the redirect URI before its parameters count.
    Url(Url),
    /// `code=...&state=...`, with or without the leading `?`.
    Query(RedirectParams),
    /// Just the code, as the WeChat app or a browser's address bar shows it.
    BareCode(String),
}

impl PastedAuthorization {
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Error::invalid_input("nothing was pasted: give the redirect URL or the code"));
        }
        if s.len() > 8192 {
            return Err(Error::invalid_input("the pasted text is too long to be a redirect URL or a code"));
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            let url = Url::parse(s).map_err(|e| Error::invalid_input(format!("the pasted redirect URL is not a URL ({e})")))?;
            return Ok(PastedAuthorization::Url(url));
        }
        let q = s.trim_start_matches('?');
        // A query names its parameters; a bare code may end in `=` padding (Salesforce's
        // codes are base64: `aPrx…==`), which must not make it look like one.
        let is_query = q.split('&').any(|part| matches!(part.split_once('=').map(|(k, _)| k), Some("code" | "state" | "error")));
        if is_query {
            let url =
                Url::parse(&format!("http://x/?{q}")).map_err(|e| Error::invalid_input(format!("cannot read the pasted query ({e})")))?;
            return Ok(PastedAuthorization::Query(RedirectParams::from_url(&url)));
        }
        // As the address bar shows it (`…%3D%3D`): percent-decoded, `+` kept as it is.
        let code = percent_encoding::percent_decode_str(s).decode_utf8().map(|c| c.into_owned()).unwrap_or_else(|_| s.to_string());
        if code.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid_input("the pasted text is neither a redirect URL nor a code")
                .with_hint("paste the whole address the provider redirected to, or just the value of its `code` parameter"));
        }
        Ok(PastedAuthorization::BareCode(code))
    }
}

/// Turns the redirect into a code, the precise reason there is none, or `None` when it carries
/// neither a code nor an error (each provider says what that means).
///
/// `expected_state` is `None` only when no sign-in was started here, so there is none to check.
pub fn take_code(params: &RedirectParams, expected_state: Option<&str>) -> Result<Option<String>> {
    if let Some(expected) = expected_state {
        match params.state.as_deref() {
            Some(s) if s == expected => {}
            Some(_) => {
                return Err(Error::new(ErrorCode::StateMismatch, "the redirect's state does not match this sign-in")
                    .with_hint("the redirect belongs to another sign-in attempt (or was forged): start the sign-in again")
                    .with_action(Action::SignIn))
            }
            // WeChat omits `state` when none was sent, but we always send one.
            None => {
                return Err(Error::new(ErrorCode::StateMismatch, "the redirect carries no state, but this sign-in sent one")
                    .with_hint("start the sign-in again and paste the whole redirect URL")
                    .with_action(Action::SignIn))
            }
        }
    }
    if let Some(error) = &params.error {
        let description = params.error_description.clone();
        let e = if error == "access_denied" {
            Error::new(ErrorCode::AccessDenied, "the sign-in was declined")
                .with_hint("the user or the provider declined access; sign in again and approve the request")
        } else {
            Error::new(
                ErrorCode::AuthorizationFailed,
                format!("the provider ended the sign-in with `{}`", crate::error::excerpt(error, 80)),
            )
            .with_hint(crate::hints::authorize_error(error))
        };
        return Err(e.with_provider(error.clone(), description, None));
    }
    Ok(params.code.clone().filter(|c| !c.is_empty()))
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
        assert_eq!(take_code(&ok, Some("s")).unwrap().as_deref(), Some("c1"));

        let wrong = RedirectParams { state: Some("t".into()), ..ok.clone() };
        assert_eq!(take_code(&wrong, Some("s")).unwrap_err().code, ErrorCode::StateMismatch);

        let denied = RedirectParams {
            error: Some("access_denied".into()),
            error_description: Some("end-user denied authorization".into()),
            state: Some("s".into()),
            ..Default::default()
        };
        let e = take_code(&denied, Some("s")).unwrap_err();
        assert_eq!(e.code, ErrorCode::AccessDenied);
        assert_eq!(e.provider.unwrap().message.as_deref(), Some("end-user denied authorization"));

        let other = RedirectParams { error: Some("redirect_uri_mismatch".into()), state: Some("s".into()), ..Default::default() };
        assert_eq!(take_code(&other, Some("s")).unwrap_err().code, ErrorCode::AuthorizationFailed);

        let nothing = RedirectParams { state: Some("s".into()), ..Default::default() };
        assert_eq!(take_code(&nothing, Some("s")).unwrap(), None, "the provider decides what no code means");

        let bare = RedirectParams { code: Some("c".into()), ..Default::default() };
        assert_eq!(take_code(&bare, None).unwrap().as_deref(), Some("c"));
        assert_eq!(take_code(&bare, Some("s")).unwrap_err().code, ErrorCode::StateMismatch);
    }

    #[test]
    fn pasted_input_forms() {
        assert_eq!(PastedAuthorization::parse("  061Abc  ").unwrap(), PastedAuthorization::BareCode("061Abc".into()));
        assert_eq!(
            PastedAuthorization::parse("aPrxbOND3Y1gKAK0qaPkmLb4aBcdSXlV0s4XN5sTDbp7KpA0x5Gl8Q==").unwrap(),
            PastedAuthorization::BareCode("aPrxbOND3Y1gKAK0qaPkmLb4aBcdSXlV0s4XN5sTDbp7KpA0x5Gl8Q==".into()),
            "a Salesforce code with base64 padding is a code, not a query"
        );
        assert_eq!(
            PastedAuthorization::parse("aPrxbOND3Y1gKA%2Bb%2F0x5Gl8Q%3D%3D").unwrap(),
            PastedAuthorization::BareCode("aPrxbOND3Y1gKA+b/0x5Gl8Q==".into()),
            "as the address bar shows it"
        );
        match PastedAuthorization::parse("https://app.example.com/cb?code=0a1&state=XY").unwrap() {
            PastedAuthorization::Url(u) => assert_eq!(RedirectParams::from_url(&u).code.as_deref(), Some("0a1")),
            other => panic!("expected a URL, got {other:?}"),
        }
        match PastedAuthorization::parse("?code=a%2Fb&state=1").unwrap() {
            PastedAuthorization::Query(p) => assert_eq!(p.code.as_deref(), Some("a/b")),
            other => panic!("expected a query, got {other:?}"),
        }
        assert_eq!(PastedAuthorization::parse("two words").unwrap_err().code, ErrorCode::InvalidInput);
        assert_eq!(PastedAuthorization::parse("").unwrap_err().code, ErrorCode::InvalidInput);
    }
}
