//! Signed JWTs the client makes: JWT bearer assertions (RFC 7523 §2.1; Salesforce's "OAuth 2.0
//! JWT Bearer Flow"), and the RSA key with its self-signed certificate that a Salesforce
//! connected app is given to check them.
//!
//! Keys are PEM (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`, as openssl writes
//! them) and stay [`Secret`]s; errors name what is wrong with a key, never its bytes.

use crate::error::{Error, Result};
use crate::secret::Secret;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// How long an assertion is valid: Salesforce accepts at most 3 minutes.
pub const LIFETIME_SECONDS: i64 = 180;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

/// What an assertion says: `iss` the client id, `sub` the user, `aud` who checks it.
#[derive(Debug, Clone, Copy)]
pub struct AssertionClaims<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: &'a str,
    /// Epoch seconds.
    pub now: i64,
}

/// The signing key from PEM, RSA (RS256) or EC P-256 (ES256), by what the PEM holds.
pub fn signing_key(pem: &Secret) -> Result<(EncodingKey, Algorithm)> {
    let text = pem.expose().trim();
    if !text.starts_with("-----BEGIN") {
        return Err(Error::invalid_input("the private key is not PEM (it should start with -----BEGIN PRIVATE KEY-----)")
            .with_hint("give the key file itself (server.key), not the certificate or a path"));
    }
    if text.contains("BEGIN CERTIFICATE") && !text.contains("PRIVATE KEY") {
        return Err(Error::invalid_input("this PEM is a certificate, not a private key")
            .with_hint("the certificate goes to the connected app; OAuth Desk needs the private key it was made from"));
    }
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(Error::invalid_input("the private key is encrypted with a passphrase")
            .with_hint("decrypt it first: openssl pkey -in server.key -out server-plain.key"));
    }
    if text.contains("BEGIN EC PRIVATE KEY") || (text.contains("BEGIN PRIVATE KEY") && EncodingKey::from_rsa_pem(text.as_bytes()).is_err())
    {
        if let Ok(k) = EncodingKey::from_ec_pem(text.as_bytes()) {
            return Ok((k, Algorithm::ES256));
        }
    }
    EncodingKey::from_rsa_pem(text.as_bytes()).map(|k| (k, Algorithm::RS256)).map_err(|_| {
        Error::invalid_input("the private key cannot be read as an RSA or P-256 key")
            .with_hint("use the PEM key the certificate was made from (openssl genrsa or OAuth Desk's Create key)")
    })
}

/// A JWT bearer assertion, valid for [`LIFETIME_SECONDS`], signed with `key`.
pub fn jwt_bearer(key: &Secret, claims: AssertionClaims) -> Result<Secret> {
    let (encoding, alg) = signing_key(key)?;
    let body = Claims {
        iss: claims.issuer,
        sub: claims.subject,
        aud: claims.audience,
        iat: claims.now,
        exp: claims.now + LIFETIME_SECONDS,
        jti: crate::profile::new_profile_id(),
    };
    let jwt = jsonwebtoken::encode(&Header::new(alg), &body, &encoding)
        .map_err(|e| Error::invalid_input(format!("the assertion could not be signed: {e}")))?;
    Ok(Secret::new(jwt))
}

/// A `private_key_jwt` client assertion (RFC 7523 §2.2, OIDC Core §9): `iss` = `sub` = the
/// client id, `aud` the authorization server, a unique `jti`, valid for 60 seconds.
pub fn client_assertion(key: &Secret, client_id: &str, audience: &str, now: i64) -> Result<Secret> {
    let (encoding, alg) = signing_key(key)?;
    let body = Claims { iss: client_id, sub: client_id, aud: audience, iat: now, exp: now + 60, jti: crate::profile::new_profile_id() };
    let jwt = jsonwebtoken::encode(&Header::new(alg), &body, &encoding)
        .map_err(|e| Error::invalid_input(format!("the client assertion could not be signed: {e}")))?;
    Ok(Secret::new(jwt))
}

/// A new RSA 2048 key and a self-signed X.509 certificate for it (valid two years), as PEM.
/// The certificate's common name says what it is for.
pub fn generate_key_and_certificate(common_name: &str) -> Result<(Secret, String)> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let mut rng = rand::thread_rng();
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| Error::storage(format!("cannot generate an RSA key: {e}")))?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| Error::storage(format!("cannot encode the RSA key: {e}")))?;
    let pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| Error::storage(format!("cannot use the RSA key for the certificate: {e}")))?;
    let mut params =
        rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| Error::storage(format!("certificate parameters: {e}")))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "OAuth Desk");
    let now = std::time::SystemTime::now();
    params.not_before = now.into();
    params.not_after = (now + std::time::Duration::from_secs(2 * 366 * 24 * 3600)).into();
    let cert = params.self_signed(&pair).map_err(|e| Error::storage(format!("cannot sign the certificate: {e}")))?;
    Ok((Secret::new(pem.to_string()), cert.pem()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[test]
    fn a_generated_key_signs_assertions_its_certificate_verifies() {
        let (key, cert) = generate_key_and_certificate("oauth-desk test").unwrap();
        assert!(key.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        let jwt = jwt_bearer(
            &key,
            AssertionClaims { issuer: "3MVG9", subject: "ada@example.com", audience: "https://login.salesforce.com", now: 1_700_000_000 },
        )
        .unwrap();
        // Verify with the certificate's public key, as the connected app does.
        let der = pem_body(&cert);
        let (_, x509) = x509_parser::parse_x509_certificate(&der).unwrap();
        let public = x509.public_key().subject_public_key.data.to_vec();
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["https://login.salesforce.com"]);
        v.validate_exp = false;
        let data = decode::<serde_json::Value>(jwt.expose(), &DecodingKey::from_rsa_der(&public), &v).unwrap();
        assert_eq!(data.claims["iss"], "3MVG9");
        assert_eq!(data.claims["sub"], "ada@example.com");
        assert_eq!(data.claims["exp"].as_i64().unwrap() - data.claims["iat"].as_i64().unwrap(), 180);
        assert!(data.claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    }

    fn pem_body(pem: &str) -> Vec<u8> {
        use base64::Engine;
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
    }

    #[test]
    fn bad_keys_are_named_without_showing_them() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        for (pem, says) in [
            ("not a key at all", "not PEM"),
            (cert, "certificate, not a private key"),
            ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----", "encrypted"),
            ("-----BEGIN PRIVATE KEY-----\nU0VDUkVUQllURVM=\n-----END PRIVATE KEY-----", "cannot be read"),
        ] {
            let e = signing_key(&Secret::new(pem)).err().unwrap();
            assert!(e.message.contains(says), "{}: {}", says, e.message);
            assert!(!e.message.contains("U0VDUkVU"), "the key's bytes never appear");
        }
    }
}
