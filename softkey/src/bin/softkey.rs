//! The software authenticator as a process, for tests written in other languages
//! (the drop-in Node package's, the generated OpenAPI client's).
//!
//! It reads one JSON request per line on stdin and answers one JSON line on stdout:
//!   {"op": "register", "origin": "http://localhost:3000", "options": {<publicKey creation options>}}
//!   {"op": "authenticate", "origin": "...", "options": {<publicKey request options>}}
//! with the `RegistrationResponseJSON` / `AuthenticationResponseJSON` a browser
//! would send, or `{"error": "..."}`. Credentials live as long as the process.
use serde_json::{json, Value};
use softkey::Authenticator;
use std::io::{BufRead, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn answer(authenticator: &mut Authenticator, line: &str) -> Value {
    let request: Value = match serde_json::from_str(line) {
        Ok(request) => request,
        Err(error) => return json!({ "error": format!("not JSON: {error}") }),
    };
    let (Some(op), Some(origin)) = (request["op"].as_str(), request["origin"].as_str()) else {
        return json!({ "error": "a request needs \"op\" and \"origin\"" });
    };
    let options = &request["options"];
    let outcome = catch_unwind(AssertUnwindSafe(|| match op {
        "register" => Some(authenticator.register(origin, options)),
        "authenticate" => Some(authenticator.authenticate(origin, options)),
        _ => None,
    }));
    match outcome {
        Ok(Some(response)) => response,
        Ok(None) => json!({ "error": format!("unknown op {op:?}: register or authenticate") }),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the options could not be answered".into());
            json!({ "error": reason })
        }
    }
}

fn main() {
    // The default hook would print every refused request to stderr too.
    std::panic::set_hook(Box::new(|_| {}));
    let mut authenticator = Authenticator::new();
    let stdout = std::io::stdout();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let mut out = stdout.lock();
        let reply = answer(&mut authenticator, &line);
        if writeln!(out, "{reply}").and_then(|_| out.flush()).is_err() {
            break;
        }
    }
}
