// Compiled, never run: what Latchkey's package adds to passage-flex-js's surface.
import { BrowserFailure, LatchkeyFlex, PassageError, type LatchkeyFlexOptions } from '../dist/index.js';

export async function latchkeyStyle(appId: string, transactionId: string): Promise<string | undefined> {
  const options: LatchkeyFlexOptions = { baseUrl: 'https://passkeys.example.com' };
  const flex = new LatchkeyFlex(appId, options);
  try {
    return await flex.passkey.register(transactionId, { authenticatorAttachment: 'cross-platform' });
  } catch (error) {
    if (!(error instanceof PassageError)) throw error;
    const code: string | undefined = error.code;
    const status: number = error.statusCode;
    if (status === BrowserFailure.Register && error.cause instanceof DOMException) return error.cause.name;
    return code ?? error.statusText;
  }
}
