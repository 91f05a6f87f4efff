//! Salesforce CLI auth URLs: `force://<client id>:<client secret>:<refresh token>@<instance>`,
//! what `sf org display --verbose` prints and `sf org login sfdx-url` takes. The client secret
//! may be empty (`force://PlatformCLI::5Aep…@acme.my.salesforce.com`). An auth URL is a
//! credential: it is a [`Secret`] here, and errors name the part that is wrong, never its value.

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The callback URL of the Salesforce CLI's connected app (PlatformCLI).
pub const CLI_REDIRECT_URI: &str = "http://localhost:1717/OauthRedirect";

/// The parts of an auth URL.
#[derive(Debug, Clone)]
pub struct AuthUrl {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    pub refresh_token: Secret,
    /// `https://host[:port]` (or `http://` for a loopback host).
    pub instance_url: String,
}

const SHAPE: &str =
    "an auth URL looks like force://<client id>:<client secret>:<refresh token>@<instance>, as `sf org display --verbose` prints it";

fn token_chars(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '=' | '!' | '+' | '/'))
}

impl AuthUrl {
    pub fn parse(input: &Secret) -> Result<AuthUrl> {
        let text = input.expose().trim();
        let bad = |what: &str| Error::invalid_input(format!("this is not a Salesforce CLI auth URL: {what}")).with_hint(SHAPE);
        let rest = text.strip_prefix("force://").ok_or_else(|| bad("it must start with force://"))?;
        let (credentials, instance) = rest.rsplit_once('@').ok_or_else(|| bad("the @<instance> part is missing"))?;
        let mut parts = credentials.splitn(3, ':');
        let client_id = parts.next().unwrap_or_default();
        let colons = || {
            bad("before @ it needs two colons, <client id>:<client secret>:<refresh token> (the client secret may be empty, its colons may not)")
        };
        let secret = parts.next().ok_or_else(colons)?;
        let refresh = parts.next().ok_or_else(colons)?;
        if client_id.is_empty() || !token_chars(client_id) {
            return Err(bad("the client id (before the first colon) is empty or has characters a consumer key never has"));
        }
        if !token_chars(secret) {
            return Err(bad("the client secret (between the first and second colon) has characters a secret never has"));
        }
        if refresh.is_empty() || !token_chars(refresh) {
            return Err(bad("the refresh token (between the second colon and @) is empty or malformed"));
        }
        let instance = instance.trim_end_matches('/');
        let instance_url = if instance.contains("://") { instance.to_string() } else { format!("https://{instance}") };
        let parsed = url::Url::parse(&instance_url).map_err(|_| bad("the instance after @ is not a host name"))?;
        let host = parsed.host_str().unwrap_or_default();
        if host.is_empty() || parsed.path() != "/" || parsed.query().is_some() {
            return Err(bad("the instance after @ must be a host name such as acme.my.salesforce.com"));
        }
        if parsed.scheme() != "https" && !crate::profile::is_loopback(&parsed) {
            return Err(bad("the instance must be reached over https"));
        }
        Ok(AuthUrl {
            client_id: client_id.to_string(),
            client_secret: (!secret.is_empty()).then(|| Secret::new(secret)),
            refresh_token: Secret::new(refresh),
            instance_url: parsed.as_str().trim_end_matches('/').to_string(),
        })
    }

    /// The auth URL text (https instances by host name, as the Salesforce CLI writes them).
    pub fn render(&self) -> Secret {
        let instance = self.instance_url.strip_prefix("https://").unwrap_or(&self.instance_url);
        Secret::new(format!(
            "force://{}:{}:{}@{}",
            self.client_id,
            self.client_secret.as_ref().map(Secret::expose).unwrap_or(""),
            self.refresh_token.expose(),
            instance
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_salesforce_cli_prints() {
        let u = AuthUrl::parse(&Secret::new("force://PlatformCLI::5Aep861KIwKdekr90I4iHdtDgWwRoG7O_6uHrgJ.yVtMS0UaGxRYuieGY.K9uYFH9RR5f8p1N8iDUd0yrnx2DnY=@acme.my.salesforce.com\n")).unwrap();
        assert_eq!(u.client_id, "PlatformCLI");
        assert!(u.client_secret.is_none(), "an empty secret is no secret");
        assert!(u.refresh_token.expose().starts_with("5Aep861"));
        assert_eq!(u.instance_url, "https://acme.my.salesforce.com");
        assert_eq!(u.render().expose().trim(), "force://PlatformCLI::5Aep861KIwKdekr90I4iHdtDgWwRoG7O_6uHrgJ.yVtMS0UaGxRYuieGY.K9uYFH9RR5f8p1N8iDUd0yrnx2DnY=@acme.my.salesforce.com");

        let u =
            AuthUrl::parse(&Secret::new("force://3MVG9abc.def:ABCDEF0123:5Aep8xyz@https://acme--dev.sandbox.my.salesforce.com/")).unwrap();
        assert_eq!(u.client_secret.as_ref().unwrap().expose(), "ABCDEF0123");
        assert_eq!(u.instance_url, "https://acme--dev.sandbox.my.salesforce.com");
        let loopback = AuthUrl::parse(&Secret::new("force://c:s:r@http://127.0.0.1:8080")).unwrap();
        assert_eq!(loopback.render().expose(), "force://c:s:r@http://127.0.0.1:8080", "http only on loopback, and kept");
    }

    #[test]
    fn a_malformed_url_says_which_part_without_showing_it() {
        for (input, says) in [
            ("https://acme.my.salesforce.com", "start with force://"),
            ("force://PlatformCLI::5AepSECRETTOKEN", "@<instance>"),
            ("force://PlatformCLI:5AepSECRETTOKEN@acme.my.salesforce.com", "two colons"),
            ("force://:s:5AepSECRETTOKEN@acme.my.salesforce.com", "client id"),
            ("force://PlatformCLI:s:@acme.my.salesforce.com", "refresh token"),
            ("force://PlatformCLI:s:5Aep SECRETTOKEN@acme.my.salesforce.com", "refresh token"),
            ("force://PlatformCLI:s:5AepSECRETTOKEN@", "instance"),
            ("force://PlatformCLI:s:5AepSECRETTOKEN@acme.my.salesforce.com/services/x", "host name"),
            ("force://PlatformCLI:s:5AepSECRETTOKEN@http://acme.my.salesforce.com", "https"),
        ] {
            let e = AuthUrl::parse(&Secret::new(input)).unwrap_err();
            assert!(e.message.contains(says), "{input}: {}", e.message);
            assert!(!e.message.contains("SECRETTOKEN") && !e.hint.as_deref().unwrap_or("").contains("SECRETTOKEN"));
        }
    }
}
