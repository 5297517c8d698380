import { addUnknownPasskey, addVirtualAuthenticator, crossOrigin, e2eApp, expect, latchkey } from './fixtures';
import {
  authenticateTransaction, flexScenarios, flexTest as test, latchkeyFlexJs, newUser, openFlexPage, passageFlexJs,
  registerTransaction, removeWebAuthn, verified, type FlexSdk,
} from './flex-sdks';
import type { Page } from '@playwright/test';

// @latchkey/flex-js (sdk/flex-js, built by `make sdk`) through the scenarios
// passage-flex-js runs (passage-flex-js.spec.ts): the same page, with only its
// import line and its constructor's `baseUrl` changed. Then again without the
// browser's WebAuthn JSON helpers, then what only Latchkey's SDK does.

flexScenarios(latchkeyFlexJs);

/** Where a browser lacks `PublicKeyCredential.parse*FromJSON` and `toJSON()` (Safari before 18.4, say). */
function removeWebAuthnJson() {
  const credential = PublicKeyCredential as any;
  delete credential.parseCreationOptionsFromJSON;
  delete credential.parseRequestOptionsFromJSON;
  delete credential.prototype.toJSON;
}

flexScenarios({ ...latchkeyFlexJs, name: '@latchkey/flex-js without parse*FromJSON and toJSON', init: removeWebAuthnJson });

const app = () => e2eApp('passage-flex-js');
const apiPath = (url: string) => new URL(url).pathname.replace(`/v1/apps/${app().app_id}`, '');

test('without parse*FromJSON and toJSON: they are really gone, and the JSON sent is the browser\'s own shape', async ({ page, openFlex }) => {
  await addVirtualAuthenticator(page);
  const flex = await openFlex({ ...latchkeyFlexJs, init: removeWebAuthnJson }, app().app_id);
  expect(await page.evaluate(() => [
    typeof (PublicKeyCredential as any).parseCreationOptionsFromJSON,
    typeof (PublicKeyCredential as any).parseRequestOptionsFromJSON,
    typeof (PublicKeyCredential.prototype as any).toJSON,
  ])).toEqual(['undefined', 'undefined', 'undefined']);

  const user = newUser('fallback');
  await flex.ok('register', await registerTransaction(app(), user));
  await flex.ok('authenticate');
  const [, registered, , signedIn] = flex.api.map((r) => r.postDataJSON().handshake_response);
  expect(Object.keys(registered).sort()).toEqual(
    ['authenticatorAttachment', 'clientExtensionResults', 'id', 'rawId', 'response', 'type']);
  expect(Object.keys(registered.response).sort()).toEqual(
    ['attestationObject', 'authenticatorData', 'clientDataJSON', 'publicKey', 'publicKeyAlgorithm', 'transports']);
  expect(registered.response.transports).toEqual(['internal']);
  expect(registered.clientExtensionResults).toEqual({ credProps: { rk: true } });
  expect(Object.keys(signedIn.response).sort()).toEqual(['authenticatorData', 'clientDataJSON', 'signature', 'userHandle']);
  for (const field of [registered.rawId, registered.response.attestationObject, signedIn.response.signature]) {
    expect(field).toMatch(/^[A-Za-z0-9_-]+$/);
  }
});

test('the requests are the wire\'s: four POSTs of JSON to Latchkey, no header of Passage\'s', async ({ page, openFlex }) => {
  await addVirtualAuthenticator(page);
  const flex = await openFlex(latchkeyFlexJs, app().app_id);
  const user = newUser('wire');
  const registerId = await registerTransaction(app(), user);
  await flex.ok('register', registerId, { authenticatorAttachment: 'any' });
  const signInId = await authenticateTransaction(app(), user);
  await flex.ok('authenticate', { transactionId: signInId });
  await flex.ok('authenticate');

  const sent = flex.api.map((r) => ({ method: r.method(), path: apiPath(r.url()), body: r.postDataJSON() }));
  expect(sent.map(({ method, path }) => `${method} ${path}`)).toEqual([
    'POST /register/transactions/webauthn/start',
    'POST /register/transactions/webauthn/finish',
    'POST /authenticate/transactions/webauthn/start',
    'POST /authenticate/transactions/webauthn/finish',
    'POST /authenticate/transactions/webauthn/start',
    'POST /authenticate/transactions/webauthn/finish',
  ]);
  expect(sent[0].body).toEqual({ transaction_id: registerId, authenticator_attachment: 'any' });
  expect(Object.keys(sent[1].body).sort()).toEqual(['handshake_id', 'handshake_response', 'transaction_id']);
  expect(sent[1].body.transaction_id).toBe(registerId);
  expect(sent[2].body).toEqual({ transaction_id: signInId });
  expect(sent[3].body.transaction_id).toBe(signInId);
  // Discoverable: no transaction, in the start or the finish.
  expect(sent[4].body).toEqual({});
  expect(Object.keys(sent[5].body).sort()).toEqual(['handshake_id', 'handshake_response']);
  for (const request of flex.api) {
    const headers = await request.allHeaders();
    expect(headers['content-type']).toBe('application/json');
    expect(Object.keys(headers).filter((h) => h.startsWith('passage'))).toEqual([]);
  }
});

