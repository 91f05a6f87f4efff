//! The token set: what a grant produced, when it was issued, when it expires, and how we know.
//!
//! Expiry comes from `expires_in`, else the access token's JWT `exp`, else (Salesforce, which
//! sends neither) the profile's session length. The whole set is stored in the keyring.

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::jwt;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grant {
    AuthorizationCode,
    Password,
    RefreshToken,
    ClientCredentials,
    /// RFC 7523 §2.1: a signed assertion (Salesforce's JWT bearer flow).
    JwtBearer,
    /// RFC 8628: a code the user approves on another device.
    DeviceCode,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::Password => "password",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::JwtBearer => "jwt_bearer",
            Grant::DeviceCode => "device_code",
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpirySource {
    /// The response's `expires_in`.
    ExpiresIn,
    /// The access token is a JWT with `exp`.
    JwtExp,
    /// Estimated from the profile's session length (Salesforce sends no expiry).
    SessionEstimate,
    /// Nothing says; the token is used until the provider refuses it.
    Unknown,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Local time the response arrived (epoch ms).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub issued_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_at: Option<Millis>,
    pub expiry_source: ExpirySource,
    /// The grant that produced the first token of this set.
    pub grant: Grant,
    /// Salesforce: the instance the REST API lives on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    /// Salesforce: the identity URL (`id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_url: Option<String>,
    /// WeChat: the user's openid for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
    /// Salesforce: whether `signature` matched HMAC-SHA256(client secret, id + issued_at).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_valid: Option<bool>,
    /// Whether the ID token was verified (signature by the issuer's key, claims), or why not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token_check: Option<crate::idtoken::IdTokenCheck>,
    /// What was odd about the response and how it was read (an `expires_in` ignored, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every other field of the response, verbatim (`issued_at`, `signature`, `is_snapshotuser`...).
    #[serde(default)]
    pub extra: Map<String, Value>,
}

/// The longest lifetime a token is taken to have: ten years.
pub const MAX_LIFETIME_SECS: u64 = 10 * 366 * 24 * 3600;

const MODELLED: &[&str] =
    &["access_token", "refresh_token", "id_token", "token_type", "scope", "expires_in", "instance_url", "id", "openid", "unionid"];

impl TokenSet {
    /// Builds a token set from a token endpoint's JSON object, tolerantly: only `access_token`
    /// is required. `expires_in` may be an integer, a float or a numeric string; it is clamped
    /// to [`MAX_LIFETIME_SECS`], and anything else is ignored with a note. No time arithmetic
    /// here can overflow. `session_seconds` is the fallback lifetime when nothing says.
    pub fn from_response(obj: &Map<String, Value>, now: Millis, grant: Grant, session_seconds: Option<u64>) -> Result<TokenSet> {
        let access = obj
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::unexpected("the token response has no access_token"))?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_string);
        let mut notes = Vec::new();
        let expires_in = match obj.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(t) => t.trim().parse::<f64>().ok(),
                    _ => None,
                };
                match n {
                    Some(secs) if secs.is_finite() && secs > 0.0 => {
                        if secs > MAX_LIFETIME_SECS as f64 {
                            notes.push(format!("expires_in {v} is beyond ten years; counted as ten years"));
                        }
                        Some(secs.min(MAX_LIFETIME_SECS as f64))
                    }
                    _ => {
                        notes.push(format!(
                            "expires_in {} is not a positive number of seconds; ignored",
                            crate::error::excerpt(&v.to_string(), 40)
                        ));
                        None
                    }
                }
            }
        };
        let (expires_at, expiry_source) = if let Some(secs) = expires_in {
            (Some(now.saturating_add((secs * 1000.0) as i64)), ExpirySource::ExpiresIn)
        } else if let Some(exp) = jwt::decode(access).and_then(|j| j.exp_millis()) {
            (Some(exp), ExpirySource::JwtExp)
        } else if let Some(secs) = session_seconds {
            let secs = secs.min(MAX_LIFETIME_SECS) as i64;
            (Some(now.saturating_add(secs.saturating_mul(1000))), ExpirySource::SessionEstimate)
        } else {
            (None, ExpirySource::Unknown)
        };
        // RFC 6749 §3.3 says a space-separated string; some servers send an array.
        let scope = match obj.get("scope") {
            Some(Value::String(v)) if !v.is_empty() => Some(v.clone()),
            Some(Value::Array(items)) => {
                let parts: Vec<String> = items.iter().map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string())).collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
            Some(Value::Null) | None => None,
            Some(other) => {
                notes.push(format!("scope {} is not a string; shown as sent", crate::error::excerpt(&other.to_string(), 40)));
                Some(other.to_string())
            }
        };
        let extra = obj.iter().filter(|(k, _)| !MODELLED.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(TokenSet {
            id_token_check: None,
            access_token: Secret::new(access),
            refresh_token: s("refresh_token").map(Secret::new),
            id_token: s("id_token").map(Secret::new),
            token_type: s("token_type"),
            scope,
            issued_at: now,
            expires_at,
            expiry_source,
            grant,
            instance_url: s("instance_url"),
            identity_url: s("id"),
            openid: s("openid"),
            unionid: s("unionid"),
            signature_valid: None,
            notes,
            extra,
        })
    }

    /// The set after a refresh: the new response wins, but a refresh response usually omits the
    /// refresh token (Salesforce always does unless rotation is on), so the old one is kept, and
    /// so are the instance, identity and openid it does not repeat.
    pub fn refreshed(self, new: TokenSet) -> TokenSet {
        // The check belongs to the ID token: a response without one keeps the old pair.
        let id_token_check = if new.id_token.is_some() { new.id_token_check.clone() } else { self.id_token_check.clone() };
        TokenSet {
            id_token_check,
            refresh_token: new.refresh_token.or(self.refresh_token),
            id_token: new.id_token.or(self.id_token),
            scope: new.scope.or(self.scope),
            instance_url: new.instance_url.or(self.instance_url),
            identity_url: new.identity_url.or(self.identity_url),
            openid: new.openid.or(self.openid),
            unionid: new.unionid.or(self.unionid),
            grant: self.grant,
            signature_valid: new.signature_valid.or(self.signature_valid),
            ..new
        }
    }

    /// True when the token is expired or will be within `skew_ms`.
    pub fn is_expired(&self, now: Millis, skew_ms: i64) -> bool {
        self.expires_at.is_some_and(|e| now.saturating_add(skew_ms) >= e)
    }

    /// Seconds left, negative once expired; `None` when unknown.
    pub fn seconds_left(&self, now: Millis) -> Option<i64> {
        self.expires_at.map(|e| e.saturating_sub(now).div_euclid(1000))
    }

    pub fn decoded_access_token(&self) -> Option<jwt::DecodedJwt> {
        jwt::decode(self.access_token.expose())
    }
    pub fn decoded_id_token(&self) -> Option<jwt::DecodedJwt> {
        self.id_token.as_ref().and_then(|t| jwt::decode(t.expose()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// The Salesforce token response as PROTOCOLS.md records it: no expires_in, issued_at in ms as a string.
    #[test]
    fn salesforce_response_uses_the_session_estimate() {
        let r = obj(json!({
            "access_token": "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.39AsX.LVpxezPwuX5VAIrrbbHMuol7GQxnMeYMN7cj8EoWr78nt1u44zU31IbYNNJguseu",
            "refresh_token": "5Aep861TSESvWeug_xvFHRBTTbf_YrTWgEyjBJrqOcRpJrr5KzP7UXHE8cuv_5zOBHG2e2yJ6BzZTeU_mrNHtw",
            "signature": "uEcpBXQnQNgUuTUUVi5Q2a4hcq7ZfRgJq0BcWzr2Z9A=",
            "scope": "refresh_token api",
            "instance_url": "https://yourInstance.salesforce.com",
            "id": "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
            "token_type": "Bearer",
            "issued_at": "1278448384422"
        }));
        let t = TokenSet::from_response(&r, 1_000_000, Grant::AuthorizationCode, Some(7200)).unwrap();
        assert_eq!(t.expiry_source, ExpirySource::SessionEstimate);
        assert_eq!(t.expires_at, Some(1_000_000 + 7_200_000));
        assert_eq!(t.instance_url.as_deref(), Some("https://yourInstance.salesforce.com"));
        assert_eq!(t.extra["issued_at"], "1278448384422", "issued_at kept verbatim");
        assert!(!t.extra.contains_key("access_token"), "secrets are not duplicated into extra");
    }

    /// WeChat: expires_in, openid, no token_type.
    #[test]
    fn wechat_response() {
        let r = obj(
            json!({"access_token":"ACCESS","expires_in":7200,"refresh_token":"R","openid":"OPENID","scope":"snsapi_userinfo","is_snapshotuser":1,"unionid":"U"}),
        );
        let t = TokenSet::from_response(&r, 0, Grant::AuthorizationCode, None).unwrap();
        assert_eq!((t.expires_at, t.expiry_source), (Some(7_200_000), ExpirySource::ExpiresIn));
        assert_eq!(t.openid.as_deref(), Some("OPENID"));
        assert_eq!(t.token_type, None);
        assert_eq!(t.extra["is_snapshotuser"], 1);
    }

    #[test]
    fn expires_in_as_string_and_missing_token() {
        let t = TokenSet::from_response(&obj(json!({"access_token":"a","expires_in":"3600"})), 0, Grant::Password, None).unwrap();
        assert_eq!(t.expires_at, Some(3_600_000));
        let e = TokenSet::from_response(&obj(json!({"token_type":"bearer"})), 0, Grant::Password, None).unwrap_err();
        assert!(e.message.contains("no access_token"));
    }

    #[test]
    fn refresh_keeps_the_old_refresh_token_and_instance() {
        let first = TokenSet::from_response(
            &obj(json!({"access_token":"a1","refresh_token":"r1","instance_url":"https://i","id":"https://l/id/o/u"})),
            0,
            Grant::AuthorizationCode,
            Some(10),
        )
        .unwrap();
        let second = TokenSet::from_response(&obj(json!({"access_token":"a2"})), 5000, Grant::RefreshToken, Some(10)).unwrap();
        let merged = first.refreshed(second);
        assert_eq!(merged.access_token.expose(), "a2");
        assert_eq!(merged.refresh_token.as_ref().map(Secret::expose), Some("r1"));
        assert_eq!(merged.instance_url.as_deref(), Some("https://i"));
        assert_eq!(merged.expires_at, Some(15_000));
        assert_eq!(merged.grant, Grant::AuthorizationCode);
    }

    #[test]
    fn odd_expires_in_values_are_read_or_ignored_never_refused() {
        let at =
            |v: Value| TokenSet::from_response(&obj(json!({"access_token":"a","expires_in": v})), 1_000, Grant::Password, None).unwrap();
        assert_eq!(at(json!(1.5)).expires_at, Some(2_500));
        let neg = at(json!(-3600));
        assert_eq!((neg.expires_at, neg.expiry_source), (None, ExpirySource::Unknown));
        assert!(neg.notes[0].contains("not a positive number"), "{:?}", neg.notes);
        let huge = at(json!("100000000000000000"));
        assert_eq!(huge.expires_at, Some(1_000 + MAX_LIFETIME_SECS as i64 * 1000), "clamped, not wrapped");
        assert!(!huge.is_expired(1_000, 60_000));
        assert_eq!(at(json!(1e17)).expiry_source, ExpirySource::ExpiresIn);
        assert_eq!(at(json!("soon")).expires_at, None);
        let scoped = TokenSet::from_response(&obj(json!({"access_token":"a","scope":["read","write"]})), 0, Grant::Password, None).unwrap();
        assert_eq!(scoped.scope.as_deref(), Some("read write"));
    }

    proptest::proptest! {
        /// Whatever a server sends as `expires_in` (or as a JWT's `exp`), and whatever the clock
        /// says, reading the token and asking about its expiry never overflows or panics.
        #[test]
        fn no_time_arithmetic_overflows(
            now in proptest::num::i64::ANY,
            secs in proptest::num::f64::ANY,
            int in proptest::num::i64::ANY,
            text in "[-+0-9.eE]{0,40}",
            exp in proptest::num::f64::ANY,
            session in proptest::option::of(proptest::num::u64::ANY),
            later in proptest::num::i64::ANY,
        ) {
            let exp_claims = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}}}"#, if exp.is_finite() { exp.to_string() } else { "1".into() }));
            let jwt = format!("{}.{exp_claims}.sig", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#));
            for v in [json!(secs), json!(int), json!(text.clone()), Value::Null] {
                for access in ["opaque", jwt.as_str()] {
                    let t = TokenSet::from_response(&obj(json!({"access_token": access, "expires_in": v.clone()})), now, Grant::Password, session).unwrap();
                    let _ = t.is_expired(later, EXPIRY_SKEW);
                    let _ = t.seconds_left(later);
                    let refreshed = t.clone().refreshed(t);
                    let _ = refreshed.is_expired(later, i64::MAX);
                }
            }
        }
    }

    const EXPIRY_SKEW: i64 = 60_000;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn expiry_with_skew() {
        let t = TokenSet::from_response(&obj(json!({"access_token":"a","expires_in":60})), 0, Grant::Password, None).unwrap();
        assert!(!t.is_expired(0, 30_000));
        assert!(t.is_expired(30_000, 30_000));
        assert_eq!(t.seconds_left(61_000), Some(-1));
    }
}
