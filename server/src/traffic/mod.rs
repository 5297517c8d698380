//! Who a request comes from and how much it may ask: the client address
//! (behind trusted proxies only) and the rate limits. Configuration, state and
//! routes read them; they depend on nothing above them.

pub mod client_ip;
pub mod context;
pub mod limits;
