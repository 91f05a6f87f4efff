//! Verifying ID tokens (OIDC Core §3.1.3.7): the signature by a key of the issuer's JWKS (found
//! by `kid`), RS256/PS256/ES256 and their larger siblings, never `none` or a shared-secret HMAC;
//! `iss` exactly the issuer; `aud` containing the client (and `azp` the client when there are
//! several audiences); `exp` and `iat` with a small clock skew; `nonce` the one the sign-in sent;
//! `at_hash` when present. Pure: the session fetches the keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;

/// Clock skew allowed on `exp` and `iat`, seconds.
pub const SKEW_SECONDS: i64 = 120;

/// The outcome, kept with the token and shown beside it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum IdTokenCheck {
    Verified {
        alg: String,
        kid: Option<String>,
    },
    /// Why it is not trusted, in words.
    Failed {
        reason: String,
    },
}

/// What the ID token must say.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce the sign-in sent; `None` after a refresh (OIDC Core §12.2 lets it be absent).
    pub nonce: Option<&'a str>,
    pub access_token: Option<&'a str>,
    /// Epoch seconds.
    pub now: i64,
}

/// Why a token failed; `UnknownKey` means fetching the JWKS again may help (key rotation).
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    UnknownKey(String),
    Invalid(String),
}

/// The keys of a JWKS document that this verifier can use; others (an unknown `kty`) are skipped.
pub fn keys_of(jwks: &Value) -> Vec<Jwk> {
    jwks.get("keys")
        .and_then(Value::as_array)
        .map(|ks| ks.iter().filter_map(|k| serde_json::from_value(k.clone()).ok()).collect())
        .unwrap_or_default()
}

const ASYMMETRIC: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

pub fn verify(id_token: &str, keys: &[Jwk], expect: &Expect) -> Result<IdTokenCheck, Failure> {
    let invalid = |s: String| Failure::Invalid(s);
    // The header, read by hand first: `alg: none` must be named, not reported as garbage.
    let head = id_token.split('.').next().unwrap_or_default();
    let header: Value = URL_SAFE_NO_PAD
        .decode(head.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| invalid("it is not a JWT (its header cannot be read)".into()))?;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or_default();
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(invalid("it is unsigned (alg none), and an unsigned ID token proves nothing".into()));
    }
    let h = jsonwebtoken::decode_header(id_token).map_err(|e| invalid(format!("its header cannot be read ({e})")))?;
    if !ASYMMETRIC.contains(&h.alg) {
        return Err(invalid(format!("it is signed with {alg_name}, which no JWKS key can check (RS256, PS256 or ES256 expected)")));
    }
    let kid = h.kid.clone();
    let key = match &kid {
        Some(k) => keys.iter().find(|j| j.common.key_id.as_deref() == Some(k.as_str())),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or_else(|| Failure::UnknownKey(format!("no key of the issuer's JWKS has kid `{}`", kid.as_deref().unwrap_or("(none)"))))?;
    let decoding =
        DecodingKey::from_jwk(key).map_err(|e| invalid(format!("the JWKS key `{}` cannot be used ({e})", kid.as_deref().unwrap_or(""))))?;
    let mut v = Validation::new(h.alg);
    // Time is checked below against the caller's clock (the session's), not the system's.
    v.validate_exp = false;
    v.set_issuer(&[expect.issuer]);
    v.set_audience(&[expect.client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data = jsonwebtoken::decode::<Value>(id_token, &decoding, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        invalid(match e.kind() {
            K::InvalidSignature => {
                "its signature does not match the issuer's key (the token was altered, or signed by someone else)".into()
            }
            K::ExpiredSignature => "it has expired (exp is in the past)".into(),
            K::InvalidIssuer => format!("its issuer is not `{}`", expect.issuer),
            K::InvalidAudience => format!("it was issued for another client (aud does not contain `{}`)", expect.client_id),
            K::MissingRequiredClaim(c) => format!("it lacks the `{c}` claim"),
            _ => format!("it cannot be verified ({e})"),
        })
    })?;
    let c = data.claims;
    match c.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp + SKEW_SECONDS < expect.now => return Err(invalid("it has expired (exp is in the past)".into())),
        Some(_) => {}
        None => return Err(invalid("it lacks the `exp` claim".into())),
    }
    if let Some(iat) = c.get("iat").and_then(Value::as_i64) {
        if iat > expect.now + SKEW_SECONDS {
            return Err(invalid("it was issued in the future (iat): check this computer's clock".into()));
        }
    }
    if let Some(Value::Array(auds)) = c.get("aud") {
        if auds.len() > 1 && c.get("azp").and_then(Value::as_str) != Some(expect.client_id) {
            return Err(invalid(format!("it has several audiences and its azp is not `{}`", expect.client_id)));
        }
    }
    if let Some(sent) = expect.nonce {
        match c.get("nonce").and_then(Value::as_str) {
            Some(n) if n == sent => {}
            Some(_) => return Err(invalid("its nonce is not the one this sign-in sent (a replayed or injected token)".into())),
            None => return Err(invalid("it carries no nonce, though the sign-in sent one".into())),
        }
    }
    if let (Some(at_hash), Some(at)) = (c.get("at_hash").and_then(Value::as_str), expect.access_token) {
        if at_hash != token_hash(h.alg, at) {
            return Err(invalid("its at_hash does not match the access token it came with".into()));
        }
    }
    Ok(IdTokenCheck::Verified { alg: alg_name.to_string(), kid })
}

