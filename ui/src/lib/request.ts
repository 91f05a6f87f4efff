// The request panel's header text as pairs. Pure, unit-tested.

/** `Name: value` per line; lines without a colon or name are ignored. */
export function parseHeaders(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim();
    if (name) out.push([name, line.slice(i + 1).trim()]);
  }
  return out;
}
