// WebAuthn between its JSON (binary fields base64url, as the API carries it)
// and the browser's objects. Browsers that have
// `PublicKeyCredential.parse{Creation,Request}OptionsFromJSON` and
// `credential.toJSON()` do it themselves; for the others, the same by hand.

/** Whether this page can run a WebAuthn ceremony at all. */
export function hasWebAuthn(): boolean {
  return typeof PublicKeyCredential === 'function' && typeof navigator === 'object' && !!navigator.credentials;
}

export function creationOptions(json: PublicKeyCredentialCreationOptionsJSON): PublicKeyCredentialCreationOptions {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: json.excludeCredentials?.map(descriptor),
  } as PublicKeyCredentialCreationOptions;
}

export function requestOptions(json: PublicKeyCredentialRequestOptionsJSON): PublicKeyCredentialRequestOptions {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: json.allowCredentials?.map(descriptor),
  } as PublicKeyCredentialRequestOptions;
}

function descriptor(json: PublicKeyCredentialDescriptorJSON): PublicKeyCredentialDescriptor {
  return { ...json, id: fromBase64url(json.id) } as PublicKeyCredentialDescriptor;
}

/** What `credential.toJSON()` gives. */
export type CredentialJSON = RegistrationResponseJSON | AuthenticationResponseJSON;

/**
 * A new credential's `RegistrationResponseJSON`, or an assertion's
 * `AuthenticationResponseJSON`: what `credential.toJSON()` gives, where the
 * browser has it.
 */
export function credentialJSON(credential: PublicKeyCredential): CredentialJSON {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const response = credential.response;
  const fields = 'attestationObject' in response
    ? attestationFields(response as AuthenticatorAttestationResponse)
    : assertionFields(response as AuthenticatorAssertionResponse);
  return toJSON({
    id: credential.id,
    rawId: credential.rawId,
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: response.clientDataJSON, ...fields },
  }) as CredentialJSON;
}

function attestationFields(response: AuthenticatorAttestationResponse) {
  return {
    attestationObject: response.attestationObject,
    authenticatorData: response.getAuthenticatorData?.(),
    publicKey: response.getPublicKey?.() ?? undefined,
    publicKeyAlgorithm: response.getPublicKeyAlgorithm?.(),
    transports: response.getTransports?.(),
  };
}

function assertionFields(response: AuthenticatorAssertionResponse) {
  return {
    authenticatorData: response.authenticatorData,
    signature: response.signature,
    userHandle: response.userHandle ?? undefined,
  };
}

/** A value with its bytes (ArrayBuffers and views, at any depth) as base64url text. */
function toJSON(value: unknown): unknown {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return toBase64url(value);
  if (Array.isArray(value)) return value.map(toJSON);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, toJSON(field)]));
  }
  return value;
}

export function toBase64url(bytes: ArrayBuffer | ArrayBufferView): string {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes);
  let binary = '';
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  // atob is forgiving: it takes the text without its `=` padding.
  return Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
}
