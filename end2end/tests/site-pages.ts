// The reference site's pages, as the specs drive them: sign up, add a
// passkey, sign out, and open the sign-in page without the autofill request
// answering first.
import { expect } from './fixtures';
import type { CDPSession, Page } from '@playwright/test';

export const password = 'correct horse battery staple';

export function uniqueEmail(prefix = 'ada'): string {
  return `${prefix}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}@example.com`;
}

/**
 * Waits until the page's islands (the parts that run in the browser) have
 * hydrated; a page without islands is ready as it is.
 */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => document.body.dataset.hydrated === 'true' || !document.querySelector('leptos-island'));
}

export async function signUp(page: Page, email: string) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Make account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
}

export async function addPasskey(page: Page) {
  const button = page.getByTestId('add-passkey');
  await button.click();
  await expect(page.getByText('Passkey added.')).toBeVisible();
  await expect(button).toBeEnabled();
}

export async function signOut(page: Page) {
  // The button works once the page is hydrated; a click before is lost.
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/$/);
}

/**
 * Opens the sign-in page without letting the virtual authenticator answer the
 * autofill request (it would sign in at once): presence is simulated only once
 * the page has started its autofill ceremony. A real person would pick from
 * the autofill list instead.
 */
export async function openSignInWithoutAutofill(page: Page, cdp: CDPSession, authenticatorId: string) {
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
  const autofillStarted = page.waitForResponse((r) => r.url().endsWith('/authenticate/transactions/webauthn/start'));
  await page.goto('/signin');
  await hydrated(page);
  await autofillStarted;
  // The page calls navigator.credentials.get() as soon as that answer arrives;
  // CDP has no event for a pending request, so give it a moment.
  await page.waitForTimeout(300);
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
}
