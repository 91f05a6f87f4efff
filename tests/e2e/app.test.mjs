// OAuth Desk end to end, in the real window: profiles, the login window against the Salesforce
// emulator, the real oidc-provider and the WeChat emulator's QR page, tokens, a multi-page query,
// a restart, denial, state mismatch, a refused invoke from a remote page, and the Sandbox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { harProblems } from './har.mjs';
import {
  answerSaveDialog, approveDevice, cli, clickAway, loginWindow, newProfileHome, SALESFORCE, shot, startDriver, startOidc, startSalesforce, startWechat, stopAll, stopDriver, tid, type, WECHAT_WEB, withApp,
} from './harness.mjs';

let sf, wx, oidc;
before(async () => {
  [sf, wx, oidc] = await Promise.all([startSalesforce(5000), startWechat(), startOidc()]);
});
after(async () => { await stopDriver(); stopAll(); });

const click = async (b, id) => { const el = await tid(b, id); await el.waitForClickable({ timeout: 15000 }); await el.click(); };
const text = async (b, id) => (await tid(b, id)).getText();

async function waitText(b, id, re, timeout = 30000) {
  let last = '';
  await b.waitUntil(async () => { const el = await tid(b, id); last = (await el.isExisting()) ? await el.getText() : ''; return re.test(last); },
    { timeout, timeoutMsg: `[data-testid=${id}] never matched ${re}; last text: ${last}` });
  return last;
}

/** Fills the editor for a new profile from a preset and saves it. */
async function createProfile(b, preset, fields) {
  await click(b, 'new-profile');
  await click(b, `preset-${preset}`);
  for (const [id, value] of Object.entries(fields)) await type(b, `[data-testid="field-${id}"]`, value);
  await click(b, 'save-profile');
  await (await tid(b, 'saved')).waitForExist({ timeout: 10000 });
}

/** Opens the login window, lets `inside` act in it, and returns to the main window. */
async function inLoginWindow(b, inside) {
  const main = await b.getWindowHandle();
  await click(b, 'open-login-window');
  await loginWindow(b, main);
  try { await inside(); } finally { await b.switchToWindow(main); }
}

async function errorCode(b) {
  const el = await tid(b, 'error');
  await el.waitForExist({ timeout: 20000 });
  return el.getAttribute('data-code');
}

