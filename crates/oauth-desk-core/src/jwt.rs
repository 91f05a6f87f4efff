//! Decoding (not verifying) JWTs for display and expiry: header, claims, `exp`.
//! A token that is not a JWT is simply not decoded; this module never fails loudly.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodedJwt {
    pub header: Value,
    pub claims: Value,
}

impl DecodedJwt {
    /// Expiry in epoch milliseconds, from the `exp` claim (seconds).
    pub fn exp_millis(&self) -> Option<i64> {
        self.claims.get("exp").and_then(Value::as_f64).map(|s| (s * 1000.0) as i64)
    }
}

pub fn decode(token: &str) -> Option<DecodedJwt> {
    let mut parts = token.split('.');
    let (h, c, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h.trim_end_matches('=')).ok()?).ok()?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c.trim_end_matches('=')).ok()?).ok()?;
    (header.is_object() && claims.is_object()).then_some(DecodedJwt { header, claims })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_header_claims_and_exp() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
        let c = URL_SAFE_NO_PAD.encode(br#"{"sub":"005xx","exp":1700000000}"#);
        let jwt = decode(&format!("{h}.{c}.sig")).expect("a JWT");
        assert_eq!(jwt.header["alg"], "RS256");
        assert_eq!(jwt.exp_millis(), Some(1_700_000_000_000));
        assert!(decode("00D5g000004!AQ0AQ.opaque").is_none(), "opaque Salesforce tokens are not JWTs");
        assert!(decode("a.b.c.d").is_none());
    }
}
