// App benchmark: start to interactive window and idle memory (the app with all its WebKit
// processes, PSS) against a bare Tauri app built from the same versions, in the same run; then,
// with 100,000 query rows, the time from the first page's arrival to its rows on screen and the
// memory the rows add. Runs under bench/app.sh (Xvfb, keyring, release builds).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { remote } from 'webdriverio';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REL = join(ROOT, 'target/release');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ROWS = 100000;
const ACCOUNTS = 102040; // every 50th emulated account is deleted: this leaves exactly 100,000 live rows
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function procs() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.push({ pid: Number(d), ppid, comm });
    } catch {}
  }
  return out;
}

/** PSS (MiB) of the app process and every process under it (WebKit's web and network processes). */
function treePss(appName) {
  const all = procs();
  const app = all.find((p) => p.comm === appName.slice(0, 15));
  if (!app) throw new Error(`${appName} is not running`);
  const tree = [app.pid];
  for (let i = 0; i < tree.length; i++) for (const p of all) if (p.ppid === tree[i]) tree.push(p.pid);
  let kib = 0;
  for (const pid of tree) {
    const m = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
    if (m) kib += Number(m[1]);
  }
  return { mib: kib / 1024, processes: tree.length };
}

let driver = null;
// Never leave a driver behind, even when a measurement fails.
process.on('exit', () => driver?.kill('SIGKILL'));
async function startDriver(env) {
  // BENCH_VERBOSE: the apps' own timings (OAUTH_DESK_LOG=debug) go to bench/out/app-stderr.log.
  const log = process.env.BENCH_VERBOSE ? openSync(join(ROOT, 'bench/out/app-stderr.log'), 'a') : 'ignore';
  driver = spawn(join(process.env.HOME, '.cargo/bin/tauri-driver'), ['--native-driver', '/usr/bin/WebKitWebDriver'], { env: process.env.BENCH_VERBOSE ? { ...env, OAUTH_DESK_LOG: 'debug' } : env, stdio: ['ignore', 'ignore', log] });
  for (let i = 0; i < 200; i++) { try { if ((await fetch('http://127.0.0.1:4444/status')).ok) return; } catch {} await sleep(50); }
  throw new Error('tauri-driver did not start');
}
/** Stops tauri-driver (SIGKILL if it lingers) and waits until port 4444 is free again. */
async function stopDriver() {
  if (!driver) return;
  const d = driver;
  driver = null;
  // tauri-driver may already have ended with its session.
  if (d.exitCode === null && d.signalCode === null) {
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    if ((await Promise.race([exited.then(() => 'exited'), sleep(3000)])) !== 'exited') {
      d.kill('SIGKILL');
      await Promise.race([exited, sleep(3000)]);
    }
  }
  for (let i = 0; i < 100; i++) {
    try { await fetch('http://127.0.0.1:4444/status', { signal: AbortSignal.timeout(500) }); } catch { return; }
    await sleep(100);
  }
  throw new Error('port 4444 is still taken');
}

function home(name) {
  const h = mkdtempSync(join(tmpdir(), `oauth-desk-bench-${name}-`));
  return { h, env: { ...process.env, HOME: h, XDG_DATA_HOME: join(h, 'data'), XDG_CONFIG_HOME: join(h, 'config'), XDG_CACHE_HOME: join(h, 'cache'), OAUTH_DESK_KEYRING_SERVICE: `bench-${name}-${process.pid}` } };
}

/** Launches an app through WebDriver; milliseconds until `selector` is on screen. */
async function launch(binary, selector) {
  const t0 = performance.now();
  const t0Epoch = performance.timeOrigin + t0;
  const browser = await remote({ hostname: '127.0.0.1', port: 4444, logLevel: 'error', capabilities: { browserName: 'wry', 'tauri:options': { application: binary }, 'wdio:enforceWebDriverClassic': true } });
  await browser.$(selector).waitForDisplayed({ timeout: 30000, interval: 10 });
  const ms = performance.now() - t0;
  // Where the time went: when the page began loading (wall clock, same machine), and how long
  // the page then took to its first screen (the bundle's mount, or a bare page's DOMContentLoaded).
  const page = await browser.execute(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const m = window.__oauthDeskMetrics ?? {};
    return { origin: performance.timeOrigin, dcl: nav ? nav.domContentLoadedEventEnd : null, load: nav ? nav.loadEventEnd : null, script: m.scriptStartMs ?? null, mounted: m.mountedMs ?? null };
  });
  const timeline = { navMs: page.origin - t0Epoch, scriptMs: page.script, screenMs: page.mounted ?? page.dcl, dclMs: page.dcl, loadMs: page.load };
  return { browser, ms, timeline };
}

