//! What is a secret in an exchange, and where it sits.
//!
//! Two rules, applied together to every URL, header and body before anything is shown:
//! - **by name**: the values of fields that carry secrets wherever they appear (a form field, a
//!   query parameter, a JSON member): `client_secret`, WeChat's `secret`, `password`, `code`,
//!   `code_verifier`, `access_token`, `refresh_token`, `id_token`, `token`, assertions, device
//!   codes; the `Authorization`, `Proxy-Authorization`, `Cookie` and `Set-Cookie` headers;
//! - **by value**: every secret the session knows (the client secret, password, security token,
//!   each token it received, codes, PKCE verifiers), wherever it appears, also percent-, form- or
//!   JSON-encoded.
//!
//! The result is a list of [`Seg`]ments, rendered as `[masked:kind]`, as `${ENV}` placeholders,
//! or with the secrets, as the caller chooses.

use serde::Serialize;

/// The kind of a masked value: names the mask and the environment variable of a placeholder.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    ClientSecret,
    Password,
    SecurityToken,
    AccessToken,
    RefreshToken,
    IdToken,
    AuthorizationCode,
    CodeVerifier,
    /// A token whose kind the field does not say (`token=` at revocation and introspection).
    Token,
    Assertion,
    DeviceCode,
    /// HTTP Basic `client_id:client_secret`.
    ClientCredentials,
    Cookie,
}

impl SecretKind {
    pub fn label(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client_secret",
            SecretKind::Password => "password",
            SecretKind::SecurityToken => "security_token",
            SecretKind::AccessToken => "access_token",
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::IdToken => "id_token",
            SecretKind::AuthorizationCode => "code",
            SecretKind::CodeVerifier => "code_verifier",
            SecretKind::Token => "token",
            SecretKind::Assertion => "assertion",
            SecretKind::DeviceCode => "device_code",
            SecretKind::ClientCredentials => "client_credentials",
            SecretKind::Cookie => "cookie",
        }
    }

    /// The environment variable a copied command reads this secret from.
    pub fn env(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "CLIENT_SECRET",
            SecretKind::Password => "PASSWORD",
            SecretKind::SecurityToken => "SECURITY_TOKEN",
            SecretKind::AccessToken => "ACCESS_TOKEN",
            SecretKind::RefreshToken => "REFRESH_TOKEN",
            SecretKind::IdToken => "ID_TOKEN",
            SecretKind::AuthorizationCode => "AUTH_CODE",
            SecretKind::CodeVerifier => "CODE_VERIFIER",
            SecretKind::Token => "TOKEN",
            SecretKind::Assertion => "ASSERTION",
            SecretKind::DeviceCode => "DEVICE_CODE",
            SecretKind::ClientCredentials => "CLIENT_CREDENTIALS",
            SecretKind::Cookie => "COOKIE",
        }
    }

    /// The kind of secret a field of this name carries in a form, a query string or a JSON
    /// object. `code` counts in forms and URLs only: in JSON it is usually an error code.
    pub fn of_field(name: &str, in_json: bool) -> Option<SecretKind> {
        Some(match name.to_ascii_lowercase().as_str() {
            "client_secret" | "secret" | "appsecret" => SecretKind::ClientSecret,
            "password" => SecretKind::Password,
            "security_token" => SecretKind::SecurityToken,
            "access_token" => SecretKind::AccessToken,
            "refresh_token" => SecretKind::RefreshToken,
            "id_token" => SecretKind::IdToken,
            "code" if !in_json => SecretKind::AuthorizationCode,
            "code_verifier" => SecretKind::CodeVerifier,
            "token" => SecretKind::Token,
            "assertion" | "client_assertion" => SecretKind::Assertion,
            "device_code" => SecretKind::DeviceCode,
            _ => return None,
        })
    }
}

/// How secrets come out of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// `[masked:client_secret]`.
    Masked,
    /// `${CLIENT_SECRET}` (copied commands read them from the environment).
    Placeholders,
    /// The values themselves: only when the user ticks "include secrets".
    Secrets,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Text(String),
    Secret(SecretKind, String),
}

/// A text cut into plain parts and secrets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segments(pub Vec<Seg>);

