// The jsforce peer: a queryMore loop writing the same CSV as `oauth-desk query --format csv`.
// Prints the in-process paging time in milliseconds (after start-up and module loading).
//   node jsforce-query.mjs INSTANCE_URL ACCESS_TOKEN SOQL OUT.csv COLUMNS(comma-separated)
import fs from 'node:fs';
import jsforce from 'jsforce';

const [instanceUrl, accessToken, soql, out, columns] = process.argv.slice(2);
const cols = columns.split(',');
const cell = (v) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const pick = (rec, path) => path.split('.').reduce((o, k) => (o == null ? o : o[k]), rec);

const conn = new jsforce.Connection({ instanceUrl, accessToken, version: '62.0' });
const started = performance.now();
const file = fs.createWriteStream(out);
file.write(cols.join(',') + '\n');
let rows = 0;
let res = await conn.query(soql);
for (;;) {
  let chunk = '';
  for (const r of res.records) {
    chunk += cols.map((c) => cell(pick(r, c))).join(',') + '\n';
    rows++;
  }
  if (!file.write(chunk)) await new Promise((r) => file.once('drain', r));
  if (res.done) break;
  res = await conn.queryMore(res.nextRecordsUrl);
}
await new Promise((r) => file.end(r));
console.log(JSON.stringify({ rows, ms: performance.now() - started }));
