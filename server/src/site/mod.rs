//! The reference site's server side: its own accounts and sessions
//! (`accounts`), and the backend interface to Latchkey that its server
//! functions use, in process (`passkeys`) or over HTTP (`client::LatchkeyFlex`).

pub mod accounts;
pub mod limits;
pub mod passkeys;
pub mod passwords;

use std::sync::Arc;

use app::backend::Site;

use crate::{
    config::PublicUrl,
    flex::{apps::App, Flex},
};

/// The site, wired to this server's core and the built-in app.
pub fn site(flex: &Flex, app: App, public_url: &PublicUrl) -> Site {
    Site {
        app_id: app.id.as_str().to_owned(),
        accounts: Arc::new(accounts::SqlAccounts::new(
            flex.store().clone(),
            flex.clock().clone(),
        )),
        passkeys: Arc::new(passkeys::InProcess::new(flex.clone(), app)),
        secure_cookies: public_url.origin().starts_with("https://"),
    }
}
