import { Auth } from './auth.js';
import { ManagementApi } from './http.js';
import { User } from './user.js';

export interface PassageFlexConfig {
    /** The app's id, from `latchkey apps create`. */
    appId: string;
    /** One of the app's API keys (`lk_…`), from `latchkey apps create` or `latchkey keys create`. */
    apiKey: string;
    /**
     * The Latchkey server's URL, e.g. `https://passkeys.example.com` (a path
     * prefix is kept). A trailing `/`, `/v1` or `/v1/apps/{appId}` is accepted,
     * so the Rust SDK's `base_path` works too.
     */
    baseUrl: string;
}

/** passage-flex-node's client, against your Latchkey: `auth` for ceremonies, `user` for passkeys. */
export class PassageFlex {
    public readonly auth: Auth;
    public readonly user: User;

    public constructor(config: PassageFlexConfig) {
        // passage-flex-node's two checks, word for word (its text has YOUR_APP_ID twice), then Latchkey's.
        if (!config.appId) {
            throw Error('A Passage App ID is required. Please include {appId: YOUR_APP_ID, apiKey: YOUR_APP_ID}.');
        }
        if (!config.apiKey) {
            throw Error('A Passage API key is required. Please include {appId: YOUR_APP_ID, apiKey: YOUR_APP_ID}.');
        }
        // fetch would refuse such a header with the key in its message; say what is wrong without it.
        if (!/^[\x21-\x7e]+$/.test(config.apiKey)) {
            throw Error('The API key has characters an HTTP header cannot carry (a space, a line break, non-ASCII): copy it again.');
        }
        const api = new ManagementApi(latchkeyUrl(config.baseUrl, config.appId), config.appId, config.apiKey);
        this.auth = new Auth(api);
        this.user = new User(api);
    }
}

/** The same class, by Latchkey's name. */
export const LatchkeyFlex = PassageFlex;
export type LatchkeyFlex = PassageFlex;

const missingUrl =
    'A Latchkey base URL is required. Please include {appId: YOUR_APP_ID, apiKey: YOUR_API_KEY, baseUrl: YOUR_LATCHKEY_URL}.';
const badUrl = 'baseUrl must be an http(s) URL such as https://passkeys.example.com, without a query, fragment or credentials.';

/**
 * The server's URL without a trailing `/`, `/v1` or `/v1/apps/{appId}`. The
 * messages never repeat the value: it could be the API key, put in the wrong field.
 */
function latchkeyUrl(baseUrl: string | undefined, appId: string): string {
    if (!baseUrl) throw Error(missingUrl);
    let url: URL;
    try {
        url = new URL(baseUrl);
    } catch {
        throw Error(badUrl);
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash || url.username || url.password) {
        throw Error(badUrl);
    }
    const path = url.pathname.replace(/\/+$/, '');
    const [, prefix, app] = /^(.*?)(?:\/v1(?:\/apps\/([^/]+))?)?$/.exec(path)!;
    if (app !== undefined && decoded(app) !== appId) {
        throw Error('baseUrl names another app than appId: give the server URL alone, e.g. https://passkeys.example.com.');
    }
    return url.origin + prefix;
}

function decoded(segment: string): string {
    try {
        return decodeURIComponent(segment);
    } catch {
        return segment;
    }
}
