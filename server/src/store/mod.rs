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
pub mod better_auth;
mod ceremonies;
mod finishes;
mod site;
mod transfer;
mod users;

use std::{str::FromStr, time::Duration};

use sqlx::{
    migrate::Migrator,
    postgres::{PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};

pub use apps::{ApiKeyRow, AppRow, NewAppRow};
pub use ceremonies::{
    HandshakeRow, NewHandshake, NewTransaction, PasskeyInHandshake, UsedTransaction,
};
pub use finishes::{AuthenticationWrite, Finish, RegistrationWrite};
pub use site::{AccountKey, AccountRow};
pub use sqlx::types::Json;
pub use transfer::{
    ExportPasskeyRow, ExportUserRow, ImportItem, ImportOutcome, ImportPasskey, ImportUser,
};
pub use users::{NewPasskey, NewUser, PasskeyRow, UserRow};

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

/// A pool of connections to the one database, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Connects (creating a missing SQLite file) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
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
                SQLITE_MIGRATIONS
                    .run(&writer)
                    .await
                    .map_err(StoreError::Migrate)?;
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
                POSTGRES_MIGRATIONS
                    .run(&pool)
                    .await
                    .map_err(StoreError::Migrate)?;
                Pool::Postgres(pool)
            }
        };
        Ok(Self { pool })
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
