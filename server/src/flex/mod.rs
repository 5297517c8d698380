//! The Passkey Flex core: apps and their keys, users, passkeys, and the
//! ceremonies that turn a transaction into a nonce. It knows nothing of HTTP or
//! Leptos: operations take typed inputs and `now`, and return typed results or a
//! `FlexError`.

pub mod aaguid;
pub mod apps;
pub mod ceremonies;
pub mod clock;
pub mod error;
pub mod ids;
pub mod users;

pub use error::FlexError;
