//! WeChat (Weixin) web authorization, Official Account and website QR login. WeChat is not
//! RFC 6749: every API call is a GET with credentials in the query string; JSON arrives as
//! `text/plain`; errors arrive at HTTP 200 as `{"errcode","errmsg"}` with a request id inside
//! `errmsg`; there is no `token_type`, no revocation, no introspection; the authorize URL's
//! parameter order is fixed and ends in `#wechat_redirect` (PROTOCOLS.md, "WeChat").

use crate::dialect::{unsupported, Dialect};
use crate::error::{excerpt, Action, Error, ErrorCode, Result};
use crate::http_client::Http;
use crate::oauth::{Authorization, Endpoints, GrantInput, WhichToken};
use crate::profile::{
    join_url, parse_base_url, ProfileSecrets, Provider, ProviderKind, WechatEndpoints, WechatOfficialAccountConfig, WechatWebsiteConfig,
};
use crate::secret::{random_alnum, Secret};
use crate::session::Session;
use crate::token::{Grant, TokenSet};
use crate::transport::{request, Purpose, RawResponse, Request};
use futures::future::BoxFuture;
use futures::FutureExt;
use http::Method;
use serde_json::{Map, Value};
use url::Url;

/// Official Account pages (`connect/oauth2/authorize`, inside the WeChat app) or a website's QR
/// login (`connect/qrconnect`, scope `snsapi_login`).
#[derive(Debug, Clone)]
pub struct Wechat {
    endpoints: WechatEndpoints,
    authorize_path: &'static str,
    scope: &'static str,
    lang: String,
}

impl Wechat {
    pub fn official_account(c: WechatOfficialAccountConfig) -> Self {
        Wechat { endpoints: c.endpoints, authorize_path: "connect/oauth2/authorize", scope: c.scope.as_str(), lang: c.lang }
    }
    pub fn website(c: WechatWebsiteConfig) -> Self {
        Wechat { endpoints: c.endpoints, authorize_path: "connect/qrconnect", scope: "snsapi_login", lang: c.lang }
    }

    fn api_url(&self, path: &str) -> Result<Url> {
        parse_base_url("WeChat API base", &self.endpoints.api_base)?;
        parse_base_url("WeChat API URL", &join_url(&self.endpoints.api_base, path))
    }

    /// `GET {api}/{path}?k=v...`, parameters in exactly the order given.
    fn get(&self, path: &str, query: &[(&str, &str)], purpose: Purpose) -> Result<Request> {
        self.get_builder(path, query, purpose)?.build()
    }

    fn get_builder(&self, path: &str, query: &[(&str, &str)], purpose: Purpose) -> Result<crate::transport::RequestBuilder> {
        let mut url = self.api_url(path)?;
        url.query_pairs_mut().extend_pairs(query);
        Ok(request(Method::GET, &url, purpose))
    }
}

/// `{open}/{path}?appid=&redirect_uri=&response_type=code&scope=&state=#wechat_redirect`, in
/// exactly this order, with the redirect URI fully percent-encoded.
pub fn authorize_url(open_base: &str, path: &str, appid: &str, redirect: &Url, scope: &str, state: &str) -> Result<Url> {
    parse_base_url("WeChat open platform base", open_base)?;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!(
        "{}?appid={}&redirect_uri={}&response_type=code&scope={}&state={}#wechat_redirect",
        join_url(open_base, path),
        enc(appid),
        enc(redirect.as_str()),
        scope,
        state
    );
    Url::parse(&raw).map_err(|e| Error::invalid_input(format!("cannot build the WeChat authorize URL ({e})")))
}

/// What a call is for, which decides what an errcode means (40001 at the code exchange is a bad
/// AppSecret; at an API call it is a refused access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Exchange,
    Refresh,
    Api,
}

/// The errcodes that mean "this access token is refused: renew it".
pub const TOKEN_REJECTED: [i64; 3] = [42001, 40001, 40014];

