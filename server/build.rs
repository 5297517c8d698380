//! Embeds the built site in the binary when `LATCHKEY_EMBED_SITE` names it
//! (`make dist` sets it to `target/site` after `cargo leptos build --release`):
//! a copy of every file goes to `$OUT_DIR/site`, with brotli and gzip variants
//! of the compressible ones, for `include_dir!` in `src/site_files.rs`.
//! Without it the folder is empty and the site is read from `--site-root`.

use std::{
    env, fs,
    hash::{DefaultHasher, Hash, Hasher},
    io::Write,
    path::{Path, PathBuf},
};

/// File types worth compressing (images like PNG are already).
const COMPRESSIBLE: [&str; 7] = ["js", "wasm", "css", "svg", "json", "html", "txt"];

fn main() {
    println!("cargo:rerun-if-env-changed=LATCHKEY_EMBED_SITE");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("site");
    if out.exists() {
        fs::remove_dir_all(&out).expect("clear the embedded site");
    }
    fs::create_dir_all(&out).expect("create the embedded site folder");
    let mut version = DefaultHasher::new();
    if let Some(site) = env::var_os("LATCHKEY_EMBED_SITE") {
        let site = PathBuf::from(site);
        // Watched even while missing: cargo-leptos may build the server before
        // the site is there, and the next build then embeds it.
        println!("cargo:rerun-if-changed={}", site.display());
        if site.join("pkg").is_dir() {
            copy(&site, &out, &mut version);
        } else {
            println!(
                "cargo:warning=LATCHKEY_EMBED_SITE={} has no pkg/ yet: nothing embedded",
                site.display()
            );
        }
    }
    // One validator for every file: it changes whenever any file does.
    println!(
        "cargo:rustc-env=LATCHKEY_SITE_ETAG={:016x}",
        version.finish()
    );
}

fn copy(from: &Path, to: &Path, version: &mut DefaultHasher) {
    let mut entries: Vec<_> = fs::read_dir(from)
        .expect("read the site")
        .map(|entry| entry.expect("a site entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let target = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            fs::create_dir_all(&target).expect("create a site folder");
            copy(&path, &target, version);
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = fs::read(&path).expect("read a site file");
        path.hash(version);
        bytes.hash(version);
        fs::write(&target, &bytes).expect("copy a site file");
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if COMPRESSIBLE.contains(&extension) {
            let mut brotli = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 11,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut bytes.as_slice(), &mut brotli, &params)
                .expect("brotli compresses");
            fs::write(with_suffix(&target, "br"), brotli).expect("write .br");
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gzip.write_all(&bytes).expect("gzip compresses");
            fs::write(
                with_suffix(&target, "gz"),
                gzip.finish().expect("gzip finishes"),
            )
            .expect("write .gz");
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}
