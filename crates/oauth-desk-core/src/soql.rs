//! Turning SOQL records into rows: nested relationship fields (`Owner.Name`) become columns,
//! sub-query results become one JSON column, `attributes` disappear.
//!
//! Columns come from the query's select list, so that a CSV header is known before the first
//! row and stays right when the first rows have a `null` relationship. Values are looked up
//! case-insensitively: Salesforce returns field names in their defined case, not the query's.

use serde_json::{Map, Value};

/// The select list of a SOQL query as column paths: `Id`, `Owner.Name`, `Contacts` (sub-query),
/// `expr0` (an unaliased aggregate). `None` when the query has no plain select list
/// (`FIELDS(ALL)`, `TYPEOF`), and the columns are then taken from the records.
pub fn select_columns(soql: &str) -> Option<Vec<String>> {
    let lower = soql.to_ascii_lowercase();
    let start = lower.trim_start().strip_prefix("select").map(|_| lower.find("select").unwrap_or(0) + 6)?;
    let from = top_level_keyword(&lower, start, "from")?;
    let list = &soql[start..from];
    let mut cols = Vec::new();
    let mut expr = 0;
    for item in split_top_level(list) {
        let item = item.trim();
        if item.is_empty() {
            return None;
        }
        let il = item.to_ascii_lowercase();
        if il.starts_with("typeof") || il.starts_with("fields(") {
            return None;
        }
        if item.starts_with('(') {
            // Sub-query: the column is the relationship after FROM.
            let inner = item.trim_start_matches('(').trim_end_matches(')');
            let inner_l = inner.to_ascii_lowercase();
            let f = top_level_keyword(&inner_l, 0, "from")?;
            let rel = inner[f + 4..].split_whitespace().next()?;
            cols.push(rel.to_string());
        } else if let Some(open) = item.find('(') {
            let close = item.rfind(')')?;
            let func = item[..open].trim().to_ascii_lowercase();
            let alias = item[close + 1..].split_whitespace().next();
            match (alias, func.as_str()) {
                (Some(a), _) => cols.push(a.to_string()),
                (None, "tolabel" | "format" | "convertcurrency" | "converttimezone") => cols.push(item[open + 1..close].trim().to_string()),
                (None, _) => {
                    cols.push(format!("expr{expr}"));
                    expr += 1;
                }
            }
        } else {
            // `Name` or `Owner.Name` (an alias only follows aggregates).
            cols.push(item.split_whitespace().next()?.to_string());
        }
    }
    (!cols.is_empty()).then_some(cols)
}

/// The select list's items as typed (`Id`, `Owner.Name`, `(SELECT … FROM Contacts)`).
pub fn select_list(soql: &str) -> Option<Vec<&str>> {
    let lower = soql.to_ascii_lowercase();
    let start = lower.find("select")? + 6;
    if !lower[..start - 6].trim().is_empty() {
        return None;
    }
    let from = top_level_keyword(&lower, start, "from")?;
    Some(split_top_level(&soql[start..from]).into_iter().map(str::trim).collect())
}

/// Whether a keyword (or words such as `group by`, any white space between them) appears outside
/// strings and parentheses. `lower` is the query in lower case.
pub fn has_top_level_keyword(lower: &str, kw: &str) -> bool {
    let mut words = kw.split_whitespace();
    let Some(first) = words.next() else { return false };
    let rest: Vec<&str> = words.collect();
    let mut from = 0;
    while let Some(i) = top_level_keyword(lower, from, first) {
        let mut tail = &lower[i + first.len()..];
        let mut all = true;
        for w in &rest {
            let t = tail.trim_start();
            let boundary = t.as_bytes().get(w.len()).is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_');
            if t.len() < tail.len() && t.starts_with(w) && boundary {
                tail = &t[w.len()..];
            } else {
                all = false;
                break;
            }
        }
        if all {
            return true;
        }
        from = i + first.len();
    }
    false
}