async function startup() {
  const res = { desk: { ms: [], mib: [], nav: [], screen: [] }, hello: { ms: [], mib: [], nav: [], screen: [] } };
  // Two unmeasured rounds first, the same for both apps: the first launches in a fresh D-Bus
  // session also start its accessibility bus and registry. (Some later launches of either app
  // still wait about 500 ms before the page loads; launched without WebDriver they never do.)
  const WARMUP = 2;
  for (let i = -WARMUP; i < RUNS; i++) {
    for (const which of i % 2 ? ['hello', 'desk'] : ['desk', 'hello']) {
      const { env } = home(`${which}-${i}`);
      await startDriver(env);
      const [bin, sel, name] = which === 'desk' ? [join(REL, 'oauth-desk-app'), '[data-testid="first-run"]', 'oauth-desk-app'] : [join(REL, 'hello-tauri'), '#hello', 'hello-tauri'];
      const { browser, ms, timeline } = await launch(bin, sel);
      await sleep(3000); // idle
      if (i < 0) {
        await browser.deleteSession();
        await stopDriver();
        continue;
      }
      res[which].ms.push(ms);
      res[which].nav.push(timeline.navMs);
      res[which].screen.push(timeline.screenMs);
      if (process.env.BENCH_VERBOSE) console.error(new Date().toISOString(), which, Math.round(ms), 'ms: navigation at', Math.round(timeline.navMs), 'script at', timeline.scriptMs && Math.round(timeline.scriptMs), 'screen at', Math.round(timeline.screenMs), 'load at', Math.round(timeline.loadMs));
      res[which].mib.push(treePss(name).mib);
      await browser.deleteSession();
      await stopDriver();
    }
    console.error(i < 0 ? `warm-up round ${i + WARMUP + 1}/${WARMUP}` : `start-up run ${i + 1}/${RUNS}`);
  }
  return res;
}

