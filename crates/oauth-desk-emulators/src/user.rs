//! A scripted user with a browser: what a person does on each emulator's pages (fill the login
//! form, press Allow or Deny, confirm on the phone), done over HTTP so that core and CLI tests can
//! walk the authorization-code flow without a window. Returns where the provider redirected.

use std::collections::HashMap;

pub type Result<T> = std::result::Result<T, String>;

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("reqwest client")
}

fn location(r: &reqwest::Response) -> Result<String> {
    r.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| format!("expected a redirect, got HTTP {}", r.status()))
}

/// The hidden inputs of the first form on a page, plus its action.
pub fn form_fields(html: &str) -> (String, HashMap<String, String>) {
    let action = html.split("action=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or("").to_string();
    let mut fields = HashMap::new();
    for chunk in html.split("<input").skip(1) {
        let attr = |name: &str| chunk.split(&format!("{name}=\"")).nth(1).and_then(|s| s.split('"').next()).map(unescape);
        if attr("type").as_deref() == Some("hidden") {
            if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
                fields.insert(n, v);
            }
        }
    }
    (action, fields)
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn origin(url: &str) -> Result<String> {
    let u = url::Url::parse(url).map_err(|e| e.to_string())?;
    Ok(u.origin().ascii_serialization())
}

/// Opens the Salesforce authorize URL, fills the login form and presses "Log In and Allow"
/// (or "Deny"). Returns the redirect the emulator sent.
pub async fn salesforce_sign_in(authorize_url: &str, username: &str, password: &str, allow: bool) -> Result<String> {
    let c = client();
    let page = c.get(authorize_url).send().await.map_err(|e| e.to_string())?;
    if page.status().is_redirection() {
        return location(&page);
    }
    let html = page.text().await.map_err(|e| e.to_string())?;
    let (action, mut fields) = form_fields(&html);
    fields.insert("username".into(), username.into());
    fields.insert("pw".into(), password.into());
    fields.insert("action".into(), if allow { "login" } else { "deny" }.into());
    let r = c.post(format!("{}{action}", origin(authorize_url)?)).form(&fields).send().await.map_err(|e| e.to_string())?;
    if !r.status().is_redirection() {
        let body = r.text().await.unwrap_or_default();
        let err = body.split("id=\"error\">").nth(1).and_then(|s| s.split('<').next()).unwrap_or("no redirect");
        return Err(format!("login page said: {err}"));
    }
    location(&r)
}

/// Opens a WeChat authorize or QR-login URL and answers it: `snsapi_base` redirects at once;
/// the consent and QR pages get Allow / Confirm (or Deny / Cancel).
pub async fn wechat_authorize(authorize_url: &str, allow: bool) -> Result<String> {
    let c = client();
    // The fragment never reaches a server; a browser drops it too.
    let url = authorize_url.split('#').next().unwrap_or(authorize_url);
    let page = c.get(url).send().await.map_err(|e| e.to_string())?;
    if page.status().is_redirection() {
        return location(&page);
    }
    let html = page.text().await.map_err(|e| e.to_string())?;
    if html.contains("Oops!") {
        let err = html.split("id=\"error\">").nth(1).and_then(|s| s.split('<').next()).unwrap_or("error");
        return Err(format!("WeChat page said: {err}"));
    }
    let (action, mut fields) = form_fields(&html);
    fields.insert("action".into(), if allow { "allow" } else { "deny" }.into());
    let r = c.post(format!("{}{action}", origin(url)?)).form(&fields).send().await.map_err(|e| e.to_string())?;
    location(&r)
}

/// Signs in through `oidc-provider`'s own login and consent pages (devInteractions): follows
/// its redirects with a cookie jar, fills the login form, presses Continue on consent.
/// Returns the redirect to the client's redirect URI.
pub async fn oidc_sign_in(authorize_url: &str, login: &str, password: &str, redirect_prefix: &str) -> Result<String> {
    match walk_oidc_pages(authorize_url, login, password, false, Some(redirect_prefix)).await? {
        Walked::Redirect(to) => Ok(to),
        Walked::Page(_) => Err("no form on the interaction page".into()),
    }
}

enum Walked {
    /// A redirect to the given prefix (the client's redirect URI): where the walk ends.
    Redirect(String),
    /// A page with no form (or the page after an abort).
    Page(String),
}

/// oidc-provider's own pages, as a user goes through them: follows redirects, fills the login
/// form, submits every other form as it is (with `abort=yes` on the first that offers it when
/// `deny`), until a redirect to `stop_at` or a page with nothing left to submit.
async fn walk_oidc_pages(start: &str, login: &str, password: &str, deny: bool, stop_at: Option<&str>) -> Result<Walked> {
    let c = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().map_err(|e| e.to_string())?;
    let base = url::Url::parse(start).map_err(|e| e.to_string())?;
    let mut next = start.to_string();
    let mut pending_post: Option<(String, HashMap<String, String>)> = None;
    let mut aborted = false;
    for _ in 0..24 {
        let r = match pending_post.take() {
            Some((url, form)) => c.post(&url).form(&form).send().await,
            None => c.get(&next).send().await,
        }
        .map_err(|e| e.to_string())?;
        if r.status().is_redirection() {
            let abs = base.join(&location(&r)?).map_err(|e| e.to_string())?.to_string();
            if stop_at.is_some_and(|p| abs.starts_with(p)) {
                return Ok(Walked::Redirect(abs));
            }
            next = abs;
            continue;
        }
        let status = r.status();
        let html = r.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let msg = html.split("<pre>").nth(1).and_then(|s| s.split("</pre>").next()).unwrap_or("");
            return Err(format!("oidc-provider answered HTTP {status}: {}", msg.trim()));
        }
        let (action, mut fields) = form_fields(&html);
        if action.is_empty() || aborted {
            return Ok(Walked::Page(html));
        }
        if html.contains("name=\"login\"") {
            fields.insert("login".into(), login.into());
            fields.insert("password".into(), password.into());
        }
        if deny && html.contains("name=\"abort\"") {
            fields.insert("abort".into(), "yes".into());
            aborted = true;
        }
        pending_post = Some((base.join(&action).map_err(|e| e.to_string())?.to_string(), fields));
    }
    Err("too many steps through oidc-provider's pages".into())
}

/// Approves (or, with `deny`, aborts) a device sign-in at oidc-provider's own pages, as the user
/// would on their phone: the code confirmation page, then login and consent, until the
/// "success" page. Returns that page's text.
pub async fn oidc_device_approve(verification_uri_complete: &str, login: &str, password: &str, deny: bool) -> Result<String> {
    match walk_oidc_pages(verification_uri_complete, login, password, deny, None).await? {
        Walked::Page(html) | Walked::Redirect(html) => Ok(html),
    }
}
