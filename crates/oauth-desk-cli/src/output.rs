//! How results and errors look: tables for people, JSON for scripts, secrets masked by default.

use crate::time::{human, rfc3339};
use oauth_desk_core::error::printable;
use oauth_desk_core::jwt::DecodedJwt;
use oauth_desk_core::token::ExpirySource;
use oauth_desk_core::{Action, Error, Millis, Profile, Result, Secret, TokenSet};
use serde::Serialize;
use serde_json::{Map, Value};

/// JSON whose strings cannot act on a terminal: serde escapes C0 controls; DEL, C1 controls
/// and bidi overrides are escaped here too (`\u009b`), which keeps it valid, equal JSON.
pub fn json_for_terminal<T: Serialize>(v: &T, pretty: bool) -> Result<String> {
    let text = if pretty { serde_json::to_string_pretty(v) } else { serde_json::to_string(v) }
        .map_err(|e| Error::unexpected(format!("cannot print JSON: {e}")))?;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && !matches!(c, '\n') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", json_for_terminal(v, true)?);
    Ok(())
}

pub fn table(header: &[&str]) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED).set_header(header.to_vec());
    t
}

/// What the user types to do what the core says should be done next.
fn action_text(action: Action, profile: Option<&str>) -> String {
    let name = profile.unwrap_or("NAME");
    match action {
        Action::SignIn => format!("sign in again: oauth-desk login browser|password|paste {name}"),
        Action::StoreClientSecret => format!("oauth-desk profile edit {name} --client-secret-stdin"),
        Action::GivePassword => format!("oauth-desk login password {name} --password-stdin (add --remember to keep it in the keyring)"),
        Action::EditProfile => format!("oauth-desk profile edit {name} (see --help for the fields)"),
        Action::CreateProfile => "oauth-desk profile add NAME --kind salesforce|wechat_official_account|wechat_website|oauth2".into(),
        Action::UseSystemBrowser => format!("oauth-desk login browser {name}"),
    }
}

/// An error for a person: what went wrong, the provider's words, where, and what to do.
/// Text from servers is printed with control characters escaped.
pub fn print_error(e: &Error, profile: Option<&str>) {
    eprintln!("error: {}", printable(&e.message));
    if let Some(p) = &e.provider {
        let mut line = format!("  provider said: {}", p.code);
        if let Some(m) = &p.message {
            line.push_str(&format!(": {m}"));
        }
        if let Some(r) = &p.request_id {
            line.push_str(&format!(" (request id {r})"));
        }
        eprintln!("{}", printable(&line));
    }
    match (e.status, &e.endpoint) {
        (Some(s), Some(ep)) => eprintln!("  at: HTTP {s} from {ep}"),
        (None, Some(ep)) => eprintln!("  at: {ep}"),
        (Some(s), None) => eprintln!("  at: HTTP {s}"),
        _ => {}
    }
    if let Some(h) = &e.hint {
        eprintln!("  hint: {}", printable(h));
    }
    if let Some(a) = e.action {
        eprintln!("  to do: {}", action_text(a, profile));
    }
    eprintln!("  code: {}", e.code.as_str());
}

/// The token as shown to a person or a script.
#[derive(Serialize)]
pub struct TokenView {
    pub profile: String,
    pub kind: &'static str,
    pub grant: &'static str,
    pub token_type: Option<String>,
    pub scope: Option<String>,
    pub issued_at: String,
    pub expires_at: Option<String>,
    pub expires_in_seconds: Option<i64>,
    pub expiry_source: ExpirySource,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub instance_url: Option<String>,
    pub identity_url: Option<String>,
    pub openid: Option<String>,
    pub unionid: Option<String>,
    pub signature_valid: Option<bool>,
    /// The ID token checked against the issuer's keys and the sign-in (or why it was not).
    pub id_token_check: Option<oauth_desk_core::idtoken::IdTokenCheck>,
    pub access_token_jwt: Option<DecodedJwt>,
    pub id_token_jwt: Option<DecodedJwt>,
    pub extra: Map<String, Value>,
}

