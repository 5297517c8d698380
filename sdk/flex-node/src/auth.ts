import { required } from './errors.js';
import type { ManagementApi } from './http.js';
import type { TransactionResponse, VerifyNonceResponse } from './wire.js';

/** Transactions that start a ceremony, and the nonce that ends one. */
export class Auth {
    /** @internal Made by `new PassageFlex(...)`. */
    public constructor(private readonly api: ManagementApi) {}

    /**
     * Starts adding a passkey for one of your users (created on their first).
     * @returns the transaction id the browser's `passkey.register` takes
     */
    public async createRegisterTransaction(externalId: string, passkeyDisplayName: string): Promise<string> {
        required({ externalId, passkeyDisplayName });
        const answer = await this.api.call<TransactionResponse>('POST', '/transactions/register', {
            external_id: externalId,
            passkey_display_name: passkeyDisplayName,
        });
        return answer.transaction_id;
    }

    /**
     * Starts an identifier-first sign-in for a user who has a passkey.
     * @returns the transaction id the browser's `passkey.authenticate` takes
     */
    public async createAuthenticateTransaction(externalId: string): Promise<string> {
        required({ externalId });
        const answer = await this.api.call<TransactionResponse>('POST', '/transactions/authenticate', {
            external_id: externalId,
        });
        return answer.transaction_id;
    }

    /**
     * Latchkey's step-up: an identifier-first sign-in that approves exactly
     * `action` (a JSON object, at most 4 KB); the passkey's signature covers it.
     * Verify its nonce with {@link verifyStepUp} and the same action.
     * @returns the transaction id the browser's `passkey.authenticate` takes
     */
    public async createStepUpTransaction(externalId: string, action: Record<string, unknown>): Promise<string> {
        required({ externalId, action });
        const answer = await this.api.call<TransactionResponse>('POST', '/transactions/authenticate', {
            external_id: externalId,
            action,
        });
        return answer.transaction_id;
    }

    /**
     * Trades a step-up's nonce, once, for its user, if it approves exactly
     * `action` (key order does not matter). A nonce of a plain sign-in or of
     * another action is refused (403 `action_mismatch`) and stays unused.
     * @returns the user's external id
     */
    public async verifyStepUp(nonce: string, action: Record<string, unknown>): Promise<string> {
        required({ nonce, action });
        const answer = await this.api.call<VerifyNonceResponse>('POST', '/authenticate/verify', { nonce, action });
        return answer.external_id;
    }

    /**
     * Trades the nonce a ceremony ended with, once, for the user it proves.
     * @returns the user's external id
     */
    public async verifyNonce(nonce: string): Promise<string> {
        required({ nonce });
        const answer = await this.api.call<VerifyNonceResponse>('POST', '/authenticate/verify', { nonce });
        return answer.external_id;
    }
}
