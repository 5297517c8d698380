import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import {
  test, expect, addVirtualAuthenticator, crossOrigin, crossOriginPort, e2eApp, latchkey, manage,
} from './fixtures';
import type { CDPSession } from '@playwright/test';

// CORS as a browser does it: a page served by a real server on another port
// (another origin) calls Latchkey's client API with fetch. Its JSON POSTs
// need a preflight, which Latchkey passes for the app's own origins only.

const page_html = `<!doctype html><html><head><meta charset="utf-8"><title>An app elsewhere</title>
<script>
  async function call(appId, path, body) {
    const response = await fetch('${latchkey}/v1/apps/' + appId + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(response.status + ' ' + answer.code);
    return answer;
  }
  /** Adds a passkey with a register transaction; returns the nonce. */
  window.register = async (appId, transactionId) => {
    const start = await call(appId, '/register/transactions/webauthn/start', { transaction_id: transactionId });
    const credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(start.handshake.challenge.publicKey),
    });
    const finish = await call(appId, '/register/transactions/webauthn/finish', {
      transaction_id: transactionId, handshake_id: start.handshake.id, handshake_response: credential.toJSON(),
    });
    return finish.nonce;
  };
  /** Signs in with a discoverable passkey; returns the nonce. */
  window.signIn = async (appId) => {
    const start = await call(appId, '/authenticate/transactions/webauthn/start', {});
    const credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(start.handshake.challenge.publicKey),
    });
    const finish = await call(appId, '/authenticate/transactions/webauthn/finish', {
      handshake_id: start.handshake.id, handshake_response: credential.toJSON(),
    });
    return finish.nonce;
  };
  /** What fetch does for this call: its answer, or the error it rejects with. */
  window.attempt = (appId, path, body) =>
    call(appId, path, body).then((answer) => ({ answer }), (e) => ({ error: e.name + ': ' + e.message }));
</script></head><body>elsewhere</body></html>`;

/** The preflights (OPTIONS) the browser sent, with the status Latchkey answered. */
async function watchPreflights(cdp: CDPSession) {
  const preflights = new Map<string, { url: string; status?: number }>();
  cdp.on('Network.requestWillBeSent', (event) => {
    if (event.request.method === 'OPTIONS') preflights.set(event.requestId, { url: event.request.url });
  });
  cdp.on('Network.responseReceived', (event) => {
    const preflight = preflights.get(event.requestId);
    if (preflight) preflight.status = event.response.status;
  });
  await cdp.send('Network.enable');
  return () => [...preflights.values()];
}

// Both tests use the one port of the cross origin: one after the other.
test.describe.configure({ mode: 'default' });

let server: Server;

test.beforeAll(async () => {
  server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(page_html);
  });
  server.listen(crossOriginPort, 'localhost');
  await once(server, 'listening');
});

test.afterAll(async () => {
  server.close();
  await once(server, 'close');
});

test('a page on one of the app\'s origins calls the API across origins: preflight, passkey, sign-in', async ({ page }) => {
  const app = e2eApp('cross-origin');
  const { cdp } = await addVirtualAuthenticator(page);
  const preflights = await watchPreflights(cdp);
  await page.goto(`${crossOrigin}/`);
  expect(new URL(page.url()).origin).not.toBe(latchkey);

  const { transaction_id } = await manage(app, '/transactions/register',
    { external_id: 'cors-user', passkey_display_name: 'cors@example.com' });
  const added = await page.evaluate(([appId, t]) => (window as any).register(appId, t), [app.app_id, transaction_id]);
  expect((await manage(app, '/authenticate/verify', { nonce: added })).external_id).toBe('cors-user');

  const signedIn = await page.evaluate((appId) => (window as any).signIn(appId), app.app_id);
  expect((await manage(app, '/authenticate/verify', { nonce: signedIn })).external_id).toBe('cors-user');

  // The browser asked first, for each of the four calls, and Latchkey said yes.
  await expect.poll(() => preflights().length).toBeGreaterThanOrEqual(4);
  for (const preflight of preflights()) {
    expect(preflight.url.startsWith(`${latchkey}/v1/apps/${app.app_id}/`), preflight.url).toBe(true);
    expect(preflight.status, preflight.url).toBe(204);
  }
});

test('a page on another origin is refused by the browser at the preflight', async ({ page }) => {
  const app = e2eApp('other-origin');
  const { cdp } = await addVirtualAuthenticator(page);
  const preflights = await watchPreflights(cdp);
  await page.goto(`${crossOrigin}/`);

  const { transaction_id } = await manage(app, '/transactions/register',
    { external_id: 'cors-user', passkey_display_name: 'cors@example.com' });
  const result = await page.evaluate(([appId, t]) => (window as any).attempt(
    appId, '/register/transactions/webauthn/start', { transaction_id: t }), [app.app_id, transaction_id]);

  expect(result.answer).toBeUndefined();
  expect(result.error).toMatch(/^TypeError: /);
  await expect.poll(() => preflights().map((p) => p.status)).toEqual([400]);
  expect(preflights()[0].url).toBe(`${latchkey}/v1/apps/${app.app_id}/register/transactions/webauthn/start`);
  // The same call from the app's backend (no browser, no CORS) still works: only the browser refused.
  const start = await fetch(`${latchkey}/v1/apps/${app.app_id}/register/transactions/webauthn/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ transaction_id }),
  });
  expect(start.status).toBe(200);
});
