//! One-line hints for standard OAuth errors: what the user can do. Provider modules add their
//! own (Salesforce's password grant, WeChat's errcodes) and fall back to these. Hints name the
//! action ("sign in again"), never a shell's command: each shell words that for its user.

use crate::token::Grant;

/// Hint for an OAuth token-endpoint error (`error` field), by grant (RFC 6749 §5.2).
pub fn token_error(grant: Grant, error: &str, description: Option<&str>) -> &'static str {
    let desc = description.unwrap_or("").to_ascii_lowercase();
    match (grant, error) {
        (Grant::Password, "unsupported_grant_type") => "this provider or client does not allow the password grant; sign in through the login window",
        (Grant::AuthorizationCode, "invalid_grant") => {
            "authorization codes are single-use and short-lived, and must be redeemed with the same redirect URI and PKCE verifier: sign in again"
        }
        (Grant::RefreshToken, "invalid_grant") if desc.contains("expired") || desc.contains("revoked") || desc.is_empty() => {
            "the refresh token expired or was revoked: sign in again"
        }
        (Grant::RefreshToken, "invalid_grant") => "the refresh token was refused: sign in again",
        (Grant::Password, "invalid_grant") => "check the username and password",
        (Grant::JwtBearer, "invalid_grant") => {
            "the assertion was refused: check that the provider holds this key's public half, and the subject (username) and audience"
        }
        (_, "invalid_client") | (_, "unauthorized_client") => {
            "check the client id and secret, and how the client authenticates (HTTP Basic or in the body)"
        }
        (_, "invalid_scope") => "ask only for scopes this client is allowed",
        (_, "unsupported_grant_type") => "this client is not allowed this grant; enable it in the provider's client settings",
        (_, "invalid_request") => "a required parameter is missing or malformed; check the profile",
        (_, "access_denied") => "the provider refused; check the user's permissions",
        _ => "read the provider's message; it usually names what to fix",
    }
}

/// Hint for an error the authorize step put on the redirect (RFC 6749 §4.1.2.1, Salesforce's own).
pub fn authorize_error(error: &str) -> &'static str {
    match error {
        "invalid_client_id" | "invalid_client" | "unauthorized_client" => "check the client id (consumer key) of the profile",
        "redirect_uri_mismatch" => "the redirect URI must equal the callback URL registered with the provider, character for character",
        "invalid_scope" => "ask only for scopes the connected app or client is allowed",
        "inactive_user" | "inactive_org" => "the user or the org is inactive; ask its administrator",
        "rate_limit_exceeded" => "too many sign-ins in a short time; wait a minute and try again",
        "login_required" | "consent_required" | "interaction_required" => "remove `prompt=none` and sign in interactively",
        _ => "read the provider's message; it usually names the setting to fix",
    }
}
