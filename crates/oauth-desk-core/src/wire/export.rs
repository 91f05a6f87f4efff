//! Exchanges as other tools read them: a curl command, a Python `requests` snippet, HAR 1.2.
//!
//! Secrets come out as the caller asks ([`Reveal`]): masked, as `${ENV}` placeholders (the
//! default for copied commands: paste, export the variables, run), or as themselves.

use super::redact::{Redactor, Reveal, SecretKind, Seg, Segments};
use super::{Body, Exchange};
use crate::clock::rfc3339_millis;
use crate::transport::{Purpose, FORM};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::Arc;

/// Headers a copied command leaves to the tool (they would be wrong or duplicated).
fn skipped_header(name: &str, form_body: bool) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "user-agent" | "content-length" | "host") || (form_body && n == "content-type")
}

fn is_form(body: Option<&Body>) -> bool {
    body.is_some_and(|b| b.content_type.to_ascii_lowercase().starts_with(FORM))
}

fn body_text(b: &Body) -> Option<&str> {
    std::str::from_utf8(&b.data).ok()
}

/// `id:secret` from a Basic header, each part form-decoded (RFC 6749 §2.3.1).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let dec = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((dec(id)?, dec(secret)?))
}

fn env_note(kinds: &[SecretKind], comment: &str) -> String {
    let mut names: Vec<&str> = kinds.iter().map(|k| k.env()).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        String::new()
    } else {
        format!("{comment} Reads {} from the environment.\n", names.join(", "))
    }
}

// ---- curl ------------------------------------------------------------------------------------

fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One shell word: single-quoted when it needs no expansion, else double-quoted with
/// placeholders left to expand.
fn shell_word(s: &Segments, reveal: Reveal) -> String {
    if reveal != Reveal::Placeholders || !s.has_secret() {
        return single_quote(&s.render(reveal));
    }
    let mut out = String::from("\"");
    for seg in &s.0 {
        match seg {
            Seg::Text(t) => {
                for c in t.chars() {
                    if matches!(c, '\\' | '"' | '$' | '`') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Seg::Secret(k, _) => {
                out.push_str("${");
                out.push_str(k.env());
                out.push('}');
            }
        }
    }
    out.push('"');
    out
}

fn prefixed(name: &str, value: Segments) -> Segments {
    let mut s = Segments::plain(name);
    s.0.extend(value.0);
    s
}

/// The exchange as a curl command line.
pub fn curl(e: &Exchange, r: &Redactor, reveal: Reveal) -> String {
    let mut kinds = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let form = is_form(e.request_body.as_ref());
    let (base, query) = match e.url.split('#').next().unwrap_or(&e.url).split_once('?') {
        Some((b, q)) => (b.to_string(), Some(q.to_string())),
        None => (e.url.clone(), None),
    };
    let get_with_query = e.method == "GET" && query.is_some() && e.request_body.is_none();
    if get_with_query {
        args.push(format!("curl -G {}", single_quote(&r.text(&base).render(Reveal::Secrets))));
    } else {
        let url = r.url(e.url.split('#').next().unwrap_or(&e.url));
        kinds.extend(url.kinds());
        let method = if e.method == "GET" { String::new() } else { format!("-X {} ", e.method) };
        args.push(format!("curl {method}{}", shell_word(&url, reveal)));
    }
    for (k, v) in &e.request_headers {
        if skipped_header(k, form) {
            continue;
        }
        if let (Some((id, secret)), true) = (basic_credentials(v), k.eq_ignore_ascii_case("authorization")) {
            let creds = Segments(vec![Seg::Text(format!("{id}:")), Seg::Secret(SecretKind::ClientSecret, secret)]);
            kinds.push(SecretKind::ClientSecret);
            args.push(format!("-u {}", shell_word(&creds, reveal)));
            continue;
        }
        let value = r.header(k, v);
        kinds.extend(value.kinds());
        args.push(format!("-H {}", shell_word(&prefixed(&format!("{k}: "), value), reveal)));
    }
    if get_with_query {
        for (k, v) in r.query_pairs(&e.url) {
            kinds.extend(v.kinds());
            args.push(format!("--data-urlencode {}", shell_word(&prefixed(&format!("{k}="), v), reveal)));
        }
    }
    let mut note = String::new();
    if let Some(b) = &e.request_body {
        match body_text(b) {
            Some(text) if form => {
                for (k, v) in r.form_pairs(text) {
                    kinds.extend(v.kinds());
                    args.push(format!("--data-urlencode {}", shell_word(&prefixed(&format!("{k}="), v), reveal)));
                }
            }
            Some(text) => {
                let segs = r.body(&b.content_type, text.as_bytes());
                kinds.extend(segs.kinds());
                args.push(format!("--data-raw {}", shell_word(&segs, reveal)));
            }
            None => note.push_str("# The request body is binary and is not reproduced here.\n"),
        }
        if b.truncated() {
            note.push_str(&format!("# The log kept only the first {} of {} body bytes.\n", b.data.len(), b.size));
        }
    }
    let mut out = if reveal == Reveal::Placeholders { env_note(&kinds, "#") } else { String::new() };
    out.push_str(&note);
    out.push_str(&args.join(" \\\n  "));
    out.push('\n');
    out
}

// ---- Python ----------------------------------------------------------------------------------

fn py_str(s: &str) -> String {
    // A JSON string literal is a valid Python string literal.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn py_expr(s: &Segments, reveal: Reveal) -> String {
    if reveal != Reveal::Placeholders || !s.has_secret() {
        return py_str(&s.render(reveal));
    }
    let parts: Vec<String> =
        s.0.iter()
            .map(|seg| match seg {
                Seg::Text(t) => py_str(t),
                Seg::Secret(k, _) => format!("os.environ[\"{}\"]", k.env()),
            })
            .collect();
    parts.join(" + ")
}

fn py_pairs(pairs: &[(String, Segments)], reveal: Reveal) -> String {
    let items: Vec<String> = pairs.iter().map(|(k, v)| format!("({}, {})", py_str(k), py_expr(v, reveal))).collect();
    format!("[{}]", items.join(", "))
}

/// The exchange as a Python `requests` snippet.
pub fn python(e: &Exchange, r: &Redactor, reveal: Reveal) -> String {
    let mut kinds = Vec::new();
    let form = is_form(e.request_body.as_ref());
    let base = e.url.split('#').next().unwrap_or(&e.url).split('?').next().unwrap_or(&e.url).to_string();
    let mut lines = vec![format!("    {},", py_str(&e.method)), format!("    {},", py_str(&r.text(&base).render(Reveal::Secrets)))];
    let params = r.query_pairs(&e.url);
    if !params.is_empty() {
        params.iter().for_each(|(_, v)| kinds.extend(v.kinds()));
        lines.push(format!("    params={},", py_pairs(&params, reveal)));
    }
    let mut headers = Vec::new();
    for (k, v) in &e.request_headers {
        if skipped_header(k, form) {
            continue;
        }
        if let (Some((id, secret)), true) = (basic_credentials(v), k.eq_ignore_ascii_case("authorization")) {
            kinds.push(SecretKind::ClientSecret);
            let secret = Segments(vec![Seg::Secret(SecretKind::ClientSecret, secret)]);
            lines.push(format!("    auth=({}, {}),", py_str(&id), py_expr(&secret, reveal)));
            continue;
        }
        let value = r.header(k, v);
        kinds.extend(value.kinds());
        headers.push(format!("{}: {}", py_str(k), py_expr(&value, reveal)));
    }
    if !headers.is_empty() {
        lines.push(format!("    headers={{{}}},", headers.join(", ")));
    }
    let mut note = String::new();
    if let Some(b) = &e.request_body {
        match body_text(b) {
            Some(text) if form => {
                let pairs = r.form_pairs(text);
                pairs.iter().for_each(|(_, v)| kinds.extend(v.kinds()));
                lines.push(format!("    data={},", py_pairs(&pairs, reveal)));
            }
            Some(text) => {
                let segs = r.body(&b.content_type, text.as_bytes());
                kinds.extend(segs.kinds());
                lines.push(format!("    data={},", py_expr(&segs, reveal)));
            }
            None => note.push_str("# The request body is binary and is not reproduced here.\n"),
        }
        if b.truncated() {
            note.push_str(&format!("# The log kept only the first {} of {} body bytes.\n", b.data.len(), b.size));
        }
    }
    lines.push("    allow_redirects=False,".into());
    lines.push("    timeout=60,".into());
    let placeholders = reveal == Reveal::Placeholders && !kinds.is_empty();
    let mut out = if reveal == Reveal::Placeholders { env_note(&kinds, "#") } else { String::new() };
    out.push_str(&note);
    if placeholders {
        out.push_str("import os\n");
    }
    out.push_str("import requests\n\nresponse = requests.request(\n");
    out.push_str(&lines.join("\n"));
    out.push_str("\n)\nprint(response.status_code)\nprint(response.text)\n");
    out
}

// ---- HAR 1.2 -----------------------------------------------------------------------------------

fn har_headers(h: &[(String, String)], r: &Redactor, reveal: Reveal) -> Value {
    Value::Array(h.iter().map(|(k, v)| json!({"name": k, "value": r.header(k, v).render(reveal)})).collect())
}

fn har_body_text(b: &Body, r: &Redactor, reveal: Reveal) -> (String, Option<&'static str>) {
    match std::str::from_utf8(&b.data) {
        Ok(_) => (r.body(&b.content_type, &b.data).render(reveal), None),
        // A cut may fall inside a UTF-8 sequence: keep the valid prefix as text.
        Err(e) if e.error_len().is_none() && b.truncated() => (r.body(&b.content_type, &b.data[..e.valid_up_to()]).render(reveal), None),
        Err(_) => (STANDARD.encode(&b.data), Some("base64")),
    }
}

fn status_text(status: u16) -> &'static str {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
}

/// A rendered URL made a valid URI again: masks (`[masked:code]`) and other characters a URI
/// cannot carry are percent-encoded after the host (an IPv6 host keeps its brackets).
fn uri_safe(url: &str) -> String {
    let start = url.find("://").map(|i| i + 3).unwrap_or(0);
    let path_at = url[start..].find(['/', '?', '#']).map(|i| start + i).unwrap_or(url.len());
    let mut out = url[..path_at].to_string();
    for c in url[path_at..].chars() {
        match c {
            '[' | ']' | ' ' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// One exchange as a HAR 1.2 entry.
pub fn har_entry(e: &Exchange, r: &Redactor, reveal: Reveal) -> Value {
    let url = uri_safe(&r.url(&e.url).render(reveal));
    let query: Vec<Value> = r.query_pairs(&e.url).into_iter().map(|(k, v)| json!({"name": k, "value": v.render(reveal)})).collect();
    let mut request = json!({
        "method": e.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": har_headers(&e.request_headers, r, reveal),
        "queryString": query,
        "headersSize": -1,
        "bodySize": e.request_body.as_ref().map(|b| b.size as i64).unwrap_or(0),
    });
    if let Some(b) = &e.request_body {
        let (text, _) = har_body_text(b, r, reveal);
        request["postData"] = json!({"mimeType": b.content_type, "text": text});
    }
    let (response, wait, receive) = match &e.response {
        Some(resp) => {
            let mut content = json!({"size": resp.body.as_ref().map(|b| b.size).unwrap_or(0), "mimeType": resp.body.as_ref().map(|b| b.content_type.as_str()).unwrap_or("")});
            if let Some(b) = &resp.body {
                let (text, encoding) = har_body_text(b, r, reveal);
                content["text"] = Value::String(text);
                if let Some(enc) = encoding {
                    content["encoding"] = Value::String(enc.into());
                }
                if b.truncated() {
                    content["comment"] =
                        Value::String(format!("OAuth Desk kept the first {} of {} bytes of this body", b.data.len(), b.size));
                }
            }
            let location =
                resp.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| uri_safe(&r.url(v).render(reveal)));
            let wait = resp.timings.wait_ms.max(0.0);
            (
                json!({
                    "status": resp.status,
                    "statusText": status_text(resp.status),
                    "httpVersion": "HTTP/1.1",
                    "cookies": [],
                    "headers": har_headers(&resp.headers, r, reveal),
                    "content": content,
                    "redirectURL": location.unwrap_or_default(),
                    "headersSize": -1,
                    "bodySize": resp.body.as_ref().map(|b| b.size as i64).unwrap_or(0),
                }),
                wait,
                (e.duration_ms - wait).max(0.0),
            )
        }
        None => (
            json!({
                "status": 0, "statusText": "", "httpVersion": "HTTP/1.1", "cookies": [], "headers": [],
                "content": {"size": 0, "mimeType": "x-unknown"}, "redirectURL": "", "headersSize": -1, "bodySize": -1,
            }),
            0.0,
            0.0,
        ),
    };
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let mut entry = json!({
        "startedDateTime": rfc3339_millis(e.started_at),
        "time": round(wait + receive),
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": round(wait), "receive": round(receive)},
        "_purpose": e.purpose,
    });
    if let Some(g) = e.grant {
        entry["_grant"] = json!(g);
    }
    if let Some(err) = &e.error {
        entry["_error"] = Value::String(err.to_string());
    }
    let comment = match (&e.note, e.purpose) {
        (Some(n), _) => Some(n.clone()),
        (None, Purpose::QueryPage) => Some("a SOQL query page: the log keeps its head only".to_string()),
        _ => None,
    };
    if let Some(c) = comment {
        entry["comment"] = Value::String(c);
    }
    entry
}

/// A HAR 1.2 document (what browser devtools import) of these exchanges, oldest first.
pub fn har(exchanges: &[Arc<Exchange>], r: &Redactor, reveal: Reveal) -> Value {
    har_document(exchanges.iter().map(|e| har_entry(e, r, reveal)).collect())
}

/// A HAR 1.2 document around entries made by [`har_entry`] (several profiles' logs merged).
pub fn har_document(entries: Vec<Value>) -> Value {
    json!({
        "log": {
            "version": "1.2",
            "creator": {"name": "OAuth Desk", "version": env!("CARGO_PKG_VERSION")},
            "pages": [],
            "entries": entries,
        }
    })
}

/// The exchange as HTTP/1.1 text (request, then response), bodies cut at `max_body` bytes:
/// what `--trace` prints.
pub fn http_text(e: &Exchange, r: &Redactor, reveal: Reveal, max_body: usize) -> String {
    let mut out = format!("> {} {}\n", e.method, r.url(&e.url).render(reveal));
    for (k, v) in &e.request_headers {
        out.push_str(&format!("> {k}: {}\n", r.header(k, v).render(reveal)));
    }
    let body = |out: &mut String, prefix: &str, b: &Body| {
        let text = r.body(&b.content_type, &b.data).render(reveal);
        let total = text.chars().count();
        let shown: String = text.chars().take(max_body).collect();
        for line in shown.lines() {
            out.push_str(prefix);
            out.push_str(&crate::error::printable(line));
            out.push('\n');
        }
        if total > max_body {
            out.push_str(&format!("{prefix}… ({} more characters)\n", total - max_body));
        }
        if b.truncated() {
            out.push_str(&format!("{prefix}… (the log kept {} of {} bytes)\n", b.data.len(), b.size));
        }
    };
    if let Some(b) = &e.request_body {
        out.push_str(">\n");
        body(&mut out, "> ", b);
    }
    match (&e.response, &e.error) {
        (Some(resp), _) => {
            out.push_str(&format!("< {} {} ({:.0} ms)\n", resp.status, status_text(resp.status), e.duration_ms));
            for (k, v) in &resp.headers {
                out.push_str(&format!("< {k}: {}\n", r.header(k, v).render(reveal)));
            }
            if let Some(b) = &resp.body {
                out.push_str("<\n");
                body(&mut out, "< ", b);
            }
        }
        (None, Some(err)) => out.push_str(&format!("! {err} ({:.0} ms)\n", e.duration_ms)),
        (None, None) => {
            if let Some(n) = &e.note {
                out.push_str(&format!("  ({n})\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn masked_urls_stay_uris() {
        assert_eq!(super::uri_safe("https://h/cb?code=[masked:code]&x=a b"), "https://h/cb?code=%5Bmasked:code%5D&x=a%20b");
        assert_eq!(super::uri_safe("http://[::1]:8080/cb?a=[x]"), "http://[::1]:8080/cb?a=%5Bx%5D");
    }
}
