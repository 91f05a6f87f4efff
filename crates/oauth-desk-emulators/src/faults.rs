//! A server of broken responses, one per path, for the table of bad-response tests: each is
//! what some real server or proxy has been seen to send to an OAuth client.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::time::Duration;

fn with_type(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

pub fn router() -> Router {
    Router::new()
        .route("/html-502", any(|| async { with_type(StatusCode::BAD_GATEWAY, "text/html", "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>") }))
        .route("/html-200", any(|| async { with_type(StatusCode::OK, "text/html; charset=utf-8", "<!DOCTYPE html><html><head><title>Sign in - Corporate Proxy</title></head><body>Please sign in</body></html>") }))
        .route("/empty-200", any(|| async { with_type(StatusCode::OK, "application/json", "") }))
        .route("/empty-500", any(|| async { with_type(StatusCode::INTERNAL_SERVER_ERROR, "application/json", "") }))
        .route("/truncated-json", any(|| async { with_type(StatusCode::OK, "application/json", r#"{"access_token":"abc","token_ty"#) }))
        .route("/cut-connection", any(|| async {
            // Declares 4096 bytes, sends a few, then fails the stream: the client sees a cut body.
            let stream = futures_like_stream();
            let mut r = Response::new(Body::from_stream(stream));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
            r
        }))
        .route("/error-at-200", any(|| async { with_type(StatusCode::OK, "application/json", r#"{"error":"invalid_grant","error_description":"Bad verification code."}"#) }))
        .route("/created-201", any(|| async { with_type(StatusCode::CREATED, "application/json", r#"{"access_token":"tok-201","token_type":"Bearer","expires_in":3600}"#) }))
        .route("/form-encoded", any(|| async { with_type(StatusCode::OK, "application/x-www-form-urlencoded", "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&scope=repo%2Cgist&token_type=bearer") }))
        .route("/no-token-type", any(|| async { with_type(StatusCode::OK, "application/json", r#"{"access_token":"tok-no-type","expires_in":"3600"}"#) }))
        .route("/no-access-token", any(|| async { with_type(StatusCode::OK, "application/json", r#"{"token_type":"bearer","expires_in":3600}"#) }))
        .route("/json-array", any(|| async { with_type(StatusCode::OK, "application/json", r#"["not","an","object"]"#) }))
        .route("/plain-401", any(|| async { with_type(StatusCode::UNAUTHORIZED, "text/plain", "Unauthorized") }))
        .route("/oauth-error-401", any(|| async { with_type(StatusCode::UNAUTHORIZED, "application/json", r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#) }))
        .route("/redirect-302", any(|| async {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, HeaderValue::from_static("https://login.example.com/"));
            r
        }))
        .route("/huge", any(|| async {
            let mut body = String::from(r#"{"access_token":"x","padding":""#);
            body.push_str(&"a".repeat(3 * 1024 * 1024));
            body.push_str("\"}");
            with_type(StatusCode::OK, "application/json", body)
        }))
        .route("/slow", any(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            with_type(StatusCode::OK, "application/json", r#"{"access_token":"late"}"#)
        }))
        .route("/wechat-error-text-plain", any(|| async { with_type(StatusCode::OK, "text/plain", r#"{"errcode":40029,"errmsg":"invalid code, rid: 6581a2b3-4c5d6e7f-0a1b2c3d"}"#) }))
}

/// One chunk, a pause (so the status line, headers and chunk are on the wire), then a failure.
fn futures_like_stream() -> impl futures::Stream<Item = Result<&'static str, std::io::Error>> {
    futures::stream::unfold(0u8, |n| async move {
        match n {
            0 => Some((Ok(r#"{"access_token":"par"#), 1)),
            1 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Err(std::io::Error::other("connection reset by emulator")), 2))
            }
            _ => None,
        }
    })
}

/// Starts the faults server on 127.0.0.1.
pub async fn start(port: u16) -> std::io::Result<crate::Running> {
    crate::serve(port, router()).await
}
