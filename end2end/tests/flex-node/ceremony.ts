import { expect } from '@playwright/test';
import { latchkey, softkey, type E2EApp } from '../fixtures';

// The browser's half of a ceremony, from Node: what passage-flex-js's
// passkey.register / passkey.authenticate do with a transaction id, against
// Latchkey's client API, with softkey as the authenticator. Each returns the
// nonce the browser would hand to the app's backend.

export type Authenticator = ReturnType<typeof softkey>;

async function client(app: E2EApp, path: string, body: object) {
  const response = await fetch(`${latchkey}/v1/apps/${app.app_id}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  expect(response.status, JSON.stringify(answer)).toBe(200);
  return answer;
}

export async function register(app: E2EApp, authenticator: Authenticator, transactionId: string): Promise<string> {
  const { handshake } = await client(app, '/register/transactions/webauthn/start', { transaction_id: transactionId });
  const response = await authenticator.register(latchkey, handshake.challenge.publicKey);
  const { nonce } = await client(app, '/register/transactions/webauthn/finish', {
    transaction_id: transactionId,
    handshake_id: handshake.id,
    handshake_response: response,
  });
  return nonce;
}

/** With a transaction id: identifier-first; without: discoverable (one click). */
export async function authenticate(app: E2EApp, authenticator: Authenticator, transactionId?: string): Promise<string> {
  const transaction = transactionId ? { transaction_id: transactionId } : {};
  const { handshake } = await client(app, '/authenticate/transactions/webauthn/start', transaction);
  const response = await authenticator.authenticate(latchkey, handshake.challenge.publicKey);
  const { nonce } = await client(app, '/authenticate/transactions/webauthn/finish', {
    ...transaction,
    handshake_id: handshake.id,
    handshake_response: response,
  });
  return nonce;
}
