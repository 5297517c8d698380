// A backend written for passage-flex-node, as an ES module: it must type-check
// against this package's `import` types with only the import and baseUrl changed.
import { PassageError, PassageErrorCode, PassageFlex, LatchkeyFlex, UserStatus, WebAuthnType } from '@latchkey/flex-node';
import type { PassageFlexConfig, PassageUser, WebAuthnDevices, WebAuthnIcons } from '@latchkey/flex-node';

const config: PassageFlexConfig = { appId: 'app', apiKey: 'lk_key', baseUrl: 'https://passkeys.example.com' };
const passage = new PassageFlex(config);
const latchkey: LatchkeyFlex = new LatchkeyFlex(config);

export async function everyMethod(externalId: string, nonce: string): Promise<void> {
    const register: string = await passage.auth.createRegisterTransaction(externalId, 'ada@example.com');
    const signIn: string = await latchkey.auth.createAuthenticateTransaction(externalId);
    const verified: string = await passage.auth.verifyNonce(nonce);
    const user: PassageUser = await passage.user.get(externalId);
    const created: Date = user.createdAt;
    const active: boolean = user.status === UserStatus.Active;
    const devices: WebAuthnDevices[] = await passage.user.listDevices(externalId);
    const icons: WebAuthnIcons = devices[0].icons;
    const synced: boolean = devices[0].type === WebAuthnType.Passkey;
    const done: void = await passage.user.revokeDevice(externalId, devices[0].id);
    void [register, signIn, verified, created, active, icons, synced, done];
}

export function status(error: unknown): number {
    if (error instanceof PassageError && error.errorCode === PassageErrorCode.UserNotFound) return 404;
    return error instanceof PassageError ? error.statusCode : 500;
}
