//! A scripted server for the hostile-server tests: each path answers what the test put there
//! (a token response naming another host, a page whose `nextRecordsUrl` loops, text with
//! terminal control sequences), and every request is remembered with whether it carried a
//! Bearer token, so a test can prove a token never went where it must not.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Status, content type, body.
type Answer = (u16, String, String);

#[derive(Clone, Default)]
pub struct Script {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// A request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub bearer: Option<String>,
}

impl Script {
    /// Answers `path` (without query) with this status, content type and body.
    pub fn answer(&self, path: &str, status: u16, content_type: &str, body: impl Into<String>) {
        self.answers.lock().expect("script").insert(path.to_string(), (status, content_type.to_string(), body.into()));
    }
    pub fn json(&self, path: &str, body: serde_json::Value) {
        self.answer(path, 200, "application/json", body.to_string());
    }
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("script").clone()
    }
}

async fn serve(State(script): State<Script>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let bearer =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::to_string);
    script.seen.lock().expect("script").push(Seen { method: req.method().to_string(), path: path.clone(), bearer });
    let answer = script.answers.lock().expect("script").get(&path).cloned();
    match answer {
        Some((status, ct, body)) => {
            let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            if let Ok(v) = HeaderValue::from_str(&ct) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r
        }
        None => (StatusCode::NOT_FOUND, "no script for this path").into_response(),
    }
}

/// Starts a scripted server on 127.0.0.1.
pub async fn start() -> std::io::Result<(Script, crate::Running)> {
    let script = Script::default();
    let router = Router::new().fallback(serve).with_state(script.clone());
    Ok((script, crate::serve(0, router).await?))
}
