//! Backups of a SQLite store, online: `VACUUM INTO` copies one consistent
//! snapshot (a read transaction) while the server goes on writing. PostgreSQL
//! has `pg_dump`, which the refusal names.

use std::{path::Path, str::FromStr};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{Engine, Pool, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "latchkey backup copies SQLite stores; for PostgreSQL use its own tools: \
         `pg_dump --format=custom --file=latchkey.dump \"$DATABASE_URL\"`, and \
         `pg_restore --clean --if-exists --dbname=\"$DATABASE_URL\" latchkey.dump` to bring it back"
    )]
    Postgres,
    #[error("{0} already exists: name a new file (a backup never overwrites one)")]
    Exists(String),
    #[error("{0} is not a Latchkey store: {1}")]
    NotAStore(String, String),
    #[error("the backup {0} is damaged: {1}")]
    Damaged(String, String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// How much a store holds, to say what a backup or restore carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contents {
    pub apps: i64,
    pub users: i64,
    pub passkeys: i64,
}

impl Store {
    /// Writes a consistent copy of this SQLite store to `path`, a new file.
    pub async fn backup_to(&self, path: &Path) -> Result<(), BackupError> {
        let Pool::Sqlite { reader, .. } = &self.pool else {
            return Err(BackupError::Postgres);
        };
        if path.exists() {
            return Err(BackupError::Exists(path.display().to_string()));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().as_ref())
            .execute(reader)
            .await?;
        Ok(())
    }

    /// Counts what the store holds.
    pub async fn contents(&self) -> Result<Contents, sqlx::Error> {
        let count = |table: &'static str| async move {
            super::on_reader!(self, |pool| sqlx::query_scalar::<_, i64>(&format!(
                "SELECT COUNT(*) FROM {table}"
            ))
            .fetch_one(pool)
            .await)
        };
        Ok(Contents {
            apps: count("apps").await?,
            users: count("users").await?,
            passkeys: count("passkeys").await?,
        })
    }

    /// Whether the store holds anything of its operators' yet: an app besides
    /// the built-in site's, or a user (a server that only started once has not).
    pub async fn is_empty(&self) -> Result<bool, sqlx::Error> {
        let applied = self.schema_status().await?.applied;
        if applied.is_empty() {
            return Ok(true);
        }
        // The console's own app (migration 8 on) is not the operators' either.
        let query = if applied.contains(&8) {
            "SELECT COUNT(*) FROM apps WHERE NOT is_builtin AND NOT is_console"
        } else {
            "SELECT COUNT(*) FROM apps WHERE NOT is_builtin"
        };
        let apps: i64 =
            super::on_reader!(self, |pool| sqlx::query_scalar(query).fetch_one(pool).await)?;
        Ok(apps == 0 && self.contents().await?.users == 0)
    }
}

/// Puts the SQLite backup `from` in place of the store `target_url` names (the
/// server stopped), then brings it to this binary's schema. A store that holds
/// data is replaced only when `replace` says so.
pub async fn restore(
    from: &Path,
    target_url: &str,
    replace: bool,
) -> Result<Contents, RestoreError> {
    if Engine::of_url(target_url).map_err(|_| RestoreError::Url)? == Engine::Postgres {
        return Err(BackupError::Postgres.into());
    }
    let name = from.display().to_string();
    if !from.is_file() {
        return Err(RestoreError::NoBackup(name));
    }
    // Read-only and immutable: checking a backup changes nothing in it.
    let backup = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(from)
                .read_only(true)
                .immutable(true),
        )
        .await
        .map_err(|e| BackupError::NotAStore(name.clone(), e.to_string()))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&backup)
        .await
        .map_err(|e| BackupError::NotAStore(name.clone(), e.to_string()))?;
    if integrity != "ok" {
        return Err(BackupError::Damaged(name, integrity).into());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&backup)
            .await
            .map_err(|_| {
                BackupError::NotAStore(name.clone(), "it has no Latchkey schema".into())
            })?;
    let known = super::SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
    if let Some(applied) = versions.iter().copied().filter(|v| *v > known).max() {
        return Err(StoreError::NewerSchema { applied, known }.into());
    }

    let target = SqliteConnectOptions::from_str(target_url)
        .map_err(|_| RestoreError::Url)?
        .get_filename()
        .to_path_buf();
    if target.exists() {
        let existing = Store::open(target_url).await?;
        let empty = existing.is_empty().await.map_err(StoreError::Connect)?;
        existing.close().await;
        if !empty && !replace {
            return Err(RestoreError::HasData(target.display().to_string()));
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut file = target.clone().into_os_string();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(RestoreError::Io(error))
                }
                _ => {}
            }
        }
    }
    sqlx::query("VACUUM INTO $1")
        .bind(target.to_string_lossy().as_ref())
        .execute(&backup)
        .await
        .map_err(StoreError::Connect)?;
    backup.close().await;
    let restored = Store::connect(target_url).await?;
    let contents = restored.contents().await.map_err(StoreError::Connect)?;
    restored.close().await;
    Ok(contents)
}

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("DATABASE_URL must name the SQLite store to restore into (sqlite://FILE)")]
    Url,
    #[error("{0} is not a file: name the backup to restore")]
    NoBackup(String),
    #[error(
        "{0} already holds apps or users: stop the server, then restore with --replace to \
         put the backup in its place (take a backup of it first if in doubt)"
    )]
    HasData(String),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("could not remove the store being replaced: {0}")]
    Io(std::io::Error),
}
