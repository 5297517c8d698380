//! Export and import: an app's users and passkeys leave Latchkey in a
//! documented format (`format.rs`), and arrive from it, from a users CSV
//! (Passage's dashboard export) or from a better-auth database (`sources.rs`).
//!
//! An imported passkey becomes a webauthn-rs `Passkey` built from its COSE
//! public key, so it signs in like one registered here; what could not be
//! verified later (an unknown algorithm, a malformed key) is refused per row.

pub mod format;
pub mod sources;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::Serialize;
use uuid::Uuid;
use webauthn_rs::prelude::{
    AttestationFormat, AttestationMetadata, COSEKey, COSEKeyType, Credential, ParsedAttestation,
    ParsedAttestationData, Passkey,
};
use webauthn_rs_proto::{RegisteredExtensions, UserVerificationPolicy};

use self::format::{AppSettings, Header, Line, PasskeyLine, UserLine, FORMAT, VERSION};
use super::{
    apps::App,
    clock::{self, Millis},
    events::{self, EventType, Outcome},
    ids::{DeviceId, DisplayName, ExternalId},
    users::PasskeyKind,
    Flex, FlexError,
};
use crate::store::{ImportItem, ImportOutcome, ImportPasskey, ImportUser};

pub use clock::rfc3339;

/// Rows read from a source, each with its line (or row) number, and the
/// lines refused while reading.
pub type Rows = (Vec<(usize, Line)>, Vec<Refusal>);

/// Users per page of an export.
const EXPORT_PAGE: i64 = 500;
/// Rows per database transaction of an import.
pub const IMPORT_BATCH: usize = 1000;

/// Where an export has got to: pass it back to [`Flex::export_chunk`] until
/// that answers `None`.
#[derive(Debug, Default)]
pub struct ExportCursor {
    header_written: bool,
    after: Option<(i64, String)>,
    done: bool,
}

impl Flex {
    /// The next lines of `app`'s export (each ending in a newline), or `None`
    /// at the end: the header, then users a page at a time, each followed by
    /// its passkeys.
    pub async fn export_chunk(
        &self,
        app: &App,
        cursor: &mut ExportCursor,
    ) -> Result<Option<String>, FlexError> {
        if cursor.done {
            return Ok(None);
        }
        let mut out = String::new();
        if !cursor.header_written {
            cursor.header_written = true;
            push_line(&mut out, &Line::Header(header(app)))?;
        }
        let after = cursor.after.as_ref().map(|(at, id)| (*at, id.as_str()));
        let users = self
            .store
            .export_users_page(&app.id, after, EXPORT_PAGE)
            .await?;
        let Some(last) = users.last() else {
            cursor.done = true;
            return Ok(Some(out).filter(|out| !out.is_empty()));
        };
        let ids: Vec<&str> = users.iter().map(|user| user.id.as_str()).collect();
        let mut passkeys: std::collections::HashMap<String, Vec<_>> =
            std::collections::HashMap::new();
        for passkey in self.store.export_passkeys_of(&app.id, &ids).await? {
            passkeys
                .entry(passkey.user_id.clone())
                .or_default()
                .push(passkey);
        }
        for user in &users {
            push_line(
                &mut out,
                &Line::User(UserLine {
                    external_id: user.external_id.clone(),
                    display_name: user.display_name.clone(),
                    user_handle: Some(URL_SAFE_NO_PAD.encode(&user.user_handle)),
                    created_at: Some(clock::rfc3339(Some(user.created_at))),
                }),
            )?;
            for passkey in passkeys.remove(&user.id).unwrap_or_default() {
                let stored: Passkey = serde_json::from_str(&passkey.credential)?;
                let credential = Credential::from(stored);
                let (public_key, algorithm) = cose_key_bytes(&credential.cred);
                push_line(
                    &mut out,
                    &Line::Passkey(PasskeyLine {
                        external_id: user.external_id.clone(),
                        credential_id: URL_SAFE_NO_PAD.encode(&passkey.cred_id),
                        public_key: URL_SAFE_NO_PAD.encode(public_key),
                        algorithm,
                        counter: u32::try_from(passkey.counter).unwrap_or(u32::MAX),
                        aaguid: passkey.aaguid,
                        transports: passkey.transports.0,
                        backup_eligible: passkey.backup_eligible,
                        backup_state: passkey.backup_state,
                        name: Some(passkey.friendly_name),
                        created_at: Some(clock::rfc3339(Some(passkey.created_at))),
                        last_used_at: passkey.last_used_at.map(|at| clock::rfc3339(Some(at))),
                        user_handle: passkey.user_handle.map(|h| URL_SAFE_NO_PAD.encode(h)),
                    }),
                )?;
            }
        }
        cursor.after = Some((last.created_at, last.external_id.clone()));
        if (users.len() as i64) < EXPORT_PAGE {
            cursor.done = true;
        }
        Ok(Some(out))
    }

