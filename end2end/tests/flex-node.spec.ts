import { cjsEntry, esmEntry } from './flex-node/dist'; // first: stops the run, saying why, without `make sdk`
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { PassageError, PassageErrorCode, PassageFlex, LatchkeyFlex } from '@latchkey/flex-node';
import { test, expect, e2eApp, latchkey, softkey } from './fixtures';
import { authenticate, register, type Authenticator } from './flex-node/ceremony';
import { passkeyRoutes, type Account } from './flex-node/backend';

// @latchkey/flex-node, the Node package of sdk/flex-node as `make sdk` builds it,
// imported by its name. A backend written for passage-flex-node runs against
// Latchkey with two lines changed; every method works, every failure is the
// PassageError (or plain Error) passage-flex-node gave, and none shows the key.

const app = () => e2eApp('flex-node');
const flex = (config: Partial<{ appId: string; apiKey: string; baseUrl: string }> = {}) =>
  new PassageFlex({ appId: app().app_id, apiKey: app().api_key, baseUrl: latchkey, ...config });

let counter = 0;
/** An account of the app's own, new to Latchkey. */
function newAccount(): Account {
  const id = `acct-${process.pid}-${Date.now()}-${counter++}`;
  return { id, email: `${id}@example.com` };
}

/** The rejection of `work`, which must reject. */
async function failure(work: () => Promise<unknown>): Promise<Error> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A user with one passkey, made through the SDK by `authenticator` (a new one if none); its account and passkey id. */
async function accountWithPasskey(sdk: PassageFlex = flex(), authenticator?: Authenticator) {
  const account = newAccount();
  const key = authenticator ?? softkey();
  try {
    const transaction = await sdk.auth.createRegisterTransaction(account.id, account.email);
    expect(await sdk.auth.verifyNonce(await register(app(), key, transaction))).toBe(account.id);
  } finally {
    if (!authenticator) key.close();
  }
  const [passkey] = await sdk.user.listDevices(account.id);
  return { account, passkeyId: passkey.id };
}

test('a backend written for passage-flex-node differs from it only in the import and baseUrl', () => {
  const lines = (file: string) => readFileSync(join(__dirname, 'flex-node', file), 'utf8').split('\n');
  const passage = lines('passage-backend.ts.txt');
  const latchkeyBackend = lines('backend.ts');
  expect(latchkeyBackend).toHaveLength(passage.length);
  const changed = passage.flatMap((line, i) => (line === latchkeyBackend[i] ? [] : [[line, latchkeyBackend[i]]]));
  expect(changed).toEqual([
    [
      "import { PassageError, PassageErrorCode, PassageFlex } from '@passageidentity/passage-flex-node';",
      "import { PassageError, PassageErrorCode, PassageFlex } from '@latchkey/flex-node';",
    ],
    [
      '  const passage = new PassageFlex({ appId: env.PASSAGE_APP_ID!, apiKey: env.PASSAGE_API_KEY! });',
      '  const passage = new PassageFlex({ appId: env.PASSAGE_APP_ID!, apiKey: env.PASSAGE_API_KEY!, baseUrl: env.LATCHKEY_URL! });',
    ],
  ]);
});

