// What a browser loads per page of the built-in site, and how long the sign-in
// page's passkey button takes to become usable on a slow phone (issue 15).
//
//   node end2end/bench/pages.mjs --out FILE --site LABEL LATCHKEY SITE_ROOT [--site …]
//
// For each site (a release `latchkey` binary and the site root it serves) it
// starts the server on a fresh SQLite file (ports 3300–3399), makes a user
// through the sign-up form and a console operator through a CLI invite, then
// in Chromium (CHROMIUM, default /usr/bin/chromium), each page in a fresh
// context (no cache), until no request for 2 s: every JS, WASM and CSS
// response (and anything under /pkg/), its decoded bytes and those bytes
// brotli-compressed at quality 11, however the server encoded them; and the
// number of <leptos-island> elements.
// Then the time to a usable "Choose a passkey" button on /signin under 4× CPU
// slow-down and DevTools' Slow 4G, RUNS times per site, the sites in turn.
// Writes JSON to FILE for `latchkey-bench --pages` (bench/src/weight.rs reads
// it; the report takes the medians and marks the targets).
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { chromium } from '@playwright/test';

const RUNS = 5;
const FIRST_PORT = 3300;
/** DevTools' "Slow 4G" preset (Chromium's front_end/core/sdk/NetworkManager.ts). */
const SLOW_4G = {
  offline: false,
  latency: 562.5,
  downloadThroughput: (1.6 * 1000 * 1000 / 8) * 0.9,
  uploadThroughput: (750 * 1000 / 8) * 0.9,
};
const CPU_SLOWDOWN = 4;
const PASSWORD = 'correct horse battery staple';
/** The pages, and who is signed in when each loads. */
const PAGES = [
  { path: '/' },
  { path: '/signup' },
  { path: '/signin' },
  { path: '/account', as: 'user' },
  { path: '/console/signin' },
  { path: '/console/apps', as: 'operator' },
];
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function parseArgs(argv) {
  const sites = [];
  let out;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i];
    else if (argv[i] === '--site') sites.push({ label: argv[++i], latchkey: argv[++i], siteRoot: argv[++i] });
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!out || sites.length === 0 || sites.some((s) => !s.siteRoot)) {
    throw new Error('usage: pages.mjs --out FILE --site LABEL LATCHKEY SITE_ROOT [--site …]');
  }
  return { out, sites };
}

/** `latchkey serve` on a fresh SQLite file; resolves once /readyz answers. */
async function startServer(site, port) {
  const dir = mkdtempSync(join(tmpdir(), `latchkey-pages-${site.label}-`));
  const base = `http://localhost:${port}`;
  const env = { ...process.env, DATABASE_URL: `sqlite://${dir}/pages.db`, LATCHKEY_PUBLIC_URL: base, RUST_LOG: 'warn' };
  const log = createWriteStream(join(dir, 'server.log'));
  // Loopback is a trusted proxy, so the sign-up can name its own client
  // address (X-Forwarded-For) and keep out of the per-IP password budget.
  const child = spawn(site.latchkey, ['serve', '--listen', `localhost:${port}`, '--public-url', base,
    '--site-root', site.siteRoot, '--trusted-proxy', '127.0.0.1', '--trusted-proxy', '::1'],
  { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  for (let waited = 0; ; waited += 100) {
    if (exited !== null) throw new Error(`${site.latchkey} exited (${exited}); see ${dir}/server.log`);
    if (waited > 60_000) throw new Error(`${base}/readyz did not answer in 60 s; see ${dir}/server.log`);
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const cli = (...args) => execFileSync(site.latchkey, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const stop = () => { child.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); };
  return { base, cli, stop };
}

/** Resolves once no request has been in flight for `quietMs` (after the load event). */
async function settle(page, quietMs = 2_000, timeoutMs = 30_000) {
  let inFlight = 0;
  let last = Date.now();
  const start = () => { inFlight++; last = Date.now(); };
  const end = () => { inFlight = Math.max(0, inFlight - 1); last = Date.now(); };
  page.on('request', start);
  page.on('requestfinished', end);
  page.on('requestfailed', end);
  try {
    await page.waitForLoadState('networkidle', { timeout: timeoutMs });
    const deadline = Date.now() + timeoutMs;
    while (inFlight > 0 || Date.now() - last < quietMs) {
      if (Date.now() > deadline) throw new Error(`${page.url()}: still loading after ${timeoutMs} ms`);
      await page.waitForTimeout(100);
    }
  } finally {
    page.off('request', start);
    page.off('requestfinished', end);
    page.off('requestfailed', end);
  }
}

/** A context with a CDP virtual platform authenticator on its page, as the e2e fixtures add. */
async function newPage(browser, options = {}, presence = true) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: presence,
    },
  });
  return { context, page, cdp };
}

function randomIp() {
  return `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 250) + 1).join('.')}`;
}

