//! Emulators of Salesforce and WeChat that follow the real servers' protocols, quirks included
//! (`../shared/docs/PROTOCOLS.md`): Salesforce tokens without `expires_in` and with `issued_at` in
//! milliseconds; WeChat errors at HTTP 200 as `text/plain`. They serve on 127.0.0.1 for the tests
//! and for the desktop app's built-in Sandbox, and a [`faults`] server serves broken responses.
//!
//! Emulator-only controls live under `/__emulator/` (expire sessions, read counters); nothing else
//! differs from the real endpoints.

pub mod faults;
pub mod html;
pub mod oidc;
pub mod salesforce;
pub mod soql;
pub mod user;
pub mod wechat;

use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server running on 127.0.0.1. Dropping it stops the server.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `router` on an already bound listener until the returned [`Running`] is dropped.
pub async fn serve_on(listener: TcpListener, router: axum::Router) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router.into_make_service())
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Running { addr, shutdown: Some(tx), task: Some(task) })
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
