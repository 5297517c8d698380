//! Integration tests: the real server, on a real database, through HTTP.
//! `LATCHKEY_TEST_DATABASE=sqlite|postgres` picks the engine (`make test` runs both).

mod cli;
mod client;
mod compat;
mod flows;
mod fuzz;
mod health;
mod helpers;
mod instances;
mod limits;
mod negative;
mod races;
mod site;
mod site_fns;
