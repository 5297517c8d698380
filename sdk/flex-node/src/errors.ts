/**
 * The codes Latchkey answers with, as passage-flex-node named them (every key of
 * its `PassageErrorCode`, so code that names one still compiles), plus the
 * management API's codes Passage did not have.
 */
export const PassageErrorCode = {
    // 400
    InvalidRequest: 'invalid_request',
    CustomProviderRequired: 'custom_provider_required',
    // 401
    AccessToken: 'invalid_access_token',
    Nonce: 'invalid_nonce',
    // 403 (Passage's console; Latchkey never answers them)
    CannotCreateOrganizationBillingPortalSession: 'cannot_create_organization_billing_portal_session',
    CannotCreateTransaction: 'cannot_create_transaction',
    CannotDeleteAdmin: 'cannot_delete_admin',
    CannotDeleteOrganizationMember: 'cannot_delete_organization_member',
    CannotSelfUpdateOrganizationMember: 'cannot_self_update_organization_member',
    OperationNotAllowed: 'operation_not_allowed',
    // 404
    AdminNotFound: 'admin_not_found',
    ApiKeyNotFound: 'api_key_not_found',
    AppNotFound: 'app_not_found',
    DeviceNotFound: 'device_not_found',
    DomainNotFound: 'domain_not_found',
    EmailProviderNotFound: 'email_provider_not_found',
    EmailTemplateNotFound: 'email_template_not_found',
    EventNotFound: 'event_not_found',
    FunctionNotFound: 'function_not_found',
    FunctionSecretKeyNotFound: 'function_secret_key_not_found',
    FunctionVersionNotFound: 'function_version_not_found',
    MetadataFieldNotFound: 'metadata_field_not_found',
    Oauth2AppNotFound: 'oauth2_app_not_found',
    OrganizationMemberNotFound: 'organization_member_not_found',
    SmsProviderNotFound: 'sms_provider_not_found',
    SmsTemplateNotFound: 'sms_template_not_found',
    SocialConnectionNotFound: 'social_connection_not_found',
    UserNotFound: 'user_not_found',
    NativeClientNotFound: 'native_client_not_found',
    // 409
    UserAlreadyAdmin: 'user_already_admin',
    UserAlreadyOrganizationMember: 'user_already_organization_member',
    UserHasNoPasskeys: 'user_has_no_passkeys',
    NativeClientAlreadyExists: 'native_client_already_exists',
    FailedToSyncEmailPreferences: 'failed_to_sync_email_preferences',
    // 500
    InternalServerError: 'internal_server_error',
    // Latchkey's: 403 a step-up's nonce verified for another action, 409 on a
    // register transaction past the app's cap, 413, 429
    ActionMismatch: 'action_mismatch',
    TooManyPasskeys: 'too_many_passkeys',
    PayloadTooLarge: 'payload_too_large',
    RateLimited: 'rate_limited',
} as const;

export type PassageErrorCode = (typeof PassageErrorCode)[keyof typeof PassageErrorCode];

/**
 * What Latchkey refused, as passage-flex-node reported it: the HTTP status, the
 * stable code to branch on, and the server's sentence. Arguments a method
 * refuses before any request (an empty id) are plain `Error`s, as they were.
 */
export class PassageError extends Error {
    public override name = 'PassageError';
    declare public readonly message: string;

    public constructor(
        public readonly statusCode: number,
        public readonly errorCode: PassageErrorCode,
        message: string,
    ) {
        super(message);
        // Own and enumerable, as passage-flex-node's, so JSON.stringify(error) shows it. Not a
        // class field: Node 20's V8 stops redefining an inherited own property that way after
        // about ten instances, and the message turns non-enumerable.
        Object.defineProperty(this, 'message', { value: message, enumerable: true, writable: true, configurable: true });
    }
}

/** passage-flex-node's checks, before any request: each argument present, else `Error('{name} is required.')`. */
export function required(args: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(args)) {
        if (!value) throw new Error(`${name} is required.`);
    }
}
