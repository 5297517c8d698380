import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Page, TestInfo } from '@playwright/test';
import { test, expect, addVirtualAuthenticator, e2eDatabase, latchkey, softkey, type E2EApp } from './fixtures';
import { register } from './flex-node/ceremony';
import { hydrated } from './site-pages';

// The console in Chromium: an operator invited with the CLI registers a
// passkey, creates an app and a key, finds a user, revokes a passkey; and the
// refusals (no session, expired invite, reused invite, a revoked operator).
// Each console page is screenshotted into the test's output folder.

/** Latchkey's CLI on the server's database (as global-setup.ts runs it). */
function cli(...args: string[]): string {
  const bin = process.env.LATCHKEY_BIN;
  if (!bin) throw new Error('LATCHKEY_BIN is not set: run the suite with `make test-e2e`');
  return execFileSync(bin, args, {
    cwd: join(__dirname, '..'),
    env: { ...process.env, DATABASE_URL: e2eDatabase, LATCHKEY_PUBLIC_URL: latchkey },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

function invite(name: string, ttl?: number): string {
  const args = ['admin', 'invite', '--name', name, '--json', ...(ttl ? ['--ttl', String(ttl)] : [])];
  const { url } = JSON.parse(cli(...args));
  expect(url).toMatch(new RegExp(`^${latchkey}/console/invite/`));
  return url;
}

async function shot(page: Page, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`console-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(`console-${name}`, { path, contentType: 'image/png' });
}

/** Opens an invite in `page` (with a virtual authenticator) and registers the operator's passkey. */
async function acceptInvite(page: Page, url: string, name: string) {
  await page.goto(url);
  await hydrated(page);
  await expect(page.getByText(`Welcome, ${name}`)).toBeVisible();
  const button = page.getByTestId('invite-register');
  await button.click();
  await expect(page).toHaveURL(/\/console$/);
  await expect(page.getByTestId('operator-name')).toHaveText(name);
}

test('an invited operator registers a passkey, creates an app and a key, finds a user and revokes a passkey', async ({ page, context, browser }, testInfo) => {
  // A long journey through every page: three times the usual time.
  test.slow();
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await addVirtualAuthenticator(page);
  const name = `Ada ${Date.now()}`;
  const url = invite(name);

  await page.goto(url);
  await hydrated(page);
  await shot(page, testInfo, 'invite');
  await page.getByTestId('invite-register').click();
  await expect(page).toHaveURL(/\/console$/);
  await expect(page.getByTestId('operator-name')).toHaveText(name);

  // Sign out, and back in with the passkey.
  await page.getByTestId('console-sign-out').click();
  await expect(page).toHaveURL(/\/console\/signin$/);
  await hydrated(page);
  await shot(page, testInfo, 'signin');
  await page.getByTestId('console-sign-in').click();
  await expect(page).toHaveURL(/\/console$/);
  await expect(page.getByTestId('operator-name')).toHaveText(name);

  // Create an app: a refusal first (the CLI's words), then one that works.
  await page.goto('/console/apps');
  await hydrated(page);
  const form = page.getByTestId('create-app');
  const appName = `Console shop ${Date.now()}`;
  await form.getByLabel('Name').fill(appName);
  await form.getByLabel('Origins').fill('http://shop.example.com');
  await form.getByRole('button', { name: 'Create the app' }).click();
  await expect(page.getByTestId('console-error')).toContainText('http:// is allowed only for localhost');
  await form.getByLabel('Origins').fill(latchkey);
  await form.getByRole('button', { name: 'Create the app' }).click();
  const secret = page.getByTestId('new-key-secret');
  await expect(secret).toHaveText(/^lk_/);
  await page.getByTestId('copy').click();
  await expect(page.getByTestId('copy')).toHaveText(/Copied|by hand/);
  await expect(page.getByTestId('apps')).toContainText(appName);
  await shot(page, testInfo, 'apps');
  const apiKey = (await secret.textContent())!;
  const appHref = (await page.getByTestId('new-key').getByRole('link').getAttribute('href'))!;
  const appId = appHref.split('/').pop()!;

  // The app: a second key, then revoke the first one.
  await page.goto(appHref);
  await hydrated(page);
  await expect(page.getByTestId('app-name')).toHaveText(appName);
  await page.getByTestId('create-key').getByRole('button').click();
  await expect(page.getByTestId('new-key-secret')).toHaveText(/^lk_/);
  await expect(page.getByTestId('key')).toHaveCount(2);
  const first = page.getByTestId('key').last();
  await first.getByText('Revoke…').click();
  await first.getByTestId('confirm-revoke-key').click();
  await expect(first).toContainText('revoked');
  await shot(page, testInfo, 'app');
  // The revoked key no longer works; the new one does (used below).
  const revoked = await fetch(`${latchkey}/v1/apps/${appId}/users`, { headers: { authorization: `Bearer ${apiKey}` } });
  expect(revoked.status).toBe(401);
  const newKey = (await page.getByTestId('new-key-secret').textContent())!;

  // Without JavaScript the pages render and the forms post (the server sends
  // the browser back to the page): a third key, made with scripts off.
  const noScript = await browser.newContext({ javaScriptEnabled: false, storageState: await context.storageState() });
  const plain = await noScript.newPage();
  await plain.goto(appHref);
  await expect(plain.getByTestId('key')).toHaveCount(2);
  await plain.getByTestId('create-key').getByRole('button').click();
  await expect(plain).toHaveURL(new RegExp(`${appHref}(\\?.*)?$`));
  await expect(plain.getByTestId('key')).toHaveCount(3);
  await noScript.close();

  // A user of the app with a passkey, made as the app's backend and browser would.
  const app: E2EApp = { app_id: appId, api_key: newKey, origins: [latchkey] };
  const externalId = `console-user-${Date.now()}`;
  const made = await fetch(`${latchkey}/v1/apps/${appId}/transactions/register`, {
    method: 'POST',
    headers: { authorization: `Bearer ${newKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ external_id: externalId, passkey_display_name: externalId }),
  });
  expect(made.status).toBe(200);
  const key = softkey();
  try {
    await register(app, key, (await made.json()).transaction_id);
  } finally {
    key.close();
  }

  // Find the user by the prefix of the external id, open them, rename and revoke the passkey.
  await page.getByTestId('app-users').click();
  await expect(page).toHaveURL(/\/users$/);
  await hydrated(page);
  await page.getByTestId('user-search').fill('console-user-');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByTestId('users')).toContainText(externalId);
  await shot(page, testInfo, 'users');
  await page.getByRole('link', { name: externalId }).click();
  await expect(page.getByTestId('user-external-id')).toHaveText(externalId);
  await hydrated(page);
  const passkey = page.getByTestId('passkey');
  await expect(passkey).toHaveCount(1);
  await expect(passkey).toContainText('counter');
  await passkey.getByText('Rename…').click();
  await passkey.getByTestId('passkey-new-name').fill('Front desk key');
  await passkey.getByTestId('rename-passkey').click();
  await expect(page.getByTestId('passkey-name')).toHaveText('Front desk key');
  await shot(page, testInfo, 'user');
  await page.getByTestId('passkey').getByText('Revoke…').click();
  await page.getByTestId('confirm-revoke-passkey').click();
  await expect(page.getByTestId('no-passkeys')).toBeVisible();

  // The events of the app, newest first, filtered; each links to its user.
  await page.goto(`/console/events?app=${appId}`);
  await hydrated(page);
  const events = page.getByTestId('event');
  await expect(events.first()).toHaveAttribute('data-type', 'passkey.revoked');
  for (const type of ['passkey.renamed', 'registration.finished', 'api_key.revoked', 'api_key.created', 'app.created']) {
    await expect(page.locator(`[data-testid=event][data-type="${type}"]`).first()).toBeVisible();
  }
  await shot(page, testInfo, 'events');
  await page.getByTestId('event-filters').locator('select[name=type]').selectOption('passkey.revoked');
  await page.getByTestId('filter-events').click();
  await expect(page).toHaveURL(/type=passkey.revoked/);
  await expect(page.getByTestId('event')).toHaveCount(1);
  await page.getByTestId('event-user').click();
  await expect(page.getByTestId('users')).toContainText(externalId);

  // The overview counts the registration of the last 24 hours.
  await page.goto('/console');
  await hydrated(page);
  const row = page.getByTestId('overview-app').filter({ hasText: appName });
  await expect(row).toContainText('1 of 1 succeeded (100%)');
  await shot(page, testInfo, 'overview');
});