test('that backend adds a passkey, signs in with it (identifier-first, one click), lists and removes passkeys', async () => {
  const routes = passkeyRoutes({
    PASSAGE_APP_ID: app().app_id,
    PASSAGE_API_KEY: app().api_key,
    LATCHKEY_URL: latchkey,
  });
  const account = newAccount();
  const key = softkey();
  try {
    // Add a passkey: transaction → browser → nonce back to the backend, once.
    const add = await routes.addPasskey(account);
    expect(add.status).toBe(200);
    const { transactionId } = add.body as { transactionId: string };
    const added = await register(app(), key, transactionId);
    expect(await routes.passkeyAdded(account, added)).toEqual({ status: 200, body: { added: true } });
    expect(await routes.passkeyAdded(account, added)).toEqual({
      status: 401,
      body: { error: 'sign-in expired, try again' },
    });
    // A nonce of another account's ceremony (a second device of `account`) proves nothing for this one.
    const otherDevice = softkey();
    try {
      const second = await register(app(), otherDevice,
        await flex().auth.createRegisterTransaction(account.id, account.email));
      expect(await routes.passkeyAdded(newAccount(), second)).toEqual({ status: 403, body: { error: 'another account' } });
    } finally {
      otherDevice.close();
    }

    // Sign in: identifier-first, then discoverable (one click, no transaction).
    const start = await routes.startSignIn(account);
    expect(start.status).toBe(200);
    const signedIn = await authenticate(app(), key, (start.body as { transactionId: string }).transactionId);
    expect(await routes.finishSignIn(signedIn)).toEqual({ status: 200, body: { signedInAs: account.id } });
    const oneClick = await authenticate(app(), key);
    expect(await routes.finishSignIn(oneClick)).toEqual({ status: 200, body: { signedInAs: account.id } });

    const page = await routes.account(account);
    expect(page).toMatchObject({ status: 200, body: { hasPasskey: true, signIns: 2, kinds: ['passkey'] } });
    expect(Date.now() - Date.parse((page.body as { lastSignIn: string }).lastSignIn)).toBeLessThan(60_000);

    const listed = await routes.listPasskeys(account);
    expect(listed.status).toBe(200);
    const passkeys = listed.body as { id: string; name: string; kind: string; uses: number }[];
    expect(passkeys).toHaveLength(2);
    expect(passkeys.map((p) => p.kind)).toEqual(['passkey', 'passkey']);
    expect(passkeys.map((p) => p.uses).sort()).toEqual([0, 2]);

    for (const passkey of passkeys) {
      expect(await routes.removePasskey(account, passkey.id)).toEqual({ status: 204 });
    }
    expect(await routes.listPasskeys(account)).toEqual({ status: 200, body: [] });
    expect(await routes.startSignIn(account)).toEqual({ status: 409, body: { error: 'user_has_no_passkeys' } });
    expect(await routes.removePasskey(account, passkeys[0].id)).toEqual({
      status: 404,
      body: { error: 'device_not_found' },
    });
    expect(await routes.account(newAccount())).toEqual({ status: 404, body: { error: 'user_not_found' } });
  } finally {
    key.close();
  }
});

test("Latchkey's step-up: a passkey approves exactly one action, and its nonce stands for that action only", async () => {
  const sdk = flex();
  const authenticator = softkey();
  try {
    const { account } = await accountWithPasskey(sdk, authenticator);
    const transfer = { type: 'transfer', amount: '120.00', to: { iban: 'DE89', name: 'Ada' } };
    const signIn = async (transaction: string) => authenticate(app(), authenticator, transaction);

    // Approved, and verified with the same action in another key order.
    let nonce = await signIn(await sdk.auth.createStepUpTransaction(account.id, transfer));
    const other = { ...transfer, amount: '9999.00' };
    const mismatch = await failure(() => sdk.auth.verifyStepUp(nonce, other));
    expect(mismatch).toBeInstanceOf(PassageError);
    expect(mismatch).toMatchObject({ statusCode: 403, errorCode: PassageErrorCode.ActionMismatch });
    const reordered = { to: { name: 'Ada', iban: 'DE89' }, amount: '120.00', type: 'transfer' };
    expect(await sdk.auth.verifyStepUp(nonce, reordered)).toBe(account.id);

    // A plain sign-in's nonce never approves an action.
    nonce = await signIn(await sdk.auth.createAuthenticateTransaction(account.id));
    expect(await failure(() => sdk.auth.verifyStepUp(nonce, transfer))).toMatchObject({ statusCode: 403 });
    expect(await sdk.auth.verifyNonce(nonce)).toBe(account.id);

    // Bad actions are refused before the ceremony.
    const bad = await failure(() => sdk.auth.createStepUpTransaction(account.id, { note: 'x'.repeat(5000) }));
    expect(bad).toMatchObject({ statusCode: 400, errorCode: PassageErrorCode.InvalidRequest });
  } finally {
    authenticator.close();
  }
});