test('register asks for a platform authenticator unless told otherwise, as passage-flex-js', async ({ page, openFlex }) => {
  await addVirtualAuthenticator(page);
  const flex = await openFlex(latchkeyFlexJs, app().app_id);
  await flex.ok('register', await registerTransaction(app(), newUser('platform')));
  expect(flex.api[0].postDataJSON().authenticator_attachment).toBe('platform');
});

test('baseUrl: Latchkey\'s URL, with or without a trailing /, /v1 or /v1/apps/{id}; without one, the page\'s origin', async ({ openFlex }) => {
  const flex = await openFlex(latchkeyFlexJs, app().app_id);
  const id = app().app_id;
  const forms = [latchkey, `${latchkey}/`, `${latchkey}/v1`, `${latchkey}/v1/`, `${latchkey}/v1/apps/${id}`, `${latchkey}/v1/apps/${id}/`, undefined];
  for (const baseUrl of forms) {
    const refused = await flex.page.evaluate(([appId, baseUrl]) =>
      new (window as any).PassageFlex(appId, baseUrl === null ? undefined : { baseUrl }).passkey
        .register('A'.repeat(43)).catch((e: any) => e.code), [id, baseUrl ?? null] as const);
    expect(refused, String(baseUrl)).toBe('transaction_not_found');
  }
  expect(flex.api.map((r) => r.url())).toEqual(
    forms.map(() => `${latchkey}/v1/apps/${id}/register/transactions/webauthn/start`));
});

test('an API error keeps Latchkey\'s code and message, and its HTTP status', async ({ openFlex }) => {
  const flex = await openFlex(latchkeyFlexJs, app().app_id);
  const refused = await flex.page.evaluate(async () => {
    const error = await (window as any).flex.passkey.register('A'.repeat(43)).catch((e: any) => e);
    // The package's own export, through the page's import map (Function: left alone by the test's compiler).
    const { PassageError } = await new Function("return import('@latchkey/flex-js')")();
    return { isPassageError: error instanceof PassageError, isError: error instanceof Error, ...error, message: error.message };
  });
  expect(refused).toMatchObject({
    isPassageError: true, isError: true, name: 'PassageError',
    statusCode: 404, statusText: 'Not Found', code: 'transaction_not_found',
  });
  expect(refused.message.length).toBeGreaterThan(0);
});

test('without WebAuthn nothing is sent: the transaction stays unused', async ({ page, openFlex }) => {
  const flex = await openFlex(latchkeyFlexJs, app().app_id, { init: removeWebAuthn });
  const user = newUser('no-webauthn');
  const transaction = await registerTransaction(app(), user);
  const refused = await flex.call('register', transaction);
  expect(refused.error).toMatchObject({ statusCode: 707, statusText: 'This browser does not support WebAuthn' });
  expect(flex.api).toEqual([]);

  // The same transaction, in a page that has WebAuthn.
  const second = await page.context().newPage();
  await addVirtualAuthenticator(second);
  const withWebAuthn = await openFlexPage(second, latchkeyFlexJs, app().app_id);
  expect(await verified(app(), await withWebAuthn.ok('register', transaction))).toBe(user);
  expect(withWebAuthn.foreign).toEqual([]);
});

