//! One-line hints: what the user can do about a provider's error. Kept in one table so that the
//! CLI and the app say the same thing.

use crate::profile::ProviderKind;
use crate::token::Grant;

/// Hint for an OAuth token-endpoint error (`error` field), by provider and grant.
pub fn token_error(kind: ProviderKind, grant: Grant, error: &str, description: Option<&str>) -> &'static str {
    let desc = description.unwrap_or("").to_ascii_lowercase();
    match (kind, grant, error) {
        (ProviderKind::Salesforce, Grant::Password, "invalid_grant") => {
            "check the username and that the password is immediately followed by the security token; \
             the password grant is off by default in orgs created since Summer '23 \
             (Setup > OAuth and OpenID Connect Settings > Allow OAuth Username-Password Flows)"
        }
        (_, Grant::Password, "unsupported_grant_type") => "this provider or client does not allow the password grant; sign in through the login window",
        (ProviderKind::Salesforce, Grant::ClientCredentials, _) => {
            "enable the client credentials flow on the connected app, choose its run-as user, and use the org's My Domain as login host"
        }
        (_, Grant::AuthorizationCode, "invalid_grant") => {
            "authorization codes are single-use and short-lived, and must be redeemed with the same redirect URI and PKCE verifier: sign in again"
        }
        (_, Grant::RefreshToken, "invalid_grant") if desc.contains("expired") || desc.contains("revoked") || desc.is_empty() => {
            "the refresh token expired or was revoked: sign in again"
        }
        (_, Grant::RefreshToken, "invalid_grant") => "the refresh token was refused: sign in again",
        (ProviderKind::Salesforce, _, "invalid_client_id") => "check the connected app's consumer key (client id)",
        (_, _, "invalid_client") | (_, _, "unauthorized_client") => {
            "check the client id and secret, and how the client authenticates (HTTP Basic or in the body)"
        }
        (_, _, "invalid_scope") => "ask only for scopes this client is allowed",
        (_, _, "unsupported_grant_type") => "this client is not allowed this grant; enable it in the provider's client settings",
        (_, _, "invalid_request") => "a required parameter is missing or malformed; check the profile",
        (_, _, "access_denied") => "the provider refused; check the user's permissions",
        _ => "read the provider's message; it usually names what to fix",
    }
}

/// Hint for a WeChat `errcode`.
pub fn wechat(errcode: i64) -> &'static str {
    match errcode {
        -1 => "WeChat is busy: try again in a moment",
        40001 | 40125 => "check the AppSecret of the profile (or the token is invalid: sign in again)",
        40003 => "the openid does not belong to this appid: sign in again with this profile",
        40013 => "check the AppID of the profile",
        40014 => "the access token is invalid: sign in again",
        40029 | 40163 => "WeChat codes are single-use: sign in again to get a fresh code",
        40030 => "the refresh token is invalid: sign in again",
        41001..=41009 => "a required parameter is missing; check the profile",
        42001 => "the access token expired: refresh it",
        42002 => "the refresh token expired (they live 30 days): sign in again",
        42003 => "the code expired (5 minutes for Official Accounts, 10 for websites): sign in again",
        42007 => "the user changed their password: sign in again",
        43001 => "WeChat requires GET for this call",
        48001 => "this API is not authorized for the granted scope: sign in with snsapi_userinfo to read user info",
        10003 => "the redirect URI's domain is not registered for this appid",
        10005 => "this appid has no permission for the requested scope",
        _ => "see WeChat's global return codes for this errcode",
    }
}

/// Hint for a Salesforce REST `errorCode`.
pub fn salesforce(error_code: &str) -> &'static str {
    match error_code {
        "INVALID_SESSION_ID" => "the session expired or was revoked: refresh the token or sign in again",
        "MALFORMED_QUERY" => "the SOQL is not valid; check the syntax near the position given",
        "INVALID_FIELD" => "a field in the query does not exist on that object or is not visible to this user",
        "INVALID_TYPE" => "the object does not exist or is not visible to this user",
        "REQUEST_LIMIT_EXCEEDED" => "the org's daily API limit is used up; wait or ask for more",
        "API_DISABLED_FOR_ORG" => "the org's edition does not include API access",
        "INSUFFICIENT_ACCESS" | "INSUFFICIENT_ACCESS_OR_READONLY" => "the user lacks permission for this",
        "NOT_FOUND" => "check the URL and API version",
        _ => "read Salesforce's message; it names what to fix",
    }
}