/** A user made through the sign-up form; the signed-in storage state. */
async function signUp(browser, base) {
  const { context, page } = await newPage(browser, { baseURL: base, extraHTTPHeaders: { 'x-forwarded-for': randomIp() } });
  try {
    const email = `bench-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    await page.goto('/signup');
    await settle(page); // hydrated, if the page hydrates
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Make account' }).click();
    await page.waitForURL(/\/account$/, { timeout: 30_000 });
    await page.getByTestId('account-email').filter({ hasText: email }).waitFor({ timeout: 30_000 });
    return await context.storageState();
  } finally {
    await context.close();
  }
}

/** A console operator invited with the CLI who registers a passkey; the signed-in storage state. */
async function signInOperator(browser, server) {
  const { url } = JSON.parse(server.cli('admin', 'invite', '--name', 'Bench', '--json'));
  const { context, page } = await newPage(browser, { baseURL: server.base });
  try {
    await page.goto(url);
    await settle(page);
    await page.getByTestId('invite-register').click();
    await page.waitForURL(/\/console$/, { timeout: 30_000 });
    await page.getByTestId('operator-name').waitFor({ timeout: 30_000 });
    return await context.storageState();
  } finally {
    await context.close();
  }
}

/** What kind of asset a response is, by its URL's path; null for the others (HTML, images, JSON). */
function kindOf(url) {
  const path = new URL(url).pathname;
  if (/\.m?js$/.test(path)) return 'js';
  if (path.endsWith('.wasm')) return 'wasm';
  if (path.endsWith('.css')) return 'css';
  if (path.includes('/pkg/')) return 'other';
  return null;
}

/** One page loaded in a fresh context: its JS, WASM and CSS, raw and brotli, and its islands. */
async function weigh(browser, base, { path, as }, states) {
  const { context, page } = await newPage(browser, { baseURL: base, storageState: as ? states[as] : undefined });
  try {
    const files = [];
    page.on('response', (response) => {
      const kind = kindOf(response.url());
      if (!kind || response.status() !== 200) return;
      files.push(Promise.all([response.body(), response.request().sizes()]).then(([body, sizes]) => ({
        url: new URL(response.url()).pathname,
        kind,
        // How the server sent it, and the bytes of its body on the wire.
        encoding: response.headers()['content-encoding'] ?? null,
        transferred: sizes.responseBodySize,
        raw: body.length,
        brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      })));
    });
    await page.goto(path);
    await settle(page);
    const finalPath = new URL(page.url()).pathname;
    if (finalPath !== path) throw new Error(`${path} ended on ${finalPath} (signed in as ${as ?? 'nobody'})`);
    const islands = await page.locator('leptos-island').count();
    const loaded = await Promise.all(files);
    const kinds = {};
    for (const kind of ['js', 'wasm', 'css', 'other']) {
      const of = loaded.filter((f) => f.kind === kind);
      kinds[kind] = { raw: of.reduce((s, f) => s + f.raw, 0), brotli: of.reduce((s, f) => s + f.brotli, 0) };
    }
    return { path, signed_in: as ?? null, islands, kinds, files: loaded };
  } finally {
    await context.close();
  }
}

/** Milliseconds from navigation to an enabled "Choose a passkey" button, throttled, in a fresh context. */
async function timeToUsable(browser, base) {
  // No presence: the autofill request must not answer (there is nothing to pick anyway).
  const { context, page, cdp } = await newPage(browser, { baseURL: base }, false);
  try {
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', SLOW_4G);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_SLOWDOWN });
    const start = performance.now();
    await page.goto('/signin', { waitUntil: 'commit', timeout: 60_000 });
    await page.waitForFunction(() => [...document.querySelectorAll('button')]
      .some((b) => b.textContent.includes('Choose a passkey') && !b.disabled), null, { polling: 50, timeout: 60_000 });
    return Math.round(performance.now() - start);
  } finally {
    await context.close();
  }
}

async function main() {
  const { out, sites } = parseArgs(process.argv.slice(2));
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  const browser = await chromium.launch({ executablePath, args: LAUNCH_ARGS });
  const servers = [];
  try {
    const results = [];
    for (const [i, site] of sites.entries()) {
      const server = await startServer(site, FIRST_PORT + i);
      servers.push(server);
      console.error(`==> pages of ${site.label} (${server.base})`);
      const states = { user: await signUp(browser, server.base), operator: await signInOperator(browser, server) };
      const pages = [];
      for (const page of PAGES) {
        const weighed = await weigh(browser, server.base, page, states);
        const k = weighed.kinds;
        console.error(`    ${page.path}: js ${k.js.brotli} B, wasm ${k.wasm.brotli} B, css ${k.css.brotli} B brotli; ${weighed.islands} islands`);
        pages.push(weighed);
      }
      results.push({ label: site.label, latchkey: site.latchkey, site_root: site.siteRoot, pages, time_to_usable_ms: [] });
    }
    // The sites in turn, so a slow moment of the machine falls on each alike.
    for (let run = 0; run < RUNS; run++) {
      for (const [i, result] of results.entries()) {
        const ms = await timeToUsable(browser, servers[i].base);
        console.error(`==> time to a usable passkey button, ${result.label}, run ${run + 1}: ${ms} ms`);
        result.time_to_usable_ms.push(ms);
      }
    }
    const report = {
      chromium: browser.version(),
      cpu_slowdown: CPU_SLOWDOWN,
      network: SLOW_4G,
      sites: results,
    };
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    console.error(`==> wrote ${out}`);
  } finally {
    for (const server of servers) server.stop();
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