test('autofill works after another ceremony on the same page (passage-flex-js\'s stays aborted until a reload)', async ({ page, openFlex }) => {
  await addVirtualAuthenticator(page);
  for (const [sdk, works] of [[latchkeyFlexJs, true], [passageFlexJs, false]] as [FlexSdk, boolean][]) {
    const flex = await openFlex(sdk, app().app_id);
    const user = newUser('autofill-after');
    await flex.ok('register', await registerTransaction(app(), user));

    const autofill = await flex.call('authenticate', { isConditionalMediation: true });
    if (works) {
      expect(await verified(app(), autofill.value)).toBe(user);
    } else {
      // Its register() aborted the AbortController it keeps on globalThis and never made a new one.
      expect(autofill.error).toMatchObject({ name: 'PassageError', statusCode: 702 });
      expect(autofill.error!.statusText).toMatch(/abort/i);
    }
  }
});

test('a new autofill sign-in replaces the one waiting', async ({ openFlex }) => {
  const flex = await openFlex(latchkeyFlexJs, app().app_id);
  const first = await flex.start('authenticate', { isConditionalMediation: true });
  await expect.poll(async () => (await flex.api[0]?.response())?.status()).toBe(200);
  await flex.start('authenticate', { isConditionalMediation: true });
  expect((await first()).error).toMatchObject({ name: 'PassageError', statusCode: 702, cause: 'AbortError' });
});

test('the can-* checks answer as passage-flex-js, but for autofill, which Chromium offers and Passage misreads', async ({ browser }) => {
  const answers = async (sdk: FlexSdk, setUp: 'authenticator' | 'none' | 'no WebAuthn') => {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (setUp === 'authenticator') await addVirtualAuthenticator(page);
    const flex = await openFlexPage(page, sdk, app().app_id, setUp === 'no WebAuthn' ? { init: removeWebAuthn } : {});
    const result = {
      register: await flex.ok('canRegisterPasskey'),
      authenticate: await flex.ok('canAuthenticateWithPasskey'),
      autofill: await flex.ok('canUseConditionalMediation'),
      browser: await page.evaluate(() => (window as any).PublicKeyCredential?.isConditionalMediationAvailable?.() ?? false),
    };
    expect(flex.foreign).toEqual([]);
    await context.close();
    return result;
  };
  for (const setUp of ['authenticator', 'none', 'no WebAuthn'] as const) {
    const passage = await answers(passageFlexJs, setUp);
    const ours = await answers(latchkeyFlexJs, setUp);
    const withWebAuthn = setUp !== 'no WebAuthn';
    expect(passage, setUp).toEqual({ register: withWebAuthn, authenticate: withWebAuthn, autofill: false, browser: withWebAuthn });
    // passage-flex-js reads getClientCapabilities().conditionalMediation, a name
    // Chromium does not use (it says conditionalGet): so false, though autofill
    // works there (the scenarios sign in with it). Latchkey's answers what the browser says.
    expect(ours, setUp).toEqual({ ...passage, autofill: withWebAuthn });
  }
});

/**
 * Lets a page of the cross origin reach Latchkey on localhost. The test serves
 * that page itself (no server on the port), so Chromium gives it no address,
 * takes it for a public site, and asks before it reaches a loopback address
 * (Local Network Access): granted here, as a user would.
 */
async function allowLocalNetwork(page: Page) {
  await page.context().grantPermissions(['local-network-access'], { origin: crossOrigin });
}

test('a page on another of the app\'s origins calls Latchkey across origins', async ({ page, openFlex }) => {
  const crossApp = e2eApp('cross-origin');
  await addVirtualAuthenticator(page);
  await allowLocalNetwork(page);
  const flex = await openFlex(latchkeyFlexJs, crossApp.app_id, { origin: crossOrigin });
  expect(new URL(page.url()).origin).toBe(crossOrigin);
  const user = newUser('cross');
  expect(await verified(crossApp, await flex.ok('register', await registerTransaction(crossApp, user)))).toBe(user);
  expect(await verified(crossApp, await flex.ok('authenticate'))).toBe(user);
  expect(flex.api.every((r) => r.url().startsWith(`${latchkey}/v1/apps/${crossApp.app_id}/`))).toBe(true);
});

