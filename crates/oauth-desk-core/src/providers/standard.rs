//! Standard OAuth 2.0 / OpenID Connect, for any provider that follows the RFCs: endpoints from
//! the profile or discovery (OIDC Discovery 1.0 / RFC 8414), client authentication by HTTP Basic
//! or in the body (RFC 6749 §2.3.1), PKCE, a `nonce` with `openid`, Bearer calls and RFC 6750's
//! rejections, RFC 7009 revocation and RFC 7662 introspection.

use crate::dialect::Dialect;
use crate::error::{excerpt, Error, ErrorCode, Result};
use crate::http_client::Http;
use crate::oauth::{self, Authorization, Endpoints};
use crate::profile::{join_url, parse_base_url, ClientAuth, Oauth2Config, ProviderKind};
use crate::secret::random_alnum;
use crate::token::{Grant, TokenSet};
use crate::transport::{request, request_id_header, Purpose, RawResponse, Request};
use futures::future::BoxFuture;
use futures::FutureExt;
use http::Method;
use serde_json::Value;
use url::Url;

#[derive(Debug, Clone)]
pub struct Standard {
    config: Oauth2Config,
}

impl Standard {
    pub fn new(config: Oauth2Config) -> Self {
        Standard { config }
    }
}

/// `GET {issuer}/.well-known/openid-configuration`.
pub fn discovery_request(issuer: &str) -> Result<Request> {
    let url = parse_base_url("issuer", issuer)?;
    let url = parse_base_url("discovery URL", &join_url(url.as_str(), ".well-known/openid-configuration"))?;
    request(Method::GET, &url, Purpose::Discovery).accept_json().build()
}

/// Reads a discovery document and checks that its `issuer` is the one asked for (OIDC
/// Discovery §4.3), which stops a document from one server steering tokens to another.
pub fn read_discovery(raw: &RawResponse, issuer: &str) -> Result<Endpoints> {
    if !raw.is_success() {
        return Err(Error::new(ErrorCode::ProviderError, format!("discovery failed with HTTP {}", raw.status))
            .with_hint("check the issuer URL; it is the part before /.well-known/openid-configuration")
            .with_status(raw.status)
            .at(&raw.endpoint));
    }
    let doc = raw.json()?;
    let declared = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
    if declared.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(Error::unexpected(format!("the discovery document names issuer `{}`, not `{issuer}`", excerpt(declared, 200)))
            .with_hint("use exactly the issuer the provider declares")
            .at(&raw.endpoint));
    }
    let field =
        |k: &str| doc.get(k).and_then(Value::as_str).and_then(|s| Url::parse(s).ok()).filter(|u| matches!(u.scheme(), "http" | "https"));
    Ok(Endpoints {
        authorize: field("authorization_endpoint"),
        token: field("token_endpoint"),
        userinfo: field("userinfo_endpoint"),
        revocation: field("revocation_endpoint"),
        introspection: field("introspection_endpoint"),
        jwks: field("jwks_uri"),
        device_authorization: field("device_authorization_endpoint"),
        issuer: Some(declared.to_string()),
    })
}

/// RFC 6750 §3.1: a refused token is 401 (`WWW-Authenticate: Bearer error="invalid_token"`);
/// `insufficient_scope` (403) is not a refusal of the token, and renewing would not help.
pub fn bearer_rejection(raw: &RawResponse) -> Option<Error> {
    let challenge = oauth::bearer_challenge_error(raw);
    let refused = raw.status == 401 || challenge.as_deref() == Some("invalid_token");
    if !refused || challenge.as_deref() == Some("insufficient_scope") {
        return None;
    }
    let detail = match serde_json::from_slice::<Value>(&raw.body) {
        Ok(j) => excerpt(&j.to_string(), 200),
        Err(_) => excerpt(&String::from_utf8_lossy(&raw.body), 200),
    };
    let code = challenge.unwrap_or_else(|| raw.status.to_string());
    Some(
        Error::new(ErrorCode::TokenRejected, "the API refused the access token")
            .with_provider(code, (!detail.is_empty()).then_some(detail), request_id_header(raw))
            .with_status(raw.status)
            .at(&raw.endpoint),
    )
}