test('every method answers the shapes passage-flex-node did: camelCase, Dates', async () => {
  const sdk = flex();
  const { account, passkeyId } = await accountWithPasskey(sdk);

  const user = await sdk.user.get(account.id);
  expect(Object.keys(user).sort()).toEqual([
    'createdAt', 'externalId', 'id', 'lastLoginAt', 'loginCount', 'status', 'updatedAt',
    'userMetadata', 'webauthn', 'webauthnDevices', 'webauthnTypes',
  ]);
  expect(user).toMatchObject({
    externalId: account.id,
    loginCount: 0,
    status: 'active',
    userMetadata: null,
    webauthn: true,
    webauthnTypes: ['passkey'],
  });
  expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
  for (const date of [user.createdAt, user.updatedAt]) {
    expect(date).toBeInstanceOf(Date);
    expect(Date.now() - date.getTime()).toBeLessThan(60_000);
  }
  // Never signed in: Passage's zero time, as a Date.
  expect(user.lastLoginAt.toISOString()).toBe('0001-01-01T00:00:00.000Z');

  const devices = await sdk.user.listDevices(account.id);
  expect(devices).toEqual(user.webauthnDevices);
  const [device] = devices;
  expect(Object.keys(device).sort()).toEqual([
    'createdAt', 'credId', 'friendlyName', 'icons', 'id', 'lastLoginAt', 'type', 'updatedAt', 'usageCount',
  ]);
  expect(device).toMatchObject({ id: passkeyId, type: 'passkey', usageCount: 0 });
  expect(device.credId).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(device.friendlyName.length).toBeGreaterThan(0);
  expect(Object.keys(device.icons).sort()).toEqual(['dark', 'light']);
  for (const date of [device.createdAt, device.updatedAt, device.lastLoginAt]) expect(date).toBeInstanceOf(Date);

  // Each returns what passage-flex-node's did: ids as strings, revoke nothing.
  expect(typeof await sdk.auth.createAuthenticateTransaction(account.id)).toBe('string');
  expect(await sdk.user.revokeDevice(account.id, passkeyId)).toBeUndefined();
  expect(await sdk.user.listDevices(account.id)).toEqual([]);
  expect(await sdk.user.get(account.id)).toMatchObject({ webauthn: false, webauthnDevices: [], webauthnTypes: [] });
});

test('the package loads by its name from the CJS build, and the ESM build works the same', async () => {
  // The spec's import went through `main`: the CommonJS build.
  const cjs = createRequire(__filename)(cjsEntry);
  expect(PassageFlex).toBe(cjs.PassageFlex);
  expect(LatchkeyFlex).toBe(PassageFlex);

  const esm = await import(pathToFileURL(esmEntry).href);
  expect(esm.PassageFlex).not.toBe(cjs.PassageFlex); // a real ES module, not the CJS one again
  expect(Object.keys(esm).sort()).toEqual(Object.keys(cjs).filter((name) => name !== '__esModule').sort());
  expect(Object.keys(esm).sort()).toEqual([
    'Auth', 'LatchkeyFlex', 'PassageError', 'PassageErrorCode', 'PassageFlex', 'User', 'UserStatus', 'WebAuthnType',
  ]);

  for (const build of [cjs, esm]) {
    const sdk = new build.LatchkeyFlex({ appId: app().app_id, apiKey: app().api_key, baseUrl: latchkey });
    const { account } = await accountWithPasskey(sdk);
    expect((await sdk.user.get(account.id)).webauthnDevices).toHaveLength(1);
    const error = await failure(() => sdk.auth.verifyNonce('not-a-nonce'));
    expect(error).toBeInstanceOf(build.PassageError);
    expect(error).toMatchObject({ statusCode: 401, errorCode: build.PassageErrorCode.Nonce });
  }
});

