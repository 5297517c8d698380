// The passkey routes of an app's Node backend, as written for passage-flex-node
// (passage-backend.ts.txt, kept as it was) and moved to Latchkey (backend.ts) by
// changing two lines: the import, and `baseUrl` in the constructor.
// flex-node.spec.ts checks that nothing else differs, then runs backend.ts.
import { PassageError, PassageErrorCode, PassageFlex } from '@latchkey/flex-node';

/** The app's own account; its id is the external id Passage knows the user by. */
export interface Account {
  id: string;
  email: string;
}

/** What one of the app's routes answers. */
export interface Reply {
  status: number;
  body?: unknown;
}

export function passkeyRoutes(env: Record<string, string | undefined>) {
  const passage = new PassageFlex({ appId: env.PASSAGE_APP_ID!, apiKey: env.PASSAGE_API_KEY!, baseUrl: env.LATCHKEY_URL! });

  return {
    /** POST /passkeys/add, signed in: a transaction for the browser's passkey.register. */
    addPasskey: (account: Account) =>
      reply(async () => ok({ transactionId: await passage.auth.createRegisterTransaction(account.id, account.email) })),

    /** POST /passkeys/added, signed in: the nonce must prove this same account. */
    passkeyAdded: (account: Account, nonce: string) =>
      reply(async () => {
        const externalId = await passage.auth.verifyNonce(nonce);
        if (externalId !== account.id) return { status: 403, body: { error: 'another account' } };
        return ok({ added: true });
      }),

    /** POST /signin/passkey: identifier-first, once the app found the account by email. */
    startSignIn: (account: Account) =>
      reply(async () => ok({ transactionId: await passage.auth.createAuthenticateTransaction(account.id) })),

    /** POST /signin/passkey/finish: the nonce names the account to sign in (any passkey flow). */
    finishSignIn: (nonce: string) => reply(async () => ok({ signedInAs: await passage.auth.verifyNonce(nonce) })),

    /** GET /account: what the account page shows about passkeys. */
    account: (account: Account) =>
      reply(async () => {
        const user = await passage.user.get(account.id);
        return ok({
          hasPasskey: user.webauthn,
          signIns: user.loginCount,
          lastSignIn: user.lastLoginAt.toISOString(),
          kinds: user.webauthnTypes,
        });
      }),

    /** GET /account/passkeys */
    listPasskeys: (account: Account) =>
      reply(async () =>
        ok(
          (await passage.user.listDevices(account.id)).map((device) => ({
            id: device.id,
            name: device.friendlyName,
            kind: device.type,
            added: device.createdAt.toISOString(),
            lastUsed: device.lastLoginAt.toISOString(),
            uses: device.usageCount,
          })),
        ),
      ),

    /** DELETE /account/passkeys/:id */
    removePasskey: (account: Account, id: string) =>
      reply(async () => {
        await passage.user.revokeDevice(account.id, id);
        return { status: 204 };
      }),
  };
}

const ok = (body: unknown): Reply => ({ status: 200, body });

/** Runs a route; a PassageError answers its status and code, as the app's error middleware did. */
async function reply(route: () => Promise<Reply>): Promise<Reply> {
  try {
    return await route();
  } catch (error) {
    if (!(error instanceof PassageError)) throw error;
    if (error.errorCode === PassageErrorCode.Nonce) return { status: 401, body: { error: 'sign-in expired, try again' } };
    return { status: error.statusCode, body: { error: error.errorCode } };
  }
}
