// Query results as rows: value lookup by column path (`Owner.Name`), CSV and JSON export, and
// the visible window of a virtualized table. Pure functions, unit-tested.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The value at a dotted path, keys matched case-insensitively, `null` through a null relationship. */
export function lookup(record: Json, path: string): Json | undefined {
  let cur: Json | undefined = record;
  for (const part of path.split('.')) {
    if (cur === null) return null;
    if (typeof cur !== 'object' || Array.isArray(cur) || cur === undefined) return undefined;
    const obj: { [key: string]: Json } = cur;
    if (part in obj) cur = obj[part];
    else {
      const key = Object.keys(obj).find((k) => k.toLowerCase() === part.toLowerCase());
      cur = key === undefined ? undefined : obj[key];
    }
  }
  return cur;
}

/** A cell as text: strings bare, null and missing empty, objects and sub-queries as JSON. */
export function cellText(v: Json | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV with a header row. */
export function toCsv(columns: string[], records: Json[]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const r of records) lines.push(columns.map((c) => csvField(cellText(lookup(r, c)))).join(','));
  return lines.join('\r\n') + '\r\n';
}

export function toJson(records: Json[]): string {
  return JSON.stringify(records, null, 2) + '\n';
}

/** The rows to render for a scroll position: `[first, last)` with `overscan` rows either side. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, total: number, overscan = 10): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return [first, Math.max(first, last)];
}
