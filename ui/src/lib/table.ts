// Query results as the core flattened them (one value per column, in column order): cell text,
// CSV and JSON export, and the visible window of a virtualized table. Pure functions, unit-tested.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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
export function toCsv(columns: string[], rows: Json[][]): string {
  const lines = [columns.map(csvField).join(',')];
  for (const r of rows) lines.push(r.map((v) => csvField(cellText(v))).join(','));
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
