//! WeChat (Weixin) web authorization: its own small client, because WeChat is not RFC 6749.
//! Every API call is a GET with credentials in the query string; JSON arrives as `text/plain`;
//! errors arrive at HTTP 200 as `{"errcode","errmsg"}` with a request id inside `errmsg`; there
//! is no `token_type`; the authorize URL's parameter order is fixed and ends in `#wechat_redirect`
//! (PROTOCOLS.md, "WeChat"). The `oauth2` crate rejects each of these, so it is not used here.

use crate::error::{Error, ErrorCode, Result};
use crate::hints;
use crate::http::{HttpClient, RawResponse};
use crate::profile::{join_url, parse_base_url, Provider, WechatEndpoints};
use crate::secret::Secret;
use crate::session::Session;
use futures::FutureExt;
use rand::Rng;
use serde_json::{Map, Value};
use url::Url;

/// `[a-zA-Z0-9]`, the only characters WeChat allows in `state` (at most 128 bytes).
pub fn random_alnum(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

/// `{open}/{path}?appid=&redirect_uri=&response_type=code&scope=&state=#wechat_redirect`, in
/// exactly this order, with the redirect URI fully percent-encoded. Returns the URL and state.
pub fn authorize_url(endpoints: &WechatEndpoints, path: &str, appid: &str, redirect: &Url, scope: &str) -> Result<(Url, String)> {
    parse_base_url("WeChat open platform base", &endpoints.open_base)?;
    let state = random_alnum(32);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!(
        "{}?appid={}&redirect_uri={}&response_type=code&scope={}&state={}#wechat_redirect",
        join_url(&endpoints.open_base, path),
        enc(appid),
        enc(redirect.as_str()),
        scope,
        state
    );
    let url = Url::parse(&raw).map_err(|e| Error::invalid_input(format!("cannot build the WeChat authorize URL ({e})")))?;
    Ok((url, state))
}

/// What a call is for, which decides what an errcode means (40001 at the code exchange is a bad
/// AppSecret; at an API call it is a refused access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    Exchange,
    Refresh,
    Api,
}

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

/// Reads a WeChat response: a JSON object (whatever the content type) with no `errcode` or
/// `errcode: 0`; anything else becomes an error with the errcode, errmsg and request id.
pub(crate) fn read(raw: &RawResponse, call: Call) -> Result<Map<String, Value>> {
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
    let errcode = obj.get("errcode").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).unwrap_or(0);
    if errcode == 0 {
        return Ok(obj);
    }
    let errmsg = obj.get("errmsg").and_then(Value::as_str).unwrap_or("");
    let (message, rid) = split_errmsg(errmsg);
    let code = match (call, errcode) {
        (Call::Api, 42001 | 40001 | 40014) => ErrorCode::TokenRejected,
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
    Err(Error::new(code, format!("{what} with errcode {errcode}"))
        .with_provider(errcode.to_string(), Some(message), rid)
        .with_hint(hints::wechat(errcode))
        .with_status(raw.status)
        .at(&raw.endpoint))
}

async fn get(http: &HttpClient, endpoints: &WechatEndpoints, path: &str, query: &[(&str, &str)], call: Call) -> Result<Map<String, Value>> {
    parse_base_url("WeChat API base", &endpoints.api_base)?;
    let req = http
        .reqwest()
        .get(join_url(&endpoints.api_base, path))
        .query(&query)
        .build()
        .map_err(|e| Error::invalid_input(format!("cannot build the WeChat request: {}", crate::http::root_cause(&e))))?;
    read(&http.execute(req).await?, call)
}

/// `GET sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code`.
pub(crate) async fn exchange_code(
    http: &HttpClient,
    e: &WechatEndpoints,
    appid: &str,
    secret: &Secret,
    code: &str,
) -> Result<Map<String, Value>> {
    let q = [("appid", appid), ("secret", secret.expose()), ("code", code), ("grant_type", "authorization_code")];
    get(http, e, "sns/oauth2/access_token", &q, Call::Exchange).await
}

