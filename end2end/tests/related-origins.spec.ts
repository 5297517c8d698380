import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { addVirtualAuthenticator, e2eDatabase, expect, latchkey, manage, port, test as base, type E2EApp } from './fixtures';

// Related Origin Requests (WebAuthn L3 §5.11) in Chromium. The app's RP ID is
// `a.localhost`, its origin a page on http://a.localhost; its related origin
// a page on http://b.localhost (Chromium treats *.localhost as loopback, so
// secure, and resolves it itself). On b.localhost, before a ceremony for the
// RP ID a.localhost, Chromium fetches https://a.localhost/.well-known/webauthn:
// here a small HTTPS server with a self-signed certificate (made by the
// openssl CLI) that proxies Latchkey's GET /v1/apps/{app_id}/well-known-webauthn,
// reached through --host-resolver-rules (a.localhost:443 is that server) and
// --ignore-certificate-errors. c.localhost is listed nowhere.

const tlsPort = port + 5;
const pages = { a: port + 6, b: port + 7, c: port + 8 };
const origin = (host: keyof typeof pages) => `http://${host}.localhost:${pages[host]}`;

// The project's browser and flags (playwright.config.ts), and two more.
const test = base.extend<{}, {}>({
  launchOptions: [async ({ launchOptions }, use) => {
    await use({
      ...launchOptions,
      args: [
        ...(launchOptions.args ?? []),
        `--host-resolver-rules=MAP a.localhost:443 127.0.0.1:${tlsPort}`,
        '--ignore-certificate-errors',
      ],
    });
  }, { scope: 'worker' }],
});
// One app, one set of servers: the tests of this file run in order, in one worker.
test.describe.configure({ mode: 'serial' });

let app: E2EApp;
const servers: Server[] = [];
/** Every request the HTTPS server for a.localhost got: `GET /.well-known/webauthn`, we expect. */
const wellKnownRequests: string[] = [];

test.beforeAll(async () => {
  // The app, with Latchkey's CLI on the suite's database, as global-setup.ts makes the others.
  const cli = (args: string[]) => JSON.parse(execFileSync(process.env.LATCHKEY_BIN!, [...args, '--json'], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, DATABASE_URL: e2eDatabase },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString());
  app = cli(['apps', 'create', '--name', 'related-origins', '--origin', origin('a')]);
  const updated = cli(['apps', 'update', app.app_id, '--related-origin', origin('b')]);
  expect(updated.rp_id).toBe('a.localhost');
  expect(updated.related_origins).toEqual([origin('b')]);

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-ror-'));
  execSync(`openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=a.localhost -addext subjectAltName=DNS:a.localhost`,
    { cwd: dir, stdio: 'ignore' });
  const tls = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    async (request, response) => {
      wellKnownRequests.push(`${request.method} ${request.url}`);
      if (request.url !== '/.well-known/webauthn') {
        response.writeHead(404).end();
        return;
      }
      // What the RP ID's host does: serve Latchkey's document as it is.
      const upstream = await fetch(`${latchkey}/v1/apps/${app.app_id}/well-known-webauthn`);
      response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type')! });
      response.end(await upstream.text());
    });
  servers.push(tls.listen(tlsPort, '127.0.0.1'));
  for (const pagePort of Object.values(pages)) {
    const page = createHttpServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title><p>shop</p>');
    });
    servers.push(page.listen(pagePort, '127.0.0.1'));
  }
});

test.afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
});

/**
 * A ceremony from the page, as a site's own script runs it: Latchkey's client
 * API straight from the browser (CORS), the browser's WebAuthn in between.
 * Answers the finish's status and body, or the error the page met.
 */
function ceremony(page: Page, kind: 'register' | 'authenticate', transactionId: string) {
  return page.evaluate(async ({ base, kind, transactionId }) => {
    try {
      const post = (step: string, body: object) => fetch(`${base}/${kind}/transactions/webauthn/${step}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      const { handshake } = await (await post('start', { transaction_id: transactionId })).json();
      const options = handshake.challenge.publicKey;
      const credential = kind === 'register'
        ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
        : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      const finish = await post('finish', {
        transaction_id: transactionId, handshake_id: handshake.id, handshake_response: (credential as any).toJSON(),
      });
      return { status: finish.status, body: await finish.json() };
    } catch (error) {
      return { error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }, { base: `${latchkey}/v1/apps/${app.app_id}`, kind, transactionId });
}

async function signInTransaction(externalId: string): Promise<string> {
  return (await manage(app, '/transactions/authenticate', { external_id: externalId })).transaction_id;
}

test('a passkey registered on the app\'s origin signs in on its related origin, and not on another', async ({ page }) => {
  await addVirtualAuthenticator(page);
  const user = `ror-${Date.now()}`;

  // Registered on a.localhost, the RP ID's own origin: no related-origins check.
  await page.goto(`${origin('a')}/`);
  const { transaction_id: registerId } = await manage(app, '/transactions/register',
    { external_id: user, passkey_display_name: user });
  const registered = await ceremony(page, 'register', registerId);
  expect(registered).toMatchObject({ status: 200 });
  expect(wellKnownRequests).toEqual([]);

  // On b.localhost: Chromium asks https://a.localhost/.well-known/webauthn, finds
  // b listed, and signs in with the passkey of a.localhost.
  await page.goto(`${origin('b')}/`);
  const signedIn = await ceremony(page, 'authenticate', await signInTransaction(user));
  expect(signedIn).toMatchObject({ status: 200 });
  expect(wellKnownRequests).toContain('GET /.well-known/webauthn');
  const verified = await manage(app, '/authenticate/verify', { nonce: (signedIn as any).body.nonce });
  expect(verified.external_id).toBe(user);

  // On c.localhost: Latchkey's CORS refuses the page, and the browser itself
  // refuses the RP ID, even with options the page did not fetch itself.
  await page.goto(`${origin('c')}/`);
  expect(await ceremony(page, 'authenticate', await signInTransaction(user)))
    .toEqual({ error: 'TypeError: Failed to fetch' });
  const start = await fetch(`${latchkey}/v1/apps/${app.app_id}/authenticate/transactions/webauthn/start`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ transaction_id: await signInTransaction(user) }),
  });
  const options = (await start.json()).handshake.challenge.publicKey;
  const refused = await page.evaluate(async (options) => {
    try {
      await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      return 'signed in';
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }, options);
  expect(refused).toMatch(/^SecurityError: .*\.well-known\/webauthn.*no listed origin matched/);
});

test('the document Chromium read is Latchkey\'s, exactly', async ({ request }) => {
  const response = await request.get(`${latchkey}/v1/apps/${app.app_id}/well-known-webauthn`);
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toBe('application/json');
  expect(response.headers()['cache-control']).toBe('public, max-age=300');
  expect(await response.text()).toBe(JSON.stringify({ origins: [origin('a'), origin('b')] }));
});
