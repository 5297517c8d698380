// One wire format: the drop-in packages' TypeScript types (sdk/*/src/wire.ts),
// written by hand, against the types generated from the OpenAPI document,
// which the server generates from the Rust types of app/src/wire (the WASM
// client's and the Rust client's too). It compiles only if what each package
// sends is what the document accepts, and what the document promises is what
// each package reads. scripts/openapi.sh compiles it (tsc --noEmit).
import type * as Doc from '../generated/latchkey-api/types.gen';
import type * as Js from '../../sdk/flex-js/src/wire';
import type * as Node from '../../sdk/flex-node/src/wire';

/** `true` if every `From` is a `To`. */
type Fits<From, To> = [From] extends [To] ? true : false;
/** Compiles only when given `true`. */
declare function holds<T extends true>(): void;

type Options = Record<string, unknown>;

// The browser package: the client API.
holds<Fits<Js.RegisterStartRequest, Doc.RegisterStartRequest>>();
holds<Fits<Js.AuthenticateStartRequest, Doc.AuthenticateStartRequest>>();
holds<Fits<Js.RegisterFinishRequest, Doc.RegisterFinishRequest>>();
holds<Fits<Js.AuthenticateFinishRequest, Doc.AuthenticateFinishRequest>>();
holds<Fits<Doc.HandshakeResponse, Js.HandshakeResponse<Options>>>();
holds<Fits<Doc.NonceResponse, Js.NonceResponse>>();
holds<Fits<Doc.ErrorBody, Js.ErrorBody>>();

// The Node package: the management API's answers (its requests are built inline).
holds<Fits<Doc.TransactionResponse, Node.TransactionResponse>>();
holds<Fits<Doc.VerifyNonceResponse, Node.VerifyNonceResponse>>();
holds<Fits<Doc.UserListResponse, Node.UserListResponse>>();
holds<Fits<Doc.UserResponse, Node.UserResponse>>();
holds<Fits<Doc.DevicesResponse, Node.DevicesResponse>>();
holds<Fits<Doc.ErrorBody, Node.ErrorBody>>();

// Both ways for the plain records: a field the document adds or drops shows here.
holds<Fits<Node.Device, Doc.Device>>();
holds<Fits<Node.UserListItem, Doc.UserListItem>>();
