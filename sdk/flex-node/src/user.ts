import { PassageError, PassageErrorCode, required } from './errors.js';
import type { ManagementApi } from './http.js';
import type * as wire from './wire.js';

export const UserStatus = { Active: 'active', Inactive: 'inactive', Pending: 'pending' } as const;
export type UserStatus = (typeof UserStatus)[keyof typeof UserStatus];

/** `passkey` (synced), `platform` (bound to one device) or `security_key`. */
export const WebAuthnType = { Passkey: 'passkey', SecurityKey: 'security_key', Platform: 'platform' } as const;
export type WebAuthnType = (typeof WebAuthnType)[keyof typeof WebAuthnType];

/** The passkey provider's icons, as `data:image/svg+xml;base64,…` URLs, or null when unknown. */
export interface WebAuthnIcons {
    light: string | null;
    dark: string | null;
}

/** A passkey (Passage called them devices). */
export interface WebAuthnDevices {
    createdAt: Date;
    /** The credential id, base64url. */
    credId: string;
    friendlyName: string;
    id: string;
    lastLoginAt: Date;
    type: WebAuthnType;
    updatedAt: Date;
    /** How many sign-ins it has made. */
    usageCount: number;
    icons: WebAuthnIcons;
}

export interface PassageUser {
    createdAt: Date;
    externalId: string;
    id: string;
    /** `0001-01-01T00:00:00Z` before the first sign-in, as Passage answered. */
    lastLoginAt: Date;
    loginCount: number;
    status: UserStatus;
    updatedAt: Date;
    userMetadata: object | null;
    /** Whether the user has a passkey. */
    webauthn: boolean;
    webauthnDevices: WebAuthnDevices[];
    webauthnTypes: WebAuthnType[];
}

/** Your users' passkeys, by the external id your app knows them by. */
export class User {
    /** @internal Made by `new PassageFlex(...)`. */
    public constructor(private readonly api: ManagementApi) {}

    /** The user, with their passkeys; PassageError 404 `user_not_found` if Latchkey has no such user. */
    public async get(externalId: string): Promise<PassageUser> {
        required({ externalId });
        const id = await this.idOf(externalId);
        const { user } = await this.api.call<wire.UserResponse>('GET', `/users/${encodeURIComponent(id)}`);
        return {
            createdAt: new Date(user.created_at),
            externalId: user.external_id,
            id: user.id,
            lastLoginAt: new Date(user.last_login_at),
            loginCount: user.login_count,
            status: user.status as UserStatus,
            updatedAt: new Date(user.updated_at),
            userMetadata: user.user_metadata,
            webauthn: user.webauthn,
            webauthnDevices: user.webauthn_devices.map(device),
            webauthnTypes: user.webauthn_types as WebAuthnType[],
        };
    }

    /** The user's passkeys. */
    public async listDevices(externalId: string): Promise<WebAuthnDevices[]> {
        required({ externalId });
        const id = await this.idOf(externalId);
        const { devices } = await this.api.call<wire.DevicesResponse>('GET', `/users/${encodeURIComponent(id)}/devices`);
        return devices.map(device);
    }

    /** Removes one of the user's passkeys; PassageError 404 `device_not_found` if it is not theirs. */
    public async revokeDevice(externalId: string, deviceId: string): Promise<void> {
        required({ externalId, deviceId });
        const id = await this.idOf(externalId);
        // A URL resolves `.` and `..` (even percent-encoded): another endpoint. No passkey has such an id.
        if (deviceId === '.' || deviceId === '..') {
            throw new PassageError(404, PassageErrorCode.DeviceNotFound, 'The passkey does not exist.');
        }
        await this.api.call<void>('DELETE', `/users/${encodeURIComponent(id)}/devices/${encodeURIComponent(deviceId)}`);
    }

    /** Latchkey's user id for an external id, found as passage-flex-node found it: `GET /users?identifier=…&limit=1`. */
    private async idOf(externalId: string): Promise<string> {
        const query = new URLSearchParams({ identifier: externalId, limit: '1' });
        const { users } = await this.api.call<wire.UserListResponse>('GET', `/users?${query}`);
        if (!users.length) {
            throw new PassageError(404, PassageErrorCode.UserNotFound, 'User not found.');
        }
        return users[0].id;
    }
}

/** The fields passage-flex-node's `WebAuthnDevices` had; Latchkey's additions stay on the wire. */
function device(passkey: wire.Device): WebAuthnDevices {
    return {
        createdAt: new Date(passkey.created_at),
        credId: passkey.cred_id,
        friendlyName: passkey.friendly_name,
        id: passkey.id,
        lastLoginAt: new Date(passkey.last_login_at),
        type: passkey.type as WebAuthnType,
        updatedAt: new Date(passkey.updated_at),
        usageCount: passkey.usage_count,
        icons: { light: passkey.icons.light, dark: passkey.icons.dark },
    };
}
