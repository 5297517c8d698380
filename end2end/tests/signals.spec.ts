import { test, expect, addUnknownPasskey, addVirtualAuthenticator } from './fixtures';
import {
  addPasskey, hydrated, openSignInWithoutAutofill, password, signOut, signUp, uniqueEmail,
} from './site-pages';
import type { CDPSession, Page } from '@playwright/test';

// What browsers ship beyond Passage's client, observed from the page: the
// WebAuthn Signal API calls the site makes (with their arguments), and the
// automatic passkey upgrade (a conditional create) after a password sign-in,
// each feature-detected so that browsers without them keep today's behaviour.


// Its own client address: its sign-ups and password sign-ins count against
// their own per-IP budget, not site.spec.ts's (the e2e server trusts loopback
// as a proxy).
test.use({ extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.13' } });
const signalNames = ['signalUnknownCredential', 'signalAllAcceptedCredentials', 'signalCurrentUserDetails'];

type Call = { name: string; arg: Record<string, unknown> };

/**
 * Records, across navigations, every Signal API call and every
 * `navigator.credentials.create()` the page makes (still passing each to the
 * browser). With `without`, those browser features are taken away first, as
 * in a browser that lacks them.
 */
async function observe(page: Page, without: string[] = []): Promise<Call[]> {
  const calls: Call[] = [];
  await page.exposeFunction('__latchkeyObserved', (name: string, arg: Record<string, unknown>) => {
    calls.push({ name, arg });
  });
  await page.addInitScript(
    ({ names, without }) => {
      const record = (window as unknown as { __latchkeyObserved: (n: string, a: unknown) => void })
        .__latchkeyObserved;
      const pkc = PublicKeyCredential as unknown as Record<string, unknown>;
      for (const name of without) {
        Object.defineProperty(PublicKeyCredential, name, { value: undefined, configurable: true });
      }
      for (const name of names) {
        const original = pkc[name] as ((arg: unknown) => Promise<void>) | undefined;
        if (typeof original !== 'function') continue;
        Object.defineProperty(PublicKeyCredential, name, {
          configurable: true,
          value: (arg: unknown) => {
            record(name, JSON.parse(JSON.stringify(arg)));
            return original.call(PublicKeyCredential, arg);
          },
        });
      }
      const create = navigator.credentials.create.bind(navigator.credentials);
      navigator.credentials.create = (options?: CredentialCreationOptions) => {
        record('create', { mediation: options?.mediation ?? 'modal' });
        return create(options);
      };
    },
    { names: signalNames, without },
  );
  return calls;
}

/** base64 (as CDP gives ids and handles) to base64url without padding (as the page passes them). */
function url64(base64: string): string {
  return Buffer.from(base64, 'base64').toString('base64url');
}

async function onlyCredential(cdp: CDPSession, authenticatorId: string) {
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  return { id: url64(credentials[0].credentialId), userHandle: url64(credentials[0].userHandle ?? '') };
}

/** A password sign-in, with the authenticator kept from answering the autofill request. */
async function signInWithPassword(page: Page, email: string, cdp: CDPSession, authenticatorId: string) {
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await page.goto('/signin');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in with password' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
}

/** A one-click (discoverable) sign-in, without the autofill request answering first. */
async function chooseAPasskey(page: Page, cdp: CDPSession, authenticatorId: string) {
  await openSignInWithoutAutofill(page, cdp, authenticatorId);
  await page.getByRole('button', { name: 'Choose a passkey' }).click();
}

function named(calls: Call[], name: string) {
  return calls.filter((c) => c.name === name).map((c) => c.arg);
}

test('the password manager is told which passkeys still work, the user\'s name, and which passkey is gone', async ({ page }) => {
  test.slow(); // a long flow: three times the default timeout on a loaded machine
  const calls = await observe(page);
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const email = uniqueEmail('signals');
  await signUp(page, email);
  await addPasskey(page);
  const passkey = await onlyCredential(cdp, authenticatorId);
  await signOut(page);

  // A sign-in: this user's passkeys (only theirs) and name, under their handle.
  calls.length = 0;
  await chooseAPasskey(page, cdp, authenticatorId);
  await expect(page).toHaveURL(/\/account$/);
  const current = { rpId: 'localhost', userId: passkey.userHandle };
  await expect.poll(() => named(calls, 'signalAllAcceptedCredentials')).toEqual([
    { ...current, allAcceptedCredentialIds: [passkey.id] },
  ]);
  expect(named(calls, 'signalCurrentUserDetails')).toEqual([{ ...current, name: email, displayName: email }]);
  expect(named(calls, 'signalUnknownCredential')).toEqual([]);

  // A rename signals again; so does a removal, which leaves no passkey.
  await hydrated(page);
  calls.length = 0;
  await page.getByRole('button', { name: /^Rename / }).click();
  await page.getByLabel('Passkey name').fill('Work laptop');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('passkey-name')).toHaveText('Work laptop');
  await expect.poll(() => named(calls, 'signalAllAcceptedCredentials')).toEqual([
    { ...current, allAcceptedCredentialIds: [passkey.id] },
  ]);
  // An email change renames the user in Latchkey, and the password manager
  // is told the new name (after the change's own approval, a sign-in).
  calls.length = 0;
  const newEmail = uniqueEmail('renamed');
  await page.getByTestId('new-email').fill(newEmail);
  await page.getByTestId('change-email').click();
  await expect(page.getByText(`Your email is now ${newEmail}.`)).toBeVisible();
  await expect.poll(() => named(calls, 'signalCurrentUserDetails').at(-1)).toEqual({
    ...current,
    name: newEmail,
    displayName: newEmail,
  });
  calls.length = 0;
  await page.getByRole('button', { name: 'Remove Work laptop' }).click();
  await page.getByTestId('confirm-remove').click();
  await expect(page.getByTestId('no-passkeys')).toBeVisible();
  // The removal's approval was a sign-in (it signalled the passkey), then the
  // removal signalled none left, and the virtual authenticator forgot it.
  await expect.poll(() => named(calls, 'signalAllAcceptedCredentials').at(-1)).toEqual({
    ...current,
    allAcceptedCredentialIds: [],
  });
  await expect
    .poll(async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length)
    .toBe(0);
  await signOut(page);

  // A passkey Latchkey does not know (removed elsewhere, or made for another
  // server): Latchkey names it, the page tells the password manager to drop
  // it, and tells the person what happened.
  const unknown = await addUnknownPasskey(cdp, authenticatorId);
  calls.length = 0;
  await chooseAPasskey(page, cdp, authenticatorId);
  await expect(page.getByRole('alert')).toContainText('no longer registered here');
  await expect(page).toHaveURL(/\/signin$/);
  await expect.poll(() => named(calls, 'signalUnknownCredential')).toEqual([
    { rpId: 'localhost', credentialId: unknown },
  ]);
  expect(named(calls, 'signalAllAcceptedCredentials')).toEqual([]);
  await expect
    .poll(async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length)
    .toBe(0);
});

test('a browser without the Signal API signs in with a passkey as before', async ({ page }) => {
  const calls = await observe(page, signalNames);
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const email = uniqueEmail('signals');
  await signUp(page, email);
  await addPasskey(page);
  await signOut(page);
  await chooseAPasskey(page, cdp, authenticatorId);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  expect(calls.filter((c) => signalNames.includes(c.name))).toEqual([]);
});

test('right after a password sign-in the page asks for a passkey without a dialog, and a click still adds one', async ({ page }) => {
  const calls = await observe(page);
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const email = uniqueEmail('signals');
  await signUp(page, email);

  // Chromium can create passkeys without a dialog: the page asks (the virtual
  // authenticator, having no password manager, never answers) and says so.
  await expect.poll(() => named(calls, 'create')).toEqual([{ mediation: 'conditional' }]);
  await expect(page.getByTestId('passkey-upgrade')).toBeVisible();
  await expect(page.getByTestId('passkey-offer')).toBeHidden();

  // The visible button stops the waiting request and runs its own.
  await addPasskey(page);
  expect(named(calls, 'create')).toEqual([{ mediation: 'conditional' }, { mediation: 'modal' }]);
  await expect(page.getByTestId('passkey-upgrade')).toBeHidden();
  await expect(page.getByTestId('passkey')).toHaveCount(1);

  // Only right after a password sign-in: a reload asks for nothing.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('passkey')).toHaveCount(1);
  await page.waitForTimeout(500);
  expect(named(calls, 'create')).toHaveLength(2);

  // A password sign-in asks again (the password manager may lack this account's passkey).
  await signOut(page);
  await signInWithPassword(page, email, cdp, authenticatorId);
  await expect.poll(() => named(calls, 'create')).toHaveLength(3);
  expect(named(calls, 'create')[2]).toEqual({ mediation: 'conditional' });
});

test('where the browser cannot create a passkey without a dialog, the page offers the visible button instead', async ({ page }) => {
  const calls = await observe(page);
  await page.addInitScript(() => {
    Object.defineProperty(PublicKeyCredential, 'getClientCapabilities', {
      configurable: true,
      value: async () => ({ conditionalCreate: false, conditionalGet: true }),
    });
  });
  await addVirtualAuthenticator(page);
  const email = uniqueEmail('signals');
  await signUp(page, email);
  await expect(page.getByTestId('passkey-offer')).toBeVisible();
  await expect(page.getByTestId('passkey-upgrade')).toBeHidden();
  expect(named(calls, 'create')).toEqual([]);
  await addPasskey(page);
  expect(named(calls, 'create')).toEqual([{ mediation: 'modal' }]);
  await expect(page.getByTestId('passkey-offer')).toBeHidden();
});