/// `GET sns/oauth2/refresh_token?appid&grant_type=refresh_token&refresh_token` (no secret).
pub(crate) async fn refresh(http: &HttpClient, e: &WechatEndpoints, appid: &str, refresh_token: &Secret) -> Result<Map<String, Value>> {
    let q = [("appid", appid), ("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose())];
    get(http, e, "sns/oauth2/refresh_token", &q, Call::Refresh).await
}

impl Session {
    fn wechat_endpoints(&self) -> Result<&WechatEndpoints> {
        match &self.profile().provider {
            Provider::WechatOfficialAccount(c) => Ok(&c.endpoints),
            Provider::WechatWebsite(c) => Ok(&c.endpoints),
            _ => Err(Error::invalid_input(format!("profile `{}` is not a WeChat profile", self.profile().name))),
        }
    }

    fn wechat_default_lang(&self) -> &str {
        match &self.profile().provider {
            Provider::WechatOfficialAccount(c) => &c.lang,
            Provider::WechatWebsite(c) => &c.lang,
            _ => "zh_CN",
        }
    }

    /// `GET sns/userinfo?access_token&openid&lang`; refreshes and retries once on 42001/40001/40014.
    pub async fn wechat_userinfo(&self, lang: Option<&str>) -> Result<Value> {
        let endpoints = self.wechat_endpoints()?;
        let lang = lang.unwrap_or(self.wechat_default_lang()).to_string();
        if !matches!(lang.as_str(), "zh_CN" | "zh_TW" | "en") {
            return Err(Error::invalid_input(format!("language `{lang}` must be zh_CN, zh_TW or en")));
        }
        self.authorized(move |t| {
            let lang = lang.clone();
            async move {
                let openid = t.openid.clone().ok_or_else(|| Error::unexpected("the token has no openid"))?;
                let q = [("access_token", t.access_token.expose()), ("openid", openid.as_str()), ("lang", lang.as_str())];
                get(self.http(), endpoints, "sns/userinfo", &q, Call::Api).await.map(Value::Object)
            }
            .boxed()
        })
        .await
    }

    /// `GET sns/auth?access_token&openid`: is the current token valid? No refresh: it checks.
    pub async fn wechat_check(&self) -> Result<Value> {
        let endpoints = self.wechat_endpoints()?;
        let t = self.token().await.ok_or_else(|| Error::new(ErrorCode::NotSignedIn, "no token: sign in first"))?;
        let openid = t.openid.clone().ok_or_else(|| Error::unexpected("the token has no openid"))?;
        let q = [("access_token", t.access_token.expose()), ("openid", openid.as_str())];
        get(self.http(), endpoints, "sns/auth", &q, Call::Api).await.map(Value::Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_has_wechats_exact_shape() {
        let e = WechatEndpoints::default();
        let redirect = Url::parse("https://app.example.com/wx/callback?from=desk").unwrap();
        let (url, state) = authorize_url(&e, "connect/oauth2/authorize", "wx520c15f417810387", &redirect, "snsapi_userinfo").unwrap();
        assert_eq!(state.len(), 32);
        assert!(state.chars().all(|c| c.is_ascii_alphanumeric()), "state must be [a-zA-Z0-9]");
        assert_eq!(
            url.as_str(),
            format!(
                "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx520c15f417810387&redirect_uri=https%3A%2F%2Fapp.example.com%2Fwx%2Fcallback%3Ffrom%3Ddesk&response_type=code&scope=snsapi_userinfo&state={state}#wechat_redirect"
            )
        );
        let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        assert_eq!(keys, ["appid", "redirect_uri", "response_type", "scope", "state"]);
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
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, "text/plain".parse().unwrap());
        RawResponse {
            status: 200,
            headers,
            body: bytes::Bytes::from(body.to_string()),
            endpoint: "https://api.weixin.qq.com/sns/userinfo".into(),
        }
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
        let ok =
            read(&raw(r#"{"access_token":"A","expires_in":7200,"refresh_token":"R","openid":"O","scope":"snsapi_base"}"#), Call::Exchange)
                .unwrap();
        assert_eq!(ok["openid"], "O");
    }
}
