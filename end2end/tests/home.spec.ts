import { test, expect, addVirtualAuthenticator } from './fixtures';

test.describe('the home page', () => {
  test('says passkeys work when the browser has a platform authenticator', async ({ page }, testInfo) => {
    await addVirtualAuthenticator(page);

    await page.goto('/');

    const support = page.locator('#passkey-support');
    await expect(support.locator('[data-passkeys="supported"]')).toBeVisible();
    await expect(support).toContainText('This browser can use passkeys');
    await page.screenshot({ path: testInfo.outputPath('home-supported.png'), fullPage: true });
  });

  test('explains why passkeys cannot be used without an authenticator', async ({ page }, testInfo) => {
    await page.goto('/');

    const support = page.locator('#passkey-support');
    await expect(support.locator('[data-passkeys="unsupported"]')).toBeVisible();
    await expect(support).toContainText('cannot create passkeys here');
    await page.screenshot({ path: testInfo.outputPath('home-unsupported.png'), fullPage: true });
  });

  test('is rendered on the server: without JavaScript it still reads, and says why passkeys need it', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();

    const response = await page.goto('/');

    expect(response?.status()).toBe(200);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Latchkey');
    await expect(page.locator('[data-passkeys="checking"]')).toBeVisible();
    // Playwright's text locators skip <noscript>; measure the rendered box instead.
    const noscript = await page.evaluate(() => {
      const p = document.querySelector('noscript p');
      return { text: p?.textContent ?? '', height: p?.getBoundingClientRect().height ?? 0 };
    });
    expect(noscript.text).toContain('JavaScript is off');
    expect(noscript.height).toBeGreaterThan(0);
    await context.close();
  });
});