/// OIDC Core §3.1.3.6: the left half of the hash of the token, base64url.
pub fn token_hash(alg: Algorithm, token: &str) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => sha2::Sha384::digest(token.as_bytes()).to_vec(),
        Algorithm::RS512 | Algorithm::PS512 => sha2::Sha512::digest(token.as_bytes()).to_vec(),
        _ => sha2::Sha256::digest(token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    use serde_json::json;

    const ISS: &str = "https://idp.example";

    fn key() -> (EncodingKey, Value) {
        let (pem, _) = crate::assertion::generate_key_and_certificate("idtoken test").unwrap();
        let rsa = rsa::RsaPrivateKey::from_pkcs8_pem(pem.expose()).unwrap();
        let jwk = json!({"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(rsa.n().to_bytes_be()), "e": URL_SAFE_NO_PAD.encode(rsa.e().to_bytes_be())});
        (EncodingKey::from_rsa_pem(pem.expose().as_bytes()).unwrap(), json!({"keys": [jwk, {"kty": "weird"}]}))
    }

    fn sign(k: &EncodingKey, kid: &str, claims: Value) -> String {
        let mut h = Header::new(Algorithm::RS256);
        h.kid = Some(kid.into());
        encode(&h, &claims, k).unwrap()
    }

    #[test]
    fn ps256_and_es256_verify_too() {
        let now = 1_800_000_000;
        let claims = json!({"iss": ISS, "aud": "client-1", "sub": "ada", "exp": now + 300, "iat": now});
        let expect = Expect { issuer: ISS, client_id: "client-1", nonce: None, access_token: None, now };
        // PS256 with an RSA key.
        let (k, jwks) = key();
        let mut h = Header::new(Algorithm::PS256);
        h.kid = Some("k1".into());
        let ps = encode(&h, &claims, &k).unwrap();
        assert_eq!(verify(&ps, &keys_of(&jwks), &expect), Ok(IdTokenCheck::Verified { alg: "PS256".into(), kid: Some("k1".into()) }));
        // ES256 with a P-256 key (its JWK from the public point 04 || x || y).
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let point = pair.public_key_raw();
        let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "ec1", "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some("ec1".into());
        let es = encode(&h, &claims, &EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap()).unwrap();
        assert_eq!(
            verify(&es, &keys_of(&json!({"keys": [jwk]})), &expect),
            Ok(IdTokenCheck::Verified { alg: "ES256".into(), kid: Some("ec1".into()) })
        );
    }

    #[test]
    fn verifies_and_names_each_failure() {
        let (k, jwks) = key();
        let keys = keys_of(&jwks);
        assert_eq!(keys.len(), 1, "the unusable key is skipped");
        let now = 1_800_000_000;
        let at = "access-token-1";
        let good = json!({"iss": ISS, "aud": "client-1", "sub": "ada", "exp": now + 300, "iat": now, "nonce": "n-1", "at_hash": token_hash(Algorithm::RS256, at)});
        let expect = Expect { issuer: ISS, client_id: "client-1", nonce: Some("n-1"), access_token: Some(at), now };
        assert_eq!(
            verify(&sign(&k, "k1", good.clone()), &keys, &expect),
            Ok(IdTokenCheck::Verified { alg: "RS256".into(), kid: Some("k1".into()) })
        );

        let fails = |token: String, e: &Expect| match verify(&token, &keys, e) {
            Err(Failure::Invalid(r)) | Err(Failure::UnknownKey(r)) => r,
            Ok(v) => panic!("verified: {v:?}"),
        };
        // A tampered payload keeps the old signature.
        let t = sign(&k, "k1", good.clone());
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let mut claims = good.clone();
        claims["sub"] = json!("mallory");
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert!(fails(parts.join("."), &expect).contains("signature does not match"));
        let with = |f: &dyn Fn(&mut Value)| {
            let mut c = good.clone();
            f(&mut c);
            sign(&k, "k1", c)
        };
        assert!(fails(with(&|c| c["aud"] = json!("other")), &expect).contains("another client"));
        assert!(fails(with(&|c| c["iss"] = json!("https://evil.example")), &expect).contains("issuer"));
        assert!(fails(with(&|c| c["exp"] = json!(now - 600)), &Expect { now, ..expect }).contains("expired"));
        assert!(fails(with(&|c| c["nonce"] = json!("n-2")), &expect).contains("nonce is not"));
        assert!(fails(with(&|c| c["at_hash"] = json!("AAAA")), &expect).contains("at_hash"));
        assert!(fails(with(&|c| c["iat"] = json!(now + 3600)), &expect).contains("future"));
        assert!(fails(with(&|c| c["aud"] = json!(["client-1", "other"])), &expect).contains("azp"));
        let azp = with(&|c| {
            c["aud"] = json!(["client-1", "other"]);
            c["azp"] = json!("client-1");
        });
        assert!(verify(&azp, &keys, &expect).is_ok());
        // After a refresh no nonce is expected.
        assert!(verify(
            &with(&|c| {
                c.as_object_mut().unwrap().remove("nonce");
            }),
            &keys,
            &Expect { nonce: None, ..expect }
        )
        .is_ok());
        // An unknown kid asks for the JWKS again.
        assert!(matches!(verify(&sign(&k, "k2", good.clone()), &keys, &expect), Err(Failure::UnknownKey(_))));
        // alg none, and a shared-secret HMAC, are refused by name.
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#), URL_SAFE_NO_PAD.encode(good.to_string()));
        assert!(fails(none, &expect).contains("alg none"));
        let hs = encode(&Header::new(Algorithm::HS256), &good, &EncodingKey::from_secret(b"secret")).unwrap();
        assert!(fails(hs, &expect).contains("HS256"));
    }
}