impl Segments {
    pub fn plain(s: impl Into<String>) -> Self {
        Segments(vec![Seg::Text(s.into())])
    }
    pub fn has_secret(&self) -> bool {
        self.0.iter().any(|s| matches!(s, Seg::Secret(..)))
    }
    pub fn kinds(&self) -> impl Iterator<Item = SecretKind> + '_ {
        self.0.iter().filter_map(|s| match s {
            Seg::Secret(k, _) => Some(*k),
            Seg::Text(_) => None,
        })
    }
    pub fn render(&self, reveal: Reveal) -> String {
        let mut out = String::new();
        for s in &self.0 {
            match (s, reveal) {
                (Seg::Text(t), _) => out.push_str(t),
                (Seg::Secret(_, v), Reveal::Secrets) => out.push_str(v),
                (Seg::Secret(k, _), Reveal::Masked) => {
                    out.push_str("[masked:");
                    out.push_str(k.label());
                    out.push(']');
                }
                (Seg::Secret(k, _), Reveal::Placeholders) => {
                    out.push_str("${");
                    out.push_str(k.env());
                    out.push('}');
                }
            }
        }
        out
    }
    fn push_text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if let Some(Seg::Text(t)) = self.0.last_mut() {
            t.push_str(s);
        } else {
            self.0.push(Seg::Text(s.to_string()));
        }
    }
    fn append(&mut self, other: Segments) {
        for s in other.0 {
            match s {
                Seg::Text(t) => self.push_text(&t),
                secret => self.0.push(secret),
            }
        }
    }
}

/// Known secret values shorter than this are masked by name only: masking every `abc` in a
/// body would hide more than it protects.
const MIN_KNOWN_LEN: usize = 4;

type Range = (usize, usize, SecretKind);

/// The masking rules plus the secret values a session knows.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Each known value and its encoded forms, longest first.
    variants: Vec<(String, SecretKind)>,
    exact: Vec<(String, SecretKind)>,
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn percent_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_else(|| s.to_string())
}

impl Redactor {
    pub fn new(known: Vec<(String, SecretKind)>) -> Self {
        let mut variants = Vec::new();
        for (v, k) in &known {
            if v.chars().count() < MIN_KNOWN_LEN {
                continue;
            }
            let json = serde_json::to_string(v).map(|q| q[1..q.len() - 1].to_string()).unwrap_or_default();
            for variant in [v.clone(), form_encode(v), percent_encode(v), json] {
                if !variant.is_empty() && !variants.iter().any(|(x, _)| *x == variant) {
                    variants.push((variant, *k));
                }
            }
        }
        variants.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        Redactor { variants, exact: known }
    }

    /// The kind of a known secret value, matched exactly.
    pub fn kind_of(&self, value: &str) -> Option<SecretKind> {
        self.exact.iter().find(|(v, _)| v == value).map(|(_, k)| *k)
    }

    fn finish(&self, s: &str, mut ranges: Vec<Range>) -> Segments {
        for (variant, kind) in &self.variants {
            for (at, m) in s.match_indices(variant.as_str()) {
                let end = at + m.len();
                if !ranges.iter().any(|(a, b, _)| at < *b && *a < end) {
                    ranges.push((at, end, *kind));
                }
            }
        }
        ranges.sort_by_key(|r| r.0);
        let mut out = Segments::default();
        let mut pos = 0;
        for (a, b, kind) in ranges {
            if a < pos || a >= b {
                continue;
            }
            out.push_text(&s[pos..a]);
            out.0.push(Seg::Secret(kind, s[a..b].to_string()));
            pos = b;
        }
        out.push_text(&s[pos..]);
        out
    }

    /// Plain text: known values only.
    pub fn text(&self, s: &str) -> Segments {
        self.finish(s, Vec::new())
    }

    /// A raw `k=v&k=v` text (form body, query string, fragment): secret-named values, then
    /// known values.
    pub fn form(&self, s: &str) -> Segments {
        let mut ranges = Vec::new();
        let mut offset = 0;
        for part in s.split('&') {
            if let Some(eq) = part.find('=') {
                let key = form_decode(&part[..eq]);
                if let Some(kind) = SecretKind::of_field(&key, false) {
                    let (a, b) = (offset + eq + 1, offset + part.len());
                    if a < b {
                        ranges.push((a, b, kind));
                    }
                }
            }
            offset += part.len() + 1;
        }
        self.finish(s, ranges)
    }

