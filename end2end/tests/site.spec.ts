import { test, expect, addVirtualAuthenticator } from './fixtures';
import {
  addPasskey, hydrated, openSignInWithoutAutofill, password, signOut, signUp, uniqueEmail,
} from './site-pages';
import type { Page, TestInfo } from '@playwright/test';

async function shot(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

test('a person signs up, adds a passkey, signs in all three ways, renames and removes it', async ({ page }, testInfo) => {
  test.slow(); // a long flow: three times the default timeout on a loaded machine
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const email = uniqueEmail();

  await signUp(page, email);
  await expect(page.getByTestId('no-passkeys')).toBeVisible();
  await shot(page, testInfo, 'account-empty');
  await addPasskey(page);
  await expect(page.getByTestId('passkey')).toHaveCount(1);
  await shot(page, testInfo, 'account-one-passkey');
  await signOut(page);

  // Identifier-first: the email, then that account's passkey.
  await openSignInWithoutAutofill(page, cdp, authenticatorId);
  await shot(page, testInfo, 'sign-in');
  await expect(page.getByLabel('Email')).toHaveAttribute('autocomplete', 'username webauthn');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Sign in with a passkey for this email' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await signOut(page);

  // One click: a discoverable passkey, no email typed.
  await openSignInWithoutAutofill(page, cdp, authenticatorId);
  await page.getByRole('button', { name: 'Choose a passkey' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await signOut(page);

  // Autofill: the page starts a conditional request on load; the authenticator answers it.
  await page.goto('/signin');
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await expect(page.getByTestId('passkey').locator('.meta')).not.toContainText('last used never');

  // Rename.
  await page.getByRole('button', { name: /^Rename / }).click();
  await page.getByLabel('Passkey name').fill('Work laptop');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('passkey-name')).toHaveText('Work laptop');
  await page.reload();
  await expect(page.getByTestId('passkey-name')).toHaveText('Work laptop');

  // Remove, after a confirmation.
  await hydrated(page);
  await page.getByRole('button', { name: 'Remove Work laptop' }).click();
  await expect(page.getByText('You will no longer be able to sign in with it.')).toBeVisible();
  await shot(page, testInfo, 'account-confirm-remove');
  await page.getByRole('button', { name: 'Yes, remove' }).click();
  await expect(page.getByTestId('no-passkeys')).toBeVisible();
  // The page told the password manager (here the virtual authenticator) which
  // passkeys still work (none), and it forgot this one (signals.spec.ts has the calls).
  await expect
    .poll(async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length)
    .toBe(0);
  await signOut(page);

  // So the removed passkey is no longer offered, and the page says what happened.
  await openSignInWithoutAutofill(page, cdp, authenticatorId);
  await page.getByRole('button', { name: 'Choose a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('Your browser stopped the passkey request');
  await expect(page).toHaveURL(/\/signin$/);
  await shot(page, testInfo, 'sign-in-removed-passkey');

  // And the password still works.
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in with password' }).click();
  await expect(page).toHaveURL(/\/account$/);
});

test('removing a passkey and changing the email each need a passkey approval of exactly that action', async ({ page }, testInfo) => {
  test.slow(); // a long flow: three times the default timeout on a loaded machine
  const { cdp, authenticatorId } = await addVirtualAuthenticator(page);
  const email = uniqueEmail();
  await signUp(page, email);
  await addPasskey(page);
  await expect(page.getByTestId('passkey')).toHaveCount(1);

  // What the page asks Latchkey for: an identifier-first sign-in whose challenge
  // is 64 bytes (32 random, then the action's digest), for this account's passkey only.
  const approvals: Array<Record<string, unknown>> = [];
  const challenges: string[] = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/site/approval/start')) approvals.push(request.postDataJSON());
  });
  page.on('response', async (response) => {
    if (response.url().endsWith('/authenticate/transactions/webauthn/start') && response.ok()) {
      const body = await response.json();
      challenges.push(body.handshake.challenge.publicKey.challenge);
      expect(body.handshake.challenge.publicKey.allowCredentials).toHaveLength(1);
    }
  });
  const bytes = (b64url: string) => Buffer.from(b64url, 'base64url').length;

  // A removal without an approval (a made-up nonce) is refused; the passkey stays.
  const passkeyId = await page.evaluate(async () => {
    const r = await fetch('/site/passkeys', { method: 'POST' });
    return (await r.json())[0].id as string;
  });
  const forged = await page.evaluate(async (id) => {
    const r = await fetch('/site/passkey/remove', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ id, nonce: 'not-a-nonce' }),
    });
    return { status: r.status, text: await r.text() };
  }, passkeyId);
  expect(forged.status).toBe(400);
  expect(forged.text).toContain('no longer valid');
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('passkey')).toHaveCount(1);

  // Changing the email: the passkey approves exactly the new address.
  const newEmail = uniqueEmail();
  await page.getByTestId('new-email').fill(` ${newEmail.toUpperCase()} `);
  await expect(page.getByTestId('change-email')).toHaveText('Change email (approve with a passkey)');
  await page.getByTestId('change-email').click();
  await expect(page.getByText(`Your email is now ${newEmail}.`)).toBeVisible();
  await expect(page.getByTestId('account-email')).toHaveText(newEmail);
  expect(approvals.at(-1)).toEqual({ approval: { type: 'change_email', email: newEmail.toUpperCase() } });
  expect(bytes(challenges.at(-1)!)).toBe(64);
  await shot(page, testInfo, 'account-email-changed');

  // While the browser waits for the person, the button shows it and is disabled.
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  await page.getByRole('button', { name: /^Remove / }).click();
  await page.getByTestId('confirm-remove').click();
  await expect(page.getByTestId('confirm-remove')).toHaveText('Approve with your passkey…');
  await expect(page.getByTestId('confirm-remove')).toBeDisabled();
  await shot(page, testInfo, 'account-approve-removal');
  await page.reload();
  await hydrated(page);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });

  // Removing: approved for exactly this passkey, then gone.
  await page.getByRole('button', { name: /^Remove / }).click();
  await page.getByTestId('confirm-remove').click();
  await expect(page.getByTestId('no-passkeys')).toBeVisible();
  expect(approvals.at(-1)).toEqual({ approval: { type: 'remove_passkey', passkey_id: passkeyId } });
  expect(bytes(challenges.at(-1)!)).toBe(64);

  // With no passkey left, the email changes with the password instead.
  await expect(page.getByTestId('change-email')).toHaveText('Change email');
  await page.getByTestId('new-email').fill(email);
  await page.getByLabel('Your password').fill('wrong password');
  await page.getByTestId('change-email').click();
  await expect(page.getByText('The password is wrong.')).toBeVisible();
  await expect(page.getByTestId('account-email')).toHaveText(newEmail);
  await page.getByLabel('Your password').fill(password);
  await page.getByTestId('change-email').click();
  await expect(page.getByTestId('account-email')).toHaveText(email);
});

