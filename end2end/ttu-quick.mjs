import { chromium } from '@playwright/test';
const [base, runs] = [process.argv[2], Number(process.argv[3] ?? 3)];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const times = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true } });
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 562.5, downloadThroughput: 180000, uploadThroughput: 84375 });
  let requests = 0; page.on('request', () => requests++);
  const start = Date.now();
  await page.goto(base + '/signin', { waitUntil: 'commit' });
  await page.getByRole('button', { name: 'Choose a passkey' }).and(page.locator(':enabled')).waitFor({ timeout: 90000 });
  times.push(Date.now() - start);
  console.log(`run ${i}: ${Date.now() - start} ms, ${requests} requests`);
  await context.close();
}
times.sort((a, b) => a - b);
console.log('median', times[Math.floor(times.length / 2)]);
await browser.close();
