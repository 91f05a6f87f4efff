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

/// The columns of a query compiled for reading a page's records in one pass, straight into
/// cells: keys matched case-insensitively as [`lookup`] does, relationships descended, a null
/// relationship leaving its cells empty, `attributes` and unselected fields skipped unread,
/// sub-queries and compound fields rendered as [`cell_text`] renders them. No value tree is
/// built for a record.
#[derive(Debug, Clone)]
pub struct RowPlan {
    root: Node,
    width: usize,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// `(name, child)`; names as the select list spells them.
    children: Vec<(String, Node)>,
    /// The columns this path ends at (a path selected twice fills both).
    columns: Vec<usize>,
}

impl Node {
    fn child(&self, key: &str) -> Option<&Node> {
        self.children.iter().find(|(n, _)| n.eq_ignore_ascii_case(key)).map(|(_, c)| c)
    }
}

impl RowPlan {
    pub fn new(paths: &[String]) -> Self {
        let mut root = Node::default();
        for (i, path) in paths.iter().enumerate() {
            let mut node = &mut root;
            for part in path.split('.') {
                let at = match node.children.iter().position(|(n, _)| n.eq_ignore_ascii_case(part)) {
                    Some(at) => at,
                    None => {
                        node.children.push((part.to_string(), Node::default()));
                        node.children.len() - 1
                    }
                };
                node = &mut node.children[at].1;
            }
            node.columns.push(i);
        }
        RowPlan { root, width: paths.len() }
    }

    /// Reads a query result page (`{"totalSize", "done", "records": [...]}`) and calls `row`
    /// with each record's cells, borrowed from `body` where they need no unescaping. Returns
    /// the number of records.
    pub fn for_each_row<E>(
        &self,
        body: &[u8],
        mut row: impl FnMut(&[std::borrow::Cow<'_, str>]) -> Result<(), E>,
    ) -> Result<u64, RowError<E>> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_slice(body);
        let mut failed = None;
        let n = PageSeed { plan: self, row: &mut row, failed: &mut failed }.deserialize(&mut de).and_then(|n| de.end().map(|_| n));
        match (n, failed) {
            (_, Some(e)) => Err(RowError::Sink(e)),
            (Ok(n), None) => Ok(n),
            (Err(e), None) => Err(RowError::Json(e)),
        }
    }
}

/// Why [`RowPlan::for_each_row`] stopped: the page was not a query result, or the row callback
/// failed.
#[derive(Debug)]
pub enum RowError<E> {
    Json(serde_json::Error),
    Sink(E),
}

mod one_pass {
    use super::{cell_text, number_text, Node, RowPlan};
    use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::borrow::Cow;
    use std::fmt;

    const SINK_FAILED: &str = "oauth-desk: the row callback failed";

    pub(super) struct PageSeed<'p, F, E> {
        pub plan: &'p RowPlan,
        pub row: &'p mut F,
        pub failed: &'p mut Option<E>,
    }

