import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { test as base, expect, type CDPSession, type Page } from '@playwright/test';

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

/** Puts a discoverable passkey for this RP that Latchkey never saw into the authenticator; its id (base64url). */
export async function addUnknownPasskey(cdp: CDPSession, authenticatorId: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const id = randomBytes(32);
  await cdp.send('WebAuthn.addCredential', {
    authenticatorId,
    credential: {
      credentialId: id.toString('base64'),
      isResidentCredential: true,
      rpId: 'localhost',
      privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      userHandle: randomBytes(16).toString('base64'),
      signCount: 0,
    },
  });
  return id.toString('base64url');
}

export const test = base;
export { expect };

/** Where the server under test listens (`make test-e2e` picks the port). */
export const port = Number(process.env.LATCHKEY_E2E_PORT ?? 3000);
export const latchkey = `http://localhost:${port}`;
/** A second origin, for pages that call Latchkey across origins (cors.spec.ts serves it). */
export const crossOriginPort = Number(process.env.LATCHKEY_E2E_CROSS_ORIGIN_PORT ?? port + 1);
export const crossOrigin = `http://localhost:${crossOriginPort}`;

/** The apps the suite uses, by name: their origins. global-setup.ts creates them with the CLI. */
export const e2eApps = {
  'passage-flex-js': [latchkey],
  'cross-origin': [crossOrigin],
  'other-origin': ['https://elsewhere.example'],
  'openapi-client': [latchkey],
  'flex-node': [latchkey],
  'aaguid-deny': [latchkey],
} as const;

/** The AAGUID of Chromium's CTAP2 virtual authenticator. */
export const virtualAuthenticatorAaguid = '01020304-0506-0708-0102-030405060708';

/** What some apps are created with beyond their origins (`latchkey apps create` options). */
export const e2eAppOptions: Partial<Record<keyof typeof e2eApps, string[]>> = {
  // Refuses the virtual authenticator (authenticator policy).
  'aaguid-deny': ['--aaguid-deny', virtualAuthenticatorAaguid],
};

export type E2EApp = { app_id: string; api_key: string; origins: string[] };

/** The server's database, a fresh SQLite file per run (the webServer command removes it), in end2end/. */
export const e2eDatabase = 'sqlite://e2e.db';

/** Written by global-setup.ts, read by the specs: end2end/e2e-apps.json. */
export const appsFile = join(__dirname, '..', 'e2e-apps.json');

/** One of the apps global-setup.ts created. */
export function e2eApp(name: keyof typeof e2eApps): E2EApp {
  const apps = JSON.parse(readFileSync(appsFile, 'utf8')) as Record<string, E2EApp>;
  return apps[name];
}

/** A management API call from the app's backend (here, Node): POST, answered 200. */
export async function manage(app: E2EApp, path: string, body: object) {
  const response = await fetch(`${latchkey}/v1/apps/${app.app_id}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.api_key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.json();
}

/**
 * The project's software authenticator (softkey/src/bin/softkey.rs) as a child
 * process, for specs that run a ceremony's browser step from Node: `register`
 * answers `publicKey` creation options, `authenticate` request options, each
 * with the JSON a browser would send. `make test-e2e` builds it and passes
 * LATCHKEY_SOFTKEY. Credentials live until `close()`.
 */
export function softkey() {
  const bin = process.env.LATCHKEY_SOFTKEY;
  if (!bin) throw new Error('LATCHKEY_SOFTKEY is not set: run the suite with `make test-e2e`, which builds it');
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ask = async (op: 'register' | 'authenticate', origin: string, options: unknown) => {
    child.stdin!.write(`${JSON.stringify({ op, origin, options })}\n`);
    const { value, done } = await lines.next();
    if (done) throw new Error('softkey exited');
    const answer = JSON.parse(value);
    if (answer.error) throw new Error(`softkey refused: ${answer.error}`);
    return answer;
  };
  return {
    register: (origin: string, options: unknown) => ask('register', origin, options),
    authenticate: (origin: string, options: unknown) => ask('authenticate', origin, options),
    close: () => { child.stdin!.end(); },
  };
}

/** A management API call answered with any status: `{ status, body }` (body `null` when empty). */
export async function management(app: E2EApp, method: 'GET' | 'POST', path: string, body?: object) {
  const response = await fetch(`${latchkey}/v1/apps/${app.app_id}${path}`, {
    method,
    headers: { authorization: `Bearer ${app.api_key}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The passkeys (devices) Latchkey holds for a user of the app, by external id; [] for no such user. */
export async function passkeysOf(app: E2EApp, externalId: string): Promise<Array<Record<string, any>>> {
  const { status, body } = await management(app, 'GET', `/users?identifier=${encodeURIComponent(externalId)}&limit=1`);
  expect(status).toBe(200);
  const user = body.users[0];
  if (!user) return [];
  return (await management(app, 'GET', `/users/${user.id}/devices`)).body.devices;
}
