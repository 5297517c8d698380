//! The store: every SQL statement Latchkey runs, as named, typed methods, over
//! SQLite (the default, a file) or PostgreSQL (what several instances share).
//!
//! Each method is written once and runs on either engine's native sqlx driver
//! (`on_pool!` expands its body for both). Rows are `FromRow` structs; the two
//! engines differ only in their migrations (`server/migrations/{sqlite,postgres}`):
//! booleans are SQLite integers or PostgreSQL booleans, JSON is SQLite text or
//! PostgreSQL `jsonb`, and sqlx converts both in one place (`bool`, [`Json`]).
//! Times are Unix milliseconds. Short-lived ceremony state (transactions,
//! handshakes, nonces) is in `UNLOGGED` tables on PostgreSQL: it survives a
//! Latchkey restart or kill, and a database crash only ends ceremonies in flight.

mod apps;
mod backup;
pub mod better_auth;
mod ceremonies;
mod console;
mod events;
mod finishes;
mod signing;
mod site;
mod transfer;
mod users;
mod webhooks;

use std::{str::FromStr, time::Duration};

use sqlx::{
    migrate::Migrator,
    postgres::{PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

pub use apps::{ApiKeyListRow, ApiKeyRow, AppRow, AppUpdateRow, NewAppRow};
pub use backup::{restore, BackupError, Contents, RestoreError};
pub use ceremonies::{
    HandshakeRow, NewHandshake, NewTransaction, PasskeyInHandshake, Taken, UsedTransaction,
};
pub use console::{InviteRow, NewSession, OperatorRow};
use events::{insert_event_query, with_event};
pub use events::{EventCount, EventRow, EventScope, EventSelection, NewEvent};
pub use finishes::{AuthenticationWrite, Finish, RegistrationWrite};
pub use signing::{NewSigningKey, SigningKeyRow};
pub use site::{AccountKey, AccountRow};
pub use sqlx::types::Json;
pub use transfer::{
    ExportPasskeyRow, ExportUserRow, ImportItem, ImportOutcome, ImportPasskey, ImportUser,
};
pub use users::{NewPasskey, NewUser, PasskeyRow, UserCredentialRow, UserRow};
pub use webhooks::{AttemptRow, ClaimedMessage, MessageRow, Settlement, WebhookRow};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a `DATABASE_URL` names.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme);
        match scheme {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            _ => Err(StoreError::UnsupportedUrl),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("could not connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("could not bring the database schema up to date (migrations failed)")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error(
        "the database was migrated by a newer Latchkey (it has schema version {applied}; this \
         binary knows versions up to {known}): run that Latchkey or a newer one, or restore a \
         backup taken before the upgrade"
    )]
    NewerSchema { applied: i64, known: i64 },
}

/// Where a database's schema stands against this binary's migrations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Versions applied to the database, in order.
    pub applied: Vec<i64>,
    /// The newest version this binary knows.
    pub known: i64,
}

impl SchemaStatus {
    /// Versions this binary knows that the database lacks.
    pub fn pending(&self, migrations: &Migrator) -> Vec<i64> {
        migrations
            .iter()
            .map(|m| m.version)
            .filter(|v| !self.applied.contains(v))
            .collect()
    }

    /// A version applied to the database that this binary does not know, if any.
    pub fn newer(&self) -> Option<i64> {
        self.applied
            .iter()
            .copied()
            .filter(|v| *v > self.known)
            .max()
    }
}

/// The pools of one engine's native driver. SQLite allows one writer at a
/// time: writes queue for the one writer connection (in order, without SQLite's
/// sleeping busy handler), while reads go on beside it on their own
/// connections (WAL). PostgreSQL has one pool for both.
#[derive(Clone, Debug)]
enum Pool {
    Sqlite {
        reader: SqlitePool,
        writer: SqlitePool,
    },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool that writes, whichever engine it
/// is: the body is compiled once per driver, so every statement is typed for both.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite { writer: $pool, .. } => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// `on_pool!` for a statement that only reads (one statement, or reads that
/// need no transaction): on SQLite, a reader connection.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite { reader: $pool, .. } => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_reader;

/// One pool's connections at a moment: all it holds (`size`), and the idle ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUsage {
    pub pool: &'static str,
    pub size: u32,
    pub idle: u32,
}

