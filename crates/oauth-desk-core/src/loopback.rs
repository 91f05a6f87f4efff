//! Sign-in through the system browser with a loopback redirect (RFC 8252 §7.3): a listener on
//! 127.0.0.1 receives the redirect, answers with a page the user can close, and hands the URL to
//! the session, which checks `state` and redeems the code.
//!
//! The listener serves connections concurrently (a browser's idle pre-connection must not stall
//! the real redirect) and only a request on the redirect path carrying this attempt's `state`
//! ends the sign-in; anything else (another path, a forged or stale request, `error=` without
//! the state) gets a page saying why and the listener keeps waiting.

use crate::error::{Action, Error, ErrorCode, Result};
use crate::profile::is_loopback;
use crate::redirect::{RedirectMatcher, RedirectParams};
use crate::session::Session;
use crate::token::TokenSet;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use url::Url;

/// The loopback redirect: the profile's own when it is a loopback http URL (so what is
/// registered is used), else `http://127.0.0.1:PORT/callback`.
fn plan(registered: Option<&str>, port: Option<u16>) -> (String, u16, String) {
    if let Some(r) = registered.and_then(|r| Url::parse(r).ok()) {
        if r.scheme() == "http" && is_loopback(&r) {
            let host = r.host_str().unwrap_or("127.0.0.1").trim_matches(['[', ']']).to_string();
            let host = if host == "localhost" { "127.0.0.1".to_string() } else { host };
            return (host, port.or(r.port()).unwrap_or(80), r.path().to_string());
        }
    }
    ("127.0.0.1".to_string(), port.unwrap_or(0), "/callback".to_string())
}

/// A page to answer a browser with.
struct Page {
    status: u16,
    title: &'static str,
    text: String,
    /// Told once the page is written, so the sign-in ends after the browser has its answer.
    written: Option<oneshot::Sender<()>>,
}

impl Page {
    fn new(status: u16, title: &'static str, text: impl Into<String>) -> Self {
        Page { status, title, text: text.into(), written: None }
    }
}

/// Aborts the accept loop when the sign-in ends, whichever way.
struct AbortOnDrop(tokio::task::JoinHandle<()>);
impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Listens, builds the authorize URL for the loopback redirect, hands it to `open` (which opens
/// a browser or prints it), and finishes the sign-in when the redirect arrives within `wait`.
pub async fn sign_in(session: &Session, port: Option<u16>, open: impl FnOnce(&str), wait: Duration) -> Result<TokenSet> {
    let profile = session.profile();
    let (host, port, path) = plan(profile.redirect_uri.as_deref(), port);
    let listener = TcpListener::bind((host.as_str(), port)).await.map_err(|e| {
        Error::new(ErrorCode::ConnectionFailed, format!("cannot listen on {host}:{port}: {e}"))
            .with_hint("choose another port for the loopback listener")
    })?;
    let bound = listener.local_addr().map_err(|e| Error::new(ErrorCode::ConnectionFailed, e.to_string()))?;
    // Keep `localhost` when the profile registered it: the provider compares the host literally.
    let shown_host = match profile.redirect_uri.as_deref().and_then(|r| Url::parse(r).ok()) {
        Some(r) if r.host_str() == Some("localhost") => "localhost".to_string(),
        _ => bound.ip().to_string(),
    };
    let redirect = Url::parse(&format!("http://{shown_host}:{}{path}", bound.port())).map_err(|e| Error::invalid_input(e.to_string()))?;
    if profile.redirect_uri.as_deref().is_some_and(|r| Url::parse(r).map(|u| !is_loopback(&u)).unwrap_or(true)) {
        tracing::warn!(
            "the profile's redirect URI is not a loopback address; using {redirect}, which must be registered with the provider too"
        );
    }
    let pending = session.authorize(Some(&redirect)).await?;
    let (tx, mut rx) = mpsc::channel::<(Url, oneshot::Sender<Page>)>(4);
    let _accepting = AbortOnDrop(tokio::spawn(accept(listener, redirect.clone(), pending.state.clone(), tx)));
    open(&pending.authorize_url);
    let (url, reply) = tokio::time::timeout(wait, rx.recv())
        .await
        .map_err(|_| {
            Error::new(ErrorCode::Cancelled, format!("no redirect arrived within {} s", wait.as_secs()))
                .with_hint("start the sign-in again and finish it in the browser")
                .with_action(Action::SignIn)
        })?
        .ok_or_else(|| Error::new(ErrorCode::ConnectionFailed, "the loopback listener stopped"))?;
    let result = session.complete_redirect(&pending, &url).await;
    let mut page = match &result {
        Ok(_) => Page::new(200, "Signed in", "OAuth Desk is signed in. You can close this tab."),
        Err(e) => Page::new(400, "Sign-in failed", format!("{} — {}", e.message, e.hint.clone().unwrap_or_default())),
    };
    let (written, done) = oneshot::channel();
    page.written = Some(written);
    if reply.send(page).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), done).await;
    }
    result
}

async fn accept(listener: TcpListener, redirect: Url, state: String, tx: mpsc::Sender<(Url, oneshot::Sender<Page>)>) {
    let matcher = RedirectMatcher::new(redirect.clone());
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let (matcher, redirect, state, tx) = (matcher.clone(), redirect.clone(), state.clone(), tx.clone());
        tokio::spawn(async move { serve(stream, matcher, redirect, state, tx).await });
    }
}

async fn serve(
    mut stream: TcpStream,
    matcher: RedirectMatcher,
    redirect: Url,
    state: String,
    tx: mpsc::Sender<(Url, oneshot::Sender<Page>)>,
) {
    let Some(target) = read_request_target(&mut stream).await else { return };
    let Ok(url) = redirect.join(&target) else { return };
    let mut page = if !matcher.matches(&url) {
        Page::new(404, "Not found", format!("This is OAuth Desk's sign-in listener; it waits for the redirect to {redirect}."))
    } else if RedirectParams::from_url(&url).state.as_deref() != Some(state.as_str()) {
        Page::new(
            400,
            "Not this sign-in",
            "This request does not carry the state of the sign-in OAuth Desk is waiting for (it is stale, from another attempt, or forged). \
             The sign-in goes on: finish it in the tab OAuth Desk opened.",
        )
    } else {
        let (reply_tx, reply_rx) = oneshot::channel();
        if tx.send((url, reply_tx)).await.is_err() {
            return;
        }
        match reply_rx.await {
            Ok(p) => p,
            Err(_) => Page::new(500, "Sign-in ended", "OAuth Desk stopped waiting for this sign-in."),
        }
    };
    let _ = respond(&mut stream, &page).await;
    if let Some(w) = page.written.take() {
        let _ = w.send(());
    }
}

/// The request target of an HTTP/1 request (`/callback?code=...`), read within 5 seconds.
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(2048);
    let read = async {
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(())
    };
    tokio::time::timeout(Duration::from_secs(5), read).await.ok()??;
    let head = String::from_utf8_lossy(&buf);
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?, parts.next()?);
    (method == "GET" && target.starts_with('/')).then(|| target.to_string())
}

async fn respond(stream: &mut TcpStream, page: &Page) -> std::io::Result<()> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>{t}</title><body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p></body>",
        t = esc(page.title),
        x = esc(&page.text)
    );
    let reason = match page.status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
        page.status,
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
