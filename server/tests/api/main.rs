//! Integration tests: the real server, on a real database, through HTTP.
//! `LATCHKEY_TEST_DATABASE=sqlite|postgres` picks the engine (`make test` runs both).

mod backups;
mod better_auth;
mod cli;
mod client;
mod compat;
mod console;
mod databases;
mod doctor;
mod events;
mod export;
mod finishes;
mod flows;
mod fuzz;
mod health;
mod helpers;
mod instances;
mod limits;
mod metrics;
mod negative;
mod openapi;
mod origins;
mod passkey_cap;
mod policy;
mod races;
mod responses;
mod signals;
mod signed_results;
mod site;
mod site_fns;
mod site_limits;
mod step_up;
mod sweep;
mod upgrades;
mod webhooks;