    impl<'de, F, E> DeserializeSeed<'de> for PageSeed<'_, F, E>
    where
        F: FnMut(&[Cow<'_, str>]) -> Result<(), E>,
    {
        type Value = u64;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de, F, E> Visitor<'de> for PageSeed<'_, F, E>
    where
        F: FnMut(&[Cow<'_, str>]) -> Result<(), E>,
    {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a query result object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
            let mut n = 0;
            let mut saw_records = false;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "records" {
                    saw_records = true;
                    n += map.next_value_seed(Records { plan: self.plan, row: &mut *self.row, failed: &mut *self.failed })?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if !saw_records {
                return Err(de::Error::missing_field("records"));
            }
            Ok(n)
        }
    }

    struct Records<'p, F, E> {
        plan: &'p RowPlan,
        row: &'p mut F,
        failed: &'p mut Option<E>,
    }

    impl<'de, F, E> DeserializeSeed<'de> for Records<'_, F, E>
    where
        F: FnMut(&[Cow<'_, str>]) -> Result<(), E>,
    {
        type Value = u64;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de, F, E> Visitor<'de> for Records<'_, F, E>
    where
        F: FnMut(&[Cow<'_, str>]) -> Result<(), E>,
    {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
            let mut cells: Vec<Cow<'de, str>> = vec![Cow::Borrowed(""); self.plan.width];
            let mut n = 0;
            loop {
                cells.iter_mut().for_each(|c| *c = Cow::Borrowed(""));
                if seq.next_element_seed(Object { node: &self.plan.root, cells: &mut cells })?.is_none() {
                    return Ok(n);
                }
                n += 1;
                if let Err(e) = (self.row)(&cells) {
                    *self.failed = Some(e);
                    return Err(de::Error::custom(SINK_FAILED));
                }
            }
        }
    }

    /// A record, or a parent record under a relationship: fills the cells of the paths below
    /// `node`; `null` leaves them empty.
    struct Object<'p, 'c, 'de> {
        node: &'p Node,
        cells: &'c mut Vec<Cow<'de, str>>,
    }

    impl<'de> DeserializeSeed<'de> for Object<'_, '_, 'de> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_option(self)
        }
    }

    impl<'de> Visitor<'de> for Object<'_, '_, 'de> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a record")
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                match self.node.child(&key) {
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    Some(child) if child.children.is_empty() => {
                        let cell = map.next_value_seed(Cell)?;
                        if let Some((last, rest)) = child.columns.split_last() {
                            for &at in rest {
                                self.cells[at] = cell.clone();
                            }
                            self.cells[*last] = cell;
                        }
                    }
                    Some(child) => map.next_value_seed(Object { node: child, cells: &mut *self.cells })?,
                }
            }
            Ok(())
        }
    }

    /// One cell's text, as [`cell_text`] writes it.
    struct Cell;

    impl<'de> DeserializeSeed<'de> for Cell {
        type Value = Cow<'de, str>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Cell {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a field value")
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(if v { "true" } else { "false" }))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            let text = serde_json::Number::from_f64(v).map(|n| number_text(&n)).unwrap_or_default();
            Ok(Cow::Owned(text))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(""))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(Cow::Owned(cell_text(Some(&v))))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
            Ok(Cow::Owned(cell_text(Some(&v))))
        }
    }

    use serde::Deserialize;
}

use one_pass::PageSeed;

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
    fn one_pass_rows_are_the_cells_of_the_value_tree() {
        let page = json!({
            "totalSize": 4, "done": true,
            "records": [
                {"attributes": {"type": "Account", "url": "/x"}, "Id": "001", "Name": "Smith, \"Jones\"\n\u{e9} 腾讯",
                 "Owner": {"attributes": {"type": "User"}, "Name": "Ada", "Manager": {"Name": "Grace"}},
                 "AnnualRevenue": 3.5e8, "NumberOfEmployees": 12, "IsDeleted": false,
                 "Contacts": {"totalSize": 1, "done": true, "records": [{"attributes": {"type": "Contact"}, "LastName": "L"}]},
                 "BillingAddress": {"city": "Paris", "country": "FR"}, "Unselected": {"deep": [1, 2, {"x": null}]}},
                {"attributes": {"type": "Account"}, "id": "002", "name": null, "owner": null, "annualrevenue": 0.25, "Contacts": null},
                {"Id": "003", "Owner": {"Name": null, "Manager": null}, "AnnualRevenue": -1.0e-7, "NumberOfEmployees": 18446744073709551615u64},
                {}
            ]
        });
        let columns: Vec<String> = [
            "Id",
            "Name",
            "Owner.Name",
            "Owner.Manager.Name",
            "AnnualRevenue",
            "NumberOfEmployees",
            "IsDeleted",
            "Contacts",
            "BillingAddress",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let plan = RowPlan::new(&columns);
        let body = serde_json::to_vec(&page).unwrap();
        let mut rows: Vec<Vec<String>> = Vec::new();
        let n = plan
            .for_each_row(&body, |cells| {
                rows.push(cells.iter().map(|c| c.to_string()).collect());
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!(n, 4);
        let expected: Vec<Vec<String>> = page["records"].as_array().unwrap().iter().map(|r| row(r, &columns)).collect();
        assert_eq!(rows, expected);
        assert_eq!(rows[0][4], "350000000", "plain decimal, as Bulk API 2.0 writes it");
        assert_eq!(rows[2][4], "-0.0000001");
        assert_eq!(rows[0][7], r#"[{"LastName":"L"}]"#);

        assert!(matches!(plan.for_each_row(b"{\"totalSize\":1,\"done\":true}", |_| Ok::<(), ()>(())), Err(RowError::Json(_))));
        assert!(matches!(plan.for_each_row(b"{\"records\":[{\"Id\":\"1\"}", |_| Ok::<(), ()>(())), Err(RowError::Json(_))), "truncated");
        let stopped = plan.for_each_row(&body, |_| Err("disk full"));
        assert!(matches!(stopped, Err(RowError::Sink("disk full"))));
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
