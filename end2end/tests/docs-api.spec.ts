import { test, expect, latchkey } from './fixtures';

// The API reference Latchkey serves at /docs/api, rendered from the same
// OpenAPI document as /v1/openapi.json: it works offline (every request
// stays on Latchkey's origin) and under its policy (no script at all).

test('/docs/api renders every operation of the OpenAPI document, offline, under its CSP', async ({ page }, testInfo) => {
  const elsewhere: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(latchkey)) elsewhere.push(request.url());
  });
  const problems: string[] = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(error.message));

  const response = await page.goto('/docs/api');
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
  await expect(page).toHaveTitle(/Latchkey API/);

  const screenshot = testInfo.outputPath('api-reference.png');
  await page.screenshot({ path: screenshot, fullPage: false });
  await testInfo.attach('api-reference', { path: screenshot, contentType: 'image/png' });
  console.log(`screenshot of /docs/api: ${screenshot}`);

  const document = await (await fetch(`${latchkey}/v1/openapi.json`)).json();
  const operations = Object.values(document.paths as Record<string, Record<string, { operationId: string }>>)
    .flatMap((item) => Object.values(item).map((operation) => operation.operationId));
  await expect(page.locator('article.operation')).toHaveCount(operations.length);
  for (const id of operations) {
    await expect(page.locator(`article.operation[id="${id}"] h3`)).toBeVisible();
  }
  // The users list's parameters are in the query, as the issue asked.
  const users = page.locator('article#list_users');
  await expect(users.getByRole('row', { name: /identifier.*query/ })).toBeVisible();
  // An error example opens without script.
  const verify = page.locator('article#verify_nonce');
  await verify.locator('summary', { hasText: 'invalid_nonce' }).click();
  await expect(verify.getByText('"code": "invalid_nonce"')).toBeVisible();
  // The stylesheet applied (the site's own, under style-src 'self').
  await expect(page.locator('.method-post').first()).toHaveCSS('color', 'rgb(255, 255, 255)');

  expect(elsewhere, 'requests that left Latchkey').toEqual([]);
  expect(problems, 'console errors (a CSP violation is one)').toEqual([]);
});