    /// JSON text: string members with secret names, then known values. The text itself is
    /// kept as it came (no re-serialisation), so a masked body still reads like the original.
    pub fn json(&self, s: &str) -> Segments {
        self.finish(s, json_secret_ranges(s))
    }

    pub fn header(&self, name: &str, value: &str) -> Segments {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "authorization" | "proxy-authorization" => {
                let Some((scheme, rest)) = value.split_once(' ') else {
                    return Segments(vec![Seg::Secret(SecretKind::Token, value.to_string())]);
                };
                let kind = if scheme.eq_ignore_ascii_case("basic") {
                    SecretKind::ClientCredentials
                } else {
                    self.kind_of(rest.trim()).unwrap_or(if scheme.eq_ignore_ascii_case("bearer") {
                        SecretKind::AccessToken
                    } else {
                        SecretKind::Token
                    })
                };
                Segments(vec![Seg::Text(format!("{scheme} ")), Seg::Secret(kind, rest.to_string())])
            }
            "cookie" | "set-cookie" => Segments(vec![Seg::Secret(SecretKind::Cookie, value.to_string())]),
            _ => self.text(value),
        }
    }

    /// A URL: its query and fragment read as forms (WeChat's `secret=`, an implicit grant's
    /// `#access_token=`), the rest by known values.
    pub fn url(&self, url: &str) -> Segments {
        let (before_frag, frag) = match url.find('#') {
            Some(i) => (&url[..i], Some(&url[i + 1..])),
            None => (url, None),
        };
        let (base, query) = match before_frag.find('?') {
            Some(i) => (&before_frag[..i], Some(&before_frag[i + 1..])),
            None => (before_frag, None),
        };
        let mut out = self.text(base);
        if let Some(q) = query {
            out.push_text("?");
            out.append(self.form(q));
        }
        if let Some(f) = frag {
            out.push_text("#");
            out.append(self.form(f));
        }
        out
    }

    /// A body by its content type (or its look, when the type says nothing useful).
    pub fn body(&self, content_type: &str, data: &[u8]) -> Segments {
        let text = String::from_utf8_lossy(data);
        let ct = content_type.to_ascii_lowercase();
        let trimmed = text.trim_start();
        if ct.starts_with(crate::transport::FORM) {
            self.form(&text)
        } else if ct.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('[') {
            self.json(&text)
        } else {
            self.text(&text)
        }
    }

    /// A decoded value: the whole of it when the field is secret-named, else known values.
    pub fn value(&self, field: Option<&str>, value: &str) -> Segments {
        match field.and_then(|f| SecretKind::of_field(f, false)) {
            Some(kind) if !value.is_empty() => Segments(vec![Seg::Secret(kind, value.to_string())]),
            _ => self.text(value),
        }
    }

    /// Decoded `k=v` pairs of a form text, each value cut into segments.
    pub fn form_pairs(&self, text: &str) -> Vec<(String, Segments)> {
        url::form_urlencoded::parse(text.as_bytes()).map(|(k, v)| (k.to_string(), self.value(Some(&k), &v))).collect()
    }

    /// Decoded query parameters of a URL.
    pub fn query_pairs(&self, url: &str) -> Vec<(String, Segments)> {
        let without_frag = url.split('#').next().unwrap_or(url);
        match without_frag.split_once('?') {
            Some((_, q)) => self.form_pairs(q),
            None => Vec::new(),
        }
    }
}

