//! A string that must not leak. `Debug` prints `Secret([redacted])`; the only ways to read it are
//! [`Secret::expose`] (call sites are easy to audit) and serde, which the keyring adapter uses.

use serde::{Deserialize, Serialize};
use std::fmt;

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// A form safe to show: the first four characters and the length, e.g. `00Dx…(112 chars)`.
    /// Short secrets show nothing at all.
    pub fn masked(&self) -> String {
        let n = self.0.chars().count();
        if n < 16 {
            format!("…({n} chars)")
        } else {
            let head: String = self.0.chars().take(4).collect();
            format!("{head}…({n} chars)")
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// `n` random characters of `[A-Za-z0-9]`: states, nonces, attempt ids (WeChat allows only
/// these in `state`, at most 128 bytes).
pub fn random_alnum(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_mask_hide_the_value() {
        let s = Secret::new("00D5g000004abcd!AQ0AQFh1234567890");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(s.masked(), "00D5…(33 chars)");
        assert_eq!(Secret::new("short").masked(), "…(5 chars)", "short secrets must not show a prefix");
    }
}