async function startEmulator() {
  const child = spawn(join(REL, 'oauth-desk-emulator'), ['salesforce', '--accounts', String(ACCOUNTS)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise((ok) => createInterface({ input: child.stdout }).once('line', ok));
  return { child, url: line.split(' ')[1] };
}

async function rows(emulator) {
  const out = { firstRowsMs: [], firstPageMs: [], addedMib: [], loadMs: [], idleFrameMs: [], scrollFrameMs: [], scrollP95Ms: [], scrollLongFrames: [], scrolledPx: [] };
  for (let i = 0; i < Math.min(RUNS, 3); i++) {
    const { env } = home(`rows-${i}`);
    // The CLI writes the same profile document the app reads, and the same keyring entries.
    const cli = (args, input) => execFileSync(join(REL, 'oauth-desk'), args, { env: { ...env, OAUTH_DESK_DATA_DIR: join(env.XDG_DATA_HOME, 'dev.oauthdesk.app') }, input });
    cli(['profile', 'add', 'bench', '--kind', 'salesforce', '--login', emulator.url, '--client-id', '3MVG9EMULATOR.consumer.key', '--username', 'ada@example.com', '--client-secret-stdin'], 'EMULATOR0CONSUMER0SECRET\n');
    cli(['login', 'password', 'bench', '--password-stdin', '--security-token-stdin'], 'Passw0rd!\nSECTOKEN42\n');
    await startDriver(env);
    const { browser } = await launch(join(REL, 'oauth-desk-app'), '[data-testid="profile-bench"]');
    await browser.$('[data-testid="profile-bench"]').click();
    await browser.$('[data-testid="tab-query"]').click();
    const soql = await browser.$('[data-testid="soql"]');
    await soql.clearValue();
    await soql.setValue('SELECT Id, Name, Industry, AnnualRevenue, NumberOfEmployees, BillingCity, BillingCountry, Owner.Name FROM Account');
    await sleep(1500);
    const before = treePss('oauth-desk-app').mib;
    const t0 = performance.now();
    await browser.$('[data-testid="run-query"]').click();
    try {
      await browser.waitUntil(async () => /100000 rows/.test(await browser.$('[data-testid="query-summary"]').getText()), { timeout: 120000, interval: 20 });
    } catch (e) {
      const seen = await browser.execute(() => document.querySelector('main')?.innerText ?? '');
      execFileSync('import', ['-display', process.env.DISPLAY, '-window', 'root', join(ROOT, 'bench/out/app-failure.png')]);
      throw new Error(`the query did not finish: ${seen.slice(0, 800)}`);
    }
    out.loadMs.push(performance.now() - t0);
    const m = await browser.execute(() => window.__oauthDeskMetrics);
    out.firstRowsMs.push(m.firstRowsMs);
    out.firstPageMs.push(m.firstPageMs);
    await sleep(3000);
    out.addedMib.push(treePss('oauth-desk-app').mib - before);
    // Scrolling: the table's scroll box moves 2000 px every animation frame for 3 s (about
    // 60 rows per frame, from the top towards the last row); the floor is the same loop of
    // frames with nothing scrolling, in the same window.
    const frames = (scroll) => browser.executeAsync((scroll, done) => {
      const box = document.querySelector('[data-testid="result-scroll"]');
      box.scrollTop = 0;
      const times = [];
      let last = performance.now();
      const end = last + 3000;
      const step = (now) => {
        times.push(now - last);
        last = now;
        if (scroll) box.scrollTop += 2000;
        if (now < end) requestAnimationFrame(step); else done({ times, rows: document.querySelectorAll('[data-testid="result-row"]').length, top: box.scrollTop });
      };
      requestAnimationFrame((now) => { last = now; requestAnimationFrame(step); });
    }, scroll);
    const idle = await frames(false);
    const moving = await frames(true);
    out.idleFrameMs.push(median(idle.times));
    out.scrollFrameMs.push(median(moving.times));
    const sorted = [...moving.times].sort((a, b) => a - b);
    out.scrollP95Ms.push(sorted[Math.floor(sorted.length * 0.95)]);
    out.scrollLongFrames.push(moving.times.filter((t) => t > 50).length / moving.times.length);
    out.scrolledPx.push(moving.top);
    await browser.deleteSession();
    await stopDriver();
    console.error(`rows run ${i + 1}`);
  }
  return out;
}

const s = process.env.BENCH_SKIP_STARTUP ? { desk: { ms: [1], mib: [1], nav: [1], screen: [1] }, hello: { ms: [1], mib: [1], nav: [1], screen: [1] } } : await startup();
const emulator = await startEmulator();
let r;
try { r = process.env.BENCH_ONLY_STARTUP ? null : await rows(emulator); } finally { emulator.child.kill(); }
const f = (x, d = 0) => x.toFixed(d);
const lines = [
  `Median of ${RUNS} runs each, alternating; Xvfb, 2 cores; memory is PSS of the app and all its WebKit processes after 3 s idle.`,
  '',
  '| measure | OAuth Desk | bare Tauri app | ratio |',
  '|---|---:|---:|---:|',
  `| start to interactive window (WebDriver session to first screen) | ${f(median(s.desk.ms))} ms | ${f(median(s.hello.ms))} ms | ${f(median(s.desk.ms) / median(s.hello.ms), 2)} |`,
  `| of which: WebDriver session to the page's navigation start (process, GTK, Tauri, window) | ${f(median(s.desk.nav))} ms | ${f(median(s.hello.nav))} ms | ${f(median(s.desk.nav) / median(s.hello.nav), 2)} |`,
  `| of which: navigation start to first screen (OAuth Desk: mounted; bare: DOMContentLoaded) | ${f(median(s.desk.screen))} ms | ${f(median(s.hello.screen))} ms | |`,
  `| idle memory (PSS, all processes) | ${f(median(s.desk.mib))} MiB | ${f(median(s.hello.mib))} MiB | ${f(median(s.desk.mib) / median(s.hello.mib), 2)} |`,
];
if (r) lines.push(
  '',
  `100,000 rows (8 columns), pages of 2000, median of ${r.loadMs.length} runs:`,
  '',
  '| measure | value |',
  '|---|---:|',
  `| first page's arrival to its rows on screen | ${f(median(r.firstRowsMs), 1)} ms |`,
  `| Run pressed to first page arrived | ${f(median(r.firstPageMs))} ms |`,
  `| all 100,000 rows loaded | ${f(median(r.loadMs))} ms |`,
  `| memory the rows add (PSS) | ${f(median(r.addedMib))} MiB |`,
  `| frame time scrolling 100,000 rows, 2000 px per frame for 3 s (median / p95) | ${f(median(r.scrollFrameMs), 1)} / ${f(median(r.scrollP95Ms), 1)} ms |`,
  `| frame time, same window not scrolling (the floor) | ${f(median(r.idleFrameMs), 1)} ms |`,
  `| frames over 50 ms while scrolling | ${f(100 * median(r.scrollLongFrames), 1)} % |`,
);
const report = lines.join('\n');
console.log(report);
mkdirSync(join(ROOT, 'bench/out'), { recursive: true });
writeFileSync(join(ROOT, 'bench/out/app.md'), report + '\n');
writeFileSync(join(ROOT, 'bench/out/app.json'), JSON.stringify({ startup: s, rows: r }, null, 2));
process.exit(0);
