import type { Page, Response } from '@playwright/test';
import { test, expect } from './fixtures';
import { password, uniqueEmail } from './site-pages';

// The site without JavaScript (or before its WASM has loaded): sign-up and
// password sign-in are plain form posts. The server answers 303 to the account
// page, or 303 back to the form, which says what went wrong and keeps the email.

// The site limits password attempts per address; this spec has its own.
test.use({ javaScriptEnabled: false, extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.21' } });

/** Submits the page's form with `button` and returns the POST's own answer (before the redirect). */
async function post(page: Page, button: string): Promise<Response> {
  const answer = page.waitForResponse((r) => r.request().method() === 'POST');
  await page.getByRole('button', { name: button }).click();
  return answer;
}

test('sign-up and password sign-in work without JavaScript, and refusals keep what was typed', async ({ page }) => {
  const email = uniqueEmail('noscript');

  // A refused sign-up: back to the form, the email kept, the reason said.
  await page.goto('/signup');
  // A page without islands loads no script and no WASM at all.
  expect(await page.locator('script[type=module], link[rel=modulepreload], link[as=fetch]').count()).toBe(0);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('short');
  await page.getByLabel('Password').evaluate((input: HTMLInputElement) => input.removeAttribute('minlength'));
  let answer = await post(page, 'Make account');
  expect(answer.status()).toBe(303);
  expect(answer.headers()['location']).toBe('/signup');
  await expect(page).toHaveURL(/\/signup$/);
  await expect(page.getByRole('alert')).toContainText('at least 8 characters');
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await expect(page.getByLabel('Password')).toHaveValue('');
  // Said once: a reload shows the empty form.
  await page.reload();
  await expect(page.getByRole('alert')).toHaveCount(0);
  await expect(page.getByLabel('Email')).toHaveValue('');

  // The sign-up that works ends on the account page.
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  answer = await post(page, 'Make account');
  expect(answer.status()).toBe(303);
  expect(answer.headers()['location']).toBe('/account');
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);

  // Signing out is a plain form too.
  answer = await post(page, 'Sign out');
  expect(answer.status()).toBe(303);
  await expect(page).toHaveURL(/\/$/);

  // A wrong password: back to the sign-in form, the email kept.
  await page.goto('/signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('not the password');
  answer = await post(page, 'Sign in with password');
  expect(answer.status()).toBe(303);
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByRole('alert')).toContainText('The email or the password is wrong.');
  await expect(page.getByLabel('Email')).toHaveValue(email);

  // The right one: the account page.
  await page.getByLabel('Password').fill(password);
  answer = await post(page, 'Sign in with password');
  expect(answer.status()).toBe(303);
  expect(answer.headers()['location']).toBe('/account');
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
});

test('the sign-in page says that passkeys need JavaScript', async ({ page }) => {
  await page.goto('/signin');
  const note = await page.evaluate(() => document.querySelector('noscript')?.textContent ?? '');
  expect(note).toContain('Passkeys need JavaScript');
});

test('the scripts and the WASM have hashed names, kept for a year; a page without islands loads neither', async ({ page, request }) => {
  await page.goto('/signin');
  // The glue, the lazy chunks' loader and the WASM, each preloaded.
  const hrefs = await page
    .locator('link[rel=modulepreload], link[rel=preload][as=fetch]')
    .evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
  expect(hrefs.filter((href) => href.endsWith('.wasm'))).toHaveLength(1);
  expect(hrefs).toHaveLength(3);
  for (const href of hrefs) {
    expect(href).toMatch(/^\/pkg\/(latchkey|__wasm_split)\.[A-Za-z0-9_-]{16,}\.(js|wasm)$/);
    const answer = await request.get(href);
    expect(answer.status()).toBe(200);
    expect(answer.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  }
  // The page itself is never cached that way.
  const html = await request.get('/signin');
  expect(html.headers()['cache-control'] ?? '').not.toContain('immutable');
  await page.goto('/signup');
  expect(await page.locator('link[rel=modulepreload], link[rel=preload][as=fetch], script[type=module]').count()).toBe(0);
});
