// The WebAuthn Signal API (Level 3 §5.1.10): tells the password manager which
// passkeys are gone and what the user is called now. Each method only where
// the browser has it; its answer changes nothing here, so none is awaited.
import type { WebauthnSignals } from './wire.js';

type SignalApi = Record<string, ((argument: object) => Promise<void>) | undefined>;

function signal(name: string, argument: object): void {
  const method = (globalThis.PublicKeyCredential as unknown as SignalApi | undefined)?.[name];
  if (typeof method !== 'function') return;
  try {
    method.call(PublicKeyCredential, argument).catch(() => undefined);
  } catch {
    // A browser that refuses at once: nothing to do either.
  }
}

/** The password manager drops this passkey (Latchkey does not know it). */
export function signalUnknownCredential(rpId: string, credentialId: string): void {
  signal('signalUnknownCredential', { rpId, credentialId });
}

/** The password manager hides the user's passkeys not listed, and shows their current name. */
export function signalCurrent(signals: WebauthnSignals): void {
  const user = { rpId: signals.rp_id, userId: signals.user_id };
  signal('signalAllAcceptedCredentials', { ...user, allAcceptedCredentialIds: signals.all_accepted_credential_ids });
  signal('signalCurrentUserDetails', { ...user, name: signals.name, displayName: signals.display_name });
}
