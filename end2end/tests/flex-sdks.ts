import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test as base, type Page, type Request } from '@playwright/test';
import { addVirtualAuthenticator, e2eApp, expect, latchkey, manage, passkeysOf, type E2EApp } from './fixtures';

// The browser Flex SDKs, Passage's and Latchkey's: one page, written as an
// app writes it, and one set of scenarios that runs for each SDK. The pages
// differ only in the import line and the constructor's options.

/** A browser Flex SDK as an app's page uses it. */
export interface FlexSdk {
  name: string;
  /** The page's import line, as the app's own page has it. */
  importLine: string;
  /** The constructor's arguments after the app id, as JavaScript ('' for none). */
  options: string;
  /** Hosts, besides Latchkey's and the page's, that the SDK calls: `serve` answers for them. */
  hosts: string[];
  /** Whether an API error keeps the body's `code` (passage-flex-js keeps only `error`, as `message`). */
  keepsCodes: boolean;
  /** Runs in the page before anything else (to take browser features away). */
  init?: () => void;
  /** Serves the SDK's modules under `${origin}/vendor/`, and answers for its hosts. */
  serve(page: Page, origin: string): Promise<void>;
}

const vendor = join(__dirname, '..', 'node_modules');

/** `@passageidentity/passage-flex-js` 1.0.2, unchanged: its calls to Passage's host go to Latchkey. */
export const passageFlexJs: FlexSdk = {
  name: 'passage-flex-js',
  importLine: "import { PassageFlex } from '@passageidentity/passage-flex-js';",
  options: '',
  hosts: ['auth.passage.id', 'us-central1-passage-prod.cloudfunctions.net'],
  keepsCodes: false,
  async serve(page, origin) {
    const modules = {
      'passage-flex-js.js': '@passageidentity/passage-flex-js/dist/index.js',
      'webauthnutils.js': '@passageidentity/webauthnutils/dist/index.js',
    };
    for (const [name, file] of Object.entries(modules)) {
      await page.route(`${origin}/vendor/${name}`, (route) =>
        route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(vendor, file), 'utf8') }));
    }
    // ua-parser-js 1.x is a UMD script: give it an ES module face.
    await page.route(`${origin}/vendor/ua-parser-js.js`, (route) => route.fulfill({
      contentType: 'text/javascript',
      body: `${readFileSync(join(vendor, 'ua-parser-js/src/ua-parser.js'), 'utf8')}\nexport default window.UAParser;`,
    }));
    await page.route('https://auth.passage.id/**', async (route) => {
      const url = route.request().url().replace('https://auth.passage.id', latchkey);
      await route.fulfill({ response: await route.fetch({ url }) });
    });
    // Its telemetry.
    await page.route('https://us-central1-passage-prod.cloudfunctions.net/**', (route) => route.fulfill({ status: 204 }));
  },
};

/** What `make sdk` builds from sdk/flex-js before the suite runs. */
export const flexJsDist = join(__dirname, '..', '..', 'sdk', 'flex-js', 'dist', 'index.js');

/** `@latchkey/flex-js`, told where Latchkey is. */
export const latchkeyFlexJs: FlexSdk = {
  name: '@latchkey/flex-js',
  importLine: "import { PassageFlex } from '@latchkey/flex-js';",
  options: `, { baseUrl: ${JSON.stringify(latchkey)} }`,
  hosts: [],
  keepsCodes: true,
  async serve(page, origin) {
    if (!existsSync(flexJsDist)) {
      throw new Error(`${flexJsDist} is missing: build it first with \`make sdk\` (scripts/sdk.sh)`);
    }
    await page.route(`${origin}/vendor/flex-js.js`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: readFileSync(flexJsDist, 'utf8') }));
  },
};

/** How the page resolves its import line (a bundler's job in an app): one map for both SDKs. */
const importMap = {
  imports: {
    '@passageidentity/passage-flex-js': '/vendor/passage-flex-js.js',
    '@passageidentity/webauthnutils': '/vendor/webauthnutils.js',
    'ua-parser-js': '/vendor/ua-parser-js.js',
    '@latchkey/flex-js': '/vendor/flex-js.js',
  },
};

