// The SOQL console's language help: tokens for highlighting, where the caret is (after FROM, in
// the select list, after a relationship's dot), and completions from the org's describe
// results. Pure functions, unit-tested.

export type TokenKind = 'keyword' | 'function' | 'string' | 'number' | 'field' | 'punct' | 'space' | 'bind';
export interface Token { kind: TokenKind; text: string }

const KEYWORDS = new Set([
  'select', 'from', 'where', 'and', 'or', 'not', 'in', 'includes', 'excludes', 'like', 'order', 'by', 'asc', 'desc', 'nulls', 'first', 'last',
  'limit', 'offset', 'group', 'having', 'rollup', 'cube', 'with', 'security_enforced', 'typeof', 'when', 'then', 'else', 'end', 'using', 'scope',
  'null', 'true', 'false', 'for', 'view', 'reference', 'update', 'tracking', 'viewstat', 'all', 'rows',
]);
const ORDER_WORDS = new Set(['asc', 'desc', 'nulls', 'first', 'last']);
const FUNCTIONS = new Set(['count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'tolabel', 'format', 'convertcurrency', 'calendar_year', 'calendar_month', 'day_only', 'fields', 'grouping']);

/** The query cut into tokens; joined back they give the text exactly. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    let j = i + 1;
    let kind: TokenKind;
    if (/\s/.test(c)) {
      while (j < text.length && /\s/.test(text[j])) j++;
      kind = 'space';
    } else if (c === "'") {
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      j = Math.min(j + 1, text.length);
      kind = 'string';
    } else if (/[0-9]/.test(c)) {
      while (j < text.length && /[0-9.\-:TZ+]/.test(text[j])) j++;
      kind = 'number';
    } else if (c === ':') {
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j])) j++;
      kind = 'bind';
    } else if (/[A-Za-z_]/.test(c)) {
      while (j < text.length && /[A-Za-z0-9_.]/.test(text[j])) j++;
      const word = text.slice(i, j).toLowerCase();
      const next = text.slice(j).trimStart()[0];
      // ASC, DESC, NULLS FIRST/LAST mean something only after ORDER BY; before it they are
      // the start of a field name being typed (`Desc` → Description).
      const keyword = KEYWORDS.has(word) && (!ORDER_WORDS.has(word) || /\border\s+by\b/i.test(text.slice(0, i)));
      kind = keyword ? 'keyword' : FUNCTIONS.has(word) && next === '(' ? 'function' : 'field';
    } else {
      kind = 'punct';
    }
    out.push({ kind, text: text.slice(i, j) });
    i = j;
  }
  return out;
}

export type Context =
  | { kind: 'object'; prefix: string }
  | { kind: 'field'; object: string; path: string[]; prefix: string }
  | { kind: 'none' };

/** The object a query (or the innermost sub-query around `at`) selects from. */
function fromObject(text: string, at: number): string | null {
  // The parenthesised group around the caret, if any: a sub-query has its own FROM.
  let depth = 0;
  let start = 0;
  for (let i = at - 1; i >= 0; i--) {
    if (text[i] === ')') depth++;
    else if (text[i] === '(') {
      if (depth === 0) { start = i + 1; break; }
      depth--;
    }
  }
  let end = text.length;
  depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') { if (depth === 0) { end = i; break; } depth--; }
  }
  const scope = text.slice(start, end);
  // FROM at this level only (not inside a nested sub-query).
  let level = 0;
  const re = /\(|\)|\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)/gi;
  for (let m = re.exec(scope); m; m = re.exec(scope)) {
    if (m[0] === '(') level++;
    else if (m[0] === ')') level--;
    else if (level === 0) return m[1];
  }
  return null;
}

/** What can be completed at `caret`. */
export function context(text: string, caret: number): Context {
  const before = text.slice(0, caret);
  const word = /[A-Za-z0-9_.]*$/.exec(before)?.[0] ?? '';
  const head = before.slice(0, before.length - word.length);
  if (/\bfrom\s*$/i.test(head)) return { kind: 'object', prefix: word };
  const object = fromObject(text, caret);
  if (!object) return { kind: 'none' };
  const parts = word.split('.');
  const prefix = parts.pop() ?? '';
  return { kind: 'field', object, path: parts, prefix };
}

export interface DescribeField { name: string; label?: string; type?: string; relationshipName?: string | null; referenceTo?: string[] }
export interface Describe { name: string; fields: DescribeField[]; childRelationships?: { relationshipName: string | null; childSObject: string }[] }

/** The object behind a name: itself, or the child object of a relationship name (`Contacts` in a
 *  sub-query of Account → Contact), as the describes loaded so far know it. */
export function objectOf(describes: Map<string, Describe>, name: string): string {
  if (describes.has(name.toLowerCase())) return name;
  for (const d of describes.values()) {
    const c = d.childRelationships?.find((r) => r.relationshipName?.toLowerCase() === name.toLowerCase());
    if (c) return c.childSObject;
  }
  return name;
}