test('baseUrl is the server URL; a trailing /, /v1 or /v1/apps/{appId} is accepted', async () => {
  const { app_id } = app();
  for (const baseUrl of [latchkey, `${latchkey}/`, `${latchkey}/v1`, `${latchkey}/v1/`, `${latchkey}/v1/apps/${app_id}`]) {
    const account = newAccount();
    const sdk = flex({ baseUrl });
    expect(typeof await sdk.auth.createRegisterTransaction(account.id, account.email), baseUrl).toBe('string');
    expect((await sdk.user.get(account.id)).externalId, baseUrl).toBe(account.id);
  }
});

/** Every failure the SDK can meet, against Latchkey: [what, the error, the API key the client was made with]. */
async function everyFailure(): Promise<[string, Error, string][]> {
  const sdk = flex();
  const key = app().api_key;
  const wrongKey = `lk_${'W'.repeat(43)}`;
  const authenticator = softkey();
  let account: Account, passkeyId: string, nonce: string;
  try {
    ({ account, passkeyId } = await accountWithPasskey(sdk, authenticator));
    nonce = await authenticate(app(), authenticator, await sdk.auth.createAuthenticateTransaction(account.id));
  } finally {
    authenticator.close();
  }
  await sdk.auth.verifyNonce(nonce);
  const emptied = newAccount();
  await sdk.auth.createRegisterTransaction(emptied.id, emptied.email); // a user, never given a passkey
  const nowhere = `http://127.0.0.1:${await closedPort()}`;
  const cases: [string, () => Promise<unknown>, string][] = [
    ['wrong API key', () => flex({ apiKey: wrongKey }).auth.createRegisterTransaction(account.id, 'x'), wrongKey],
    ["another app's key", () => flex({ appId: e2eApp('other-origin').app_id }).user.get(account.id), key],
    ['unknown app', () => flex({ appId: 'no-such-app' }).auth.verifyNonce('x'), key],
    ['app id and key swapped', () => flex({ appId: key, apiKey: app().app_id }).auth.verifyNonce('x'), key],
    ['invalid nonce', () => sdk.auth.verifyNonce('not-a-nonce'), key],
    ['reused nonce', () => sdk.auth.verifyNonce(nonce), key],
    ['user not found (get)', () => sdk.user.get('nobody'), key],
    ['user not found (listDevices)', () => sdk.user.listDevices('nobody'), key],
    ['user not found (revokeDevice)', () => sdk.user.revokeDevice('nobody', passkeyId), key],
    ['unknown user has no passkeys', () => sdk.auth.createAuthenticateTransaction('nobody'), key],
    ['user has no passkeys', () => sdk.auth.createAuthenticateTransaction(emptied.id), key],
    ['device not found', () => sdk.user.revokeDevice(account.id, 'no-such-device'), key],
    ["another user's device", () => sdk.user.revokeDevice(emptied.id, passkeyId), key],
    ['device id ..', () => sdk.user.revokeDevice(account.id, '..'), key],
    ['invalid request', () => sdk.auth.createRegisterTransaction('x'.repeat(256), 'x'), key],
    ['not Latchkey at baseUrl', () => flex({ baseUrl: `${latchkey}/elsewhere` }).user.get(account.id), key],
    ['server unreachable', () => flex({ baseUrl: nowhere }).user.get(account.id), key],
    ['argument missing', () => sdk.auth.verifyNonce(''), key],
    ['key with a line break', async () => flex({ apiKey: `${key}\n` }), key],
    ['key given as baseUrl', async () => flex({ baseUrl: key }), key],
  ];
  const errors: [string, Error, string][] = [];
  for (const [what, work, apiKey] of cases) errors.push([what, await failure(work), apiKey]);
  return errors;
}