function flexPageHtml(sdk: FlexSdk, appId: string) {
  return `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">${JSON.stringify(importMap)}</script>
<script type="module">
  ${sdk.importLine}
  window.PassageFlex = PassageFlex;
  window.flex = new PassageFlex(${JSON.stringify(appId)}${sdk.options});
  document.body.dataset.ready = 'true';
</script></head><body><input autocomplete="username webauthn"></body></html>`;
}

/** The methods of `flex.passkey`. */
export type PasskeyMethod = 'register' | 'authenticate'
  | 'canRegisterPasskey' | 'canAuthenticateWithPasskey' | 'canUseConditionalMediation';

/** What a call gave: its value, or the fields of what it rejected with. */
export type Outcome = {
  value?: any;
  error?: { name: string; message: string; statusCode?: number; statusText?: string; code?: string; cause?: string };
};

/** A page of the app's origin that loaded an SDK as `window.flex`. */
export interface FlexPage {
  page: Page;
  /** `flex.passkey[method](...args)`: what it gave. */
  call(method: PasskeyMethod, ...args: unknown[]): Promise<Outcome>;
  /** The same, which must resolve: its value. */
  ok(method: PasskeyMethod, ...args: unknown[]): Promise<any>;
  /** Starts the call and returns at once: a function that waits for its outcome. */
  start(method: PasskeyMethod, ...args: unknown[]): Promise<() => Promise<Outcome>>;
  /** Loads the page again: a fresh SDK, as on page load. */
  reload(): Promise<void>;
  /** The page's requests to the client API (`…/v1/apps/…`), in order. */
  api: Request[];
  /** Requests to any host other than Latchkey's, the page's and the SDK's `hosts`: refused, and the test fails. */
  foreign: string[];
}

let calls = 0;

export type FlexPageOptions = {
  /** Where the page is served: Latchkey's origin by default. */
  origin?: string;
  /** Runs in the page before its scripts (besides the SDK's own `init`). */
  init?: () => void;
};

/** Opens the SDK's page for the app. */
export async function openFlexPage(
  page: Page, sdk: FlexSdk, appId: string, { origin = latchkey, init }: FlexPageOptions = {},
): Promise<FlexPage> {
  const foreign: string[] = [];
  const api: Request[] = [];
  const allowed = (url: URL) => url.origin === latchkey || url.origin === origin || sdk.hosts.includes(url.host);
  await page.route((url) => !allowed(url), (route) => {
    foreign.push(route.request().url());
    return route.abort();
  });
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.includes('/v1/apps/')) api.push(request);
  });
  for (const script of [sdk.init, init]) if (script) await page.addInitScript(script);
  await sdk.serve(page, origin);
  await page.route(`${origin}/app.html`, (route) =>
    route.fulfill({ contentType: 'text/html', body: flexPageHtml(sdk, appId) }));
  const ready = async () => { await page.locator('body[data-ready]').waitFor(); };
  await page.goto(`${origin}/app.html`);
  await ready();

  // Runs in the page: the call's outcome, under `id` in window.calls, or returned when no id.
  const run = ([method, args, id]: [string, unknown[], number | null]) => {
    const w = window as any;
    const outcome = w.flex.passkey[method](...args).then(
      (value: unknown) => ({ value }),
      (e: any) => ({
        error: {
          name: e?.name, message: e?.message, statusCode: e?.statusCode, statusText: e?.statusText,
          code: e?.code, cause: e?.cause?.name,
        },
      }));
    if (id === null) return outcome;
    (w.calls ??= {})[id] = outcome;
    return null;
  };
  const call = (method: PasskeyMethod, ...args: unknown[]): Promise<Outcome> =>
    page.evaluate(run, [method, args, null] as [string, unknown[], null]);
  return {
    page,
    call,
    async ok(method, ...args) {
      const outcome = await call(method, ...args);
      expect(outcome.error, `${sdk.name}: ${method}`).toBeUndefined();
      return outcome.value;
    },
    async start(method, ...args) {
      const id = ++calls;
      await page.evaluate(run, [method, args, id] as [string, unknown[], number]);
      return () => page.evaluate((id) => (window as any).calls[id], id);
    },
    async reload() {
      await page.reload();
      await ready();
    },
    api,
    foreign,
  };
}

/**
 * `test` with `openFlex`: opens SDK pages on the test's page, and fails the
 * test if any of them sent a request to a host it must not reach.
 */
