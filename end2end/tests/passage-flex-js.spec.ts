import { readFileSync } from 'node:fs';
import { test, expect, addVirtualAuthenticator, e2eApp, latchkey, manage } from './fixtures';
import type { Page } from '@playwright/test';

// Passage's own browser SDK, @passageidentity/passage-flex-js 1.0.2, unchanged:
// its calls to Passage's host are routed to Latchkey, and every method works.

const modules = {
  '/vendor/passage-flex-js.js': 'node_modules/@passageidentity/passage-flex-js/dist/index.js',
  '/vendor/webauthnutils.js': 'node_modules/@passageidentity/webauthnutils/dist/index.js',
};

const page_html = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {
  "@passageidentity/webauthnutils": "/vendor/webauthnutils.js",
  "ua-parser-js": "/vendor/ua-parser-js.js"
}}</script>
<script type="module">
  import { PassageFlex } from '/vendor/passage-flex-js.js';
  window.PassageFlex = PassageFlex;
  document.body.dataset.ready = 'true';
</script></head><body><input autocomplete="username webauthn"></body></html>`;

/** Serves a page of the app's origin that loads passage-flex-js, and sends its API calls to Latchkey. */
async function openSdkPage(page: Page) {
  await page.route(`${latchkey}/compat.html`, (route) =>
    route.fulfill({ contentType: 'text/html', body: page_html }));
  for (const [path, file] of Object.entries(modules)) {
    await page.route(`${latchkey}${path}`, (route) =>
      route.fulfill({ contentType: 'text/javascript', body: readFileSync(file, 'utf8') }));
  }
  // ua-parser-js 1.x is a UMD script: give it an ES module face.
  await page.route(`${latchkey}/vendor/ua-parser-js.js`, (route) => route.fulfill({
    contentType: 'text/javascript',
    body: `${readFileSync('node_modules/ua-parser-js/src/ua-parser.js', 'utf8')}\nexport default window.UAParser;`,
  }));
  await page.route('https://auth.passage.id/**', async (route) => {
    const url = route.request().url().replace('https://auth.passage.id', latchkey);
    const response = await route.fetch({ url });
    await route.fulfill({ response });
  });
  await page.route('https://us-central1-passage-prod.cloudfunctions.net/**', (route) => route.fulfill({ status: 204 }));
  await page.goto('/compat.html');
  await page.locator('body[data-ready]').waitFor();
}

test('every passage-flex-js method works against Latchkey', async ({ page }) => {
  const app = e2eApp('passage-flex-js');
  await addVirtualAuthenticator(page);
  await openSdkPage(page);
  const sdk = (script: string, arg?: unknown) =>
    page.evaluate(([script, appId, arg]) =>
      new Function('flex', 'arg', `return (async () => { ${script} })()`)(
        new (window as any).PassageFlex(appId), arg), [script, app.app_id, arg] as const);

  expect(await sdk('return await flex.passkey.canRegisterPasskey();')).toBe(true);
  expect(await sdk('return await flex.passkey.canAuthenticateWithPasskey();')).toBe(true);
  // Its own browser sniffing (ua-parser-js) decides this one; it must answer, true or false.
  expect(typeof await sdk('return await flex.passkey.canUseConditionalMediation();')).toBe('boolean');

  // register(transactionId)
  const { transaction_id: register } = await manage(app, '/transactions/register',
    { external_id: 'sdk-user', passkey_display_name: 'sdk@example.com' });
  const added = await sdk('return await flex.passkey.register(arg);', register);
  expect((await manage(app, '/authenticate/verify', { nonce: added })).external_id).toBe('sdk-user');

  // authenticate({ transactionId }): identifier-first
  const { transaction_id: signIn } = await manage(app, '/transactions/authenticate', { external_id: 'sdk-user' });
  const first = await sdk('return await flex.passkey.authenticate({ transactionId: arg });', signIn);
  expect((await manage(app, '/authenticate/verify', { nonce: first })).external_id).toBe('sdk-user');

  // authenticate(): discoverable, one click
  const oneClick = await sdk('return await flex.passkey.authenticate();');
  expect((await manage(app, '/authenticate/verify', { nonce: oneClick })).external_id).toBe('sdk-user');

  // authenticate({ isConditionalMediation: true }): autofill, on a fresh page as on page load
  await page.reload();
  await page.locator('body[data-ready]').waitFor();
  const autofill = await sdk('return await flex.passkey.authenticate({ isConditionalMediation: true });');
  expect((await manage(app, '/authenticate/verify', { nonce: autofill })).external_id).toBe('sdk-user');
});
