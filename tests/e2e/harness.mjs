// What the end-to-end tests start and stop: the emulators and oidc-provider on 127.0.0.1,
// tauri-driver (which starts WebKitWebDriver and the app), and app sessions with their own data
// directory and keyring service. Screenshots go to tests/e2e/screenshots/ (ignored by git).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { remote } from 'webdriverio';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../..');
export const APP = process.env.OAUTH_DESK_APP ?? join(ROOT, 'target/debug/oauth-desk-app');
const EMULATOR = join(ROOT, 'target/debug/oauth-desk-emulator');
export const CLI = join(ROOT, 'target/debug/oauth-desk');
const SHOTS = join(here, 'screenshots');
const children = new Set();

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

const homes = new Set();

/** Stops every process this run started (tauri-driver with its WebKitWebDriver and app, as a
 *  group) and removes the temporary homes. Also runs when a test fails or the run is cut. */
export function stopAll() {
  for (const c of children) {
    try { process.kill(-c.pid, 'SIGTERM'); } catch { try { c.kill('SIGTERM'); } catch {} }
  }
  for (const h of homes) rmSync(h, { recursive: true, force: true });
  homes.clear();
}
process.on('exit', stopAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopAll(); process.exit(130); });

/** Spawns a server that prints `ready <url>` and resolves with that URL. */
function startReady(cmd, args, opts = {}) {
  const child = track(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'], detached: true, ...opts }));
  return new Promise((ok, fail) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => (line.startsWith('ready ') ? ok({ url: line.slice(6).trim(), child }) : fail(new Error(`${cmd}: ${line}`))));
    child.once('exit', (code) => fail(new Error(`${cmd} exited with ${code}`)));
  });
}

export const startSalesforce = (accounts = 5000) => startReady(EMULATOR, ['salesforce', '--accounts', String(accounts)]);
export const startWechat = () => startReady(EMULATOR, ['wechat']);
export const startOidc = () => startReady('node', ['server.mjs'], { cwd: join(ROOT, 'tests/oidc') });

export const SALESFORCE = { clientId: '3MVG9EMULATOR.consumer.key', secret: 'EMULATOR0CONSUMER0SECRET', user: 'ada@example.com', password: 'Passw0rd!' };
export const WECHAT_WEB = { appid: 'wxf0e1d2c3b4a59687', secret: 'fedcba9876543210fedcba9876543210' };

/** A fresh app identity: its own data directory and keyring service. */
export function newProfileHome(name) {
  const home = mkdtempSync(join(tmpdir(), `oauth-desk-e2e-${name}-`));
  homes.add(home);
  return { home, service: `oauth-desk-e2e-${process.pid}-${name}` };
}