    /// Imports `rows` (each with its line number in the source) into `app`,
    /// a batch per database transaction; `dry_run` runs everything in one
    /// database transaction and rolls it back. Rows already there are skipped
    /// as duplicates, so an import can be run again (after an interruption,
    /// say) and ends complete.
    pub async fn import(
        &self,
        app: &App,
        rows: Vec<(usize, Line)>,
        dry_run: bool,
    ) -> Result<ImportReport, FlexError> {
        let mut report = ImportReport {
            dry_run,
            ..ImportReport::default()
        };
        // A passkey works only for the RP ID it was made for: a file of
        // another RP ID's passkeys is refused whole, before anything is written.
        let header_rp_id = rows.iter().find_map(|(_, row)| match row {
            Line::Header(header) => Some(header.app.rp_id.clone()),
            _ => None,
        });
        let has_passkeys = rows.iter().any(|(_, row)| matches!(row, Line::Passkey(_)));
        if let Some(rp_id) = header_rp_id.filter(|rp_id| has_passkeys && *rp_id != app.rp_id) {
            return Err(FlexError::invalid(format!(
                "the passkeys in this file are for RP ID {rp_id}, and this app's RP ID is {}: \
                 they could not sign in here (create the app with --rp-id {rp_id})",
                app.rp_id
            )));
        }
        let now = self.now();
        let mut items = Vec::with_capacity(rows.len());
        for (line, row) in rows {
            let kind = match &row {
                Line::Header(_) => continue,
                Line::User(_) => RowKind::User,
                Line::Passkey(_) => RowKind::Passkey,
            };
            match prepare(row, now) {
                Ok(item) => items.push((line, kind, item)),
                Err(reason) => report.refuse(line, kind, reason),
            }
        }
        let batch = if dry_run {
            items.len().max(1)
        } else {
            IMPORT_BATCH
        };
        for chunk in items.chunks(batch) {
            let batch: Vec<ImportItem> = chunk.iter().map(|(_, _, item)| item.clone()).collect();
            let event = events::success(Some(&app.id), EventType::PasskeysImported, now);
            let outcomes = self
                .store
                .import_batch(
                    &app.id,
                    app.max_passkeys_per_user,
                    &batch,
                    now,
                    !dry_run,
                    event,
                )
                .await?;
            if !dry_run && outcomes.contains(&ImportOutcome::Imported) {
                let event_type = EventType::PasskeysImported.as_str();
                self.metrics
                    .events_written(event_type, Outcome::Success.as_str());
            }
            for ((line, kind, _), outcome) in chunk.iter().zip(outcomes) {
                report.count(*line, *kind, outcome);
            }
        }
        Ok(report)
    }
}

/// The header line of `app`'s export.
fn header(app: &App) -> Header {
    Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        app: AppSettings {
            id: app.id.as_str().to_owned(),
            name: app.name.clone(),
            rp_id: app.rp_id.clone(),
            origins: app.origins.clone(),
            related_origins: app.related_origins.clone(),
            webauthn_timeout_ms: app.webauthn_timeout_ms,
            transaction_ttl_ms: app.transaction_ttl_ms,
            nonce_ttl_ms: app.nonce_ttl_ms,
            max_passkeys_per_user: app.max_passkeys_per_user,
        },
    }
}

fn push_line(out: &mut String, line: &Line) -> Result<(), FlexError> {
    out.push_str(&serde_json::to_string(line)?);
    out.push('\n');
    Ok(())
}

/// Reads a Latchkey export (or the format written by anyone): one JSON
/// object per line, blank lines skipped. A line that is not one of the
/// format's is refused in the report, not fatal. The header, when there is
/// one, must name the format and a version this Latchkey reads.
pub fn parse_lines(text: &str) -> Result<Rows, FlexError> {
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(raw) {
            Ok(Line::Header(header)) => {
                if header.format != FORMAT || header.version != VERSION {
                    return Err(FlexError::invalid(format!(
                        "line {line}: this is {} version {}; Latchkey reads {FORMAT} version {VERSION}",
                        header.format, header.version
                    )));
                }
                rows.push((line, Line::Header(header)));
            }
            Ok(row) => rows.push((line, row)),
            Err(e) => refused.push(Refusal {
                line,
                kind: RowKind::Line,
                reason: format!("not a line of the format: {e}"),
            }),
        }
    }
    Ok((rows, refused))
}

