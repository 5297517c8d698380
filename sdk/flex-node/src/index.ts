export { PassageFlex, LatchkeyFlex, type PassageFlexConfig } from './flex.js';
export { PassageError, PassageErrorCode } from './errors.js';
export { Auth } from './auth.js';
export {
    User,
    UserStatus,
    WebAuthnType,
    type PassageUser,
    type WebAuthnDevices,
    type WebAuthnIcons,
} from './user.js';
