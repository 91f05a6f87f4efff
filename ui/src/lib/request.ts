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

/** Header names whose values are credentials: never written to disk. */
const CREDENTIAL = /^(authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token|x-csrf-token)$/i;

/** The header text without credential lines, for keeping across restarts. */
export function persistableHeaders(text: string): string {
  return text
    .split('\n')
    .filter((line) => {
      const i = line.indexOf(':');
      return i <= 0 || !CREDENTIAL.test(line.slice(0, i).trim());
    })
    .join('\n');
}