/// `"invalid code, rid: 653f..."` → (`invalid code`, `653f...`); also `hints: [ req_id: X ]`.
pub fn split_errmsg(errmsg: &str) -> (String, Option<String>) {
    if let Some(i) = errmsg.find("rid:") {
        let msg = errmsg[..i].trim().trim_end_matches(',').trim().to_string();
        let rid = errmsg[i + 4..].trim().trim_end_matches(']').trim().to_string();
        return (msg, (!rid.is_empty()).then_some(rid));
    }
    if let Some(i) = errmsg.find("req_id:") {
        let head = errmsg[..i].trim();
        let msg = head.split("hints:").next().unwrap_or(head).trim().trim_end_matches(',').trim().to_string();
        let rid = errmsg[i + 7..].trim().trim_end_matches(']').trim().to_string();
        return (msg, (!rid.is_empty()).then_some(rid));
    }
    (errmsg.trim().to_string(), None)
}

/// Hint for a WeChat `errcode`.
pub fn hint(errcode: i64) -> &'static str {
    match errcode {
        -1 => "WeChat is busy: try again in a moment",
        40001 | 40125 => "check the AppSecret of the profile (or the token is invalid: sign in again)",
        40003 => "the openid does not belong to this appid: sign in again with this profile",
        40013 => "check the AppID of the profile",
        40014 => "the access token is invalid: sign in again",
        40029 | 40163 => "WeChat codes are single-use: sign in again to get a fresh code",
        40030 => "the refresh token is invalid: sign in again",
        41001..=41009 => "a required parameter is missing; check the profile",
        42001 => "the access token expired: refresh it",
        42002 => "the refresh token expired (they live 30 days): sign in again",
        42003 => "the code expired (5 minutes for Official Accounts, 10 for websites): sign in again",
        42007 => "the user changed their password: sign in again",
        43001 => "WeChat requires GET for this call",
        48001 => "this API is not authorized for the granted scope: sign in with snsapi_userinfo to read user info",
        10003 => "the redirect URI's domain is not registered for this appid",
        10005 => "this appid has no permission for the requested scope",
        _ => "see WeChat's global return codes for this errcode",
    }
}

fn errcode_of(obj: &Map<String, Value>) -> i64 {
    obj.get("errcode").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))).unwrap_or(0)
}

/// Reads a WeChat response: a JSON object (whatever the content type) with no `errcode` or
/// `errcode: 0`; anything else becomes an error with the errcode, errmsg and request id.
pub fn read(raw: &RawResponse, call: Call) -> Result<Map<String, Value>> {
    if !raw.is_success() {
        let mut e = raw.not_json(None);
        e.code = ErrorCode::ProviderError;
        e.message = format!("WeChat answered HTTP {}", raw.status);
        return Err(e);
    }
    let obj = match raw.json()? {
        Value::Object(o) => o,
        _ => return Err(Error::unexpected("WeChat answered with JSON that is not an object").at(&raw.endpoint)),
    };
    let errcode = errcode_of(&obj);
    if errcode == 0 {
        return Ok(obj);
    }
    let errmsg = obj.get("errmsg").and_then(Value::as_str).unwrap_or("");
    let (message, rid) = split_errmsg(errmsg);
    let code = match (call, errcode) {
        (Call::Api, c) if TOKEN_REJECTED.contains(&c) => ErrorCode::TokenRejected,
        (Call::Exchange, 40029 | 40163 | 42003) => ErrorCode::InvalidGrant,
        (Call::Refresh, 40030 | 42002 | 42007) => ErrorCode::InvalidGrant,
        (Call::Exchange | Call::Refresh, 40001 | 40013 | 40125) => ErrorCode::InvalidClient,
        _ => ErrorCode::ProviderError,
    };
    let what = match call {
        Call::Exchange => "WeChat refused the code exchange",
        Call::Refresh => "WeChat refused the refresh",
        Call::Api => "WeChat refused the call",
    };
    let mut e = Error::new(code, format!("{what} with errcode {errcode}"))
        .with_provider(errcode.to_string(), Some(message), rid)
        .with_hint(hint(errcode))
        .with_status(raw.status)
        .at(&raw.endpoint);
    if code == ErrorCode::InvalidGrant {
        e = e.with_action(Action::SignIn);
    }
    Err(e)
}

