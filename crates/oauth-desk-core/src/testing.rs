//! A [`Transport`] for tests: it records every request and answers from a function, so a test
//! asserts the exact request a grant or call sends (oauth2-rs's `mock_http_client` idea).

use crate::error::{Error, ErrorCode, Result};
use crate::token::{Grant, TokenSet};
use crate::transport::{RawResponse, Request, Transport};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::sync::Mutex;

type Responder = Box<dyn Fn(&Request) -> Result<RawResponse> + Send + Sync>;

pub struct MockTransport {
    requests: Mutex<Vec<Request>>,
    respond: Responder,
}

impl MockTransport {
    /// Answers every request with `respond(request)`.
    pub fn new(respond: impl Fn(&Request) -> Result<RawResponse> + Send + Sync + 'static) -> Self {
        MockTransport { requests: Mutex::new(Vec::new()), respond: Box::new(respond) }
    }

    /// Answers every request with a refused connection.
    pub fn refusing() -> Self {
        Self::new(|_| Err(Error::new(ErrorCode::ConnectionFailed, "the mock transport refuses every request")))
    }

    /// Answers with these responses in turn (and a refused connection after the last).
    pub fn answering(responses: Vec<RawResponse>) -> Self {
        let queue = Mutex::new(std::collections::VecDeque::from(responses));
        Self::new(move |_| {
            queue.lock().ok().and_then(|mut q| q.pop_front()).ok_or_else(|| Error::new(ErrorCode::ConnectionFailed, "no more answers"))
        })
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Transport for MockTransport {
    fn send(&self, request: Request) -> BoxFuture<'_, Result<RawResponse>> {
        let answer = (self.respond)(&request);
        if let Ok(mut r) = self.requests.lock() {
            r.push(request);
        }
        futures::future::ready(answer).boxed()
    }
}

/// A JSON response.
pub fn json(status: u16, body: &str) -> RawResponse {
    RawResponse::new(status, "application/json;charset=UTF-8", body.to_string(), "https://mock")
}

/// The body of a request as text.
pub fn form(request: &Request) -> String {
    String::from_utf8_lossy(request.body()).into_owned()
}

/// The header names of a request, in order.
pub fn header_names(request: &Request) -> Vec<String> {
    request.headers().keys().map(|k| k.as_str().to_string()).collect()
}

/// A token set with this access token and nothing else.
pub fn token(access: &str) -> TokenSet {
    let obj = serde_json::json!({ "access_token": access });
    TokenSet::from_response(obj.as_object().expect("an object"), 0, Grant::AuthorizationCode, None).expect("a token")
}