test("every error is passage-flex-node's: a PassageError with its fields, or a plain Error", async () => {
  const errors = Object.fromEntries((await everyFailure()).map(([what, error]) => [what, error]));
  const passageError = (statusCode: number, errorCode: string, message: string) => ({
    name: 'PassageError', statusCode, errorCode, message,
  });
  const badKey = passageError(401, 'invalid_access_token', 'The API key is missing, revoked, or not a key of this app.');
  const noApp = passageError(404, 'app_not_found', 'The app does not exist.');
  const badNonce = passageError(401, 'invalid_nonce', 'The nonce is unknown, expired, or already used.');
  const noUser = passageError(404, 'user_not_found', 'User not found.');
  const noPasskeys = passageError(409, 'user_has_no_passkeys', 'The user has no passkeys.');
  const noDevice = passageError(404, 'device_not_found', 'The passkey does not exist.');
  const expected: Record<string, object> = {
    'wrong API key': badKey,
    "another app's key": badKey,
    'unknown app': noApp,
    'app id and key swapped': noApp,
    'invalid nonce': badNonce,
    'reused nonce': badNonce,
    'user not found (get)': noUser,
    'user not found (listDevices)': noUser,
    'user not found (revokeDevice)': noUser,
    'unknown user has no passkeys': noPasskeys,
    'user has no passkeys': noPasskeys,
    'device not found': noDevice,
    "another user's device": noDevice,
    'device id ..': noDevice,
    'invalid request': passageError(400, 'invalid_request',
      'external_id must be at most 255 characters, without control characters'),
    'not Latchkey at baseUrl': passageError(404, 'internal_server_error',
      'HTTP 404 without a {code, error} body: is baseUrl the Latchkey server?'),
  };
  for (const [what, fields] of Object.entries(expected)) {
    const error = errors[what];
    expect(error, what).toBeInstanceOf(PassageError);
    expect(error, what).toBeInstanceOf(Error);
    // Its own enumerable fields, as passage-flex-node's: what JSON.stringify and loggers show.
    expect(JSON.parse(JSON.stringify(error)), what).toEqual(fields);
    expect(String(error), what).toBe(`PassageError: ${(fields as { message: string }).message}`);
  }
  expect(PassageErrorCode.AccessToken).toBe('invalid_access_token');
  expect(PassageErrorCode.UserHasNoPasskeys).toBe('user_has_no_passkeys');

  // No answer at all: a plain Error with the cause, as passage-flex-node's FetchError was.
  const unreachable = errors['server unreachable'];
  expect(unreachable).not.toBeInstanceOf(PassageError);
  expect(unreachable.message).toMatch(/^Latchkey did not answer at http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
  expect(unreachable.cause).toBeInstanceOf(Error);

  // Refused before any request: plain Errors with passage-flex-node's words, or Latchkey's.
  expect(errors['argument missing']).not.toBeInstanceOf(PassageError);
  expect(errors['argument missing'].message).toBe('nonce is required.');
  expect(errors['key with a line break'].message).toMatch(/^The API key has characters an HTTP header cannot carry/);
  expect(errors['key given as baseUrl'].message).toMatch(/^baseUrl must be an http\(s\) URL/);
});

test('invalid arguments are refused before any request, with passage-flex-node messages', async () => {
  const refused = (make: () => unknown) => {
    try {
      make();
    } catch (error) {
      expect(error).not.toBeInstanceOf(PassageError);
      return (error as Error).message;
    }
    throw new Error('expected a refusal');
  };
  const { app_id: appId, api_key: apiKey } = app();
  const config = (fields: object) => fields as ConstructorParameters<typeof PassageFlex>[0];
  expect(refused(() => new PassageFlex(config({ apiKey, baseUrl: latchkey })))).toBe(
    'A Passage App ID is required. Please include {appId: YOUR_APP_ID, apiKey: YOUR_APP_ID}.');
  expect(refused(() => new PassageFlex(config({ appId, apiKey: '', baseUrl: latchkey })))).toBe(
    'A Passage API key is required. Please include {appId: YOUR_APP_ID, apiKey: YOUR_APP_ID}.');
  expect(refused(() => new PassageFlex(config({ appId, apiKey })))).toBe(
    'A Latchkey base URL is required. Please include {appId: YOUR_APP_ID, apiKey: YOUR_API_KEY, baseUrl: YOUR_LATCHKEY_URL}.');
  for (const baseUrl of ['passkeys.example.com', 'ftp://passkeys.example.com', 'https://passkeys.example.com/?v=1',
    'https://passkeys.example.com/#top', 'https://user:secret@passkeys.example.com']) {
    expect(refused(() => flex({ baseUrl })), baseUrl).toBe(
      'baseUrl must be an http(s) URL such as https://passkeys.example.com, without a query, fragment or credentials.');
  }
  expect(refused(() => flex({ baseUrl: `${latchkey}/v1/apps/another-app` }))).toBe(
    'baseUrl names another app than appId: give the server URL alone, e.g. https://passkeys.example.com.');
  for (const apiKey of [' lk_x', 'lk_x\n', 'lk_é']) {
    expect(refused(() => flex({ apiKey })), JSON.stringify(apiKey)).toBe(
      'The API key has characters an HTTP header cannot carry (a space, a line break, non-ASCII): copy it again.');
  }

  // A request would fail otherwise (nothing listens there): these never make one.
  const sdk = flex({ baseUrl: `http://127.0.0.1:${await closedPort()}` });
  const untyped = sdk as unknown as Record<'auth' | 'user', Record<string, (...args: unknown[]) => Promise<unknown>>>;
  const calls: [string, () => Promise<unknown>][] = [
    ['externalId', () => sdk.auth.createRegisterTransaction('', 'name')],
    ['passkeyDisplayName', () => sdk.auth.createRegisterTransaction('user', '')],
    ['externalId', () => sdk.auth.createAuthenticateTransaction('')],
    ['nonce', () => sdk.auth.verifyNonce('')],
    ['nonce', () => untyped.auth.verifyNonce()],
    ['externalId', () => sdk.user.get('')],
    ['externalId', () => untyped.user.get(undefined)],
    ['externalId', () => sdk.user.listDevices('')],
    ['externalId', () => sdk.user.revokeDevice('', 'device')],
    ['deviceId', () => sdk.user.revokeDevice('user', '')],
  ];
  for (const [name, call] of calls) {
    const error = await failure(call);
    expect(error).not.toBeInstanceOf(PassageError);
    expect(error.message).toBe(`${name} is required.`);
  }
});

test('the API key appears in no error, no log line and no printout of the client', async () => {
  const printed: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const originals = methods.map((method) => console[method]);
  methods.forEach((method) => {
    console[method] = (...args: unknown[]) => { printed.push(args.map((arg) => inspect(arg)).join(' ')); };
  });
  let errors: [string, Error, string][];
  try {
    errors = await everyFailure();
  } finally {
    methods.forEach((method, i) => { console[method] = originals[i]; });
  }
  expect(printed).toEqual([]); // the SDK logs nothing

  for (const [what, error, apiKey] of errors) {
    const secret = apiKey.trim();
    const shown = [
      error.message,
      error.stack ?? '',
      String(error),
      JSON.stringify(error),
      inspect(error, { depth: Infinity, showHidden: true }), // with its cause chain
    ];
    for (const text of shown) expect(text.includes(secret), `${what}: ${text}`).toBe(false);
  }

  const sdk = flex();
  for (const text of [inspect(sdk, { depth: Infinity, showHidden: true }), JSON.stringify(sdk), String(sdk)]) {
    expect(text.includes(app().api_key), text).toBe(false);
  }
});
