import { test, expect, e2eApp, latchkey, softkey } from './fixtures';
// Missing? Run scripts/openapi.sh (make test-e2e does) to generate it.
import * as api from '../generated/latchkey-api';
import { createClient } from '../generated/latchkey-api/client';

// A client generated from GET /v1/openapi.json by a maintained generator
// (@hey-api/openapi-ts; scripts/openapi.sh writes it before the suite runs),
// used as a customer without a Latchkey package would use it: a whole
// register, sign-in, verify, list, rename and revoke flow against the real
// server, the browser's part done by the project's software authenticator.

test('a client generated from the OpenAPI document runs the whole flow', async () => {
  const app = e2eApp('openapi-client');
  // The management API takes the app's key; the client API none.
  const client = createClient({ baseUrl: latchkey, auth: () => app.api_key });
  const browser = createClient({ baseUrl: latchkey, headers: { origin: latchkey } });
  const app_id = app.app_id;
  const key = softkey();
  try {
    // Register a passkey.
    const register = await api.createRegisterTransaction({
      client, path: { app_id }, body: { external_id: 'openapi-user', passkey_display_name: 'openapi@example.com' },
    });
    expect(register.response.status).toBe(200);
    const transaction_id = register.data!.transaction_id;
    const started = await api.registerStart({ client: browser, path: { app_id }, body: { transaction_id } });
    expect(started.response.status).toBe(200);
    const { handshake } = started.data!;
    const created = await key.register(latchkey, handshake.challenge.publicKey);
    const registered = await api.registerFinish({
      client: browser, path: { app_id }, body: { transaction_id, handshake_id: handshake.id, handshake_response: created },
    });
    expect(registered.response.status).toBe(200);
    const verified = await api.verifyNonce({ client, path: { app_id }, body: { nonce: registered.data!.nonce } });
    expect(verified.data).toEqual({ external_id: 'openapi-user' });

    // Sign in with it, identifier-first, and trade the nonce once.
    const signIn = await api.createAuthenticateTransaction({ client, path: { app_id }, body: { external_id: 'openapi-user' } });
    const signInId = signIn.data!.transaction_id;
    const challenge = await api.authenticateStart({ client: browser, path: { app_id }, body: { transaction_id: signInId } });
    const assertion = await key.authenticate(latchkey, challenge.data!.handshake.challenge.publicKey);
    const finished = await api.authenticateFinish({
      client: browser, path: { app_id },
      body: { transaction_id: signInId, handshake_id: challenge.data!.handshake.id, handshake_response: assertion },
    });
    expect(finished.response.status).toBe(200);
    const nonce = finished.data!.nonce;
    expect((await api.verifyNonce({ client, path: { app_id }, body: { nonce } })).data).toEqual({ external_id: 'openapi-user' });
    // A nonce is used once: the error is the documented one, typed.
    const reused = await api.verifyNonce({ client, path: { app_id }, body: { nonce } });
    expect(reused.response.status).toBe(401);
    expect(reused.error).toMatchObject({ code: 'invalid_nonce' });

    // Find the user (the query parameters the document once put in the path), list, rename, revoke.
    const found = await api.listUsers({ client, path: { app_id }, query: { identifier: 'openapi-user', limit: 1 } });
    expect(found.response.status).toBe(200);
    expect(found.data!.users.map((u) => u.external_id)).toEqual(['openapi-user']);
    const user_id = found.data!.users[0].id;
    const user = await api.getUser({ client, path: { app_id, user_id } });
    expect(user.data!.user.webauthn_devices).toHaveLength(1);
    const devices = await api.listDevices({ client, path: { app_id, user_id } });
    const device_id = devices.data!.devices[0].id;
    expect(devices.data!.devices[0].usage_count).toBe(1);
    const renamed = await api.renameDevice({ client, path: { app_id, user_id, device_id }, body: { friendly_name: 'Work laptop' } });
    expect(renamed.data!.device.friendly_name).toBe('Work laptop');
    const revoked = await api.revokeDevice({ client, path: { app_id, user_id, device_id } });
    expect(revoked.response.status).toBe(200);
    expect((await api.listDevices({ client, path: { app_id, user_id } })).data!.devices).toEqual([]);
    const again = await api.revokeDevice({ client, path: { app_id, user_id, device_id } });
    expect(again.response.status).toBe(404);
    expect(again.error).toMatchObject({ code: 'device_not_found' });

    // Without the key, the management API refuses, as documented.
    const anonymous = createClient({ baseUrl: latchkey });
    const refused = await api.listUsers({ client: anonymous, path: { app_id } });
    expect(refused.response.status).toBe(401);
    expect(refused.error).toMatchObject({ code: 'invalid_access_token' });
  } finally {
    key.close();
  }
});
