//! Where an import reads from: a file in the export format (JSON Lines), a
//! users CSV (Passage's dashboard export), or a better-auth database.

use base64::{
    engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD},
    Engine as _,
};

use super::{
    format::{Line, PasskeyLine, UserLine},
    parse_lines, Refusal, RowKind, Rows,
};
use crate::flex::FlexError;

/// A file: JSON Lines when its first non-blank character opens an object,
/// otherwise a users CSV.
pub fn read_file_text(text: &str) -> Result<Rows, FlexError> {
    if text.trim_start().starts_with('{') {
        parse_lines(text)
    } else {
        parse_users_csv(text)
    }
}

/// A users CSV with a header row, as Passage's dashboard exported its users:
/// the external id is the `external_id` column (else `id`), the display name
/// `display_name`, else `email`, else `phone`, else the external id;
/// `created_at` (RFC 3339) is kept when present. Users only: they enrol
/// passkeys at their next sign-in.
pub fn parse_users_csv(text: &str) -> Result<Rows, FlexError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| FlexError::invalid(format!("the CSV has no header row: {e}")))?
        .clone();
    let column = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| headers.iter().position(|h| h.eq_ignore_ascii_case(name)))
    };
    let external_id = column(&["external_id", "id"])
        .ok_or_else(|| FlexError::invalid("the CSV has neither an external_id nor an id column"))?;
    let names: Vec<usize> = ["display_name", "email", "phone"]
        .iter()
        .filter_map(|name| column(&[name]))
        .collect();
    let created_at = column(&["created_at"]);
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                refused.push(Refusal {
                    line,
                    kind: RowKind::User,
                    reason: format!("not a CSV row: {e}"),
                });
                continue;
            }
        };
        let field = |i: usize| record.get(i).filter(|v| !v.is_empty());
        let Some(id) = field(external_id) else {
            refused.push(Refusal {
                line,
                kind: RowKind::User,
                reason: "no external id".into(),
            });
            continue;
        };
        let display_name = names.iter().find_map(|&i| field(i)).unwrap_or(id);
        rows.push((
            line,
            Line::User(UserLine {
                external_id: id.to_owned(),
                display_name: display_name.to_owned(),
                user_handle: None,
                created_at: created_at.and_then(field).map(str::to_owned),
            }),
        ));
    }
    Ok((rows, refused))
}

/// The `user` and `passkey` tables of a better-auth database (`sqlite://FILE`
/// or `postgres://…`), as rows of the format: a user's external id is its
/// better-auth id; its passkeys' user handles were random and never stored
/// (`@better-auth/passkey` makes one per registration), so they are marked
/// unknown and the credential id alone names the user, as in better-auth.
/// Rows are numbered users first, then passkeys, in the order read.
pub async fn read_better_auth(url: &str) -> Result<Rows, FlexError> {
    let (users, passkeys) = crate::store::better_auth::read_better_auth(url)
        .await
        .map_err(|e| FlexError::Internal(anyhow::Error::new(e)))?;
    let time = |at: Option<i64>| at.map(|at| super::rfc3339(Some(at)));
    let mut rows = Vec::with_capacity(users.len() + passkeys.len());
    for user in users {
        let display_name = [&user.name, &user.email]
            .into_iter()
            .flatten()
            .find(|name| !name.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| user.id.clone());
        rows.push(Line::User(UserLine {
            external_id: user.id,
            display_name,
            user_handle: None,
            created_at: time(user.created_at),
        }));
    }
    for passkey in passkeys {
        let public_key = STANDARD_NO_PAD
            .decode(passkey.public_key.trim_end_matches('='))
            .or_else(|_| URL_SAFE_NO_PAD.decode(passkey.public_key.trim_end_matches('=')))
            .unwrap_or_default();
        let algorithm = super::parse_cose_key(&public_key)
            .map(|key| i64::from(key.type_ as i32))
            .unwrap_or_default();
        let transports = passkey
            .transports
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        rows.push(Line::Passkey(PasskeyLine {
            external_id: passkey.user_id,
            credential_id: passkey.credential_id,
            public_key: URL_SAFE_NO_PAD.encode(&public_key),
            algorithm,
            counter: u32::try_from(passkey.counter).unwrap_or_default(),
            aaguid: passkey
                .aaguid
                .filter(|a| !a.is_empty())
                .unwrap_or_else(super::format::zero_aaguid),
            transports,
            backup_eligible: passkey.device_type == "multiDevice" || passkey.backed_up,
            backup_state: passkey.backed_up,
            name: passkey.name.filter(|n| !n.trim().is_empty()),
            created_at: time(passkey.created_at),
            last_used_at: None,
            user_handle: Some(String::new()),
        }));
    }
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| (i + 1, row))
        .collect();
    Ok((rows, Vec::new()))
}
