//! Sign-in through the system browser with a loopback redirect (RFC 8252 §7.3): a one-shot
//! listener on 127.0.0.1 receives the redirect, answers with a page the user can close, and
//! hands the URL to the core, which checks `state` and redeems the code.

use crate::profile::is_loopback;
use crate::redirect::RedirectMatcher;
use crate::{Error, ErrorCode, Result, Session, TokenSet};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

/// The loopback redirect: the profile's own when it is a loopback http URL (so what is
/// registered is used), else `http://127.0.0.1:PORT/callback`.
fn plan(session: &Session, port: Option<u16>) -> (String, u16, String) {
    if let Some(r) = session.profile().redirect_uri.as_deref().and_then(|r| Url::parse(r).ok()) {
        if r.scheme() == "http" && is_loopback(&r) {
            let host = r.host_str().unwrap_or("127.0.0.1").trim_matches(['[', ']']).to_string();
            let host = if host == "localhost" { "127.0.0.1".to_string() } else { host };
            return (host, port.or(r.port()).unwrap_or(80), r.path().to_string());
        }
    }
    ("127.0.0.1".to_string(), port.unwrap_or(0), "/callback".to_string())
}

/// Listens, builds the authorize URL for the loopback redirect, hands it to `open` (which opens
/// a browser or prints it), and finishes the sign-in when the redirect arrives within `wait`.
pub async fn sign_in(session: &Session, port: Option<u16>, open: impl FnOnce(&str), wait: Duration) -> Result<TokenSet> {
    let (host, port, path) = plan(session, port);
    let listener = TcpListener::bind((host.as_str(), port)).await.map_err(|e| {
        Error::new(ErrorCode::ConnectionFailed, format!("cannot listen on {host}:{port}: {e}")).with_hint("choose another --port")
    })?;
    let bound = listener.local_addr().map_err(|e| Error::new(ErrorCode::ConnectionFailed, e.to_string()))?;
    // Keep `localhost` when the profile registered it: the provider compares the host literally.
    let shown_host = match session.profile().redirect_uri.as_deref().and_then(|r| Url::parse(r).ok()) {
        Some(r) if r.host_str() == Some("localhost") => "localhost".to_string(),
        _ => bound.ip().to_string(),
    };
    let redirect = Url::parse(&format!("http://{shown_host}:{}{path}", bound.port())).map_err(|e| Error::invalid_input(e.to_string()))?;
    if session.profile().redirect_uri.as_deref().is_some_and(|r| Url::parse(r).map(|u| !is_loopback(&u)).unwrap_or(true)) {
        tracing::warn!(
            "the profile's redirect URI is not a loopback address; using {redirect}, which must be registered with the provider too"
        );
    }
    let pending = session.authorize(Some(&redirect)).await?;
    open(&pending.authorize_url);
    let matcher = RedirectMatcher::new(redirect.clone());
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let accepted = tokio::time::timeout_at(deadline, listener.accept()).await.map_err(|_| {
            Error::new(ErrorCode::Cancelled, format!("no redirect arrived within {} s", wait.as_secs()))
                .with_hint("run the command again and finish signing in in the browser")
        })?;
        let (mut stream, _) = accepted.map_err(|e| Error::new(ErrorCode::ConnectionFailed, format!("loopback listener failed: {e}")))?;
        let Some(target) = read_request_target(&mut stream).await else { continue };
        let Ok(url) = redirect.join(&target) else { continue };
        if !matcher.matches(&url) {
            let _ = respond(&mut stream, 404, "Not found", "This is OAuth Desk's sign-in listener.").await;
            continue;
        }
        let result = session.complete_redirect(&pending, &url).await;
        let _ = match &result {
            Ok(_) => respond(&mut stream, 200, "Signed in", "OAuth Desk is signed in. You can close this tab.").await,
            Err(e) => respond(&mut stream, 400, "Sign-in failed", &format!("{} — {}", e.message, e.hint.clone().unwrap_or_default())).await,
        };
        return result;
    }
}

/// The request target of an HTTP/1 request (`/callback?code=...`), read within 5 seconds.
async fn read_request_target(stream: &mut tokio::net::TcpStream) -> Option<String> {
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

async fn respond(stream: &mut tokio::net::TcpStream, status: u16, title: &str, text: &str) -> std::io::Result<()> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>{t}</title><body style=\"font-family:sans-serif;margin:3em\"><h1>{t}</h1><p>{x}</p></body>",
        t = esc(title),
        x = esc(text)
    );
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let head = format!("HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