/// A row checked and turned into what the store writes, or why it is refused.
fn prepare(row: Line, now: Millis) -> Result<ImportItem, String> {
    match row {
        Line::Header(_) => Err("a second header".into()),
        Line::User(user) => {
            let external_id = ExternalId::parse(&user.external_id).map_err(|e| e.to_string())?;
            let display_name = DisplayName::parse("display_name", &user.display_name)
                .or_else(|_| DisplayName::parse("display_name", external_id.as_str()))
                .map_err(|e| e.to_string())?;
            let id = Uuid::new_v4();
            let (user_handle, handle_given) = match &user.user_handle {
                Some(handle) => (user_handle(handle)?, true),
                None => (id.as_bytes().to_vec(), false),
            };
            Ok(ImportItem::User(ImportUser {
                id: id.to_string(),
                external_id: external_id.as_str().to_owned(),
                display_name: display_name.as_str().to_owned(),
                user_handle,
                handle_given,
                created_at: time_or(user.created_at.as_deref(), now, "created_at")?,
            }))
        }
        Line::Passkey(p) => {
            let external_id = ExternalId::parse(&p.external_id).map_err(|e| e.to_string())?;
            let cred_id = base64url("credential_id", &p.credential_id)?;
            if cred_id.is_empty() || cred_id.len() > 1023 {
                return Err("credential_id must be 1 to 1023 bytes".into());
            }
            let public_key = base64url("public_key", &p.public_key)?;
            let key = parse_cose_key(&public_key)?;
            if i64::from(key.type_ as i32) != p.algorithm {
                return Err(format!(
                    "algorithm {} is not the public key's ({})",
                    p.algorithm, key.type_ as i32
                ));
            }
            let aaguid = Uuid::parse_str(&p.aaguid)
                .map_err(|_| "aaguid is not a UUID".to_owned())?
                .hyphenated()
                .to_string();
            if p.transports.len() > 8 || p.transports.iter().any(|t| t.is_empty() || t.len() > 32) {
                return Err("transports must be at most 8 names of 1 to 32 characters".into());
            }
            if p.backup_state && !p.backup_eligible {
                return Err("backed up without being backup eligible".into());
            }
            let credential = Credential {
                cred_id: cred_id.clone(),
                cred: key,
                counter: p.counter,
                transports: None,
                user_verified: true,
                backup_eligible: p.backup_eligible,
                backup_state: p.backup_state,
                registration_policy: UserVerificationPolicy::Required,
                extensions: RegisteredExtensions::none(),
                attestation: ParsedAttestation {
                    data: ParsedAttestationData::None,
                    metadata: AttestationMetadata::None,
                },
                attestation_format: AttestationFormat::None,
            };
            let passkey = Passkey::from(credential);
            let name = match p.name.as_deref() {
                Some(name) => DisplayName::parse("name", name)
                    .map_err(|e| e.to_string())?
                    .as_str()
                    .to_owned(),
                None => super::aaguid::provider(&aaguid)
                    .map(|provider| provider.name.clone())
                    .unwrap_or_else(|| "Passkey".to_owned()),
            };
            let kind = PasskeyKind::classify(p.backup_eligible, &p.transports);
            Ok(ImportItem::Passkey(ImportPasskey {
                id: DeviceId::generate().as_str().to_owned(),
                external_id: external_id.as_str().to_owned(),
                user_handle: p
                    .user_handle
                    .as_deref()
                    .map(|h| match h {
                        "" => Ok(Vec::new()),
                        h => user_handle(h),
                    })
                    .transpose()?,
                cred_id,
                credential: serde_json::to_string(&passkey).map_err(|e| e.to_string())?,
                friendly_name: name,
                aaguid,
                transports: p.transports,
                backup_eligible: p.backup_eligible,
                backup_state: p.backup_state,
                counter: i64::from(p.counter),
                kind: kind.as_str().to_owned(),
                created_at: time_or(p.created_at.as_deref(), now, "created_at")?,
                last_used_at: p
                    .last_used_at
                    .as_deref()
                    .map(|at| parse_time(at, "last_used_at"))
                    .transpose()?,
            }))
        }
    }
}

