/**
 * `@latchkey/flex-js`: passkeys in the browser against a Latchkey server,
 * with the API of `@passageidentity/passage-flex-js` 1.0.2 plus a `baseUrl`.
 *
 * ```ts
 * import { PassageFlex } from '@latchkey/flex-js';
 * const flex = new PassageFlex(appId, { baseUrl: 'https://passkeys.example.com' });
 * const nonce = await flex.passkey.register(transactionId);
 * ```
 */
import { Passkey, type PassageFlexOptions } from './passkey.js';

export class PassageFlex {
  passkey: Passkey;

  /**
   * @param appId The Latchkey app's id (the id it had on Passage, for an imported app).
   * @param options `baseUrl`: Latchkey's URL; the page's own origin when not given.
   */
  constructor(appId: string, options?: PassageFlexOptions) {
    this.passkey = new Passkey(appId, options);
  }
}

export { PassageFlex as LatchkeyFlex, Passkey };
export { PassageError, BrowserFailure } from './errors.js';
export type {
  AuthenticatorAttachment,
  IPasskeyAuthenticateOptions,
  PasskeyCreationOptions,
  PassageFlexOptions,
  PassageFlexOptions as LatchkeyFlexOptions,
} from './passkey.js';
