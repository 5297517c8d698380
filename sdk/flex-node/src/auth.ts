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
     * Trades the nonce a ceremony ended with, once, for the user it proves.
     * @returns the user's external id
     */
    public async verifyNonce(nonce: string): Promise<string> {
        required({ nonce });
        const answer = await this.api.call<VerifyNonceResponse>('POST', '/authenticate/verify', { nonce });
        return answer.external_id;
    }
}