/// An API answer: JSON on success; otherwise the OAuth error object or the status.
pub fn read_json_api(raw: RawResponse, what: &str) -> Result<Value> {
    if raw.is_success() {
        return raw.json().map_err(|mut e| {
            e.message = format!("{what} did not answer with JSON: {}", e.message);
            e
        });
    }
    let obj = oauth::lenient_object(&raw);
    let code = obj
        .as_ref()
        .and_then(|o| o.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| oauth::bearer_challenge_error(&raw));
    let description = obj.as_ref().and_then(|o| o.get("error_description")).and_then(Value::as_str).map(str::to_string);
    let mut e =
        Error::new(ErrorCode::ProviderError, format!("{what} failed with HTTP {}", raw.status)).with_status(raw.status).at(&raw.endpoint);
    if let Some(c) = code {
        e = e.with_provider(c, description, request_id_header(&raw));
    }
    Err(e)
}

impl Dialect for Standard {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Oauth2
    }

    fn endpoints<'a>(&'a self, http: &'a Http) -> BoxFuture<'a, Result<Endpoints>> {
        async move {
            let c = &self.config;
            let given = |v: &Option<String>, f: &str| v.as_deref().map(|s| parse_base_url(f, s)).transpose();
            let mut e = Endpoints {
                authorize: given(&c.authorize_url, "authorize URL")?,
                token: given(&c.token_url, "token URL")?,
                userinfo: given(&c.userinfo_url, "userinfo URL")?,
                revocation: given(&c.revocation_url, "revocation URL")?,
                introspection: given(&c.introspection_url, "introspection URL")?,
                jwks: None,
                issuer: None,
                device_authorization: given(&c.device_authorization_url, "device authorization URL")?,
            };
            // With an issuer, discovery also names the keys ID tokens are checked with.
            let complete = e.authorize.is_some()
                && e.token.is_some()
                && e.userinfo.is_some()
                && e.revocation.is_some()
                && e.introspection.is_some()
                && c.issuer.is_none();
            if let (Some(issuer), false) = (&c.issuer, complete) {
                let raw = http.send(discovery_request(issuer)?).await?;
                let d = read_discovery(&raw, issuer)?;
                e.authorize = e.authorize.or(d.authorize);
                e.token = e.token.or(d.token);
                e.userinfo = e.userinfo.or(d.userinfo);
                e.revocation = e.revocation.or(d.revocation);
                e.introspection = e.introspection.or(d.introspection);
                e.jwks = d.jwks;
                e.device_authorization = e.device_authorization.or(d.device_authorization);
                e.issuer = d.issuer;
            }
            Ok(e)
        }
        .boxed()
    }

    fn authorization(&self, endpoints: &Endpoints, client_id: &str, redirect: &Url) -> Result<Authorization> {
        let c = &self.config;
        let mut extra: Vec<(String, String)> = c.authorize_params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        // OIDC Core §3.1.2.1: a nonce binds the ID token to this sign-in.
        if c.scopes.iter().any(|s| s == "openid") && !c.authorize_params.contains_key("nonce") {
            extra.push(("nonce".into(), random_alnum(24)));
        }
        let endpoint = endpoints.require(&endpoints.authorize, "authorize URL")?;
        oauth::authorize_url(endpoint, client_id, redirect, &c.scopes, c.pkce, &extra)
    }

    fn check_grant(&self, _grant: Grant) -> Result<()> {
        Ok(())
    }

    fn needs_client_secret(&self, grant: Grant) -> bool {
        // Public clients redeem codes and refresh with PKCE alone (RFC 6749 §2.1, RFC 7636); a
        // private_key_jwt client has a key instead of a secret.
        grant == Grant::ClientCredentials && self.config.client_auth != ClientAuth::PrivateKeyJwt
    }

    fn client_auth(&self) -> ClientAuth {
        self.config.client_auth
    }

    fn grant_scopes(&self) -> &[String] {
        &self.config.scopes
    }

    fn rejection(&self, raw: &RawResponse) -> Option<Error> {
        bearer_rejection(raw)
    }

    fn userinfo_request(&self, endpoints: &Endpoints, _token: &TokenSet, _lang: Option<&str>) -> Result<Request> {
        let endpoint = endpoints.require(&endpoints.userinfo, "userinfo URL")?;
        request(Method::GET, endpoint, Purpose::Userinfo).accept_json().build()
    }

    fn read_api_response(&self, raw: RawResponse) -> Result<Value> {
        read_json_api(raw, "the API")
    }

    fn api_base(&self, _token: Option<&TokenSet>) -> Option<String> {
        self.config.api_base.clone().or(self.config.issuer.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::{GrantInput, WhichToken};
    use crate::profile::ClientAuth;
    use crate::profile::ProfileSecrets;
    use crate::secret::Secret;
    use crate::testing::{form, header_names};

    fn dialect(auth: ClientAuth) -> Standard {
        Standard::new(Oauth2Config {
            token_url: Some("https://idp.example/oauth/token".into()),
            authorize_url: Some("https://idp.example/oauth/authorize".into()),
            userinfo_url: Some("https://idp.example/userinfo".into()),
            revocation_url: Some("https://idp.example/oauth/revoke".into()),
            introspection_url: Some("https://idp.example/oauth/introspect".into()),
            client_auth: auth,
            scopes: vec!["openid".into(), "offline_access".into()],
            pkce: true,
            ..Default::default()
        })
    }

    fn endpoints(d: &Standard) -> Endpoints {
        let http = Http::new(std::sync::Arc::new(crate::testing::MockTransport::refusing()));
        futures::executor::block_on(d.endpoints(&http)).unwrap()
    }

    fn secrets() -> ProfileSecrets {
        ProfileSecrets { client_secret: Some(Secret::new("s3cret")), ..Default::default() }
    }

    #[test]
    fn every_grant_with_basic_authentication() {
        let d = dialect(ClientAuth::Basic);
        let e = endpoints(&d);
        let basic = "Basic ZGVzazpzM2NyZXQ="; // desk:s3cret
        let v = Secret::new("verifier-1");
        let rt = Secret::new("rt-1");
        let pw = Secret::new("pw");
        let cases: Vec<(GrantInput, &str)> = vec![
            (
                GrantInput::AuthorizationCode { code: "c-1", redirect_uri: "https://app.example/cb", pkce_verifier: Some(&v) },
                "grant_type=authorization_code&code=c-1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=verifier-1",
            ),
            (
                GrantInput::Password { username: "ada", password: &pw, security_token: None },
                "grant_type=password&username=ada&password=pw&scope=openid+offline_access",
            ),
            (GrantInput::RefreshToken { refresh_token: &rt }, "grant_type=refresh_token&refresh_token=rt-1"),
            (GrantInput::ClientCredentials, "grant_type=client_credentials&scope=openid+offline_access"),
        ];
        for (input, body) in cases {
            let r = d.token_request(&e, "desk", &secrets(), &input).unwrap();
            assert_eq!(r.method(), Method::POST);
            assert_eq!(r.uri(), "https://idp.example/oauth/token");
            assert_eq!(header_names(&r), ["accept", "authorization", "content-type"], "{:?}", input.grant());
            assert_eq!(r.headers()["authorization"], basic);
            assert_eq!(r.headers()["content-type"], "application/x-www-form-urlencoded");
            assert_eq!(form(&r), body, "{:?}", input.grant());
            assert_eq!(crate::transport::Tag::of(&r).grant, Some(input.grant()));
        }
    }

    #[test]
    fn jwt_bearer_names_the_token_endpoint_and_authenticates_only_with_a_secret() {
        let d = dialect(ClientAuth::Basic);
        let e = endpoints(&d);
        assert_eq!(d.jwt_audience(&e).unwrap(), "https://idp.example/oauth/token", "RFC 7523 §3: the token endpoint may serve as audience");
        let a = Secret::new("eyJ.a.b");
        let input = GrantInput::JwtBearer { assertion: &a };
        let r = d.token_request(&e, "desk", &secrets(), &input).unwrap();
        assert_eq!(
            form(&r),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJ.a.b&scope=openid+offline_access"
        );
        assert_eq!(r.headers()["authorization"], "Basic ZGVzazpzM2NyZXQ=");
        // No secret: the assertion alone identifies the client.
        let r = d.token_request(&e, "desk", &ProfileSecrets::default(), &input).unwrap();
        assert_eq!(
            form(&r),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=eyJ.a.b&scope=openid+offline_access"
        );
        assert_eq!(header_names(&r), ["accept", "content-type"]);
        assert_eq!(crate::transport::Tag::of(&r).grant, Some(Grant::JwtBearer));
    }

    #[test]
    fn body_authentication_revocation_introspection_userinfo() {
        let d = dialect(ClientAuth::Body);
        let e = endpoints(&d);
        let r = d.token_request(&e, "desk", &secrets(), &GrantInput::ClientCredentials).unwrap();
        assert_eq!(form(&r), "grant_type=client_credentials&scope=openid+offline_access&client_id=desk&client_secret=s3cret");
        assert!(!r.headers().contains_key("authorization"));

        let t = Secret::new("at-1");
        let r = d.revocation_request(&e, "desk", &secrets(), &t, WhichToken::Access).unwrap();
        assert_eq!((r.method(), r.uri().to_string()), (&Method::POST, "https://idp.example/oauth/revoke".to_string()));
        assert_eq!(form(&r), "token=at-1&token_type_hint=access_token&client_id=desk&client_secret=s3cret");
        let r = d.introspection_request(&e, "desk", &secrets(), &t, WhichToken::Refresh).unwrap();
        assert_eq!(r.uri(), "https://idp.example/oauth/introspect");
        assert_eq!(form(&r), "token=at-1&token_type_hint=refresh_token&client_id=desk&client_secret=s3cret");

        let token = crate::testing::token("at-1");
        let mut r = d.userinfo_request(&e, &token, None).unwrap();
        d.authorize_call(&mut r, &token).unwrap();
        assert_eq!((r.method(), r.uri().to_string()), (&Method::GET, "https://idp.example/userinfo".to_string()));
        assert_eq!(r.headers()["authorization"], "Bearer at-1");
        assert_eq!(r.headers()["accept"], "application/json");
        assert!(r.body().is_empty());
    }

    #[test]
    fn authorize_url_has_pkce_state_and_nonce() {
        let d = dialect(ClientAuth::Basic);
        let e = endpoints(&d);
        let a = d.authorization(&e, "desk", &Url::parse("https://app.example/cb").unwrap()).unwrap();
        let q: std::collections::HashMap<_, _> = a.url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "desk");
        assert_eq!(q["redirect_uri"], "https://app.example/cb");
        assert_eq!(q["scope"], "openid offline_access");
        assert_eq!(q["state"], a.state);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["nonce"].len(), 24);
        assert_eq!(a.nonce.as_deref(), Some(q["nonce"].as_str()));
        assert!(a.pkce_verifier.is_some());
    }

    #[test]
    fn discovery_request_and_issuer_check() {
        let r = discovery_request("https://idp.example/realms/x").unwrap();
        assert_eq!(r.uri(), "https://idp.example/realms/x/.well-known/openid-configuration");
        let doc = r#"{"issuer":"https://evil.example","token_endpoint":"https://evil.example/token"}"#;
        let raw = RawResponse::new(200, "application/json", doc, "https://idp.example/realms/x/.well-known/openid-configuration");
        assert!(read_discovery(&raw, "https://idp.example/realms/x").unwrap_err().message.contains("names issuer"));
    }

    #[test]
    fn rejections_follow_rfc_6750() {
        let d = dialect(ClientAuth::Basic);
        let mut r = RawResponse::new(401, "application/json", r#"{"error":"invalid_token"}"#, "https://api");
        assert_eq!(d.rejection(&r).unwrap().code, ErrorCode::TokenRejected);
        r.status = 403;
        r.headers.insert("www-authenticate", r#"Bearer error="insufficient_scope""#.parse().unwrap());
        assert!(d.rejection(&r).is_none(), "a missing scope is not renewed");
        r.headers.insert("www-authenticate", r#"Bearer error="invalid_token""#.parse().unwrap());
        assert!(d.rejection(&r).is_some());
    }
}
