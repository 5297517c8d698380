/**
 * What every failed call rejects with, shaped like passage-flex-js's
 * `PassageError`, so code that catches one reads the other.
 *
 * - An answer of the API: `statusCode` and `statusText` are the HTTP
 *   status's, `message` is the body's `error` and `code` its stable code
 *   (`transaction_not_found`, `app_not_found`, …; Passage dropped it).
 * - A failure in the browser: `statusCode` is one of Passage's numbers
 *   ({@link BrowserFailure}), `statusText` what the browser said, and `cause`
 *   what it threw (a `DOMException` such as `NotAllowedError` when the user
 *   cancels, `AbortError` when a newer ceremony replaced this one).
 */
export class PassageError extends Error {
  /** The HTTP status, or a {@link BrowserFailure} number. */
  readonly statusCode: number;
  readonly statusText: string;
  /** The API's error code; absent for a failure in the browser. */
  readonly code?: string;
  /** With `credential_not_found`: the passkey the app does not know (base64url). */
  readonly credentialId?: string;

  constructor(
    message: string, statusCode: number, statusText: string, code?: string, cause?: unknown, credentialId?: string,
  ) {
    super(message);
    this.name = 'PassageError';
    this.statusCode = statusCode;
    this.statusText = statusText;
    if (code !== undefined) this.code = code;
    if (cause !== undefined) this.cause = cause;
    if (credentialId !== undefined) this.credentialId = credentialId;
  }
}

/** Passage's numbers for failures that happen in the browser, not in the API. */
export const BrowserFailure = {
  /** `navigator.credentials.get()` failed or gave nothing (a sign-in). */
  Authenticate: 702,
  /** The page is not a secure context (https, or http on localhost): no WebAuthn. */
  SecureContextRequired: 705,
  /** `navigator.credentials.create()` failed or gave nothing (a registration). */
  Register: 707,
  /** Asking the browser whether it offers passkey autofill failed. */
  CanUseConditionalMediation: 710,
} as const;

/** An error from the API, from its answer's status and body. */
export function apiError(response: Response, body: string): PassageError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    // Not JSON (a proxy's error page, say): passage-flex-js keeps the text as the message.
    return new PassageError(body, response.status, response.statusText);
  }
  const { code, error, credential_id } = (parsed ?? {}) as Partial<Record<'code' | 'error' | 'credential_id', unknown>>;
  return new PassageError(
    typeof error === 'string' ? error : '',
    response.status,
    response.statusText,
    typeof code === 'string' ? code : undefined,
    undefined,
    typeof credential_id === 'string' ? credential_id : undefined,
  );
}

/** Why a browser failure happened, as text: the thrown error's message. */
export function reason(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