export const flexTest = base.extend<{
  openFlex: (sdk: FlexSdk, appId: string, options?: FlexPageOptions) => Promise<FlexPage>;
}>({
  openFlex: async ({ page }, use) => {
    const opened: FlexPage[] = [];
    await use(async (...args) => {
      const flex = await openFlexPage(page, ...args);
      opened.push(flex);
      return flex;
    });
    for (const flex of opened) expect(flex.foreign, 'requests to hosts other than Latchkey').toEqual([]);
  },
});

/** An external id no other test uses. */
export function newUser(prefix: string) {
  return `${prefix.replace(/\W/g, '')}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The app's backend asks for a register transaction for the user: its id. */
export async function registerTransaction(app: E2EApp, externalId: string): Promise<string> {
  const { transaction_id } = await manage(app, '/transactions/register',
    { external_id: externalId, passkey_display_name: `${externalId}@example.com` });
  return transaction_id;
}

/** The app's backend asks for an authenticate transaction for the user: its id. */
export async function authenticateTransaction(app: E2EApp, externalId: string): Promise<string> {
  return (await manage(app, '/transactions/authenticate', { external_id: externalId })).transaction_id;
}

/** The app's backend verifies a nonce: the user it names. */
export async function verified(app: E2EApp, nonce: unknown): Promise<string> {
  expect(typeof nonce).toBe('string');
  return (await manage(app, '/authenticate/verify', { nonce })).external_id;
}

/** Takes WebAuthn away from the page, as in a browser without it. */
export function removeWebAuthn() {
  delete (window as any).PublicKeyCredential;
  delete (Navigator.prototype as any).credentials;
}

/** An app id of the right shape that no app has. */
export const unknownAppId = '0'.repeat(32);

/** The scenarios every browser Flex SDK passes against Latchkey, as one describe block. */
export function flexScenarios(sdk: FlexSdk) {
  const app = () => e2eApp('passage-flex-js');
  const test = flexTest;

  test.describe(sdk.name, () => {
    test('every method works: can-*, register, sign in with a transaction, in one click and from autofill', async ({ page, openFlex }) => {
      await addVirtualAuthenticator(page);
      const flex = await openFlex(sdk, app().app_id);
      expect(await flex.ok('canRegisterPasskey')).toBe(true);
      expect(await flex.ok('canAuthenticateWithPasskey')).toBe(true);
      // Each SDK asks the browser its own way (flex-js.spec.ts compares them); an answer it must be.
      expect(typeof await flex.ok('canUseConditionalMediation')).toBe('boolean');

      const user = newUser(sdk.name);
      const added = await flex.ok('register', await registerTransaction(app(), user));
      expect(await verified(app(), added)).toBe(user);

      const first = await flex.ok('authenticate', { transactionId: await authenticateTransaction(app(), user) });
      expect(await verified(app(), first)).toBe(user);

      const oneClick = await flex.ok('authenticate');
      expect(await verified(app(), oneClick)).toBe(user);

      // Autofill on a fresh page, as on page load (passage-flex-js needs it: see flex-js.spec.ts).
      await flex.reload();
      const autofill = await flex.ok('authenticate', { isConditionalMediation: true });
      expect(await verified(app(), autofill)).toBe(user);
      expect((await passkeysOf(app(), user)).length).toBe(1);
    });

    test('without an authenticator, can-* still answer: the browser has WebAuthn (a security key would do)', async ({ openFlex }) => {
      const flex = await openFlex(sdk, app().app_id);
      expect(await flex.ok('canRegisterPasskey')).toBe(true);
      expect(await flex.ok('canAuthenticateWithPasskey')).toBe(true);
      expect(typeof await flex.ok('canUseConditionalMediation')).toBe('boolean');
    });

    test('without WebAuthn, can-* say false and the ceremonies reject; nothing is stored', async ({ openFlex }) => {
      const flex = await openFlex(sdk, app().app_id, { init: removeWebAuthn });
      expect(await flex.ok('canRegisterPasskey')).toBe(false);
      expect(await flex.ok('canAuthenticateWithPasskey')).toBe(false);
      expect(await flex.ok('canUseConditionalMediation')).toBe(false);

      const user = newUser(sdk.name);
      const register = await flex.call('register', await registerTransaction(app(), user));
      expect(register.error).toMatchObject({ name: 'PassageError', statusCode: 707 });
      const signIn = await flex.call('authenticate');
      expect(signIn.error).toMatchObject({ name: 'PassageError', statusCode: 702 });
      expect(await passkeysOf(app(), user)).toEqual([]);
    });

    test('an unknown transaction is refused by Latchkey before any ceremony', async ({ page, openFlex }) => {
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      const flex = await openFlex(sdk, app().app_id);
      const unknown = 'A'.repeat(43);
      const code = sdk.keepsCodes ? { code: 'transaction_not_found' } : {};

      const register = await flex.call('register', unknown);
      expect(register.error).toMatchObject({ name: 'PassageError', statusCode: 404, ...code });
      expect(register.error!.message).toMatch(/transaction/i);
      const signIn = await flex.call('authenticate', { transactionId: unknown });
      expect(signIn.error).toMatchObject({ name: 'PassageError', statusCode: 404, ...code });
      // The browser was never asked: the authenticator holds no credential.
      expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toEqual([]);
      expect(flex.api.map((r) => new URL(r.url()).pathname.split('/webauthn/')[1])).toEqual(['start', 'start']);
    });

    test('a wrong app id is refused by Latchkey, and the right app\'s transaction is left unused', async ({ page, openFlex }) => {
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      const flex = await openFlex(sdk, unknownAppId);
      const user = newUser(sdk.name);
      const transaction = await registerTransaction(app(), user);

      const register = await flex.call('register', transaction);
      expect(register.error).toMatchObject({
        name: 'PassageError', statusCode: 404, ...(sdk.keepsCodes ? { code: 'app_not_found' } : {}),
      });
      expect((await flex.call('authenticate')).error).toMatchObject({ statusCode: 404 });
      expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toEqual([]);
      // The transaction still starts a ceremony on its own app.
      const start = await fetch(`${latchkey}/v1/apps/${app().app_id}/register/transactions/webauthn/start`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transaction_id: transaction }),
      });
      expect(start.status).toBe(200);
    });

    test('a registration the user cancels rejects, stores nothing, and a new transaction works', async ({ page, openFlex }) => {
      // An authenticator that cannot verify the user: the browser refuses, as when the user cancels.
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
      const flex = await openFlex(sdk, app().app_id);
      const user = newUser(sdk.name);

      const cancelled = await flex.call('register', await registerTransaction(app(), user));
      expect(cancelled.error).toMatchObject({ name: 'PassageError', statusCode: 707 });
      expect(cancelled.error!.statusText).toMatch(/not allowed/);
      expect(flex.api.map((r) => new URL(r.url()).pathname.split('/transactions/')[1])).toEqual(['webauthn/start']);
      expect(await passkeysOf(app(), user)).toEqual([]);

      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
      const added = await flex.ok('register', await registerTransaction(app(), user));
      expect(await verified(app(), added)).toBe(user);
    });

    test('a sign-in the user cancels rejects and changes nothing', async ({ page, openFlex }) => {
      const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
      const flex = await openFlex(sdk, app().app_id);
      const user = newUser(sdk.name);
      await flex.ok('register', await registerTransaction(app(), user));
      const before = await passkeysOf(app(), user);

      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
      const withTransaction = await flex.call('authenticate', { transactionId: await authenticateTransaction(app(), user) });
      expect(withTransaction.error).toMatchObject({ name: 'PassageError', statusCode: 702 });
      expect(withTransaction.error!.statusText).toMatch(/not allowed/);
      expect((await flex.call('authenticate')).error).toMatchObject({ name: 'PassageError', statusCode: 702 });
      expect(await passkeysOf(app(), user)).toEqual(before);

      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
      expect(await verified(app(), await flex.ok('authenticate'))).toBe(user);
    });

    test('a modal ceremony cancels the autofill sign-in waiting on the page', async ({ openFlex }) => {
      // No authenticator: the autofill request waits, as for a user who has not picked a passkey yet.
      const flex = await openFlex(sdk, app().app_id);
      const autofill = await flex.start('authenticate', { isConditionalMediation: true });
      await expect.poll(async () => (await flex.api[0]?.response())?.status()).toBe(200);

      await flex.start('authenticate');
      const outcome = await autofill();
      expect(outcome.error).toMatchObject({ name: 'PassageError', statusCode: 702 });
      expect(outcome.error!.statusText).toMatch(/abort/i);
    });
  });
}