/** The object a relationship path leads to (`Owner` from Account → User), or null. */
export function follow(describes: Map<string, Describe>, object: string, path: string[]): string | null {
  let cur: string | null = object;
  for (const rel of path) {
    const d: Describe | undefined = cur ? describes.get(cur.toLowerCase()) : undefined;
    const f: DescribeField | undefined = d?.fields.find((x) => x.relationshipName?.toLowerCase() === rel.toLowerCase());
    cur = f?.referenceTo?.[0] ?? null;
    if (!cur) return null;
  }
  return cur;
}

export interface Suggestion { label: string; detail: string; insert: string }

/** Completions at a context: objects after FROM; fields and relationships of the object (or of
 *  the object a path leads to), best matches first. `needs` names an object whose describe is missing. */
export function suggest(ctx: Context, objects: string[], describes: Map<string, Describe>): { items: Suggestion[]; needs?: string } {
  const p = ctx.kind === 'none' ? '' : ctx.prefix.toLowerCase();
  const rank = (label: string) => (label.toLowerCase().startsWith(p) ? 0 : 1);
  const sorted = (xs: Suggestion[]) => xs.filter((s) => s.label.toLowerCase().includes(p)).sort((a, b) => rank(a.label) - rank(b.label) || a.label.localeCompare(b.label));
  if (ctx.kind === 'object') return { items: sorted(objects.map((o) => ({ label: o, detail: 'object', insert: o }))) };
  if (ctx.kind !== 'field') return { items: [] };
  const object = objectOf(describes, ctx.object);
  const target = ctx.path.length ? follow(describes, object, ctx.path) : object;
  if (!target) return { items: [], needs: describes.has(object.toLowerCase()) ? undefined : object };
  const d = describes.get(target.toLowerCase());
  if (!d) return { items: [], needs: target };
  const items: Suggestion[] = [];
  for (const f of d.fields) {
    items.push({ label: f.name, detail: f.type ?? '', insert: f.name });
    if (f.relationshipName) items.push({ label: `${f.relationshipName}.`, detail: `→ ${f.referenceTo?.[0] ?? ''}`, insert: `${f.relationshipName}.` });
  }
  if (ctx.path.length === 0) {
    for (const c of d.childRelationships ?? []) {
      if (c.relationshipName) items.push({ label: c.relationshipName, detail: `sub-query of ${c.childSObject}`, insert: `(SELECT Id FROM ${c.relationshipName})` });
    }
  }
  return { items: sorted(items) };
}

/** The text with the word at `caret` replaced by `insert`; and where the caret goes. */
export function apply(text: string, caret: number, insert: string): { text: string; caret: number } {
  const before = text.slice(0, caret);
  const word = /[A-Za-z0-9_]*$/.exec(before)?.[0] ?? '';
  const start = caret - word.length;
  const out = text.slice(0, start) + insert + text.slice(caret);
  return { text: out, caret: start + insert.length };
}

/** One item of the top-level select list: its text and where it sits. */
export interface SelectItem { text: string; start: number; end: number }

/** The outer query's select list (sub-queries are single items) and the object after its FROM;
 *  null when the text has no top-level `SELECT … FROM Object`. Strings and parentheses respected. */
export function selectList(text: string): { object: string; items: SelectItem[]; end: number } | null {
  let depth = 0;
  let select = -1;
  const items: SelectItem[] = [];
  let itemStart = -1;
  const push = (end: number) => {
    const raw = text.slice(itemStart, end);
    const lead = raw.length - raw.trimStart().length;
    const t = raw.trim();
    if (t) items.push({ text: t, start: itemStart + lead, end: itemStart + lead + t.length });
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      for (i++; i < text.length && text[i] !== "'"; i += text[i] === '\\' ? 2 : 1);
      continue;
    }
    if (c === '(') { depth++; continue; }
    if (c === ')') { depth--; continue; }
    if (depth !== 0 || !/[A-Za-z]/.test(c) || (i > 0 && /[A-Za-z0-9_.]/.test(text[i - 1]))) {
      if (depth === 0 && c === ',' && select >= 0) { push(i); itemStart = i + 1; }
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0].toLowerCase();
    if (select < 0 && word === 'select') { select = i; itemStart = i + 6; i += 5; continue; }
    if (select >= 0 && word === 'from') {
      push(i);
      const m = /^from\s+([A-Za-z_][A-Za-z0-9_]*)/i.exec(text.slice(i));
      if (!m) return null;
      return { object: m[1], items, end: items.length ? items[items.length - 1].end : select + 6 };
    }
    i += word.length - 1;
  }
  return null;
}

/** The query with `field` added to the outer select list, or removed when it is there (the
 *  rest of the text untouched). The last item is never removed: a query needs one field. */
export function toggleField(text: string, field: string): string {
  const list = selectList(text);
  if (!list) return text;
  const at = list.items.findIndex((it) => it.text.toLowerCase() === field.toLowerCase());
  if (at < 0) {
    const sep = list.items.length ? ', ' : ' ';
    return text.slice(0, list.end) + sep + field + text.slice(list.end);
  }
  if (list.items.length === 1) return text;
  const it = list.items[at];
  // Remove the item with the comma before it (or after it, for the first item).
  if (at > 0) {
    const prev = list.items[at - 1];
    return text.slice(0, prev.end) + text.slice(it.end);
  }
  const next = list.items[1];
  return text.slice(0, it.start) + text.slice(next.start);
}
