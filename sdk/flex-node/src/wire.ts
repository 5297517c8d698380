// The management API's JSON, as Latchkey's server declares it
// (app/src/wire/management.rs): snake_case, times as RFC 3339 strings.

export interface TransactionResponse {
    transaction_id: string;
}

export interface VerifyNonceResponse {
    external_id: string;
    /** The action a step-up approved; absent for a plain sign-in. */
    action?: Record<string, unknown>;
}

export interface UserListItem {
    id: string;
    external_id: string;
    status: string;
    email: string;
    email_verified: boolean;
    phone: string;
    phone_verified: boolean;
    login_count: number;
    created_at: string;
    updated_at: string;
    last_login_at: string;
    user_metadata: Record<string, unknown> | null;
}

export interface UserListResponse {
    users: UserListItem[];
    total_users: number;
    page: number;
    limit: number;
    created_before: number;
    _links: Record<'first' | 'last' | 'next' | 'previous' | 'self', { href: string }>;
}

export interface UserInfo extends UserListItem {
    recent_events: unknown[];
    social_connections: Record<string, unknown>;
    webauthn: boolean;
    webauthn_devices: Device[];
    webauthn_types: string[];
}

export interface UserResponse {
    user: UserInfo;
}

export interface Device {
    id: string;
    cred_id: string;
    friendly_name: string;
    type: string;
    usage_count: number;
    created_at: string;
    updated_at: string;
    last_login_at: string;
    icons: { light: string | null; dark: string | null };
    provider_name: string | null;
    aaguid: string;
    backup_eligible: boolean;
    backup_state: boolean;
    transports: string[];
}

export interface DevicesResponse {
    devices: Device[];
}

/** Every error answer. */
export interface ErrorBody {
    code: string;
    error: string;
}
