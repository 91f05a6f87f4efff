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

/** A cell as the grid shows it on one line: line breaks and tabs as visible marks, a
 *  sub-query's records as their count. */
export function cellDisplay(v: Json | undefined): string {
  if (Array.isArray(v)) return `[${v.length}]`;
  return cellText(v).replace(/\r?\n/g, '⏎').replace(/\t/g, '⇥');
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A text cell a spreadsheet would run as a formula (OWASP's CSV injection rule). */
export function formulaLike(s: string): boolean {
  return /^[=+\-@\t\r]/.test(s);
}

export interface CsvOptions {
  /** Start with a UTF-8 byte-order mark, so Excel reads UTF-8 (Chinese) right. */
  bom: boolean;
  /** Prefix formula-like text cells with `'`, so a spreadsheet shows them instead of running them. */
  guardFormulas: boolean;
}

/** RFC 4180 CSV with a header row. */
export function toCsv(columns: string[], rows: Json[][], options: CsvOptions = { bom: false, guardFormulas: false }): string {
  const field = (v: Json | undefined) => {
    const text = cellText(v);
    return csvField(options.guardFormulas && typeof v === 'string' && formulaLike(text) ? `'${text}` : text);
  };
  const lines = [columns.map((c) => csvField(c)).join(',')];
  for (const r of rows) lines.push(r.map(field).join(','));
  return (options.bom ? '\ufeff' : '') + lines.join('\r\n') + '\r\n';
}

/** Column widths (px) from the header and a sample of rows, measured by `measure`, within
 *  [min, max]: one layout for the whole table. */
export function columnWidths(columns: string[], rows: Json[][], measure: (text: string) => number, sample = 200, min = 56, max = 360): number[] {
  const pad = 20;
  return columns.map((c, i) => {
    let w = measure(c) + pad + 14; // room for the resize handle
    for (let r = 0; r < Math.min(rows.length, sample); r++) {
      w = Math.max(w, measure(cellDisplay(rows[r][i])) + pad);
      if (w >= max) break;
    }
    return Math.round(Math.min(max, Math.max(min, w)));
  });
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