/** The environment the app of this home runs with (the CLI shares it: same profiles, same keyring). */
export function homeEnv({ home, service }) {
  return { ...process.env, XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config'), XDG_CACHE_HOME: join(home, 'cache'), OAUTH_DESK_KEYRING_SERVICE: service, HOME: home };
}

/** Runs `oauth-desk` with a home's environment; resolves with its exit code and output. */
export function cli(home, args, input = '') {
  return new Promise((ok) => {
    const child = spawn(CLI, args, { env: homeEnv(home), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => ok({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

let driver = null;
let driverPort = 4444;

async function waitFor(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      // Each try gives up after a second: a process that accepts but never answers must not hang it.
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A port nobody listens on now. */
function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => ok(port)); });
  });
}

/** Starts tauri-driver for an app home (its environment reaches the app it launches). */
export async function startDriver(home) {
  await stopDriver();
  mkdirSync(join(home.home, 'Downloads'), { recursive: true });
  const bin = process.env.TAURI_DRIVER ?? join(process.env.HOME ?? '/root', '.cargo/bin/tauri-driver');
  // Fresh ports each time, so a predecessor still dying cannot be mistaken for this driver; its
  // own process group, so stopping it stops WebKitWebDriver and the app with it.
  driverPort = await freePort();
  const nativePort = await freePort();
  driver = track(spawn(bin, ['--port', String(driverPort), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'],
    { env: homeEnv(home), stdio: ['ignore', 'ignore', 'inherit'], detached: true }));
  await waitFor(`http://127.0.0.1:${driverPort}/status`, 20000);
}

export async function stopDriver() {
  if (!driver) return;
  const d = driver;
  driver = null;
  const gone = d.exitCode !== null || d.signalCode !== null ? Promise.resolve() : new Promise((r) => d.once('exit', r));
  const group = (sig) => { try { process.kill(-d.pid, sig); } catch {} };
  group('SIGTERM');
  const exited = await Promise.race([gone.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
  // Whatever of its group is still there (WebKitWebDriver, the app) goes now.
  group('SIGKILL');
  if (!exited) await gone;
}

/**
 * Clicks something that ends the login window's life: the provider redirects, the app
 * intercepts the redirect and destroys the window. A WebDriver click waits for the page to
 * settle and then meets a window that is gone ("no such window", or a request that never gets
 * its answer); the page clicks it itself instead, just after WebDriver has had its answer.
 */
export async function clickAway(browser, selector, text = null) {
  await browser.waitUntil(
    () => browser.execute((sel, txt) => [...document.querySelectorAll(sel)].some((e) => txt === null || e.textContent.includes(txt)), selector, text),
    { timeout: 15000, timeoutMsg: `${selector} ${text ?? ''} never appeared in the login window` },
  );
  await browser.execute((sel, txt) => {
    const el = [...document.querySelectorAll(sel)].find((e) => txt === null || e.textContent.includes(txt));
    setTimeout(() => el.click(), 50);
  }, selector, text);
}

/** Launches the app (through tauri-driver) and waits for its first screen. */
export async function openApp() {
  const browser = await remote({
    hostname: '127.0.0.1',
    port: driverPort,
    logLevel: 'warn',
    connectionRetryCount: 0,
    capabilities: { browserName: 'wry', 'tauri:options': { application: APP }, 'wdio:enforceWebDriverClassic': true },
  });
  await browser.$('aside').waitForExist({ timeout: 20000 });
  return browser;
}

/**
 * Saves what is on the virtual screen. WebKitWebDriver's own screenshot command hangs under Xvfb
 * (no compositor), so the X display is captured instead: the same pixels a person would see.
 */
/** Runs `body` with the app open, always closing the session; a failure leaves a screenshot. */
export async function withApp(name, body) {
  const browser = await openApp();
  try {
    await body(browser);
  } catch (e) {
    await shot(browser, `failed-${name}`).catch(() => {});
    throw e;
  } finally {
    await browser.deleteSession().catch(() => {});
  }
}

export async function shot(browser, name) {
  mkdirSync(SHOTS, { recursive: true });
  await new Promise((r) => setTimeout(r, 300)); // let the last frame paint
  const out = join(SHOTS, `${name}.png`);
  await new Promise((ok, fail) => {
    const p = spawn('import', ['-display', process.env.DISPLAY ?? ':99', '-window', 'root', out], { stdio: 'ignore' });
    p.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`screenshot ${name} failed (${code})`))));
  });
  void browser;
}

export const tid = (browser, id) => browser.$(`[data-testid="${id}"]`);

/** Sets an input's value the way a user would: select all, type. */
export async function type(browser, selector, text) {
  const el = await browser.$(selector);
  await el.waitForExist({ timeout: 10000 });
  await el.clearValue();
  await el.setValue(text);
}

/** The handle of the login window, once it has opened. */
export async function loginWindow(browser, main) {
  let handle;
  await browser.waitUntil(async () => {
    handle = (await browser.getWindowHandles()).find((h) => h !== main);
    return Boolean(handle);
  }, { timeout: 20000, timeoutMsg: 'the login window did not open' });
  await browser.switchToWindow(handle);
  return handle;
}

const x = (args) => new Promise((ok, fail) => {
  const p = spawn('xdotool', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  p.once('error', fail);
  p.once('exit', (code) => (code === 0 ? ok(out.trim()) : fail(new Error(`xdotool ${args.join(' ')} failed (${code}): ${err}`))));
});

/** Answers the app's native save dialog (GTK's file chooser, a window WebDriver cannot see) the
 *  way a user does: waits for it by its title, types the full path into its name field, Enter. */
export async function answerSaveDialog(title, path) {
  let id = '';
  for (let i = 0; i < 100 && !id; i++) {
    id = (await x(['search', '--onlyvisible', '--name', title]).catch(() => '')).split('\n')[0];
    if (!id) await new Promise((r) => setTimeout(r, 100));
  }
  if (!id) throw new Error(`no window titled "${title}" appeared`);
  await new Promise((r) => setTimeout(r, 500)); // the chooser fills its name field after mapping
  await x(['windowfocus', '--sync', id]);
  await x(['key', '--clearmodifiers', 'ctrl+a']);
  await x(['type', '--delay', '10', path]);
  await x(['key', 'Return']);
}

/** Approves a device sign-in at oidc-provider's own pages over HTTP, as a user on a phone would:
 *  the code confirmation, login, consent, until the success page (which it returns). */
export async function approveDevice(url, login = 'ada', password = 'x') {
  const jar = new Map();
  const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (r) => {
    for (const c of r.headers.getSetCookie?.() ?? []) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      jar.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
  };
  let next = { url, init: { method: 'GET' } };
  for (let step = 0; step < 24; step++) {
    const r = await fetch(next.url, { ...next.init, redirect: 'manual', headers: { ...(next.init.headers ?? {}), cookie: cookies() } });
    keep(r);
    if (r.status >= 300 && r.status < 400) { next = { url: new URL(r.headers.get('location'), next.url).toString(), init: { method: 'GET' } }; continue; }
    const html = await r.text();
    if (r.status !== 200) throw new Error(`oidc-provider answered HTTP ${r.status}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) return html;
    const fields = new URLSearchParams();
    for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields.set(m[1], m[2].replace(/&amp;/g, '&'));
    if (html.includes('name="login"')) { fields.set('login', login); fields.set('password', password); }
    next = { url: new URL(action, next.url).toString(), init: { method: 'POST', body: fields.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } } };
  }
  throw new Error('too many steps in the device sign-in');
}