fn base64url(field: &str, text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| format!("{field} is not base64url"))
}

fn user_handle(text: &str) -> Result<Vec<u8>, String> {
    let handle = base64url("user_handle", text)?;
    if handle.is_empty() || handle.len() > 64 {
        return Err("user_handle must be 1 to 64 bytes".into());
    }
    Ok(handle)
}

fn parse_time(text: &str, field: &str) -> Result<Millis, String> {
    let at = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("{field} is not an RFC 3339 time"))?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("{field} is out of range"))
}

fn time_or(text: Option<&str>, now: Millis, field: &str) -> Result<Millis, String> {
    text.map_or(Ok(now), |text| parse_time(text, field))
}

/// A COSE_Key from its CBOR, as webauthn-rs reads (and checks) it at
/// registration: an algorithm it can verify and a valid point or modulus.
pub fn parse_cose_key(bytes: &[u8]) -> Result<COSEKey, String> {
    let value: serde_cbor_2::Value = serde_cbor_2::from_slice(bytes)
        .map_err(|_| "public_key is not a CBOR COSE_Key".to_owned())?;
    COSEKey::try_from(&value).map_err(|e| format!("public_key cannot be verified with: {e:?}"))
}

/// The COSE_Key CBOR of a webauthn-rs key, and its algorithm: the inverse of
/// [`parse_cose_key`].
pub fn cose_key_bytes(key: &COSEKey) -> (Vec<u8>, i64) {
    use ciborium::Value as V;
    let int = |n: i64| V::Integer(n.into());
    let algorithm = i64::from(key.type_ as i32);
    let map = match &key.key {
        COSEKeyType::EC_EC2(ec) => vec![
            (int(1), int(2)),
            (int(3), int(algorithm)),
            (int(-1), int(ec.curve.clone() as i64)),
            (int(-2), V::Bytes(ec.x.to_vec())),
            (int(-3), V::Bytes(ec.y.to_vec())),
        ],
        COSEKeyType::EC_OKP(okp) => vec![
            (int(1), int(1)),
            (int(3), int(algorithm)),
            (int(-1), int(okp.curve.clone() as i64)),
            (int(-2), V::Bytes(okp.x.to_vec())),
        ],
        COSEKeyType::RSA(rsa) => vec![
            (int(1), int(3)),
            (int(3), int(algorithm)),
            (int(-1), V::Bytes(rsa.n.to_vec())),
            (int(-2), V::Bytes(rsa.e.to_vec())),
        ],
    };
    let mut bytes = Vec::new();
    ciborium::into_writer(&V::Map(map), &mut bytes).expect("CBOR into memory");
    (bytes, algorithm)
}

/// What kind of row a line was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    User,
    Passkey,
    /// A line that is none of the format's.
    Line,
}

/// A row refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub line: usize,
    pub kind: RowKind,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub users: u64,
    pub passkeys: u64,
}

impl Counts {
    fn add(&mut self, kind: RowKind) {
        match kind {
            RowKind::User => self.users += 1,
            RowKind::Passkey => self.passkeys += 1,
            RowKind::Line => {}
        }
    }
}

/// What an import did: rows imported, skipped as already there, refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub imported: Counts,
    pub duplicates: Counts,
    pub refused: Vec<Refusal>,
}

impl ImportReport {
    pub fn refuse(&mut self, line: usize, kind: RowKind, reason: String) {
        self.refused.push(Refusal { line, kind, reason });
    }

    fn count(&mut self, line: usize, kind: RowKind, outcome: ImportOutcome) {
        match outcome {
            ImportOutcome::Imported => self.imported.add(kind),
            ImportOutcome::Duplicate => self.duplicates.add(kind),
            ImportOutcome::Refused(reason) => self.refuse(line, kind, reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cose_key_reads_back_as_written() {
        let signer = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let bytes = softkey::cose_key(signer.verifying_key(), -7);
        let key = parse_cose_key(&bytes).unwrap();
        assert_eq!(cose_key_bytes(&key), (bytes, -7));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(parse_cose_key(b"not cbor").is_err());
        let mut bytes = Vec::new();
        ciborium::into_writer(
            &ciborium::Value::Map(vec![(
                ciborium::Value::Integer(1.into()),
                ciborium::Value::Integer(2.into()),
            )]),
            &mut bytes,
        )
        .unwrap();
        assert!(parse_cose_key(&bytes).is_err());
    }
}