test('a page on an origin the app does not list gets no answer: CORS refuses it', async ({ page, openFlex }) => {
  const otherApp = e2eApp('other-origin');
  await addVirtualAuthenticator(page);
  await allowLocalNetwork(page);
  const console: string[] = [];
  page.on('console', (message) => console.push(message.text()));
  const flex = await openFlex(latchkeyFlexJs, otherApp.app_id, { origin: crossOrigin });
  const refused = await flex.call('register', await registerTransaction(otherApp, newUser('elsewhere')));
  expect(refused.error).toMatchObject({ name: 'FetchError', cause: 'TypeError' });
  expect(refused.error!.message).toContain(`${latchkey}/v1/apps/${otherApp.app_id}/register/transactions/webauthn/start`);
  // Playwright answers preflights itself while it routes a page's requests
  // (cors.spec.ts sees Latchkey's, with a real server): here the browser
  // refuses the answer itself, which names no origin for this page.
  expect(console.join('\n')).toContain("blocked by CORS policy: No 'Access-Control-Allow-Origin' header");
});

/** Records the page's Signal API calls in `window.signals` (still passing each to the browser). */
function recordSignals() {
  const calls: Array<{ name: string; arg: unknown }> = [];
  (window as any).signals = calls;
  for (const name of ['signalUnknownCredential', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails']) {
    const original = (PublicKeyCredential as any)[name];
    Object.defineProperty(PublicKeyCredential, name, {
      configurable: true,
      value: (arg: unknown) => {
        calls.push({ name, arg: JSON.parse(JSON.stringify(arg)) });
        return original.call(PublicKeyCredential, arg);
      },
    });
  }
}

test('the Signal API: a sign-in tells the password manager the user\'s passkeys, and an unknown passkey is named and dropped', async ({ page, openFlex }) => {
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const flex = await openFlex(latchkeyFlexJs, app().app_id, { init: recordSignals });
  const user = newUser('signals');
  await flex.ok('register', await registerTransaction(app(), user));
  await flex.ok('authenticate');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  const id = Buffer.from(credentials[0].credentialId, 'base64').toString('base64url');
  const userId = Buffer.from(credentials[0].userHandle ?? '', 'base64').toString('base64url');
  expect(await page.evaluate(() => (window as any).signals)).toEqual([
    { name: 'signalAllAcceptedCredentials', arg: { rpId: 'localhost', userId, allAcceptedCredentialIds: [id] } },
    { name: 'signalCurrentUserDetails', arg: { rpId: 'localhost', userId, name: `${user}@example.com`, displayName: `${user}@example.com` } },
  ]);

  // Only a passkey Latchkey never saw left in the authenticator.
  await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credentials[0].credentialId });
  const unknown = await addUnknownPasskey(cdp, authenticatorId);
  const refused = await page.evaluate(async () => {
    (window as any).signals.length = 0;
    const error = await (window as any).flex.passkey.authenticate().catch((e: any) => e);
    return { ...error, message: error.message, signals: (window as any).signals };
  });
  expect(refused).toMatchObject({
    name: 'PassageError', statusCode: 401, code: 'credential_not_found', credentialId: unknown,
    signals: [{ name: 'signalUnknownCredential', arg: { rpId: 'localhost', credentialId: unknown } }],
  });
});

test('an app\'s authenticator policy refuses a deny-listed authenticator with a clear code, and stores nothing', async ({ page, openFlex }) => {
  await addVirtualAuthenticator(page);
  const denying = e2eApp('aaguid-deny');
  const flex = await openFlex(latchkeyFlexJs, denying.app_id);
  const user = newUser('denied');
  const transaction = await registerTransaction(denying, user);
  const refused = await page.evaluate(async (id) => {
    const error = await (window as any).flex.passkey.register(id).catch((e: any) => e);
    return { ...error, message: error.message };
  }, transaction);
  expect(refused).toMatchObject({ name: 'PassageError', statusCode: 403, code: 'authenticator_not_allowed' });
  expect(refused.message).toContain('does not accept passkeys from this authenticator');

  // The user Latchkey made for the transaction has no passkey.
  const headers = { authorization: `Bearer ${denying.api_key}` };
  const base = `${latchkey}/v1/apps/${denying.app_id}`;
  const { users } = await (await fetch(`${base}/users?identifier=${user}`, { headers })).json();
  const { devices } = await (await fetch(`${base}/users/${users[0].id}/devices`, { headers })).json();
  expect(devices).toEqual([]);
});
