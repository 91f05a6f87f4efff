//! WeChat's web authorization, as PROTOCOLS.md records it: the authorize page checks the exact
//! parameter order (silent for `snsapi_base`, a consent page for `snsapi_userinfo`), the QR-login
//! page has a "confirm on phone" button, and every `sns/*` endpoint is a GET that answers
//! `text/plain` JSON, with errors at HTTP 200 carrying a request id in `errmsg`.

use crate::html::{escape, hidden, page};
use crate::random_token;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct App {
    pub appid: String,
    pub secret: String,
    pub name: String,
    /// Website apps bound to an Open Platform account get a `unionid`.
    pub website: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub apps: Vec<App>,
    /// Official Account codes live 5 minutes, website codes 10.
    pub code_ttl: Duration,
    pub website_code_ttl: Duration,
    pub token_ttl: Duration,
    pub refresh_ttl: Duration,
    pub nickname: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            apps: vec![
                App {
                    appid: "wx0a1b2c3d4e5f6a7b".into(),
                    secret: "0123456789abcdef0123456789abcdef".into(),
                    name: "OAuth Desk 演示公众号".into(),
                    website: false,
                },
                App {
                    appid: "wxf0e1d2c3b4a59687".into(),
                    secret: "fedcba9876543210fedcba9876543210".into(),
                    name: "OAuth Desk 网站应用".into(),
                    website: true,
                },
            ],
            code_ttl: Duration::from_secs(300),
            website_code_ttl: Duration::from_secs(600),
            token_ttl: Duration::from_secs(7200),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            nickname: "微信用户 Ada".into(),
        }
    }
}

struct Code {
    app: usize,
    scope: String,
    issued: Instant,
    used: bool,
}

struct Access {
    app: usize,
    scope: String,
    issued: Instant,
    expired: bool,
}

#[derive(Default, Debug, Clone, serde::Serialize)]
pub struct Stats {
    pub access_token_calls: u64,
    pub refresh_calls: u64,
    pub userinfo_calls: u64,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, Code>,
    access: HashMap<String, Access>,
    /// refresh token → (app, scope, issued, current access token)
    refresh: HashMap<String, (usize, String, Instant, String)>,
    stats: Stats,
}

#[derive(Clone)]
pub struct Emulator {
    config: Arc<Config>,
    inner: Arc<Mutex<Inner>>,
}

/// A request id in WeChat's form, e.g. `6581a2b3-4c5d6e7f-0a1b2c3d`.
fn rid() -> String {
    let t = random_token(24).to_lowercase();
    format!("{}-{}-{}", &t[0..8], &t[8..16], &t[16..24])
}

