// Time and size as people read them. Pure functions, unit-tested.

/** `1h 59m`, `45s`; negative durations read `expired 3m ago`. */
export function duration(seconds: number): string {
  const s = Math.abs(Math.trunc(seconds));
  let text: string;
  if (s >= 86400) text = `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  else if (s >= 3600) text = `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  else if (s >= 60) text = `${Math.floor(s / 60)}m ${s % 60}s`;
  else text = `${s}s`;
  return seconds < 0 ? `-${text}` : text;
}

/** Seconds from `nowMs` until `expiresAtMs`, or null when unknown. */
export function secondsLeft(expiresAtMs: number | null | undefined, nowMs: number): number | null {
  if (expiresAtMs === null || expiresAtMs === undefined) return null;
  return Math.floor((expiresAtMs - nowMs) / 1000);
}

/** Local date-time, e.g. `2026-11-21 09:33:12`. */
export function dateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A JWT's numeric date claim (seconds) as text, else the value as is. */
export function claim(name: string, value: unknown): string {
  if (typeof value === 'number' && ['exp', 'iat', 'nbf', 'auth_time'].includes(name)) return `${value} (${dateTime(value * 1000)})`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** First four characters and the length: `00DE…(115)`. */
export function mask(secret: string): string {
  return secret.length < 16 ? `…(${secret.length})` : `${secret.slice(0, 4)}…(${secret.length})`;
}