impl TokenView {
    pub fn new(p: &Profile, t: &TokenSet, show_secrets: bool, now: Millis) -> Self {
        let show = |s: &Secret| if show_secrets { s.expose().to_string() } else { s.masked() };
        TokenView {
            profile: p.name.clone(),
            kind: p.kind().as_str(),
            grant: t.grant.as_str(),
            token_type: t.token_type.clone(),
            scope: t.scope.clone(),
            issued_at: rfc3339(t.issued_at),
            expires_at: t.expires_at.map(rfc3339),
            expires_in_seconds: t.seconds_left(now),
            expiry_source: t.expiry_source,
            access_token: show(&t.access_token),
            refresh_token: t.refresh_token.as_ref().map(show),
            id_token: t.id_token.as_ref().map(show),
            instance_url: t.instance_url.clone(),
            identity_url: t.identity_url.clone(),
            openid: t.openid.clone(),
            unionid: t.unionid.clone(),
            signature_valid: t.signature_valid,
            id_token_check: t.id_token_check.clone(),
            access_token_jwt: t.decoded_access_token(),
            id_token_jwt: t.decoded_id_token(),
            extra: t.extra.clone(),
        }
    }
}

fn expiry_text(v: &TokenView) -> String {
    match (&v.expires_at, v.expires_in_seconds) {
        (Some(at), Some(s)) => {
            let how = match v.expiry_source {
                ExpirySource::ExpiresIn => "from expires_in",
                ExpirySource::JwtExp => "from the JWT's exp",
                ExpirySource::SessionEstimate => "estimated from the session length; Salesforce sends no expiry",
                ExpirySource::Unknown => "",
            };
            format!("{} ({at}, {how})", human(s))
        }
        _ => "unknown (the provider sent no expiry)".to_string(),
    }
}

pub fn print_token_view(v: &TokenView) {
    let mut rows: Vec<(&str, String)> = vec![
        ("profile", format!("{} ({})", v.profile, v.kind)),
        ("grant", v.grant.to_string()),
        ("access token", v.access_token.clone()),
        ("expires", expiry_text(v)),
        ("issued", v.issued_at.clone()),
    ];
    let opt = |rows: &mut Vec<(&str, String)>, k, v: &Option<String>| {
        if let Some(v) = v {
            rows.push((k, v.clone()));
        }
    };
    opt(&mut rows, "refresh token", &v.refresh_token);
    opt(&mut rows, "id token", &v.id_token);
    match &v.id_token_check {
        Some(oauth_desk_core::idtoken::IdTokenCheck::Verified { alg, kid }) => {
            rows.push(("id token check", format!("verified ({alg}, key {}; iss, aud, exp, nonce, at_hash)", kid.as_deref().unwrap_or("-"))))
        }
        Some(oauth_desk_core::idtoken::IdTokenCheck::Failed { reason }) => rows.push(("id token check", format!("NOT VERIFIED: {reason}"))),
        None => {}
    }
    opt(&mut rows, "token type", &v.token_type);
    opt(&mut rows, "scope", &v.scope);
    opt(&mut rows, "instance", &v.instance_url);
    opt(&mut rows, "identity", &v.identity_url);
    opt(&mut rows, "openid", &v.openid);
    opt(&mut rows, "unionid", &v.unionid);
    if let Some(valid) = v.signature_valid {
        rows.push((
            "signature",
            if valid { "valid (HMAC-SHA256 of id + issued_at)".into() } else { "DOES NOT MATCH the client secret".into() },
        ));
    }
    for (k, val) in &v.extra {
        rows.push(("", format!("{k}: {}", val)));
    }
    for (k, val) in rows {
        println!("{k:>14}  {}", printable(&val));
    }
    for (label, jwt) in [("access token JWT", &v.access_token_jwt), ("id token JWT", &v.id_token_jwt)] {
        if let Some(j) = jwt {
            println!(
                "\n{label}:\n  header: {}\n  claims: {}",
                json_for_terminal(&j.header, false).unwrap_or_default(),
                json_for_terminal(&j.claims, true).unwrap_or_default().replace('\n', "\n  ")
            );
        }
    }
}

pub fn token_summary(p: &Profile, t: &TokenSet, verb: &str, now: Millis) {
    let v = TokenView::new(p, t, false, now);
    println!("{} `{}` ({}) with the {} grant.", capitalise(verb), p.name, p.kind().as_str(), t.grant.as_str());
    println!("  access token {}, expires {}", v.access_token, expiry_text(&v));
    if let Some(r) = &v.refresh_token {
        println!("  refresh token {r}");
    }
    if let Some(i) = &v.instance_url {
        println!("  instance {}", printable(i));
    }
    if let Some(o) = &v.openid {
        println!("  openid {}", printable(o));
    }
    for note in &t.notes {
        println!("  note: {}", printable(note));
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub fn login_result(p: &Profile, t: &TokenSet, json: bool, now: Millis) -> Result<()> {
    if json {
        print_json(&TokenView::new(p, t, false, now))
    } else {
        token_summary(p, t, "signed in to", now);
        Ok(())
    }
}