/// WeChat's JSON: always HTTP 200, always `text/plain`.
fn wx(body: Value) -> Response {
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

fn wx_error(code: i64, msg: &str) -> Response {
    wx(json!({"errcode": code, "errmsg": format!("{msg}, rid: {}", rid())}))
}

fn oops(code: i64, msg: &str) -> Response {
    Html(page(
        "微信网页授权",
        "#07c160",
        &format!(r#"<h1>Oops! Something went wrong:(</h1><p class="error" id="error">{code}: {}</p>"#, escape(msg)),
    ))
    .into_response()
}

impl Emulator {
    pub fn new(config: Config) -> Self {
        Emulator { config: Arc::new(config), inner: Arc::default() }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stats(&self) -> Stats {
        self.inner.lock().expect("state").stats.clone()
    }

    /// Every access token expires now (its refresh token stays valid).
    pub fn expire_tokens(&self) {
        for a in self.inner.lock().expect("state").access.values_mut() {
            a.expired = true;
        }
    }

    /// The openid of the demo user for an app: stable per app, as WeChat's are.
    pub fn openid(&self, app: usize) -> String {
        let a = &self.config.apps[app];
        format!("o{}{}", &a.appid[2..8], "Emu_Ada_3fA9kQ2")
    }

    pub fn unionid(&self) -> String {
        "oUnion_Emu_Ada_7Hq2Lx".to_string()
    }

    pub fn router(&self) -> Router {
        let sns = |path: &str, r: Router<Emulator>| r.route(path, get(sns_dispatch).post(must_get));
        let mut r = Router::new()
            .route("/connect/oauth2/authorize", get(authorize))
            .route("/connect/oauth2/authorize/confirm", post(confirm))
            .route("/connect/qrconnect", get(qrconnect))
            .route("/connect/qrconnect/confirm", post(confirm))
            .route("/__emulator/expire", post(admin_expire))
            .route("/__emulator/stats", get(admin_stats));
        for p in ["/sns/oauth2/access_token", "/sns/oauth2/refresh_token", "/sns/userinfo", "/sns/auth"] {
            r = sns(p, r);
        }
        r.with_state(self.clone())
    }

    fn app(&self, appid: &str) -> Option<usize> {
        self.config.apps.iter().position(|a| a.appid == appid)
    }

    fn issue_code(&self, app: usize, scope: &str) -> String {
        let code = format!("0{}", random_token(31));
        self.inner
            .lock()
            .expect("state")
            .codes
            .insert(code.clone(), Code { app, scope: scope.to_string(), issued: Instant::now(), used: false });
        code
    }

    fn token_body(&self, app: usize, scope: &str, access: &str, refresh: &str) -> Value {
        let mut body = json!({
            "access_token": access, "expires_in": self.config.token_ttl.as_secs(), "refresh_token": refresh,
            "openid": self.openid(app), "scope": scope
        });
        if self.config.apps[app].website || scope == "snsapi_userinfo" {
            body["unionid"] = json!(self.unionid());
        }
        if scope == "snsapi_base" {
            body["is_snapshotuser"] = json!(0);
        }
        body
    }
}

/// The query's keys in order, and its values decoded.
fn ordered(raw: &str) -> (Vec<String>, HashMap<String, String>) {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    (pairs.iter().map(|(k, _)| k.clone()).collect(), pairs.into_iter().collect())
}

/// WeChat rejects a page whose parameters are not exactly `appid, redirect_uri, response_type,
/// scope[, state]` in this order.
fn check_order(em: &Emulator, raw: &str, allowed_scopes: &[&str]) -> Result<(usize, HashMap<String, String>), Response> {
    let (keys, params) = ordered(raw);
    let expected = ["appid", "redirect_uri", "response_type", "scope", "state"];
    let ok = keys.len() >= 4 && keys.len() <= 5 && keys.iter().zip(expected.iter()).all(|(k, e)| k == e);
    if !ok {
        return Err(oops(10003, "参数错误 (parameters must be appid, redirect_uri, response_type, scope, state in this order)"));
    }
    let Some(app) = em.app(&params["appid"]) else { return Err(oops(10016, "不支持的 appid (unknown appid)")) };
    if params["response_type"] != "code" {
        return Err(oops(10004, "response_type 必须为 code"));
    }
    if !allowed_scopes.contains(&params["scope"].as_str()) {
        return Err(oops(10005, "此公众号并没有这些 scope 的权限 (no permission for this scope)"));
    }
    if url::Url::parse(&params["redirect_uri"]).is_err() {
        return Err(oops(10003, "redirect_uri 域名与后台配置不一致"));
    }
    if let Some(s) = params.get("state") {
        if s.len() > 128 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(oops(10003, "state 参数只能包含 a-zA-Z0-9，且不超过 128 字节"));
        }
    }
    Ok((app, params))
}

fn back_to(redirect: &str, code: Option<&str>, state: Option<&String>) -> Response {
    let Ok(mut url) = url::Url::parse(redirect) else { return oops(10003, "redirect_uri") };
    {
        let mut q = url.query_pairs_mut();
        if let Some(c) = code {
            q.append_pair("code", c);
        }
        if let Some(s) = state {
            q.append_pair("state", s);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

async fn authorize(State(em): State<Emulator>, RawQuery(raw): RawQuery) -> Response {
    let (app, p) = match check_order(&em, raw.as_deref().unwrap_or(""), &["snsapi_base", "snsapi_userinfo"]) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if p["scope"] == "snsapi_base" {
        // Silent authorization: no page at all.
        let code = em.issue_code(app, "snsapi_base");
        return back_to(&p["redirect_uri"], Some(&code), p.get("state"));
    }
    let keep = hidden(&[
        ("appid", &p["appid"]),
        ("redirect_uri", &p["redirect_uri"]),
        ("scope", &p["scope"]),
        ("state", p.get("state").map(String::as_str).unwrap_or("")),
    ]);
    Html(page(
        "微信授权",
        "#07c160",
        &format!(
            r#"<h1>{name}</h1><p id="consent">申请获得以下权限：获得你的公开信息（昵称、头像等）<br><small>This app asks for your public profile (nickname, avatar).</small></p>
<form method="post" action="/connect/oauth2/authorize/confirm">{keep}
<button class="primary" type="submit" id="allow" name="action" value="allow">允许 Allow</button>
<button class="secondary" type="submit" id="deny" name="action" value="deny">拒绝 Deny</button></form>"#,
            name = escape(&em.config.apps[app].name)
        ),
    ))
    .into_response()
}

async fn qrconnect(State(em): State<Emulator>, RawQuery(raw): RawQuery) -> Response {
    let (app, p) = match check_order(&em, raw.as_deref().unwrap_or(""), &["snsapi_login"]) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let keep = hidden(&[
        ("appid", &p["appid"]),
        ("redirect_uri", &p["redirect_uri"]),
        ("scope", "snsapi_login"),
        ("state", p.get("state").map(String::as_str).unwrap_or("")),
    ]);
    // A QR-like grid, deterministic per appid: a picture, not a real code.
    let seed: u32 = p["appid"].bytes().fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    let mut cells = String::new();
    for y in 0..21u32 {
        for x in 0..21u32 {
            let finder = (y < 7 && !(7..=13).contains(&x)) || (x < 7 && y > 13);
            let on = if finder {
                x % 6 == 0 || y % 6 == 0 || (x % 7 > 1 && x % 7 < 5 && y % 7 > 1 && y % 7 < 5)
            } else {
                (seed ^ (x * 73 + y * 151)).count_ones().is_multiple_of(2)
            };
            if on {
                cells.push_str(&format!(r#"<rect x="{x}" y="{y}" width="1" height="1"/>"#));
            }
        }
    }
    Html(page(
        "微信登录",
        "#07c160",
        &format!(
            r#"<h1>微信登录 WeChat login</h1><p>{name}</p>
<svg id="qrcode" viewBox="-1 -1 23 23" width="220" height="220" style="background:#fff">{cells}</svg>
<p>请使用微信扫描二维码登录<br><small>Scan with WeChat to sign in. In the emulator, the phone is the button below.</small></p>
<form method="post" action="/connect/qrconnect/confirm">{keep}
<button class="primary" type="submit" id="confirm-on-phone" name="action" value="allow">在手机上确认登录 Confirm on phone</button>
<button class="secondary" type="submit" id="cancel-on-phone" name="action" value="deny">在手机上取消 Cancel on phone</button></form>"#,
            name = escape(&em.config.apps[app].name)
        ),
    ))
    .into_response()
}

async fn confirm(State(em): State<Emulator>, Form(f): Form<HashMap<String, String>>) -> Response {
    let Some(app) = f.get("appid").and_then(|a| em.app(a)) else { return oops(10016, "不支持的 appid") };
    let redirect = f.get("redirect_uri").cloned().unwrap_or_default();
    let state = f.get("state").filter(|s| !s.is_empty());
    if f.get("action").map(String::as_str) != Some("allow") {
        // WeChat signals refusal by redirecting with `state` only.
        return back_to(&redirect, None, state);
    }
    let code = em.issue_code(app, f.get("scope").map(String::as_str).unwrap_or("snsapi_userinfo"));
    back_to(&redirect, Some(&code), state)
}

async fn must_get() -> Response {
    wx_error(43001, "require GET method")
}

async fn sns_dispatch(State(em): State<Emulator>, uri: axum::http::Uri) -> Response {
    let q: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    match uri.path() {
        "/sns/oauth2/access_token" => {
            em.inner.lock().expect("state").stats.access_token_calls += 1;
            let Some(appid) = get("appid") else { return wx_error(41002, "appid missing") };
            let Some(app) = em.app(&appid) else { return wx_error(40013, "invalid appid") };
            let Some(secret) = get("secret") else { return wx_error(41004, "appsecret missing") };
            if secret != em.config.apps[app].secret {
                return wx_error(40125, "invalid appsecret");
            }
            let Some(code) = get("code") else { return wx_error(41008, "missing code") };
            if get("grant_type").as_deref() != Some("authorization_code") {
                return wx_error(40002, "invalid grant_type");
            }
            let mut inner = em.inner.lock().expect("state");
            let ttl = if em.config.apps[app].website { em.config.website_code_ttl } else { em.config.code_ttl };
            let scope = match inner.codes.get_mut(&code) {
                None => return wx_error(40029, "invalid code"),
                Some(c) if c.app != app => return wx_error(40029, "invalid code"),
                Some(c) if c.used => return wx_error(40163, "code been used"),
                Some(c) if c.issued.elapsed() > ttl => return wx_error(42003, "code expired"),
                Some(c) => {
                    c.used = true;
                    c.scope.clone()
                }
            };
            let access = random_token(86);
            let refresh = random_token(86);
            inner.access.insert(access.clone(), Access { app, scope: scope.clone(), issued: Instant::now(), expired: false });
            inner.refresh.insert(refresh.clone(), (app, scope.clone(), Instant::now(), access.clone()));
            drop(inner);
            wx(em.token_body(app, &scope, &access, &refresh))
        }
        "/sns/oauth2/refresh_token" => {
            em.inner.lock().expect("state").stats.refresh_calls += 1;
            let Some(appid) = get("appid") else { return wx_error(41002, "appid missing") };
            let Some(app) = em.app(&appid) else { return wx_error(40013, "invalid appid") };
            if get("grant_type").as_deref() != Some("refresh_token") {
                return wx_error(40002, "invalid grant_type");
            }
            let Some(rt) = get("refresh_token") else { return wx_error(41003, "refresh_token missing") };
            let mut inner = em.inner.lock().expect("state");
            let Some((rapp, scope, issued, current)) = inner.refresh.get(&rt).cloned() else {
                return wx_error(40030, "invalid refresh_token");
            };
            if rapp != app {
                return wx_error(40030, "invalid refresh_token");
            }
            if issued.elapsed() > em.config.refresh_ttl {
                return wx_error(42002, "refresh_token expired");
            }
            // A still-valid access token comes back unchanged with a new expiry.
            let still_valid = inner.access.get(&current).is_some_and(|a| !a.expired && a.issued.elapsed() < em.config.token_ttl);
            let access = if still_valid {
                if let Some(a) = inner.access.get_mut(&current) {
                    a.issued = Instant::now();
                }
                current
            } else {
                let fresh = random_token(86);
                inner.access.insert(fresh.clone(), Access { app, scope: scope.clone(), issued: Instant::now(), expired: false });
                if let Some(r) = inner.refresh.get_mut(&rt) {
                    r.3 = fresh.clone();
                }
                fresh
            };
            drop(inner);
            wx(em.token_body(app, &scope, &access, &rt))
        }
        path @ ("/sns/userinfo" | "/sns/auth") => {
            let Some(at) = get("access_token") else { return wx_error(41001, "access_token missing") };
            let Some(openid) = get("openid") else { return wx_error(41009, "missing openid") };
            let mut inner = em.inner.lock().expect("state");
            if path == "/sns/userinfo" {
                inner.stats.userinfo_calls += 1;
            }
            let (app, scope) = match inner.access.get(&at) {
                None => return wx_error(40014, "invalid access_token"),
                Some(a) if a.expired || a.issued.elapsed() >= em.config.token_ttl => return wx_error(42001, "access_token expired"),
                Some(a) => (a.app, a.scope.clone()),
            };
            drop(inner);
            if openid != em.openid(app) {
                return wx_error(40003, "invalid openid");
            }
            if path == "/sns/auth" {
                return wx(json!({"errcode": 0, "errmsg": "ok"}));
            }
            if scope == "snsapi_base" {
                return wx_error(48001, "api unauthorized");
            }
            let lang = get("lang").unwrap_or_else(|| "zh_CN".into());
            if !matches!(lang.as_str(), "zh_CN" | "zh_TW" | "en") {
                return wx_error(40003, "invalid lang");
            }
            // Since 2021: sex is 0 and region fields are empty.
            wx(json!({
                "openid": openid, "nickname": em.config.nickname, "sex": 0, "language": "", "city": "", "province": "", "country": "",
                "headimgurl": "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTL_emulator/132", "privilege": [], "unionid": em.unionid()
            }))
        }
        _ => wx_error(-1, "system error"),
    }
}

async fn admin_expire(State(em): State<Emulator>) -> Response {
    em.expire_tokens();
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_stats(State(em): State<Emulator>) -> Response {
    let mut r = serde_json::to_string(&em.stats()).unwrap_or_default().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Starts one emulator serving both `open.weixin.qq.com` and `api.weixin.qq.com` paths.
pub async fn start(config: Config, port: u16) -> std::io::Result<(Emulator, crate::Running)> {
    let em = Emulator::new(config);
    let running = crate::serve(port, em.router()).await?;
    Ok((em, running))
}