test('the console refuses: no session, an expired invite, a reused invite, a revoked operator', async ({ browser, page }, testInfo) => {
  test.slow();
  // No session: every page says how to sign in; server functions answer 401.
  await page.goto('/console/apps');
  await expect(page.getByTestId('console-signed-out')).toBeVisible();
  await shot(page, testInfo, 'signed-out');
  const call = await page.request.post('/console/fn/apps', { form: {} });
  expect(call.status()).toBe(401);

  // An expired invite (made to live one second).
  const expired = invite('Late', 1);
  await page.waitForTimeout(1_500);
  await page.goto(expired);
  await expect(page.getByTestId('invite-refused')).toContainText('expired or was used already');
  await shot(page, testInfo, 'invite-refused');

  // A reused invite: the second browser is refused.
  const name = `Bob ${Date.now()}`;
  const url = invite(name);
  const bob = await browser.newPage();
  await addVirtualAuthenticator(bob);
  await acceptInvite(bob, url, name);
  const other = await browser.newPage();
  await other.goto(url);
  await expect(other.getByTestId('invite-refused')).toBeVisible();

  // A revoked operator is signed out at once.
  await bob.goto('/console/apps');
  await expect(bob.getByTestId('apps')).toBeVisible();
  const operators = JSON.parse(cli('admin', 'list', '--json')) as Array<{ id: string; name: string }>;
  const bobId = operators.find((o) => o.name === name)!.id;
  cli('admin', 'revoke', bobId);
  await bob.reload();
  await expect(bob.getByTestId('console-signed-out')).toBeVisible();
  expect((await bob.request.post('/console/fn/apps', { form: {} })).status()).toBe(401);
  // And their passkey no longer signs in.
  await bob.goto('/console/signin');
  await hydrated(bob);
  await bob.getByTestId('console-sign-in').click();
  await expect(bob.getByRole('alert')).toBeVisible();
  await expect(bob).toHaveURL(/\/console\/signin$/);
});
