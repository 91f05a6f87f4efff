// Profile form helpers: text fields to and from the profile's lists and maps. Pure, unit-tested.

/** `api refresh_token` or `api, refresh_token` → `['api', 'refresh_token']`. */
export function scopesFromText(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s.length > 0);
}

/** `prompt=login\nlogin_hint=a@b.c` → `{prompt: 'login', login_hint: 'a@b.c'}`; blank lines ignored. */
export function paramsFromText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    const i = trimmed.indexOf('=');
    if (i <= 0) continue;
    out[trimmed.slice(0, i).trim()] = trimmed.slice(i + 1).trim();
  }
  return out;
}

export function paramsToText(params: Record<string, string> | undefined): string {
  return Object.entries(params ?? {}).map(([k, v]) => `${k}=${v}`).join('\n');
}
