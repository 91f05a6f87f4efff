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

export interface DescribeField { name: string; type?: string; relationshipName?: string | null; referenceTo?: string[] }
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