/// A pool of connections to the one database, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Connects (creating a missing SQLite file) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = Self::open(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects (creating a missing SQLite file) without touching the schema.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = match Engine::of_url(url)? {
            // One writer at a time in SQLite: WAL lets readers go on, and the busy
            // timeout makes a second writer wait instead of failing.
            Engine::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(StoreError::Connect)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true);
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.clone())
                    .await
                    .map_err(StoreError::Connect)?;
                let reader = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options.read_only(true))
                    .await
                    .map_err(StoreError::Connect)?;
                Pool::Sqlite { reader, writer }
            }
            Engine::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(StoreError::Connect)?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool })
    }

    /// Brings the schema up to date (forward only). A database migrated by a
    /// newer binary is refused before anything changes.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let status = self.schema_status().await.map_err(StoreError::Connect)?;
        if let Some(applied) = status.newer() {
            return Err(StoreError::NewerSchema {
                applied,
                known: status.known,
            });
        }
        let migrations = self.migrations();
        match &self.pool {
            Pool::Sqlite { writer, .. } => migrations.run(writer).await,
            Pool::Postgres(pool) => migrations.run(pool).await,
        }
        .map_err(StoreError::Migrate)
    }

    /// The migrations of this store's engine.
    pub fn migrations(&self) -> &'static Migrator {
        match self.engine() {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The schema versions applied to the database (none on a new one), read
    /// without changing anything.
    pub async fn schema_status(&self) -> Result<SchemaStatus, sqlx::Error> {
        let exists = match &self.pool {
            Pool::Sqlite { reader, .. } => {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
                )
                .fetch_one(reader)
                .await?
                    > 0
            }
            Pool::Postgres(pool) => {
                sqlx::query_scalar::<_, bool>("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(pool)
                    .await?
            }
        };
        let applied = if exists {
            on_reader!(self, |pool| sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version"
            )
            .fetch_all(pool)
            .await)?
        } else {
            Vec::new()
        };
        let known = self
            .migrations()
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0);
        Ok(SchemaStatus { applied, known })
    }

    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite { .. } => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_reader!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await
            .map(drop))
    }

    /// Counts one hit of `key` in the one-second window starting at `window`
    /// (Unix seconds); returns the hits in that window so far. One statement, so
    /// concurrent instances count together.
    pub async fn count_hit(&self, key: &str, window: i64) -> Result<i64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
            )
            .bind(key)
            .bind(window)
            .fetch_one(pool)
            .await
        })
    }

    /// Forgets rate-limit windows that ended before `window`.
    pub async fn forget_hits_before(&self, window: i64) -> Result<u64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
                .bind(window)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }

    /// The database server's clock, in Unix seconds (PostgreSQL; SQLite's is
    /// this machine's own).
    pub async fn database_clock(&self) -> Result<f64, sqlx::Error> {
        match &self.pool {
            Pool::Postgres(pool) => {
                sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8")
                    .fetch_one(pool)
                    .await
            }
            Pool::Sqlite { reader, .. } => {
                sqlx::query_scalar("SELECT (julianday('now') - 2440587.5) * 86400.0")
                    .fetch_one(reader)
                    .await
            }
        }
    }

    /// How many connections each pool holds and how many of them are idle,
    /// now (for the metrics): SQLite's `reader` and `writer`, or `postgres`.
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        fn usage<DB: sqlx::Database>(pool: &'static str, of: &sqlx::Pool<DB>) -> PoolUsage {
            PoolUsage {
                pool,
                size: of.size(),
                idle: u32::try_from(of.num_idle()).unwrap_or(u32::MAX),
            }
        }
        match &self.pool {
            Pool::Sqlite { reader, writer } => {
                vec![usage("reader", reader), usage("writer", writer)]
            }
            Pool::Postgres(pool) => vec![usage("postgres", pool)],
        }
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { reader, writer } => {
                reader.close().await;
                writer.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// Whether an insert failed on a unique constraint (a duplicate), on either engine.
fn is_duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_comes_from_the_url_scheme() {
        assert_eq!(
            Engine::of_url("sqlite://latchkey.db").unwrap(),
            Engine::Sqlite
        );
        assert_eq!(
            Engine::of_url("postgres://u@h/db").unwrap(),
            Engine::Postgres
        );
        assert_eq!(
            Engine::of_url("postgresql://u@h/db").unwrap(),
            Engine::Postgres
        );
        assert!(Engine::of_url("mysql://u@h/db").is_err());
        assert!(Engine::of_url("latchkey.db").is_err());
    }
}
