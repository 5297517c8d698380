import { apiError } from './errors.js';
import type {
  AuthenticateFinishRequest,
  AuthenticateStartRequest,
  HandshakeResponse,
  NonceResponse,
  RegisterFinishRequest,
  RegisterStartRequest,
} from './wire.js';

/**
 * The client API of one app: `{base}/v1/apps/{appId}/…`, four POSTs, no
 * secret. `baseUrl` is Latchkey's URL; a trailing `/`, `/v1` or
 * `/v1/apps/{appId}` (the `base_path` the passage_flex crate is given) is
 * accepted too. Without one, the page's own origin: Latchkey serving the page.
 */
export class ClientApi {
  private readonly appId: string;
  private readonly baseUrl?: string;

  constructor(appId: string, baseUrl?: string) {
    this.appId = appId;
    this.baseUrl = baseUrl;
  }

  registerStart(body: RegisterStartRequest) {
    return this.post<HandshakeResponse<PublicKeyCredentialCreationOptionsJSON>>(
      '/register/transactions/webauthn/start', body);
  }

  registerFinish(body: RegisterFinishRequest) {
    return this.post<NonceResponse>('/register/transactions/webauthn/finish', body);
  }

  authenticateStart(body: AuthenticateStartRequest) {
    return this.post<HandshakeResponse<PublicKeyCredentialRequestOptionsJSON>>(
      '/authenticate/transactions/webauthn/start', body);
  }

  authenticateFinish(body: AuthenticateFinishRequest) {
    return this.post<NonceResponse>('/authenticate/transactions/webauthn/finish', body);
  }

  /** The app's root, worked out per call: the page's origin is only there in a browser. */
  private root(): string {
    const app = `/v1/apps/${encodeURIComponent(this.appId)}`;
    let base = (this.baseUrl ?? location.origin).replace(/\/+$/, '');
    for (const suffix of [app, '/v1']) {
      if (base.endsWith(suffix)) {
        base = base.slice(0, -suffix.length);
        break;
      }
    }
    return base + app;
  }

  private async post<T>(path: string, body: object): Promise<T> {
    if (!this.appId) throw new Error('App ID is required.');
    const url = this.root() + path;
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (cause) {
      // No answer at all: the network, or a CORS refusal (the page's origin is not one of the app's).
      const error = new Error(`Latchkey did not answer ${url}`);
      error.name = 'FetchError';
      error.cause = cause;
      throw error;
    }
    const text = await response.text();
    if (!response.ok) throw apiError(response, text);
    return JSON.parse(text) as T;
  }
}
