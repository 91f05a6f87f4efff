import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { newProfileHome, openApp, shot, startDriver, stopAll, stopDriver, tid } from './harness.mjs';

after(async () => { await stopDriver(); stopAll(); });
const log = (m) => console.log(new Date().toISOString(), m);

test('the app opens on the first-run screen', async () => {
  await startDriver(newProfileHome('smoke'));
  log('driver up');
  const browser = await openApp();
  log('app open');
  await (await tid(browser, 'first-run')).waitForExist({ timeout: 10000 });
  log('first run visible');
  await shot(browser, 'smoke');
  log('shot');
  assert.ok(await (await tid(browser, 'preset-sandbox')).isExisting());
  await browser.deleteSession();
  log('deleted');
});
