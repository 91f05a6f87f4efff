//! Emulators of Salesforce and WeChat that follow the real servers' protocols, quirks included
//! (`../shared/docs/PROTOCOLS.md`): Salesforce tokens without `expires_in` and with `issued_at` in
//! milliseconds; WeChat errors at HTTP 200 as `text/plain`. They serve on 127.0.0.1 for the tests
//! and for the desktop app's built-in Sandbox, and a [`faults`] server serves broken responses.
//!
//! Emulator-only controls live under `/__emulator/` (expire sessions, read counters); nothing else
//! differs from the real endpoints.

pub mod faults;
pub mod hostile;
pub mod html;
pub mod oidc;
pub mod salesforce;
pub mod soql;
#[cfg(feature = "tls")]
pub mod tls;
pub mod user;
pub mod wechat;

use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server running on 127.0.0.1. Dropping it stops the server.
pub struct Running {
    pub addr: SocketAddr,
    scheme: &'static str,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// A server that is a task of its own: stopping it aborts the task.
    pub fn from_task(addr: SocketAddr, scheme: &'static str, task: tokio::task::JoinHandle<()>) -> Self {
        Running { addr, scheme, shutdown: None, task: Some(task) }
    }

    /// `http://127.0.0.1:PORT` (or `https://`), no trailing slash.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops accepting and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            if self.shutdown.is_none() {
                task.abort();
            }
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        match self.shutdown.take() {
            Some(tx) => {
                let _ = tx.send(());
            }
            None => {
                if let Some(t) = &self.task {
                    t.abort();
                }
            }
        }
    }
}

/// Real servers treat `//services/data` as `/services/data` (the Salesforce CLI sends such
/// paths); routing here would not, so repeated slashes are folded before routing.
fn fold_slashes(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    if path.contains("//") {
        let mut folded = String::with_capacity(path.len());
        for c in path.chars() {
            if !(c == '/' && folded.ends_with('/')) {
                folded.push(c);
            }
        }
        let pq = match req.uri().query() {
            Some(q) => format!("{folded}?{q}"),
            None => folded,
        };
        if let Ok(pq) = pq.parse::<axum::http::uri::PathAndQuery>() {
            let mut parts = req.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = axum::http::Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// Serves `router` on an already bound listener until the returned [`Running`] is dropped.
pub async fn serve_on(listener: TcpListener, router: axum::Router) -> std::io::Result<Running> {
    use tower::Layer;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = tower::util::MapRequestLayer::new(fold_slashes).layer(router);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, axum::ServiceExt::<axum::extract::Request>::into_make_service(app))
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Running { addr, scheme: "http", shutdown: Some(tx), task: Some(task) })
}

/// Binds `127.0.0.1:port` (0 for any free port) and serves `router`.
pub async fn serve(port: u16, router: axum::Router) -> std::io::Result<Running> {
    serve_on(TcpListener::bind(("127.0.0.1", port)).await?, router).await
}

pub(crate) fn random_token(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
