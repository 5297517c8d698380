//! The built site's files (JS, WASM, CSS, icons) from inside the binary, when
//! it was built with `LATCHKEY_EMBED_SITE` (`make dist`; see `build.rs`): a
//! release runs from any directory with nothing beside it. Each file goes out
//! brotli- or gzip-encoded when the browser takes it and a variant exists.

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use include_dir::{include_dir, Dir};

static EMBEDDED: Dir<'static> = include_dir!("$OUT_DIR/site");

/// Changes whenever any embedded file does.
const ETAG: &str = concat!("\"", env!("LATCHKEY_SITE_ETAG"), "\"");

/// The embedded site, if this binary has one.
pub fn embedded() -> Option<&'static Dir<'static>> {
    (EMBEDDED.entries().iter().next().is_some()).then_some(&EMBEDDED)
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("html") => "text/html; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether cargo-leptos's `hash.txt` (the hashes in the site's file names) is
/// beside the running binary, where Leptos reads it.
pub fn hash_file_beside_binary() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("hash.txt")))
        .is_some_and(|file| file.is_file())
}

/// How long a browser may keep a file of the site: a year, never asking again,
/// when its name carries its content's hash (`latchkey.<hash>.wasm`, a new
/// build has new names); otherwise it asks each time whether it changed.
pub fn cache_control(path: &str) -> HeaderValue {
    let name = path.rsplit('/').next().unwrap_or_default();
    let hashed = name.split('.').nth(1).is_some_and(|part| {
        part.len() >= 16
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    HeaderValue::from_static(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    })
}

/// Whether `accept` (an `Accept-Encoding` value) takes `coding`, by name
/// (`br;q=0` refuses it).
fn accepts(accept: &str, coding: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        parts.next() == Some(coding) && parts.all(|p| p.replace(' ', "") != "q=0")
    })
}

/// The answer for `path` (the request's path) from `site`, or `None` when it
/// has no such file.
pub fn response(site: &'static Dir<'static>, path: &str, headers: &HeaderMap) -> Option<Response> {
    let path = path.trim_start_matches('/');
    if path.is_empty() || path.ends_with(".br") || path.ends_with(".gz") {
        return None;
    }
    let file = site.get_file(path)?;
    let mut common = HeaderMap::new();
    common.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type(path)),
    );
    common.insert(header::ETAG, HeaderValue::from_static(ETAG));
    common.insert(header::CACHE_CONTROL, cache_control(path));
    common.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|tag| tag.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == ETAG));
    if fresh {
        return Some((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let encoded = [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(coding, _)| accepts(accept, coding))
        .find_map(|(coding, suffix)| {
            site.get_file(format!("{path}.{suffix}"))
                .map(|variant| (coding, variant))
        });
    let body = match encoded {
        Some((coding, variant)) => {
            common.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
            variant.contents()
        }
        None => file.contents(),
    };
    Some((StatusCode::OK, common, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIXTURE: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures/site");

    fn get(path: &str, accept: &str, etag: Option<&str>) -> Option<Response> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        if let Some(etag) = etag {
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(etag).unwrap());
        }
        response(&FIXTURE, path, &headers)
    }

    fn encoding(response: &Response) -> Option<&str> {
        response
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap())
    }

    #[test]
    fn the_best_encoding_the_browser_takes_is_served() {
        let br = get("/pkg/app.js", "gzip, deflate, br", None).unwrap();
        assert_eq!(encoding(&br), Some("br"));
        assert_eq!(
            br.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(br.headers()[header::VARY], "accept-encoding");
        let gzip = get("/pkg/app.js", "gzip", None).unwrap();
        assert_eq!(encoding(&gzip), Some("gzip"));
        let refused = get("/pkg/app.js", "br;q=0, gzip", None).unwrap();
        assert_eq!(encoding(&refused), Some("gzip"));
        let identity = get("/pkg/app.js", "", None).unwrap();
        assert_eq!(encoding(&identity), None);
    }

    #[test]
    fn hashed_names_are_kept_a_year_and_others_are_checked_each_time() {
        assert_eq!(
            cache_control("/pkg/latchkey.Bm9xMHh1cmRfTHVuYQ.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_control("/pkg/latchkey.Bm9xMHh1cmRfTHVuYQ.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_control("/pkg/latchkey.wasm"), "no-cache");
        assert_eq!(cache_control("/pkg/latchkey_bg.wasm"), "no-cache");
        assert_eq!(cache_control("/favicon.svg"), "no-cache");
        let hashed = get("/pkg/app.abcdefghijklmnop.js", "br", None).unwrap();
        assert_eq!(
            hashed.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let plain = get("/pkg/app.js", "br", None).unwrap();
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
    }

    #[test]
    fn a_file_without_variants_goes_as_it_is() {
        let icon = get("/favicon.svg", "br, gzip", None).unwrap();
        assert_eq!(encoding(&icon), None);
        assert_eq!(icon.headers()[header::CONTENT_TYPE], "image/svg+xml");
    }

    #[test]
    fn a_copy_the_browser_has_is_not_sent_again() {
        let answer = get("/pkg/app.js", "br", Some(ETAG)).unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_MODIFIED);
        let stale = get("/pkg/app.js", "br", Some("\"old\"")).unwrap();
        assert_eq!(stale.status(), StatusCode::OK);
    }

    #[test]
    fn what_the_site_lacks_is_left_to_the_next_handler() {
        assert!(get("/pkg/missing.js", "br", None).is_none());
        assert!(get("/pkg/app.js.br", "br", None).is_none());
        assert!(get("/", "br", None).is_none());
        assert!(get("/../Cargo.toml", "br", None).is_none());
    }
}
