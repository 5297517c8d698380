import { ClientApi } from './api.js';
import { BrowserFailure, PassageError, reason } from './errors.js';
import { signalCurrent, signalUnknownCredential } from './signals.js';
import { creationOptions, credentialJSON, hasWebAuthn, requestOptions, type CredentialJSON } from './webauthn.js';

/** What kind of authenticator the browser offers to make the passkey with. */
export type AuthenticatorAttachment = 'platform' | 'cross-platform' | 'any';

export interface PasskeyCreationOptions {
  /** What kind of passkey the browser prompts the user to create; `platform` when not given (as Passage). */
  authenticatorAttachment?: AuthenticatorAttachment;
}

export interface IPasskeyAuthenticateOptions {
  /** An authenticate transaction from the app's backend (identifier-first sign-in); without one, any passkey of the app. */
  transactionId?: string;
  /** Wait for the user to pick a passkey from the autofill of an `autocomplete="username webauthn"` field. */
  isConditionalMediation?: boolean;
}

export interface PassageFlexOptions {
  /**
   * Latchkey's URL, e.g. `https://passkeys.example.com` (a trailing `/`,
   * `/v1` or `/v1/apps/{appId}` is accepted too). Default: the page's origin.
   */
  baseUrl?: string;
}

// The conditional (autofill) sign-in waiting on the page, if any. A browser
// runs one ceremony at a time, and an autofill one waits for as long as the
// page lives: every new ceremony cancels it first. Shared by every instance.
let autofill: AbortController | undefined;

function cancelAutofill(): void {
  autofill?.abort();
  autofill = undefined;
}

/** Rejects at once where the page cannot run WebAuthn (an old browser, or http off localhost). */
function requireWebAuthn(failure: number, message: string): void {
  if (hasWebAuthn()) return;
  if (typeof isSecureContext === 'boolean' && !isSecureContext) {
    const why = 'WebAuthn needs a secure context: https, or http on localhost';
    throw new PassageError(why, BrowserFailure.SecureContextRequired, why);
  }
  throw new PassageError(message, failure, 'This browser does not support WebAuthn');
}

/** Runs the browser's part of a ceremony; its credential as JSON, or a PassageError numbered `failure`. */
async function ceremony(
  failure: number,
  message: string,
  run: () => Promise<Credential | null>,
): Promise<CredentialJSON> {
  try {
    const credential = await run();
    if (credential) return credentialJSON(credential as PublicKeyCredential);
  } catch (cause) {
    throw new PassageError(message, failure, reason(cause), undefined, cause);
  }
  throw new PassageError(message, failure, 'The browser gave no credential');
}

/** Adds passkeys and signs in with them: the browser's half of Latchkey's ceremonies. */
export class Passkey {
  private readonly api: ClientApi;

  constructor(appId: string, options: PassageFlexOptions = {}) {
    this.api = new ClientApi(appId, options.baseUrl);
  }

  /**
   * Adds a passkey to the user of a register transaction (which the app's
   * backend made). Resolves to a nonce for the backend to verify.
   */
  async register(transactionId: string, options: PasskeyCreationOptions = {}): Promise<string> {
    const message = 'Error creating credential';
    requireWebAuthn(BrowserFailure.Register, message);
    cancelAutofill();
    const { handshake } = await this.api.registerStart({
      transaction_id: transactionId,
      authenticator_attachment: options.authenticatorAttachment ?? 'platform',
    });
    const response = await ceremony(BrowserFailure.Register, message, () =>
      navigator.credentials.create({ publicKey: creationOptions(handshake.challenge.publicKey) }));
    const { nonce } = await this.api.registerFinish({
      transaction_id: transactionId,
      handshake_id: handshake.id,
      handshake_response: response as RegistrationResponseJSON,
    });
    return nonce;
  }

  /**
   * Signs in with a passkey: of the transaction's user (identifier-first),
   * any of the app's (one click), or, with `isConditionalMediation`, the one
   * the user picks from the autofill (a transaction is then ignored).
   * Resolves to a nonce for the backend to verify. Where the browser has the
   * Signal API, it then tells the password manager which of the user's
   * passkeys still work; a passkey Latchkey does not know rejects with code
   * `credential_not_found`, and the password manager is told to drop it.
   */
  async authenticate(options: IPasskeyAuthenticateOptions = {}): Promise<string> {
    const message = 'Error getting credential';
    requireWebAuthn(BrowserFailure.Authenticate, message);
    cancelAutofill();
    const conditional = !!options.isConditionalMediation;
    const transactionId = conditional ? undefined : options.transactionId;
    const waiting = conditional ? (autofill = new AbortController()) : undefined;
    const { handshake } = await this.api.authenticateStart({ transaction_id: transactionId });
    const response = await ceremony(BrowserFailure.Authenticate, message, () =>
      navigator.credentials.get({
        publicKey: requestOptions(handshake.challenge.publicKey),
        mediation: conditional ? 'conditional' : undefined,
        signal: waiting?.signal,
      }));
    let finished;
    try {
      finished = await this.api.authenticateFinish({
        transaction_id: transactionId,
        handshake_id: handshake.id,
        handshake_response: response as AuthenticationResponseJSON,
      });
    } catch (error) {
      // A passkey Latchkey does not know: the password manager drops it.
      if (error instanceof PassageError && error.credentialId) {
        signalUnknownCredential(handshake.challenge.publicKey.rpId ?? location.hostname, error.credentialId);
      }
      throw error;
    }
    if (finished.signals) signalCurrent(finished.signals);
    return finished.nonce;
  }

  /** Whether this browser can create a passkey: it has WebAuthn (a security key will do). */
  async canRegisterPasskey(): Promise<boolean> {
    return hasWebAuthn();
  }

  /** Whether this browser can sign in with a passkey: it has WebAuthn. */
  async canAuthenticateWithPasskey(): Promise<boolean> {
    return hasWebAuthn();
  }

  /** Whether this browser offers passkeys in a form field's autofill (conditional mediation). */
  async canUseConditionalMediation(): Promise<boolean> {
    if (!hasWebAuthn()) return false;
    try {
      // WebAuthn Level 3 names the capability `conditionalGet`; drafts said
      // `conditionalMediation` (the only name passage-flex-js reads, so it
      // answers false in Chromium, where autofill works).
      const capabilities = await PublicKeyCredential.getClientCapabilities?.();
      const answer = capabilities?.conditionalGet ?? capabilities?.conditionalMediation;
      if (typeof answer === 'boolean') return answer;
      return (await PublicKeyCredential.isConditionalMediationAvailable?.()) === true;
    } catch (cause) {
      const why = reason(cause);
      throw new PassageError(why, BrowserFailure.CanUseConditionalMediation, why, undefined, cause);
    }
  }
}
