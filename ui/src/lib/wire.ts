// How the wire log's exchanges read on screen. Pure functions, unit-tested.
import type { ExchangeSummary } from './bindings/ExchangeSummary';
import type { Grant } from './bindings/Grant';
import type { Purpose } from './bindings/Purpose';
import type { Json } from './table';

/** Local wall-clock time with milliseconds: `09:33:12.045`. */
export function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** `token · password`, `query page`, `redirect`. */
export function purposeLabel(purpose: Purpose, grant: Grant | null): string {
  const base = purpose.replace('_', ' ');
  return grant ? `${base} · ${grant.replace('_', ' ')}` : base;
}

/** Host and path, with a shortened query: what fits in a timeline row. */
export function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    const q = u.search.length > 40 ? `${u.search.slice(0, 39)}…` : u.search;
    return `${u.host}${u.pathname}${q}`;
  } catch {
    return url;
  }
}

export function statusClass(e: Pick<ExchangeSummary, 'status' | 'error'>): 'ok' | 'bad' | 'none' {
  if (e.status === null) return e.error ? 'bad' : 'none';
  return e.status < 400 ? 'ok' : 'bad';
}

/** The text parsed as JSON when it is JSON (an object or array), else `undefined`. */
export function tryJson(text: string): Json | undefined {
  const s = text.trimStart();
  if (!s.startsWith('{') && !s.startsWith('[')) return undefined;
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}