fn top_level_keyword(lower: &str, from: usize, kw: &str) -> Option<usize> {
    let bytes = lower.as_bytes();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut i = from;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' => in_str = !in_str,
            b'(' if !in_str => depth += 1,
            b')' if !in_str => depth -= 1,
            _ if !in_str && depth == 0 && lower[i..].starts_with(kw) => {
                let before = i == 0 || !bytes[i - 1].is_ascii_alphanumeric() && bytes[i - 1] != b'_';
                let after = bytes.get(i + kw.len()).is_none_or(|b| !b.is_ascii_alphanumeric() && *b != b'_');
                if before && after {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn split_top_level(list: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut start) = (0i32, false, 0);
    for (i, c) in list.char_indices() {
        match c {
            '\'' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                out.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&list[start..]);
    out
}

/// A record without `attributes`, relationships nested as they came.
pub fn strip_attributes(record: &Value) -> Value {
    match record {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if k == "attributes" {
                    continue;
                }
                let v = match v {
                    Value::Object(inner) if inner.contains_key("records") => {
                        // A sub-query: keep its records, cleaned.
                        Value::Array(
                            inner
                                .get("records")
                                .and_then(Value::as_array)
                                .map(|rs| rs.iter().map(strip_attributes).collect())
                                .unwrap_or_default(),
                        )
                    }
                    Value::Object(_) => strip_attributes(v),
                    other => other.clone(),
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The value at a dotted path, matching keys case-insensitively; `Null` for a null relationship.
pub fn lookup<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = record;
    for part in path.split('.') {
        let obj = cur.as_object()?;
        cur = obj.get(part).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)).map(|(_, v)| v))?;
        if cur.is_null() {
            return Some(cur);
        }
    }
    Some(cur)
}

/// Flattened column names taken from a record, for queries whose select list we cannot read.
pub fn columns_from_record(record: &Value) -> Vec<String> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        if let Value::Object(o) = v {
            for (k, v) in o {
                if k == "attributes" {
                    continue;
                }
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                match v {
                    Value::Object(inner) if inner.contains_key("attributes") && !inner.contains_key("records") => walk(&path, v, out),
                    _ => out.push(path),
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", record, &mut out);
    out
}

/// Header labels: the record's own spelling of each path where a record shows it.
pub fn header_labels(columns: &[String], sample: Option<&Value>) -> Vec<String> {
    columns
        .iter()
        .map(|c| {
            let Some(rec) = sample else { return c.clone() };
            let mut cur = rec;
            let mut parts = Vec::new();
            for part in c.split('.') {
                match cur.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(part))) {
                    Some((k, v)) => {
                        parts.push(k.clone());
                        cur = v;
                    }
                    None => return c.clone(),
                }
            }
            parts.join(".")
        })
        .collect()
}

/// A cell as text: strings bare, null empty, sub-queries and objects as compact JSON.
pub fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => number_text(n),
        Some(Value::Object(o)) if o.contains_key("records") => {
            let records: Vec<Value> =
                o.get("records").and_then(Value::as_array).map(|rs| rs.iter().map(strip_attributes).collect()).unwrap_or_default();
            serde_json::to_string(&records).unwrap_or_default()
        }
        Some(other) => serde_json::to_string(&strip_attributes(other)).unwrap_or_default(),
    }
}

/// A number as Bulk API 2.0 writes it in CSV: plain decimal, no exponent, no trailing `.0`
/// (REST's JSON may say `3.5E8` for the same value).
pub fn number_text(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (None, Some(u), _) => u.to_string(),
        (None, None, Some(f)) => f.to_string(),
        _ => n.to_string(),
    }
}

/// Whether a spreadsheet would read this text as a formula (OWASP: a leading `=`, `+`, `-`, `@`,
/// tab or carriage return).
pub fn formula_like(s: &str) -> bool {
    matches!(s.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
}

/// One record as the cells of `columns`.
pub fn row(record: &Value, columns: &[String]) -> Vec<String> {
    columns.iter().map(|c| cell_text(lookup(record, c))).collect()
}

/// A cell as text, borrowed when the value is a string (most are), so that writing many rows
/// allocates little.
pub fn cell<'v>(v: Option<&'v Value>) -> std::borrow::Cow<'v, str> {
    match v {
        Some(Value::String(s)) => std::borrow::Cow::Borrowed(s),
        None | Some(Value::Null) => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(cell_text(other)),
    }
}

/// The columns of a query's results, decided once for every shell: the select list's paths
/// when it has one (so a CSV header is right even when the first rows have a `null`
/// relationship), else the first record's fields; labels spelled as the records spell them.
#[derive(Debug, Clone, Default)]
pub struct QueryColumns {
    declared: Option<Vec<String>>,
    paths: Option<Vec<String>>,
    labels: Vec<String>,
}

impl QueryColumns {
    pub fn for_query(soql: &str) -> Self {
        QueryColumns { declared: select_columns(soql), paths: None, labels: Vec::new() }
    }

    /// Columns named by a header line (Bulk API 2.0 results): paths and labels as given.
    pub fn with_labels(labels: Vec<String>) -> Self {
        QueryColumns { declared: None, paths: Some(labels.clone()), labels }
    }

    /// Fixes the columns at the first page, from its first record when it has one. Later calls
    /// change nothing.
    pub fn resolve(&mut self, first: Option<&Value>) {
        if self.paths.is_some() {
            return;
        }
        let paths = self.declared.clone().or_else(|| first.map(columns_from_record)).unwrap_or_default();
        self.labels = header_labels(&paths, first);
        self.paths = Some(paths);
    }

    pub fn is_resolved(&self) -> bool {
        self.paths.is_some()
    }

    /// The header: resolved labels, or the select list when no record ever came.
    pub fn labels(&self) -> &[String] {
        match (&self.paths, &self.declared) {
            (Some(_), _) => &self.labels,
            (None, Some(d)) => d,
            (None, None) => &[],
        }
    }

    pub fn paths(&self) -> &[String] {
        self.paths.as_deref().unwrap_or(&[])
    }