impl Dialect for Wechat {
    fn kind(&self) -> ProviderKind {
        if self.authorize_path == "connect/qrconnect" {
            ProviderKind::WechatWebsite
        } else {
            ProviderKind::WechatOfficialAccount
        }
    }

    fn secret_name(&self) -> &'static str {
        "AppSecret"
    }

    fn endpoints<'a>(&'a self, _http: &'a Http) -> BoxFuture<'a, Result<Endpoints>> {
        futures::future::ready(Ok(Endpoints::default())).boxed()
    }

    fn authorization(&self, _endpoints: &Endpoints, client_id: &str, redirect: &Url) -> Result<Authorization> {
        // `state`: [a-zA-Z0-9], at most 128 bytes. WeChat takes no PKCE and no nonce.
        let state = random_alnum(32);
        let url = authorize_url(&self.endpoints.open_base, self.authorize_path, client_id, redirect, self.scope, &state)?;
        Ok(Authorization { url, state, pkce_verifier: None, nonce: None })
    }

    fn check_grant(&self, grant: Grant) -> Result<()> {
        match grant {
            Grant::AuthorizationCode | Grant::RefreshToken => Ok(()),
            Grant::Password => Err(unsupported(
                "WeChat has no password grant",
                "sign in through the authorize page, or paste the code from the WeChat app",
            )),
            Grant::ClientCredentials => {
                Err(unsupported("WeChat user sign-in has no client credentials grant", "sign in through the authorize page"))
            }
            Grant::JwtBearer => Err(unsupported("WeChat has no JWT bearer grant", "sign in through the authorize page")),
            Grant::DeviceCode => Err(unsupported("WeChat has no device grant", "sign in through the authorize page or the QR code")),
        }
    }

    fn needs_client_secret(&self, grant: Grant) -> bool {
        grant == Grant::AuthorizationCode
    }

    fn token_request(&self, _endpoints: &Endpoints, client_id: &str, secrets: &ProfileSecrets, input: &GrantInput) -> Result<Request> {
        match input {
            // `GET sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`.
            GrantInput::AuthorizationCode { code, .. } => {
                let secret = secrets.client_secret.as_ref().map(Secret::expose).unwrap_or("");
                let q = [("appid", client_id), ("secret", secret), ("code", code), ("grant_type", "authorization_code")];
                self.get_builder("sns/oauth2/access_token", &q, Purpose::Token)?.grant(Grant::AuthorizationCode).build()
            }
            // `GET sns/oauth2/refresh_token?appid&grant_type=refresh_token&refresh_token` (no secret).
            GrantInput::RefreshToken { refresh_token } => {
                let q = [("appid", client_id), ("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())];
                self.get_builder("sns/oauth2/refresh_token", &q, Purpose::Token)?.grant(Grant::RefreshToken).build()
            }
            other => {
                self.check_grant(other.grant())?;
                Err(unsupported(format!("WeChat has no {} grant", other.grant().as_str()), "sign in through the authorize page"))
            }
        }
    }

    fn read_token_response(&self, raw: &RawResponse, grant: Grant) -> Result<Map<String, Value>> {
        let obj = read(raw, if grant == Grant::RefreshToken { Call::Refresh } else { Call::Exchange })?;
        match obj.get("access_token") {
            Some(Value::String(s)) if !s.is_empty() => Ok(obj),
            _ => Err(Error::unexpected("WeChat's answer has no access_token").with_status(raw.status).at(&raw.endpoint)),
        }
    }

    /// WeChat carries the token in the query: `access_token` and `openid`, appended when the
    /// request does not name them already.
    fn authorize_call(&self, request: &mut Request, token: &TokenSet) -> Result<()> {
        let mut url = Url::parse(&request.uri().to_string()).map_err(|e| Error::invalid_input(format!("bad request URL ({e})")))?;
        let has = |k: &str| url.query_pairs().any(|(n, _)| n == k);
        let (need_token, need_openid) = (!has("access_token"), !has("openid"));
        if need_token || need_openid {
            {
                let mut q = url.query_pairs_mut();
                if need_token {
                    q.append_pair("access_token", token.access_token.expose());
                }
                if let (true, Some(o)) = (need_openid, &token.openid) {
                    q.append_pair("openid", o);
                }
            }
            *request.uri_mut() = url.as_str().parse().map_err(|_| Error::invalid_input("the request URL cannot carry the token"))?;
        }
        Ok(())
    }

    fn rejection(&self, raw: &RawResponse) -> Option<Error> {
        let obj = crate::oauth::lenient_object(raw)?;
        let code = errcode_of(&obj);
        TOKEN_REJECTED.contains(&code).then(|| read(raw, Call::Api).err()).flatten()
    }

    fn revocation_request(&self, _: &Endpoints, _: &str, _: &ProfileSecrets, _: &Secret, _: WhichToken) -> Result<Request> {
        Err(unsupported(
            "WeChat has no token revocation endpoint",
            "the user can revoke the app's access in WeChat; forgetting the token here signs this profile out locally",
        ))
    }

    fn read_revocation_response(&self, _raw: &RawResponse) -> Result<()> {
        Err(unsupported("WeChat has no token revocation endpoint", "forget the token locally instead"))
    }

    fn introspection_request(&self, _: &Endpoints, _: &str, _: &ProfileSecrets, _: &Secret, _: WhichToken) -> Result<Request> {
        Err(unsupported("WeChat has no introspection endpoint", "use the token check (sns/auth) instead"))
    }

    fn read_introspection_response(&self, _raw: &RawResponse) -> Result<Value> {
        Err(unsupported("WeChat has no introspection endpoint", "use the token check (sns/auth) instead"))
    }

    /// `GET sns/userinfo?access_token&openid&lang`.
    fn userinfo_request(&self, _endpoints: &Endpoints, token: &TokenSet, lang: Option<&str>) -> Result<Request> {
        let lang = lang.unwrap_or(&self.lang);
        if !matches!(lang, "zh_CN" | "zh_TW" | "en") {
            return Err(Error::invalid_input(format!("language `{}` must be zh_CN, zh_TW or en", excerpt(lang, 20))));
        }
        let openid = token.openid.as_deref().ok_or_else(|| Error::unexpected("the token has no openid").with_action(Action::SignIn))?;
        let q = [("access_token", token.access_token.expose()), ("openid", openid), ("lang", lang)];
        self.get("sns/userinfo", &q, Purpose::Userinfo)
    }

    fn read_api_response(&self, raw: RawResponse) -> Result<Value> {
        read(&raw, Call::Api).map(Value::Object)
    }

    fn api_base(&self, _token: Option<&TokenSet>) -> Option<String> {
        Some(self.endpoints.api_base.clone())
    }

    fn redirect_without_code(&self) -> Error {
        Error::new(ErrorCode::AccessDenied, "WeChat redirected without a code: the user declined")
            .with_hint("WeChat signals refusal by redirecting with only `state`; sign in again and tap Allow")
    }
}

/// WeChat's `sns/*` calls for one session.
pub struct WechatApi<'s> {
    session: &'s Session,
    dialect: Wechat,
}

