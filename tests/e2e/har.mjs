// HAR 1.2 validation against the community JSON Schema (har-schema, what har-validator used),
// plus what the schema leaves out: every entry's request and response carry the fields the
// spec marks required, in the types it names. Also a command: `node har.mjs FILE [SECRET...]`
// exits non-zero when FILE is not HAR 1.2 or contains any SECRET.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const schemas = require('har-schema');
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json');

/** Problems with `doc` as HAR 1.2; empty when it is valid. */
export function harProblems(doc) {
  // har-schema uses draft-06 and a few keywords of its own (`optional`, `min`): not strict.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addMetaSchema(draft06);
  for (const [name, schema] of Object.entries(schemas)) if (name !== 'har') ajv.addSchema(schema);
  const validate = ajv.compile(schemas.har);
  const problems = validate(doc) ? [] : validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`);
  const log = doc?.log;
  if (log?.version !== '1.2') problems.push(`log.version is ${JSON.stringify(log?.version)}, not "1.2"`);
  for (const [i, e] of (log?.entries ?? []).entries()) {
    const need = (obj, path, fields) => {
      for (const [f, type] of Object.entries(fields)) {
        const v = obj?.[f];
        const ok = type === 'array' ? Array.isArray(v) : typeof v === type;
        if (!ok) problems.push(`entries[${i}].${path}${f} should be ${type}, is ${JSON.stringify(v)}`);
      }
    };
    need(e, '', { startedDateTime: 'string', time: 'number', request: 'object', response: 'object', cache: 'object', timings: 'object' });
    need(e.request, 'request.', { method: 'string', url: 'string', httpVersion: 'string', cookies: 'array', headers: 'array', queryString: 'array', headersSize: 'number', bodySize: 'number' });
    need(e.response, 'response.', { status: 'number', statusText: 'string', httpVersion: 'string', cookies: 'array', headers: 'array', content: 'object', redirectURL: 'string', headersSize: 'number', bodySize: 'number' });
    need(e.response?.content, 'response.content.', { size: 'number', mimeType: 'string' });
    need(e.timings, 'timings.', { send: 'number', wait: 'number', receive: 'number' });
    if (Number.isNaN(Date.parse(e.startedDateTime))) problems.push(`entries[${i}].startedDateTime is not a date: ${e.startedDateTime}`);
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ...secrets] = process.argv.slice(2);
  const text = readFileSync(file, 'utf8');
  const problems = harProblems(JSON.parse(text));
  for (const s of secrets) if (s && text.includes(s)) problems.push(`a secret value appears in the HAR (${s.length} characters)`);
  for (const p of problems) console.error(p);
  process.exit(problems.length === 0 ? 0 : 1);
}
