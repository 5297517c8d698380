import { test, expect, addVirtualAuthenticator } from './fixtures';
import { addPasskey, openSignInWithoutAutofill, signOut, signUp, uniqueEmail } from './site-pages';
import type { Page } from '@playwright/test';

// The passkey client hands WebAuthn's JSON to the browser where it converts it
// itself (`PublicKeyCredential.parseCreationOptionsFromJSON`,
// `parseRequestOptionsFromJSON`, `credential.toJSON()`), and converts the
// fields in Rust where it does not, each method detected on its own. Both ways
// register a passkey and sign in with it, identifier-first (allowCredentials)
// and with one click (discoverable), and a second passkey on the same
// authenticator is refused (excludeCredentials).

// Its own client address: its sign-ups count against their own per-IP budget.
test.use({ extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.15' } });

const parsers = ['parseCreationOptionsFromJSON', 'parseRequestOptionsFromJSON'] as const;
type Native = (typeof parsers)[number] | 'toJSON';

/**
 * Takes the named methods away, as in a browser that lacks them, and counts
 * the page's calls of the others (still passing each to the browser), across
 * navigations.
 */
async function nativeMethods(page: Page, without: Native[]): Promise<Record<Native, number>> {
  const calls: Record<Native, number> = { parseCreationOptionsFromJSON: 0, parseRequestOptionsFromJSON: 0, toJSON: 0 };
  await page.exposeFunction('__latchkeyCalled', (name: Native) => { calls[name] += 1; });
  await page.addInitScript(({ parsers, without }) => {
    const called = (window as unknown as { __latchkeyCalled: (name: string) => void }).__latchkeyCalled;
    const spy = (target: object, name: string) => {
      const original = (target as Record<string, unknown>)[name] as (...args: unknown[]) => unknown;
      if (without.includes(name)) {
        delete (target as Record<string, unknown>)[name];
        return;
      }
      Object.defineProperty(target, name, {
        configurable: true,
        writable: true,
        value(this: unknown, ...args: unknown[]) {
          called(name);
          return original.apply(this, args);
        },
      });
    };
    for (const name of parsers) spy(PublicKeyCredential, name);
    spy(PublicKeyCredential.prototype, 'toJSON');
  }, { parsers: [...parsers] as string[], without: without as string[] });
  return calls;
}

/** The `handshake_response` of every finish the page posts, by ceremony. */
function finishes(page: Page) {
  const sent = { register: [] as any[], authenticate: [] as any[] };
  page.on('request', (request) => {
    const ceremony = request.url().match(/\/(register|authenticate)\/transactions\/webauthn\/finish$/)?.[1];
    if (ceremony) sent[ceremony as keyof typeof sent].push(request.postDataJSON().handshake_response);
  });
  return sent;
}

/** Registers a passkey, is refused a second one, signs in with it both ways. */
async function registerAndSignIn(page: Page) {
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const email = uniqueEmail('json');
  await signUp(page, email);
  await addPasskey(page);
  await expect(page.getByTestId('passkey')).toHaveCount(1);
  // The authenticator holds it: excludeCredentials reached the browser as bytes.
  await page.getByTestId('add-passkey').click();
  await expect(page.getByText('This device already has a passkey for this account.')).toBeVisible();
  await signOut(page);

  // Identifier-first: allowCredentials.
  await openSignInWithoutAutofill(page, cdp, authenticatorId);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Sign in with a passkey for this email' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await signOut(page);

  // One click: discoverable, the user handle in the answer.
  await openSignInWithoutAutofill(page, cdp, authenticatorId);
  await page.getByRole('button', { name: 'Choose a passkey' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
}

test('with the browser\'s JSON methods, the options and the credentials pass through as JSON', async ({ page }) => {
  test.slow(); // a long flow: three times the default timeout on a loaded machine
  const calls = await nativeMethods(page, []);
  const sent = finishes(page);
  await registerAndSignIn(page);

  await expect.poll(() => calls.parseCreationOptionsFromJSON).toBeGreaterThan(0);
  await expect.poll(() => calls.parseRequestOptionsFromJSON).toBeGreaterThan(0);
  await expect.poll(() => calls.toJSON).toBeGreaterThan(0);
  // What only toJSON() writes, and Latchkey accepted.
  expect(sent.register).toHaveLength(1);
  expect(sent.register[0]).toMatchObject({
    type: 'public-key',
    authenticatorAttachment: 'platform',
    clientExtensionResults: expect.any(Object),
    response: {
      transports: ['internal'],
      publicKey: expect.any(String),
      publicKeyAlgorithm: -7,
      authenticatorData: expect.any(String),
    },
  });
  expect(sent.authenticate).toHaveLength(2);
  for (const credential of sent.authenticate) {
    expect(credential).toMatchObject({ authenticatorAttachment: 'platform', clientExtensionResults: expect.any(Object) });
  }
});

test('without them, the client converts the fields itself, and the same flows work', async ({ page }) => {
  test.slow();
  const calls = await nativeMethods(page, ['parseCreationOptionsFromJSON', 'parseRequestOptionsFromJSON', 'toJSON']);
  const sent = finishes(page);
  await page.goto('/');
  expect(await page.evaluate(() => [
    typeof (PublicKeyCredential as unknown as Record<string, unknown>).parseCreationOptionsFromJSON,
    typeof (PublicKeyCredential as unknown as Record<string, unknown>).parseRequestOptionsFromJSON,
    typeof (PublicKeyCredential.prototype as unknown as Record<string, unknown>).toJSON,
  ])).toEqual(['undefined', 'undefined', 'undefined']);
  await registerAndSignIn(page);

  expect(calls).toEqual({ parseCreationOptionsFromJSON: 0, parseRequestOptionsFromJSON: 0, toJSON: 0 });
  // The fallback's JSON: WebAuthn's fields only, binary ones base64url.
  expect(sent.register).toHaveLength(1);
  expect(sent.register[0].authenticatorAttachment).toBeUndefined();
  expect(sent.register[0].response).toEqual({
    clientDataJSON: expect.stringMatching(/^[\w-]+$/),
    attestationObject: expect.stringMatching(/^[\w-]+$/),
    transports: ['internal'],
  });
  expect(sent.authenticate).toHaveLength(2);
  for (const credential of sent.authenticate) {
    expect(credential.rawId).toBe(credential.id);
    expect(credential.response.userHandle).toMatch(/^[\w-]+$/);
  }
});

test('with the parsers but without toJSON, each is decided on its own', async ({ page }) => {
  test.slow();
  const calls = await nativeMethods(page, ['toJSON']);
  const sent = finishes(page);
  await registerAndSignIn(page);

  await expect.poll(() => calls.parseCreationOptionsFromJSON).toBeGreaterThan(0);
  await expect.poll(() => calls.parseRequestOptionsFromJSON).toBeGreaterThan(0);
  expect(calls.toJSON).toBe(0);
  expect(sent.register).toHaveLength(1);
  expect(sent.register[0].authenticatorAttachment).toBeUndefined();
  expect(sent.register[0].response.attestationObject).toMatch(/^[\w-]+$/);
});
