import { test as base, type CDPSession, type Page } from '@playwright/test';

/** Options of a CTAP2 virtual authenticator: a platform authenticator that verifies the user. */
export const platformAuthenticator = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
} as const;

/** Gives the page a CDP virtual authenticator; returns its id. */
export async function addVirtualAuthenticator(
  page: Page,
  options: Partial<typeof platformAuthenticator> = {},
): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { ...platformAuthenticator, ...options },
  });
  return { cdp, authenticatorId };
}

export const test = base;
export { expect } from '@playwright/test';