/// Byte ranges of the contents of string values whose member name carries a secret.
fn json_secret_ranges(s: &str) -> Vec<Range> {
    let b = s.as_bytes();
    let mut ranges = Vec::new();
    let mut i = 0;
    // The end (exclusive) of the string literal starting at `start` (which is a `"`).
    let string_end = |start: usize| -> usize {
        let mut j = start + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return j + 1,
                _ => j += 1,
            }
        }
        b.len()
    };
    let skip_ws = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        j
    };
    while i < b.len() {
        if b[i] != b'"' {
            i += 1;
            continue;
        }
        let end = string_end(i);
        let after = skip_ws(end);
        if after < b.len() && b[after] == b':' {
            let key: String = serde_json::from_str(&s[i..end]).unwrap_or_default();
            let v = skip_ws(after + 1);
            if let (Some(kind), true) = (SecretKind::of_field(&key, true), v < b.len() && b[v] == b'"') {
                let vend = string_end(v);
                if vend >= v + 2 {
                    ranges.push((v + 1, vend - 1, kind));
                }
                i = vend;
                continue;
            }
            i = after + 1;
        } else {
            i = end;
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Redactor {
        Redactor::new(vec![
            ("EMULATOR0CONSUMER0SECRET".into(), SecretKind::ClientSecret),
            ("Passw0rd!SECTOKEN42".into(), SecretKind::Password),
            ("00Dxx!AQ0.tok/en+1".into(), SecretKind::AccessToken),
        ])
    }

    #[test]
    fn form_fields_by_name_and_known_values_anywhere() {
        let s = r().form("grant_type=password&client_id=abc&client_secret=EMULATOR0CONSUMER0SECRET&username=ada&password=Passw0rd%21SECTOKEN42&code=a%3D%3D");
        let masked = s.render(Reveal::Masked);
        assert_eq!(
            masked,
            "grant_type=password&client_id=abc&client_secret=[masked:client_secret]&username=ada&password=[masked:password]&code=[masked:code]"
        );
        assert_eq!(s.render(Reveal::Secrets), "grant_type=password&client_id=abc&client_secret=EMULATOR0CONSUMER0SECRET&username=ada&password=Passw0rd%21SECTOKEN42&code=a%3D%3D");
        // A known value under a harmless name, percent-encoded.
        let t = r().text("see 00Dxx%21AQ0.tok%2Fen%2B1 here");
        assert_eq!(t.render(Reveal::Masked), "see [masked:access_token] here");
    }

    #[test]
    fn json_members_keep_the_text_as_it_came() {
        let body = r#"{"access_token" : "abc.def", "nested": {"refresh_token":"r\"1"}, "code": "NOT_FOUND", "n": 1e17, "other":"x"}"#;
        let masked = r().json(body).render(Reveal::Masked);
        assert_eq!(
            masked,
            r#"{"access_token" : "[masked:access_token]", "nested": {"refresh_token":"[masked:refresh_token]"}, "code": "NOT_FOUND", "n": 1e17, "other":"x"}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&masked).is_ok(), "still JSON");
    }

    #[test]
    fn headers_and_urls() {
        let h = r().header("Authorization", "Bearer 00Dxx!AQ0.tok/en+1");
        assert_eq!(h.render(Reveal::Masked), "Bearer [masked:access_token]");
        assert_eq!(h.render(Reveal::Placeholders), "Bearer ${ACCESS_TOKEN}");
        assert_eq!(r().header("authorization", "Basic YTpi").render(Reveal::Masked), "Basic [masked:client_credentials]");
        assert_eq!(r().header("Set-Cookie", "sid=1; Path=/").render(Reveal::Masked), "[masked:cookie]");
        let u = r().url("https://api.weixin.qq.com/sns/oauth2/access_token?appid=wx1&secret=S3&code=061&grant_type=authorization_code#x");
        assert_eq!(
            u.render(Reveal::Masked),
            "https://api.weixin.qq.com/sns/oauth2/access_token?appid=wx1&secret=[masked:client_secret]&code=[masked:code]&grant_type=authorization_code#x"
        );
        let pairs = r().query_pairs("https://h/p?a=1&access_token=T%2B1");
        assert_eq!(pairs[1].0, "access_token");
        assert_eq!(pairs[1].1, Segments(vec![Seg::Secret(SecretKind::AccessToken, "T+1".into())]));
    }

    #[test]
    fn short_known_values_are_masked_by_name_only() {
        let r = Redactor::new(vec![("abc".into(), SecretKind::Password)]);
        assert_eq!(r.text("abcdef").render(Reveal::Masked), "abcdef");
        assert_eq!(r.form("password=abc").render(Reveal::Masked), "password=[masked:password]");
    }
}
