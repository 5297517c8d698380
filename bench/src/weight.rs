//! The release site's page weight: JS, WASM and CSS; raw, gzip and brotli.

use std::{io::Write, path::Path};

#[derive(Debug)]
pub struct Weight {
    /// (file, raw, gzip, brotli) in bytes.
    pub files: Vec<(String, usize, usize, usize)>,
}

impl Weight {
    pub fn total(&self) -> (usize, usize, usize) {
        self.files
            .iter()
            .fold((0, 0, 0), |(r, g, b), f| (r + f.1, g + f.2, b + f.3))
    }
}

pub fn measure(site: &Path) -> anyhow::Result<Weight> {
    let mut files = Vec::new();
    for name in ["latchkey.js", "latchkey.wasm", "latchkey.css"] {
        let bytes = std::fs::read(site.join("pkg").join(name))?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&bytes)?;
        let gzip = gzip.finish()?.len();
        let mut brotli = Vec::new();
        brotli::BrotliCompress(
            &mut bytes.as_slice(),
            &mut brotli,
            &brotli::enc::BrotliEncoderParams {
                quality: 11,
                ..Default::default()
            },
        )?;
        files.push((name.to_owned(), bytes.len(), gzip, brotli.len()));
    }
    Ok(Weight { files })
}

/// Where the WASM's bytes go, by crate: `twiggy top` over the WASM as rustc
/// left it (before wasm-bindgen and wasm-opt, which shrink it further), code
/// and data only. `None` without twiggy.
pub fn profile(wasm: &Path) -> Option<Vec<(String, u64)>> {
    let output = std::process::Command::new("twiggy")
        .args(["top", "-n", "1000000", "-f", "csv"])
        .arg(wasm)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let mut by_crate = std::collections::BTreeMap::<String, u64>::new();
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
        {
            continue; // names and metadata that the shipped WASM does not carry
        }
        *by_crate.entry(crate_of(&item)).or_default() += bytes;
    }
    let mut crates: Vec<_> = by_crate.into_iter().collect();
    crates.sort_by_key(|c| std::cmp::Reverse(c.1));
    Some(crates)
}

/// `<leptos_router::x as y>::f` → `leptos_router`; `core[abc]::num::f` → `core`.
fn crate_of(item: &str) -> String {
    if item.starts_with("data segment") {
        return "(static data)".into();
    }
    let path = item
        .trim_start_matches(['<', '&', ' '])
        .trim_start_matches("mut ")
        .trim_start_matches("dyn ");
    let name: String = path
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() || !path[name.len()..].starts_with(['[', ':']) {
        return "(other)".into();
    }
    name
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
