//! What the browser loads per page and how soon the sign-in page's passkey
//! button is usable, as `end2end/bench/pages.mjs` measured them in Chromium
//! (`make bench-pages` writes its JSON); and the WASM's size profile.

use std::path::Path;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Pages {
    pub chromium: String,
    pub cpu_slowdown: f64,
    pub network: Network,
    pub sites: Vec<Site>,
}

/// The CDP `Network.emulateNetworkConditions` the timed runs used.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    pub latency: f64,
    pub download_throughput: f64,
    pub upload_throughput: f64,
}

/// One release site (binary and site root): "after" is this build, "before" the baseline.
#[derive(Debug, Deserialize)]
pub struct Site {
    pub label: String,
    pub latchkey: String,
    pub site_root: String,
    pub pages: Vec<Page>,
    /// Navigation to an enabled "Choose a passkey" button on /signin, throttled, each run.
    pub time_to_usable_ms: Vec<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Page {
    pub path: String,
    /// `user` or `operator` when loaded signed in.
    pub signed_in: Option<String>,
    /// `<leptos-island>` elements once loaded.
    pub islands: usize,
    pub kinds: Kinds,
}

/// The page's responses by kind (`other`: anything else under `/pkg/`).
#[derive(Debug, Deserialize)]
pub struct Kinds {
    pub js: Bytes,
    pub wasm: Bytes,
    pub css: Bytes,
    pub other: Bytes,
}

/// Decoded bytes, and the same bytes brotli-compressed at quality 11.
#[derive(Debug, Deserialize, Clone, Copy, Default)]
pub struct Bytes {
    pub raw: usize,
    pub brotli: usize,
}

impl Page {
    pub fn total(&self) -> Bytes {
        let k = &self.kinds;
        [k.js, k.wasm, k.css, k.other]
            .iter()
            .fold(Bytes::default(), |sum, b| Bytes {
                raw: sum.raw + b.raw,
                brotli: sum.brotli + b.brotli,
            })
    }
}

impl Site {
    pub fn page(&self, path: &str) -> Option<&Page> {
        self.pages.iter().find(|p| p.path == path)
    }

    pub fn median_ms(&self) -> Option<u64> {
        let mut runs = self.time_to_usable_ms.clone();
        runs.sort_unstable();
        runs.get(runs.len() / 2).copied()
    }
}

impl Pages {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let json = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: {e} (make bench-pages writes it)", path.display()))?;
        Ok(serde_json::from_slice(&json)?)
    }

    pub fn site(&self, label: &str) -> Option<&Site> {
        self.sites.iter().find(|s| s.label == label)
    }
}

/// Where the WASM's bytes go: by crate, and the largest single items.
#[derive(Debug)]
pub struct Profile {
    pub by_crate: Vec<(String, u64)>,
    pub items: Vec<(String, u64)>,
}

/// Where the WASM's bytes go, by crate: `twiggy top` over the WASM as rustc
/// left it (before wasm-bindgen and wasm-opt, which shrink it further), code
/// and data only; and the largest items (functions, data segments), which
/// twiggy lists largest first. `None` without twiggy.
pub fn profile(wasm: &Path) -> Option<Profile> {
    let output = std::process::Command::new("twiggy")
        .args(["top", "-n", "1000000", "-f", "csv"])
        .arg(wasm)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let mut by_crate = std::collections::BTreeMap::<String, u64>::new();
    let mut items = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines().skip(1) {
        let Some((item, rest)) = csv_first_field(line) else {
            continue;
        };
        let Some(Ok(bytes)) = rest.split(',').next().map(str::parse::<u64>) else {
            continue;
        };
        if item.contains("subsection")
            || item.starts_with("custom section")
            || item.contains("Total Rows")
            || item.contains("__wbindgen_describe")
        {
            // Names, metadata and wasm-bindgen's type descriptors (it runs them
            // and removes them): the shipped WASM carries none of them.
            continue;
        }
        *by_crate.entry(crate_of(&item)).or_default() += bytes;
        if items.len() < 15 {
            items.push((item, bytes));
        }
    }
    let mut by_crate: Vec<_> = by_crate.into_iter().collect();
    by_crate.sort_by_key(|c| std::cmp::Reverse(c.1));
    Some(Profile { by_crate, items })
}

/// The crate of the first path in an item's name: `core[abc]::num::f` →
/// `core`; `<leptos_router::x as y>::f` → `leptos_router`; a generic
/// `<T as tachys::view::IntoAny>::f` → `tachys`.
fn crate_of(item: &str) -> String {
    if item.starts_with("data segment") {
        return "(static data)".into();
    }
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = item;
    while let Some(start) = rest.find(is_ident) {
        let word = &rest[start..];
        let end = word.find(|c| !is_ident(c)).unwrap_or(word.len());
        let (name, after) = word.split_at(end);
        // `name[hash]::` as well as `name::`
        let after = match after.strip_prefix('[') {
            Some(hashed) => hashed.split_once(']').map_or("", |(_, a)| a),
            None => after,
        };
        if after.starts_with("::") && !name.starts_with(|c: char| c.is_ascii_digit()) {
            return name.to_owned();
        }
        rest = &word[end..];
    }
    "(other)".into()
}

/// The first CSV field (quoted with `""` escapes, or bare) and the rest of the line.
fn csv_first_field(line: &str) -> Option<(String, &str)> {
    let Some(quoted) = line.strip_prefix('"') else {
        let (field, rest) = line.split_once(',')?;
        return Some((field.to_owned(), rest));
    };
    let mut field = String::new();
    let mut chars = quoted.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|(_, n)| *n) == Some('"') {
                chars.next();
                field.push('"');
            } else {
                return Some((field, quoted[i + 1..].strip_prefix(',')?));
            }
        } else {
            field.push(c);
        }
    }
    None
}
