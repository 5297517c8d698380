//! Latchkey: self-hosted passkeys for applications that already have users.
//!
//! `cli` parses the command line and calls into `startup`, which builds one Axum
//! router serving the REST API and the Leptos site over one `flex::Flex` core
//! (which owns the `store::Store`).
#![forbid(unsafe_code)]

mod apps_cli;
pub mod cli;
pub mod client;
pub mod config;
pub mod console;
pub mod doctor;
pub mod flex;
pub mod metrics;
pub mod site;
pub mod site_files;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod traffic;
mod transfer_cli;

pub mod routes;
mod state;
