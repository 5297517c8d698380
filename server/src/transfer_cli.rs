//! `latchkey export` and `latchkey import`: the CLI's adapters over the
//! core's export and import (`flex::transfer`).

use std::io::Write;

use anyhow::Context;

use crate::flex::{
    ids::AppId,
    transfer::{sources, ExportCursor},
    Flex, FlexError,
};

/// Writes `app_id`'s export to `out` (standard output when `None`).
pub async fn export(
    flex: &Flex,
    app_id: &str,
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let id = AppId::parse(app_id).ok_or(FlexError::AppNotFound)?;
    let app = flex.app(&id).await?;
    let mut sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("could not create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut cursor = ExportCursor::default();
    while let Some(chunk) = flex.export_chunk(&app, &mut cursor).await? {
        sink.write_all(chunk.as_bytes())
            .context("could not write the export")?;
    }
    sink.flush().context("could not write the export")?;
    Ok(())
}

/// Imports `source` into `app_id` and prints the report (JSON) on standard
/// output, its totals on standard error.
pub async fn import(flex: &Flex, app_id: &str, source: &str, dry_run: bool) -> anyhow::Result<()> {
    let id = AppId::parse(app_id).ok_or(FlexError::AppNotFound)?;
    let app = flex.app(&id).await?;
    let (rows, refused) = if source.starts_with("sqlite:") || source.starts_with("postgres") {
        sources::read_better_auth(source).await?
    } else {
        let text =
            std::fs::read_to_string(source).with_context(|| format!("could not read {source}"))?;
        sources::read_file_text(&text)?
    };
    let mut report = flex.import(&app, rows, dry_run).await?;
    report.refused.extend(refused);
    report.refused.sort_by_key(|r| r.line);
    println!("{}", serde_json::to_string_pretty(&report)?);
    eprintln!(
        "{}imported {} users and {} passkeys; {} users and {} passkeys were already there; {} rows refused",
        if dry_run { "dry run, nothing written: " } else { "" },
        report.imported.users,
        report.imported.passkeys,
        report.duplicates.users,
        report.duplicates.passkeys,
        report.refused.len()
    );
    Ok(())
}