    /// A record's cells as text (CSV, terminal tables), borrowed where they are strings.
    pub fn cells<'a, 'v: 'a>(&'a self, record: &'v Value) -> impl Iterator<Item = std::borrow::Cow<'v, str>> + 'a {
        self.paths().iter().map(move |c| cell(lookup(record, c)))
    }

    /// A record's cells for a spreadsheet: as [`cells`](Self::cells), and with `guard_formulas`
    /// every text cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`,
    /// tab or carriage return: the OWASP CSV-injection rule) prefixed with `'`. Numbers stay
    /// numbers.
    pub fn spreadsheet_cells<'a, 'v: 'a>(
        &'a self,
        record: &'v Value,
        guard_formulas: bool,
    ) -> impl Iterator<Item = std::borrow::Cow<'v, str>> + 'a {
        self.paths().iter().map(move |c| {
            let v = lookup(record, c);
            match v {
                Some(Value::String(s)) if guard_formulas && formula_like(s) => std::borrow::Cow::Owned(format!("'{s}")),
                _ => cell(v),
            }
        })
    }

    /// A record's cells as values (the app's grid): scalars as they are, a null relationship as
    /// null, a sub-query as the array of its records without `attributes`.
    pub fn values(&self, record: &Value) -> Vec<Value> {
        self.paths()
            .iter()
            .map(|c| match lookup(record, c) {
                None => Value::Null,
                Some(Value::Object(o)) if o.contains_key("records") => Value::Array(
                    o.get("records").and_then(Value::as_array).map(|rs| rs.iter().map(strip_attributes).collect()).unwrap_or_default(),
                ),
                Some(v @ Value::Object(_)) => strip_attributes(v),
                Some(v) => v.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn select_list_columns() {
        assert_eq!(select_columns("SELECT Id, Name FROM Account").unwrap(), ["Id", "Name"]);
        assert_eq!(
            select_columns("select id, owner.name, (select lastname from contacts where x = 'a, b') from account limit 5").unwrap(),
            ["id", "owner.name", "contacts"]
        );
        assert_eq!(select_columns("SELECT COUNT(Id), MAX(AnnualRevenue) top FROM Account").unwrap(), ["expr0", "top"]);
        assert_eq!(select_columns("SELECT toLabel(Industry) FROM Account").unwrap(), ["Industry"]);
        assert_eq!(select_columns("SELECT FIELDS(ALL) FROM Account LIMIT 200"), None);
        assert_eq!(select_columns("SELECT Fromage__c FROM Cheese__c").unwrap(), ["Fromage__c"], "FROM inside a name is not the keyword");
        assert_eq!(select_columns("DELETE Account"), None);
        assert_eq!(select_list("SELECT Id, (SELECT A FROM B) FROM C").unwrap(), ["Id", "(SELECT A FROM B)"]);
        assert!(has_top_level_keyword("select a from b group  by a", "group by"));
        assert!(!has_top_level_keyword("select a from b where x = 'group by'", "group by"));
        assert!(!has_top_level_keyword("select group__c from b", "group by"));
    }

    #[test]
    fn query_columns_decide_once() {
        let rec = json!({"attributes": {"type": "Account"}, "Id": "001", "owner": null, "Contacts": {"totalSize": 1, "done": true, "records": [{"attributes": {}, "LastName": "L"}]}});
        let mut c = QueryColumns::for_query("select id, owner.name, (select lastname from contacts) from account");
        assert_eq!(c.labels(), ["id", "owner.name", "contacts"], "the select list before any record");
        c.resolve(Some(&rec));
        c.resolve(None);
        assert_eq!(c.labels(), ["Id", "owner.name", "Contacts"], "spelled as the records spell them");
        assert_eq!(c.cells(&rec).collect::<Vec<_>>(), ["001", "", r#"[{"LastName":"L"}]"#]);
        assert_eq!(c.values(&rec), vec![json!("001"), Value::Null, json!([{"LastName": "L"}])]);
        let mut from_record = QueryColumns::for_query("SELECT FIELDS(ALL) FROM Account LIMIT 1");
        from_record.resolve(Some(&rec));
        assert_eq!(from_record.labels(), ["Id", "owner", "Contacts"]);
    }

    #[test]
    fn relationships_flatten_and_nulls_stay_empty() {
        let rec = json!({
            "attributes": {"type": "Account", "url": "/x"},
            "Id": "001", "Name": "Acme",
            "Owner": {"attributes": {"type": "User"}, "Name": "Ada"},
            "Contacts": {"totalSize": 1, "done": true, "records": [{"attributes": {"type": "Contact"}, "LastName": "Lovelace"}]}
        });
        let cols = select_columns("select id, owner.name, (select lastname from contacts) from account").unwrap();
        assert_eq!(row(&rec, &cols), ["001", "Ada", r#"[{"LastName":"Lovelace"}]"#]);
        assert_eq!(header_labels(&cols, Some(&rec)), ["Id", "Owner.Name", "Contacts"]);
        let null_owner = json!({"Id": "002", "Owner": null, "Contacts": null});
        assert_eq!(row(&null_owner, &cols), ["002", "", ""]);
        assert_eq!(columns_from_record(&rec), ["Id", "Name", "Owner.Name", "Contacts"]);
        assert_eq!(strip_attributes(&rec)["Owner"], json!({"Name": "Ada"}));
    }
}
