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
