import { PassageError, PassageErrorCode } from './errors.js';
import type { ErrorBody } from './wire.js';

/**
 * One app's management API, `{base}/v1/apps/{appId}`, called with the global
 * `fetch`. The API key sits in a private field: `console.log(flex)` and
 * `JSON.stringify` never show it, and no error made here carries it.
 */
export class ManagementApi {
    readonly #authorization: string;
    readonly #root: string;

    public constructor(
        private readonly base: string,
        appId: string,
        apiKey: string,
    ) {
        this.#root = `${base}/v1/apps/${encodeURIComponent(appId)}`;
        this.#authorization = `Bearer ${apiKey}`;
    }

    /** Answers the JSON of a 2xx (undefined if empty); throws a PassageError for any other status. */
    public async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: object): Promise<T> {
        let response: Response;
        let text: string;
        try {
            response = await fetch(this.#root + path, {
                method,
                headers: {
                    accept: 'application/json',
                    authorization: this.#authorization,
                    ...(body && { 'content-type': 'application/json' }),
                },
                body: body && JSON.stringify(body),
                // A redirect would resend the key elsewhere, or turn a POST into a GET.
                redirect: 'error',
            });
            text = await response.text();
        } catch (error) {
            throw unreachable(this.base, error);
        }
        if (!response.ok) throw refusal(response.status, text);
        return (text ? JSON.parse(text) : undefined) as T;
    }
}

/** No answer at all: a plain Error, as passage-flex-node's was (its FetchError), never a PassageError. */
function unreachable(base: string, error: unknown): Error {
    const cause = error as { message?: string; cause?: { message?: string } };
    const reason = cause.cause?.message ?? cause.message ?? String(error);
    return new Error(`Latchkey did not answer at ${base}: ${reason}`, { cause: error });
}

/** Latchkey's `{code, error}`, or, from something that is not Latchkey, the status alone. */
function refusal(status: number, text: string): PassageError {
    let body: Partial<ErrorBody> | undefined;
    try {
        body = JSON.parse(text) as Partial<ErrorBody>;
    } catch {
        body = undefined;
    }
    if (typeof body?.code === 'string' && typeof body.error === 'string') {
        return new PassageError(status, body.code as PassageErrorCode, body.error);
    }
    return new PassageError(
        status,
        PassageErrorCode.InternalServerError,
        `HTTP ${status} without a {code, error} body: is baseUrl the Latchkey server?`,
    );
}
