//! Minimal, honest HTML for the emulators' pages: escaped text, plain forms with stable ids
//! that tests (and people) can find.

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn hidden(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!(r#"<input type="hidden" name="{}" value="{}">"#, escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn page(title: &str, accent: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
 body {{ font-family: "DejaVu Sans", "Noto Sans CJK SC", sans-serif; background: #f3f3f3; margin: 0; }}
 main {{ max-width: 380px; margin: 48px auto; background: #fff; border-radius: 6px; padding: 28px 32px; box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
 h1 {{ font-size: 20px; color: {accent}; margin-top: 0; }}
 label {{ display: block; font-size: 13px; margin: 14px 0 4px; color: #444; }}
 input[type=text], input[type=password], input[type=email] {{ width: 100%; box-sizing: border-box; padding: 9px; border: 1px solid #bbb; border-radius: 4px; font-size: 15px; }}
 button {{ margin-top: 18px; padding: 10px 18px; border: 0; border-radius: 4px; font-size: 15px; cursor: pointer; }}
 .primary {{ background: {accent}; color: #fff; width: 100%; }}
 .secondary {{ background: #e4e4e4; color: #222; width: 100%; margin-top: 8px; }}
 .error {{ color: #b00020; font-size: 14px; }}
 .note {{ color: #666; font-size: 12px; margin-top: 18px; }}
</style></head><body><main>
{body}
</main></body></html>"#,
        title = escape(title),
        accent = accent,
        body = body
    )
}