test('without an authenticator the add button is absent and the page explains why', async ({ page }, testInfo) => {
  await signUp(page, uniqueEmail());

  await expect(page.getByTestId('passkey-unsupported')).toContainText('cannot create a passkey here');
  await expect(page.getByTestId('add-passkey')).toHaveCount(0);
  await shot(page, testInfo, 'account-unsupported');
});

test('when the device does not verify the user, no passkey is added and the page says why', async ({ page }) => {
  await addVirtualAuthenticator(page, { isUserVerified: false });
  await signUp(page, uniqueEmail());

  await page.getByTestId('add-passkey').click();

  await expect(page.getByRole('alert')).toContainText('could not verify you');
  await expect(page.getByTestId('add-passkey')).toBeEnabled();
  await expect(page.getByTestId('no-passkeys')).toBeVisible();
});

test('an account can have two passkeys, one per device', async ({ page }) => {
  const first = await addVirtualAuthenticator(page);
  await signUp(page, uniqueEmail());
  await addPasskey(page);

  // The same device again: it already holds this account's passkey.
  await page.getByTestId('add-passkey').click();
  await expect(page.getByRole('alert')).toContainText('already has a passkey for this account');

  // Another device.
  await first.cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: first.authenticatorId });
  await first.cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  await addPasskey(page);
  await expect(page.getByTestId('passkey')).toHaveCount(2);
});

test('sign-up and sign-in forms explain what is wrong and keep what was typed', async ({ page }, testInfo) => {
  const email = uniqueEmail();
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('short');
  await page.getByLabel('Password').evaluate((input: HTMLInputElement) => input.removeAttribute('minlength'));
  await page.getByRole('button', { name: 'Make account' }).click();
  await expect(page.getByRole('alert')).toContainText('at least 8 characters');
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await shot(page, testInfo, 'sign-up-error');

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Make account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await signOut(page);

  await page.goto('/signin');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in with password' }).click();
  await expect(page.getByRole('alert')).toContainText('The email or the password is wrong.');
  await expect(page.getByLabel('Email')).toHaveValue(email);

  // A passkey sign-in for an email without passkeys says so.
  await page.getByRole('button', { name: 'Sign in with a passkey for this email' }).click();
  await expect(page.getByRole('alert').last()).toContainText('No passkey is registered for this email');
});