impl<'s> WechatApi<'s> {
    pub fn of(session: &'s Session) -> Result<Self> {
        let dialect = match session.profile().provider {
            Provider::WechatOfficialAccount(c) => Wechat::official_account(c),
            Provider::WechatWebsite(c) => Wechat::website(c),
            _ => return Err(Error::invalid_input(format!("profile `{}` is not a WeChat profile", session.profile().name))),
        };
        Ok(WechatApi { session, dialect })
    }

    /// `sns/userinfo` (refreshes and retries once on 42001/40001/40014).
    pub async fn userinfo(&self, lang: Option<&str>) -> Result<Value> {
        self.session.userinfo(lang).await
    }

    /// `GET sns/auth?access_token&openid`: is the current token valid? No renewal: it checks.
    pub async fn check(&self) -> Result<Value> {
        let t = self
            .session
            .token()
            .await
            .ok_or_else(|| Error::new(ErrorCode::NotSignedIn, "no token: sign in first").with_action(Action::SignIn))?;
        let openid = t.openid.clone().ok_or_else(|| Error::unexpected("the token has no openid"))?;
        let request = self.dialect.get("sns/auth", &[("access_token", t.access_token.expose()), ("openid", &openid)], Purpose::Api)?;
        let raw = self.session.send(request).await?;
        read(&raw, Call::Api).map(Value::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::WechatScope;

    fn oa() -> Wechat {
        Wechat::official_account(WechatOfficialAccountConfig {
            scope: WechatScope::Userinfo,
            lang: "zh_CN".into(),
            endpoints: WechatEndpoints::default(),
        })
    }

    fn secrets() -> ProfileSecrets {
        ProfileSecrets { client_secret: Some(Secret::new("0123456789abcdef0123456789abcdef")), ..Default::default() }
    }

    #[test]
    fn authorize_url_has_wechats_exact_shape() {
        let redirect = Url::parse("https://app.example.com/wx/callback?from=desk").unwrap();
        let a = oa().authorization(&Endpoints::default(), "wx520c15f417810387", &redirect).unwrap();
        assert_eq!(a.state.len(), 32);
        assert!(a.state.chars().all(|c| c.is_ascii_alphanumeric()), "state must be [a-zA-Z0-9]");
        assert_eq!(
            a.url.as_str(),
            format!(
                "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx520c15f417810387&redirect_uri=https%3A%2F%2Fapp.example.com%2Fwx%2Fcallback%3Ffrom%3Ddesk&response_type=code&scope=snsapi_userinfo&state={}#wechat_redirect",
                a.state
            )
        );
        let web = Wechat::website(WechatWebsiteConfig { lang: "en".into(), endpoints: WechatEndpoints::default() });
        let a = web.authorization(&Endpoints::default(), "wxf0", &redirect).unwrap();
        assert!(a.url.as_str().starts_with("https://open.weixin.qq.com/connect/qrconnect?appid=wxf0&"), "{}", a.url);
        assert!(a.url.as_str().contains("&scope=snsapi_login&"));
    }

    #[test]
    fn exchange_refresh_and_calls_keep_wechats_parameter_order() {
        let d = oa();
        let e = Endpoints::default();
        let r = d
            .token_request(
                &e,
                "wx520c",
                &secrets(),
                &GrantInput::AuthorizationCode { code: "061Abc", redirect_uri: "https://x", pkce_verifier: None },
            )
            .unwrap();
        assert_eq!(r.method(), Method::GET);
        assert_eq!(
            r.uri(),
            "https://api.weixin.qq.com/sns/oauth2/access_token?appid=wx520c&secret=0123456789abcdef0123456789abcdef&code=061Abc&grant_type=authorization_code"
        );
        assert!(r.body().is_empty());
        assert_eq!(crate::transport::Tag::of(&r).grant, Some(Grant::AuthorizationCode));
        let rt = Secret::new("RT1");
        let r = d.token_request(&e, "wx520c", &secrets(), &GrantInput::RefreshToken { refresh_token: &rt }).unwrap();
        assert_eq!(r.uri(), "https://api.weixin.qq.com/sns/oauth2/refresh_token?appid=wx520c&grant_type=refresh_token&refresh_token=RT1");

        let mut token = crate::testing::token("AT1");
        token.openid = Some("oOPEN".into());
        let mut r = d.userinfo_request(&e, &token, Some("en")).unwrap();
        d.authorize_call(&mut r, &token).unwrap();
        assert_eq!(r.uri(), "https://api.weixin.qq.com/sns/userinfo?access_token=AT1&openid=oOPEN&lang=en", "not appended twice");
        let mut r = request(Method::GET, &Url::parse("https://api.weixin.qq.com/cgi-bin/x?a=1").unwrap(), Purpose::Api).build().unwrap();
        d.authorize_call(&mut r, &token).unwrap();
        assert_eq!(r.uri(), "https://api.weixin.qq.com/cgi-bin/x?a=1&access_token=AT1&openid=oOPEN");
        assert_eq!(d.userinfo_request(&e, &token, Some("fr")).unwrap_err().code, ErrorCode::InvalidInput);
    }

    #[test]
    fn grants_wechat_does_not_have_are_refused_before_sending() {
        let d = oa();
        assert_eq!(d.check_grant(Grant::Password).unwrap_err().code, ErrorCode::UnsupportedGrant);
        assert_eq!(d.check_grant(Grant::ClientCredentials).unwrap_err().code, ErrorCode::UnsupportedGrant);
        assert!(d.revocation_request(&Endpoints::default(), "wx", &secrets(), &Secret::new("t"), WhichToken::Access).is_err());
    }

    #[test]
    fn errmsg_request_ids() {
        assert_eq!(
            split_errmsg("invalid code, rid: 653f9b8e-1a2b3c4d-5e6f7a8b"),
            ("invalid code".into(), Some("653f9b8e-1a2b3c4d-5e6f7a8b".into()))
        );
        assert_eq!(
            split_errmsg("invalid credential, hints: [ req_id: gGfT0a0ce-Zn5 ]"),
            ("invalid credential".into(), Some("gGfT0a0ce-Zn5".into()))
        );
        assert_eq!(split_errmsg("ok"), ("ok".into(), None));
    }

    fn raw(body: &str) -> RawResponse {
        RawResponse::new(200, "text/plain", body.to_string(), "https://api.weixin.qq.com/sns/userinfo")
    }

    #[test]
    fn errors_at_200_are_read_by_context() {
        let e = read(&raw(r#"{"errcode":40029,"errmsg":"invalid code, rid: 6a1"}"#), Call::Exchange).unwrap_err();
        assert_eq!((e.code, e.provider_code()), (ErrorCode::InvalidGrant, Some("40029")));
        assert_eq!(e.provider.as_ref().unwrap().request_id.as_deref(), Some("6a1"));
        assert!(e.hint.as_deref().unwrap().contains("single-use"));
        assert_eq!(
            read(&raw(r#"{"errcode":42001,"errmsg":"access_token expired"}"#), Call::Api).unwrap_err().code,
            ErrorCode::TokenRejected
        );
        assert_eq!(
            read(&raw(r#"{"errcode":40001,"errmsg":"invalid credential"}"#), Call::Exchange).unwrap_err().code,
            ErrorCode::InvalidClient
        );
        assert_eq!(read(&raw(r#"{"errcode":48001,"errmsg":"api unauthorized"}"#), Call::Api).unwrap_err().code, ErrorCode::ProviderError);
        assert_eq!(read(&raw(r#"{"errcode":0,"errmsg":"ok"}"#), Call::Api).unwrap()["errmsg"], "ok");
        let d = oa();
        assert!(d.rejection(&raw(r#"{"errcode":"40014","errmsg":"invalid access_token"}"#)).is_some(), "errcode as a string too");
        assert!(d.rejection(&raw(r#"{"errcode":48001,"errmsg":"api unauthorized"}"#)).is_none());
        let ok = d
            .read_token_response(
                &raw(r#"{"access_token":"A","expires_in":7200,"refresh_token":"R","openid":"O","scope":"snsapi_base"}"#),
                Grant::AuthorizationCode,
            )
            .unwrap();
        assert_eq!(ok["openid"], "O");
    }
}