describe('Salesforce through the login window', () => {
  const home = newProfileHome('salesforce');

  test('create a profile, sign in by typing into the login form, query several pages', async () => {
    await startDriver(home);
    await withApp('salesforce-signin', async (b) => {
      await (await tid(b, 'first-run')).waitForExist();
      await shot(b, '01-first-run');
      await createProfile(b, 'salesforce-production', {
        login: sf.url, 'client-id': SALESFORCE.clientId, 'client-secret': SALESFORCE.secret,
        'redirect-uri': 'https://app.example.com/oauth/callback', username: SALESFORCE.user,
      });
      await shot(b, '02-profile-editor');
      assert.ok(await (await tid(b, 'profile-salesforce-prod')).isExisting(), 'the profile is listed');

      await click(b, 'tab-signin');
      await shot(b, '03-signin');
      await inLoginWindow(b, async () => {
        await type(b, '#username', SALESFORCE.user);
        await type(b, '#password', SALESFORCE.password);
        await shot(b, '04-login-window');
        await clickAway(b, '#Login');
      });
      await (await tid(b, 'token-access')).waitForExist({ timeout: 20000 });
      assert.match(await text(b, 'expiry'), /Expires: 1h 5\dm|Expires: 2h/, 'a live countdown from the 2-hour estimate');
      assert.ok(await (await tid(b, 'token-refresh')).isExisting(), 'the code flow gives a refresh token');
      await shot(b, '05-token');

      await click(b, 'tab-query');
      await type(b, '[data-testid="soql"]', 'SELECT Id, Name, Owner.Name FROM Account');
      await click(b, 'run-query');
      await waitText(b, 'query-summary', /4900 rows/);
      assert.equal(await text(b, 'row-count'), '4900 of 4900 rows', 'three pages of 2000, 2000 and 900');
      const firstRow = await b.execute(() => Array.from(document.querySelector('[data-testid="result-row"]').children).map((c) => c.textContent).join('|'));
      assert.equal(firstRow, '1|001EMU000000001AAA|Account 000001|Ada Lovelace');
      assert.ok((await b.$$('[data-testid="result-row"]')).length < 200, 'the table renders only the rows in view');
      await shot(b, '06-query-table');
      await click(b, 'view-json');
      await shot(b, '07-query-json');
      await click(b, 'export-csv');
      await waitText(b, 'exported', /salesforce-prod-.*\.csv$/);

      // Work kept across tabs; one column layout (every cell under its heading, by element
      // positions); a line break shown visibly; the CSV export with a byte-order mark and a
      // guarded formula cell.
      await click(b, 'tab-token');
      await click(b, 'tab-query');
      assert.equal(await text(b, 'row-count'), '4900 of 4900 rows', 'the results survive a tab change');
      assert.equal(await (await tid(b, 'soql')).getValue(), 'SELECT Id, Name, Owner.Name FROM Account', 'so does the query');
      await type(b, '[data-testid="soql"]', 'SELECT Name, Description, Owner.Name FROM Account LIMIT 60');
      await click(b, 'run-query');
      await waitText(b, 'query-summary', /60 rows/);
      await click(b, 'view-table');
      const drift = await b.execute(() => {
        const heads = Array.from(document.querySelectorAll('[data-testid="result-header"] > div')).map((h) => h.getBoundingClientRect());
        let worst = 0;
        for (const r of document.querySelectorAll('[data-testid="result-row"]')) {
          Array.from(r.children).forEach((c, i) => {
            const box = c.getBoundingClientRect();
            worst = Math.max(worst, Math.abs(box.left - heads[i].left), Math.abs(box.width - heads[i].width));
          });
        }
        return worst;
      });
      assert.ok(drift <= 1, `every cell sits under its heading (worst offset ${drift}px)`);
      const description = await b.execute(() => document.querySelector('[data-testid="result-row"]').children[2].textContent);
      assert.match(description, /^Key account 1\.⏎Renewal due in Q3;⇥contact/, 'line breaks and tabs shown visibly');
      await shot(b, '07b-query-long-values');
      await click(b, 'export-csv');
      const csvPath = (await waitText(b, 'exported', /\.csv$/)).replace(/^Saved to /, '');
      const csv = readFileSync(csvPath, 'utf8');
      assert.ok(csv.startsWith('\ufeffName,Description,Owner.Name\r\n'), 'a byte-order mark, then the header');
      assert.match(csv, /\r\nAccount 000002,"'=HYPERLINK\(/, 'the formula cell is guarded');

      // The Log tab: the login window's navigations up to the intercepted redirect, the token
      // request, the query pages; secrets masked; a HAR export that devtools can read.
      await click(b, 'tab-log');
      await b.waitUntil(async () => (await b.$$('[data-testid="log-row"]')).length >= 6, { timeout: 10000, timeoutMsg: 'the log has too few rows' });
      const rows = await b.execute(() => Array.from(document.querySelectorAll('[data-testid="log-row"]')).map((r) => `${r.dataset.purpose}|${r.dataset.grant}`));
      assert.ok(rows.includes('navigation|'), `the login window's pages are logged: ${rows}`);
      assert.equal(rows.filter((r) => r === 'redirect|').length, 1, `one intercepted redirect: ${rows}`);
      assert.ok(rows.indexOf('redirect|') < rows.indexOf('token|authorization_code'), `the redirect, then the code exchange: ${rows}`);
      assert.equal(rows.filter((r) => r === 'query_page|').length, 4, `three query pages, then one: ${rows}`);
      await (await b.$('[data-testid="log-row"][data-purpose="token"]')).click();
      const request = await waitText(b, 'log-detail', /client_secret/);
      assert.match(request, /\[masked:client_secret\]/);
      assert.match(request, /\[masked:code\]/);
      await click(b, 'log-response');
      const response = await waitText(b, 'log-detail', /access_token/);
      assert.match(response, /\[masked:access_token\]/);
      await shot(b, '06b-log');
      await click(b, 'export-har');
      await waitText(b, 'exported-har', /\.har$/);
      const downloads = join(home.home, 'Downloads');
      const file = readdirSync(downloads).find((f) => f.endsWith('.har'));
      const harText = readFileSync(join(downloads, file), 'utf8');
      assert.deepEqual(harProblems(JSON.parse(harText)), [], 'the export is HAR 1.2');
      for (const secret of [SALESFORCE.secret, SALESFORCE.password]) assert.ok(!harText.includes(secret), 'no secret in the HAR');
      const purposes = JSON.parse(harText).log.entries.map((e) => e._purpose);
      assert.ok(purposes.includes('redirect') && purposes.includes('token'), `the HAR has the redirect and the token request: ${purposes}`);
    });
  });

  test('after a restart the profile and its token are there', async () => {
    await withApp('restart', async (b) => {
      await click(b, 'profile-salesforce-prod');
      await (await tid(b, 'token-access')).waitForExist({ timeout: 10000 });
      await click(b, 'tab-query');
      await b.waitUntil(async () => (await (await tid(b, 'soql')).getValue()) === 'SELECT Name, Description, Owner.Name FROM Account LIMIT 60',
        { timeout: 10000, timeoutMsg: 'the query text did not survive the restart' });
      await click(b, 'tab-token');
      await click(b, 'refresh-token');
      await (await tid(b, 'token-history')).waitForExist({ timeout: 10000 });
      assert.match(await text(b, 'token-history'), /refresh_token\s*\d+ ms\s*ok/);
      await shot(b, '08-after-restart');
    });
  });

  test('Salesforce CLI auth URL: out of one profile, into a new one', async () => {
    await withApp('sfdx-url', async (b) => {
      await click(b, 'profile-salesforce-prod');
      await (await tid(b, 'token-access')).waitForExist({ timeout: 10000 });
      await click(b, 'sfdx-export');
      assert.match(await text(b, 'sfdx-warning'), /Keep it like a password/);
      await click(b, 'sfdx-export-confirm');
      const url = await (await tid(b, 'sfdx-url-out')).getValue();
      assert.match(url, /^force:\/\/3MVG9EMULATOR\.consumer\.key:EMULATOR0CONSUMER0SECRET:[^@]+@http:\/\/127\.0\.0\.1:\d+$/);
      await click(b, 'new-profile');
      await (await tid(b, 'sfdx-import')).click();
      await type(b, '[data-testid="sfdx-name"]', 'from-sf-cli');
      await type(b, '[data-testid="sfdx-url"]', 'force://3MVG9only:5AepTOKEN@acme.my.salesforce.com');
      await click(b, 'sfdx-import-go');
      await b.waitUntil(async () => /two colons/.test(await b.execute(() => document.querySelector('[data-testid="sfdx-import"] [data-testid="error-message"]')?.textContent ?? '')),
        { timeout: 10000, timeoutMsg: 'no error naming the malformed part' });
      assert.ok(!(await b.execute(() => document.body.innerText)).includes('5AepTOKEN'), 'the secret part is not echoed');
      await shot(b, '08l-sfdx-import-error');
      await type(b, '[data-testid="sfdx-url"]', url);
      await click(b, 'sfdx-import-go');
      await (await tid(b, 'profile-from-sf-cli')).waitForExist({ timeout: 20000 });
      await (await tid(b, 'token-access')).waitForExist({ timeout: 20000 });
      assert.match(await text(b, 'token-history'), /refresh_token/, 'redeemed once on import');
    });
  });

  test('work kept: scroll position, the Request tab; the field picker; Save as through the dialog', async () => {
    await withApp('work-kept', async (b) => {
      await click(b, 'profile-salesforce-prod');
      await click(b, 'tab-query');
      await type(b, '[data-testid="soql"]', 'SELECT Id, Name FROM Account');
      await click(b, 'run-query');
      await waitText(b, 'query-summary', /4900 rows/);
      await b.execute(() => { const s = document.querySelector('[data-testid="result-scroll"]'); s.scrollTop = 28 * 1500; s.dispatchEvent(new Event('scroll')); });
      await b.waitUntil(async () => (await b.execute(() => document.querySelector('[data-testid="result-row"]')?.children[0].textContent)) !== '1', { timeout: 5000 });
      const firstShown = () => b.execute(() => {
        const top = document.querySelector('[data-testid="result-scroll"]').getBoundingClientRect().top + 40;
        const rows = Array.from(document.querySelectorAll('[data-testid="result-row"]')).filter((r) => r.getBoundingClientRect().top >= top);
        return rows[0]?.children[0].textContent;
      });
      const before = await firstShown();
      assert.ok(Number(before) > 1400, `scrolled to row ${before}`);
      await click(b, 'tab-request');
      await click(b, 'tab-query');
      await b.waitUntil(async () => (await firstShown()) === before, { timeout: 5000, timeoutMsg: 'the scroll position was lost' });

      // The field picker: the FROM object's fields as a checklist, a reference one level down.
      await type(b, '[data-testid="soql"]', 'SELECT Id FROM Account WHERE Name != null');
      await click(b, 'field-picker-toggle');
      await click(b, 'field-Name');
      assert.equal(await (await tid(b, 'soql')).getValue(), 'SELECT Id, Name FROM Account WHERE Name != null');
      await type(b, '[data-testid="field-filter"]', 'desc');
      assert.equal((await b.$$('[data-testid="field-picker"] input[type="checkbox"]')).length, 1, 'the filter leaves Description');
      await click(b, 'field-Description');
      await shot(b, '08g-field-picker');
      await type(b, '[data-testid="field-filter"]', 'owner');
      await click(b, 'open-Owner');
      await click(b, 'field-Owner.Name');
      assert.equal(await (await tid(b, 'soql')).getValue(), 'SELECT Id, Name, Description, Owner.Name FROM Account WHERE Name != null');
      await click(b, 'toggle-theme');
      await shot(b, '08h-field-picker-dark');
      await click(b, 'toggle-theme');
      await click(b, 'field-Owner.Name');
      assert.equal(await (await tid(b, 'soql')).getValue(), 'SELECT Id, Name, Description FROM Account WHERE Name != null', 'a second click removes it');
      await click(b, 'field-picker-toggle');

      // Save as…: the system's save dialog, answered by typing a path; BOM and guard as set.
      await type(b, '[data-testid="soql"]', 'SELECT Name, Description FROM Account LIMIT 12');
      await click(b, 'run-query');
      await waitText(b, 'query-summary', /12 rows/);
      const target = join(home.home, 'chosen-by-the-user.csv');
      await click(b, 'save-csv-as');
      await answerSaveDialog('Save exported results', target);
      await waitText(b, 'exported', /chosen-by-the-user\.csv$/);
      const csv = readFileSync(target, 'utf8');
      assert.ok(csv.startsWith('\ufeffName,Description\r\n'), 'a byte-order mark, then the header');
      assert.match(csv, /\r\nAccount 000002,"'=HYPERLINK\(/, 'the formula cell is guarded');
      // Both switched off: the raw bytes.
      await click(b, 'csv-bom');
      await click(b, 'csv-guard');
      const raw = join(home.home, 'raw.csv');
      await click(b, 'save-csv-as');
      await answerSaveDialog('Save exported results', raw);
      await waitText(b, 'exported', /raw\.csv$/);
      const rawCsv = readFileSync(raw, 'utf8');
      assert.ok(rawCsv.startsWith('Name,Description\r\n'), 'no byte-order mark');
      assert.match(rawCsv, /\r\nAccount 000002,"=HYPERLINK\(/, 'the cell as the org has it');
      await click(b, 'csv-bom');
      await click(b, 'csv-guard');

      // The same rows by a Bulk API 2.0 job: its state while it runs, then every row, as text.
      await (await tid(b, 'query-api')).selectByAttribute('value', 'bulk');
      await type(b, '[data-testid="soql"]', 'SELECT Id, Name, Owner.Name, AnnualRevenue FROM Account');
      await click(b, 'run-query');
      await waitText(b, 'query-summary', /^4900 rows .*Bulk API 2\.0/);
      assert.match(await text(b, 'row-count'), /^4900 of 4900/);
      const bulkCells = await b.execute(() => Array.from(document.querySelectorAll('[data-testid="result-row"]')[1].children).map((c) => c.textContent));
      assert.deepEqual(bulkCells.slice(1), ['001EMU000000002AAA', 'Account 000002', 'Grace Hopper', '7919000'], 'the second row, cell by cell');
      await (await tid(b, 'row-count')).moveTo(); // WebKitGTK leaves a tooltip where the mouse rests
      await shot(b, '08o-query-bulk');
      // Bulk cannot run a sub-query: said before any job is made.
      await type(b, '[data-testid="soql"]', 'SELECT Id, (SELECT LastName FROM Contacts) FROM Account');
      await click(b, 'run-query');
      await waitText(b, 'error', /sub-query/);
      await (await tid(b, 'query-api')).selectByAttribute('value', 'rest');

      // The Request tab keeps its request and answer across tab changes.
      await click(b, 'tab-request');
      await type(b, '[data-testid="request-url"]', '/services/data/v60.0/sobjects');
      await click(b, 'send-request');
      await waitText(b, 'response-status', /^HTTP 200/);
      await click(b, 'tab-query');
      await click(b, 'tab-request');
      assert.equal(await (await tid(b, 'request-url')).getValue(), '/services/data/v60.0/sobjects');
      assert.match(await text(b, 'response-status'), /^HTTP 200/, 'the answer is still shown');
      await shot(b, '08i-request-kept');
      // The changed screens in the dark theme too.
      await click(b, 'toggle-theme');
      await shot(b, '08i-request-kept-dark');
      await click(b, 'tab-query');
      await shot(b, '07b-query-long-values-dark');
      await click(b, 'tab-token');
      await shot(b, '05-token-dark');
      await click(b, 'toggle-theme');
    });
  });

  test('denial, state mismatch, cancelling, and a remote page cannot invoke', async () => {
    await withApp('denial', async (b) => {
      await click(b, 'profile-salesforce-prod');
      await click(b, 'tab-signin');
      assert.match(await text(b, 'paste-help'), /Salesforce redirected to/, 'help written for this kind of provider');

      let invoked;
      await inLoginWindow(b, async () => {
        await (await b.$('#username')).waitForExist({ timeout: 15000 });
        invoked = await b.executeAsync((done) => {
          const internals = window.__TAURI_INTERNALS__;
          if (!internals) { done('no tauri internals on this page'); return; }
          internals.invoke('profile_list').then(() => done('allowed'), (e) => done(`refused: ${String(e)}`));
        });
        await clickAway(b, '#Deny');
      });
      assert.match(invoked, /^refused: /, `a provider's page must not reach the app's commands (${invoked})`);
      assert.equal(await errorCode(b), 'access_denied');
      await shot(b, '09-denied');

      await inLoginWindow(b, async () => {
        await (await b.$('#username')).waitForExist({ timeout: 15000 });
        // A forged redirect (a link on a page the user follows): the login window intercepts
        // it, and its state is not this sign-in's.
        await b.execute(() => {
          document.body.insertAdjacentHTML('beforeend', '<a id="forged" href="https://app.example.com/oauth/callback?code=forged&state=forged">continue</a>');
        });
        await clickAway(b, '#forged');
      });
      await b.waitUntil(async () => (await errorCode(b)) === 'state_mismatch', { timeout: 20000, timeoutMsg: 'no state mismatch error' });
      await shot(b, '10-state-mismatch');

      // Giving up from the main window closes the login window and ends the attempt. (WebDriver
      // cannot close a window the way a window manager does: in WebKitGTK it only closes the page.)
      await inLoginWindow(b, async () => { await (await b.$('#username')).waitForExist({ timeout: 15000 }); });
      await click(b, 'cancel-signin');
      await b.waitUntil(async () => (await errorCode(b)) === 'cancelled', { timeout: 20000, timeoutMsg: 'cancelling did not end the attempt' });
      await b.waitUntil(async () => (await b.getWindowHandles()).length === 1, { timeout: 10000, timeoutMsg: 'the login window stayed open' });
    });
  });
  test('the CLI uses what the app made, and both change profiles at once without losing any', async () => {
    // The app signed salesforce-prod in; the CLI queries with it: same profile file, same keyring.
    const q = await cli(home, ['query', 'salesforce-prod', 'SELECT Id FROM Account LIMIT 5', '--format', 'csv', '--quiet']);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout.trim().split('\n').length, 6, 'a header and five rows');
    await withApp('concurrent', async (b) => {
      await (await tid(b, 'profile-salesforce-prod')).waitForExist({ timeout: 10000 });
      // Eight CLI processes add profiles while the app saves one of its own.
      const adds = Array.from({ length: 8 }, (_, i) =>
        cli(home, ['profile', 'add', `cli-${i}`, '--kind', 'oauth2', '--token-url', 'https://idp.example/token', '--client-id', `c${i}`]));
      await createProfile(b, 'oidc', { issuer: 'https://idp.example', 'client-id': 'made-in-the-app', 'redirect-uri': 'https://app.example.com/cb' });
      for (const r of await Promise.all(adds)) assert.equal(r.code, 0, r.stderr);
      // The app reads the profiles again when its window gets the focus back.
      await b.execute(() => window.dispatchEvent(new Event('focus')));
      await b.waitUntil(async () => (await b.$$('[data-testid^="profile-cli-"]')).length === 8, { timeout: 10000, timeoutMsg: 'the CLI\'s profiles did not show in the app' });
      const listed = JSON.parse((await cli(home, ['profile', 'list', '--json'])).stdout);
      const ids = listed.map((p) => p.client_id);
      for (let i = 0; i < 8; i++) assert.ok(ids.includes(`c${i}`), `cli-${i} kept`);
      assert.ok(ids.includes('made-in-the-app'), `the app's profile kept: ${ids}`);
      assert.ok(ids.includes(SALESFORCE.clientId), 'and the first one');
    });
  });

  test('the Token tab follows the core; completion from the org describe; a refused token; Chinese headlines', async () => {
    await withApp('truth', async (b) => {
      const admin = (what) => fetch(`${sf.url}/__emulator/${what}`, { method: 'POST' }).then((r) => assert.equal(r.status, 204));
      const runQuery = async (soql) => {
        await click(b, 'tab-query');
        await type(b, '[data-testid="soql"]', soql);
        await click(b, 'run-query');
      };
      await click(b, 'profile-salesforce-prod');
      await click(b, 'show-access');
      const before = await text(b, 'token-access');
      assert.ok(before.length > 40 && !before.includes('…'), 'the whole token is shown');

      // The org ends the session; a query renews it by itself; the Token tab shows the new token
      // and the automatic request without a restart.
      await admin('expire');
      await runQuery('SELECT Id FROM Account LIMIT 5');
      await waitText(b, 'query-summary', /^5 rows/);
      await click(b, 'tab-token');
      await (await tid(b, 'automatic')).waitForExist({ timeout: 10000 });
      await click(b, 'show-access');
      const after = await text(b, 'token-access');
      assert.ok(after.length > 40 && after !== before, 'the renewed token is shown, not the dead one');
      assert.match(await text(b, 'expiry'), /Expires: /);
      await shot(b, '08b-token-renewed-by-query');

      // Completion from the emulator's describe: Ctrl+Space after "Desc" in the select list.
      await click(b, 'tab-query');
      await type(b, '[data-testid="soql"]', 'SELECT Desc FROM Account');
      const key = (k, ctrl = false) => b.execute((k, ctrl) => {
        const t = document.querySelector('[data-testid="soql"]');
        t.focus();
        t.dispatchEvent(new KeyboardEvent('keydown', { key: k, ctrlKey: ctrl, bubbles: true, cancelable: true }));
      }, k, ctrl);
      await b.execute(() => { const t = document.querySelector('[data-testid="soql"]'); t.focus(); t.setSelectionRange(11, 11); });
      await key(' ', true);
      await (await tid(b, 'suggestion')).waitForExist({ timeout: 10000 }).catch(async (e) => {
        const why = await b.execute(() => JSON.stringify({ active: document.activeElement?.outerHTML.slice(0, 80), value: document.querySelector('[data-testid="soql"]').value, caret: document.querySelector('[data-testid="soql"]').selectionStart, m: window.__oauthDeskMetrics }));
        throw new Error(`${e.message}: ${why}`);
      });
      assert.match(await text(b, 'suggestion'), /^Description\s*textarea$/);
      await shot(b, '08c-soql-completion');
      await key('Enter');
      await b.waitUntil(async () => (await (await tid(b, 'soql')).getValue()) === 'SELECT Description FROM Account', { timeout: 5000, timeoutMsg: 'the completion was not inserted' });

      // An admin revokes the app's access: renewal is refused, the token shows as refused.
      await admin('revoke-all');
      await runQuery('SELECT Id FROM Account LIMIT 5');
      await (await tid(b, 'error')).waitForExist({ timeout: 20000 });
      assert.match(await text(b, 'error-headline'), /^The provider refused the (grant|token)$/);
      await click(b, 'tab-token');
      await (await tid(b, 'token-refused')).waitForExist({ timeout: 10000 });
      assert.equal(await (await tid(b, 'expiry')).getAttribute('data-refused'), 'true');
      const dot = await b.$('[data-testid="profile-salesforce-prod"] [data-testid="status-dot"]');
      assert.match(await dot.getAttribute('class'), /\brefused\b/, 'the sidebar shows it too');
      await shot(b, '08d-token-refused');

      // Dark and Chinese: the same screens, error headlines in Chinese, the provider's text verbatim.
      await click(b, 'toggle-theme');
      await click(b, 'toggle-language');
      await shot(b, '08e-token-refused-dark-zh');
      await runQuery('SELECT Id FROM Account LIMIT 5');
      await b.waitUntil(async () => /^服务商拒绝了该(授权|令牌)$/.test(await text(b, 'error-headline')), { timeout: 20000, timeoutMsg: 'no Chinese headline' });
      assert.match(await text(b, 'error-hint'), /[\u4e00-\u9fff]/, 'the hint is in Chinese too');
      await shot(b, '08f-error-dark-zh');
      await click(b, 'toggle-theme');
      await click(b, 'toggle-language');
    });
  });

  test('JWT bearer: create a key, save the certificate through the dialog, sign in without a password', async () => {
    await withApp('jwt', async (b) => {
      await click(b, 'profile-salesforce-prod');
      await click(b, 'tab-signin');
      assert.match(await text(b, 'jwt-key-state'), /No private key yet/);
      assert.equal(await (await tid(b, 'jwt-grant')).getAttribute('disabled'), 'true', 'no key: the button says why on hover');
      await click(b, 'jwt-create-key');
      await (await tid(b, 'jwt-certificate')).waitForExist({ timeout: 30000 });
      assert.match(await text(b, 'jwt-certificate'), /Use digital signatures[\s\S]*BEGIN CERTIFICATE/);
      await shot(b, '08j-jwt-certificate');
      const crt = join(home.home, 'connected-app.crt');
      await click(b, 'jwt-save-cert');
      await answerSaveDialog('Save exported results', crt);
      await waitText(b, 'jwt-cert-saved', /connected-app\.crt$/);
      const pem = readFileSync(crt, 'utf8');
      assert.ok(pem.startsWith('-----BEGIN CERTIFICATE-----'), 'the certificate, never the key');
      // The admin uploads it to the connected app.
      const up = await fetch(`${sf.url}/__emulator/jwt-certificate`, { method: 'POST', body: pem });
      assert.equal(up.status, 204);
      await click(b, 'jwt-grant');
      await (await tid(b, 'token-access')).waitForExist({ timeout: 20000 });
      assert.match(await text(b, 'token-history'), /jwt_bearer/);
      assert.ok(!(await (await tid(b, 'token-refresh')).isExisting()), 'no refresh token in this flow');
      assert.equal(await (await tid(b, 'refresh-token')).getAttribute('disabled'), null, 'Refresh works: a new assertion');
      await click(b, 'toggle-theme');
      await click(b, 'tab-signin');
      await shot(b, '08k-jwt-dark');
      await click(b, 'toggle-theme');

      // Every profile at a glance: state, countdown (estimated for Salesforce), refresh.
      await click(b, 'new-profile');
      const row = await tid(b, 'dash-salesforce-prod');
      await row.waitForExist({ timeout: 10000 });
      assert.equal(await row.getAttribute('data-state'), 'valid');
      assert.match(await (await row.$('[data-testid="dash-expires"]')).getText(), /^1h 5\dm.*\(estimated\)$|^2h 0m.*\(estimated\)$/);
      assert.equal(await (await tid(b, 'dash-cli-0')).getAttribute('data-state'), 'signed_out');
      const jwtRequests = async () => (await (await fetch(`${sf.url}/__emulator/stats`)).json()).token_requests['urn:ietf:params:oauth:grant-type:jwt-bearer'];
      const before = await jwtRequests();
      await (await row.$('[data-testid="dash-refresh"]')).click();
      await b.waitUntil(async () => (await jwtRequests()) === before + 1, { timeout: 10000, timeoutMsg: 'the dashboard did not renew the token' });
      await b.waitUntil(async () => (await (await row.$('[data-testid="dash-refresh"]')).getAttribute('disabled')) === null, { timeout: 10000 });
      assert.equal(await (await row.$('[data-testid="dash-error"]')).getText(), '', 'no error');
      await shot(b, '08m-dashboard');
      await click(b, 'toggle-theme');
      await click(b, 'toggle-language');
      await shot(b, '08n-dashboard-dark-zh');
      await click(b, 'toggle-theme');
      await click(b, 'toggle-language');
    });
    const e2eCli = await cli(home, ['profile', 'show', 'salesforce-prod', '--json']);
    assert.equal(JSON.parse(e2eCli.stdout).secrets_stored.private_key, true, 'the CLI sees the key the app made');
  });
});

describe('the real oidc-provider and the WeChat emulator', () => {
  const home = newProfileHome('oidc-wechat');

  test('oidc-provider: its login and consent pages, then a decoded id token', async () => {
    await startDriver(home);
    await withApp('oidc', async (b) => {
      await createProfile(b, 'oidc', {
        issuer: oidc.url, 'client-id': 'desk-basic', 'client-secret': 'desk-basic-secret',
        'redirect-uri': 'https://app.example.com/oidc/callback', scopes: 'openid email profile offline_access',
      });
      await click(b, 'tab-signin');
      await inLoginWindow(b, async () => {
        await type(b, 'input[name="login"]', 'ada');
        await type(b, 'input[name="password"]', 'anything');
        await shot(b, '11-oidc-login');
        await (await b.$('button[type="submit"]')).click();
        await (await b.$('button*=Continue')).waitForExist({ timeout: 15000 });
        await shot(b, '12-oidc-consent');
        await clickAway(b, 'button', 'Continue');
      });
      await (await tid(b, 'token-id')).waitForExist({ timeout: 20000 });
      assert.match(await (await b.$('[data-testid="token-panel"]')).getText(), /sub\s*ada/);
      const check = await tid(b, 'id-token-check');
      assert.equal(await check.getAttribute('data-status'), 'verified', await check.getText());
      assert.match(await check.getText(), /verified: RS256 signature/);
      await shot(b, '13-oidc-token');
    });
  });

  test('the device grant: a code and a QR code, approved on another device', async () => {
    await withApp('device', async (b) => {
      await click(b, 'profile-my-provider');
      await click(b, 'tab-signin');
      await click(b, 'device-start');
      const code = await tid(b, 'device-user-code');
      await code.waitForExist({ timeout: 15000 });
      assert.match(await code.getText(), /^[A-Z]{4}-[A-Z]{4}$/);
      assert.match(await text(b, 'device-countdown'), /expires in (9m|10m)/);
      assert.ok(await b.execute(() => document.querySelector('[data-testid="device"] svg rect') !== null), 'a QR code');
      await shot(b, '13b-device-code');
      const complete = await (await tid(b, 'device-uri')).getAttribute('data-complete');
      assert.match(await approveDevice(complete), /Sign-in Success/);
      await (await tid(b, 'token-access')).waitForExist({ timeout: 30000 });
      assert.match(await text(b, 'token-history'), /device_code/);
      assert.equal(await (await tid(b, 'id-token-check')).getAttribute('data-status'), 'verified');
    });
  });

  test('WeChat website QR login confirmed on the phone, then user info', async () => {
    await withApp('wechat', async (b) => {
      await createProfile(b, 'wechat-website', {
        'client-id': WECHAT_WEB.appid, 'client-secret': WECHAT_WEB.secret, 'redirect-uri': 'https://www.example.com/login/wechat',
        'open-base': wx.url, 'api-base': wx.url,
      });
      await click(b, 'tab-signin');
      await inLoginWindow(b, async () => {
        await (await b.$('#qrcode')).waitForExist({ timeout: 15000 });
        await shot(b, '14-wechat-qr');
        await clickAway(b, '#confirm-on-phone');
      });
      await (await tid(b, 'token-openid')).waitForExist({ timeout: 20000 });
      await click(b, 'tab-wechat');
      await click(b, 'wechat-userinfo');
      await waitText(b, 'wechat-info', /微信用户 Ada/);
      await click(b, 'wechat-check');
      await (await tid(b, 'wechat-valid')).waitForExist({ timeout: 10000 });
      await shot(b, '15-wechat-panel');
    });
  });
});

describe('the Sandbox from the first run', () => {
  test('a newcomer picks Sandbox, signs in with the demo credentials and runs SOQL', async () => {
    await startDriver(newProfileHome('sandbox'));
    await withApp('sandbox', async (b) => {
      await click(b, 'preset-sandbox');
      const creds = await waitText(b, 'sandbox-credentials', /ada@example\.com \/ Passw0rd!/);
      assert.ok(creds);
      await shot(b, '16-sandbox-signin');
      await inLoginWindow(b, async () => {
        await type(b, '#username', 'ada@example.com');
        await type(b, '#password', 'Passw0rd!');
        await clickAway(b, '#Login');
      });
      await (await tid(b, 'token-access')).waitForExist({ timeout: 20000 });
      await click(b, 'tab-query');
      await click(b, 'run-query');
      await waitText(b, 'query-summary', /2940 rows/);
      await shot(b, '17-sandbox-query');
      await click(b, 'toggle-theme');
      await click(b, 'toggle-language');
      await waitText(b, 'row-count', /2940 \/ 2940 行/);
      await shot(b, '18-dark-chinese');
    });
  });
});
