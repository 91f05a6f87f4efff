// The jsforce Bulk API 2.0 peer: `conn.bulk2.query` (create, poll, download each result after the
// last by its Sforce-Locator), its CSV stream written to a file as jsforce hands it out.
// Polls every 100 ms (jsforce's default is 1 s) so that polling is not what is compared.
//   node jsforce-bulk2.mjs INSTANCE_URL ACCESS_TOKEN SOQL OUT.csv
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import jsforce from 'jsforce';

const [instanceUrl, accessToken, soql, out] = process.argv.slice(2);
const conn = new jsforce.Connection({ instanceUrl, accessToken, version: '62.0' });
const started = performance.now();
const records = await conn.bulk2.query(soql, { pollInterval: 100, pollTimeout: 600_000 });
await pipeline(records.stream('csv'), fs.createWriteStream(out));
console.log(JSON.stringify({ ms: performance.now() - started }));
