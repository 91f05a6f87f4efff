//! [`Http`]: what every call of a session goes through. It sends through a [`Transport`], adds
//! the user agent, and records each exchange in the profile's [`WireLog`] when one is set.

use crate::error::Result;
use crate::transport::{RawResponse, Request, Transport, USER_AGENT_VALUE};
use crate::wire::WireLog;
use http::header::{HeaderValue, USER_AGENT};
use std::sync::Arc;

/// What every call goes through: a transport, the user agent, and (when set) the wire log.
#[derive(Clone)]
pub struct Http {
    transport: Arc<dyn Transport>,
    log: Option<Arc<WireLog>>,
}

impl Http {
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Http { transport, log: None }
    }
    /// The same transport, recording every exchange in `log`.
    pub fn recording(&self, log: Arc<WireLog>) -> Self {
        Http { transport: self.transport.clone(), log: Some(log) }
    }
    pub fn transport(&self) -> &Arc<dyn Transport> {
        &self.transport
    }
    pub fn log(&self) -> Option<&Arc<WireLog>> {
        self.log.as_ref()
    }

    pub async fn send(&self, mut request: Request) -> Result<RawResponse> {
        if !request.headers().contains_key(USER_AGENT) {
            request.headers_mut().insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        }
        match &self.log {
            Some(log) if log.is_enabled() => {
                let pending = log.begin(&request);
                let result = self.transport.send(request).await;
                log.finish(pending, &result);
                result
            }
            _ => self.transport.send(request).await,
        }
    }
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("recording", &self.log.is_some()).finish()
    }
}
