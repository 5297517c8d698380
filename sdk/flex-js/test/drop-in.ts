// Compiled, never run (`npm run build` type-checks it against dist/index.d.ts):
// code written for @passageidentity/passage-flex-js 1.0.2, with only its
// import line changed, must type-check against this package.
import { PassageFlex } from '../dist/index.js';

export async function passageStyle(appId: string, transactionId: string): Promise<string[]> {
  const passageFlex = new PassageFlex(appId);
  const canRegister: boolean = await passageFlex.passkey.canRegisterPasskey();
  const canAuthenticate: boolean = await passageFlex.passkey.canAuthenticateWithPasskey();
  const canAutofill: boolean = await passageFlex.passkey.canUseConditionalMediation();
  if (!canRegister || !canAuthenticate || !canAutofill) return [];
  return Promise.all([
    passageFlex.passkey.register(transactionId),
    passageFlex.passkey.register(transactionId, {}),
    passageFlex.passkey.authenticate(),
    passageFlex.passkey.authenticate({ transactionId }),
    passageFlex.passkey.authenticate({ isConditionalMediation: true }),
  ]);
}
