//! The store: one code path over SQLite (the default, a file) and PostgreSQL
//! (what several instances share). Queries are written once, against
//! `sqlx::Any`, using only types both engines share (text, 64-bit integers,
//! booleans, bytes; times are Unix milliseconds). Only the migrations differ
//! per engine, under `server/migrations/{sqlite,postgres}`.

use std::time::Duration;

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::{MigrateDatabase, Migrator},
    Any, AnyPool, Executor,
};

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

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("could not create the SQLite database file")]
    Create(#[source] sqlx::Error),
    #[error("could not connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("could not bring the database schema up to date (migrations failed)")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A pool of connections to the one database, shared by every request.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    engine: Engine,
}

impl Store {
    /// Connects (creating a missing SQLite file) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url)?;
        if engine == Engine::Sqlite && !Any::database_exists(url).await.unwrap_or(false) {
            Any::create_database(url)
                .await
                .map_err(StoreError::Create)?;
        }
        let options: AnyConnectOptions = url.parse().map_err(StoreError::Connect)?;
        let pool = match engine {
            // One writer at a time in SQLite: WAL lets readers go on, and the busy
            // timeout makes a second writer wait instead of failing.
            Engine::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(8)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
            }
            Engine::Postgres => AnyPoolOptions::new().max_connections(16),
        }
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(StoreError::Connect)?;
        engine
            .migrator()
            .run(&pool)
            .await
            .map_err(StoreError::Migrate)?;
        Ok(Self { pool, engine })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(drop)
    }

    /// Counts one hit of `key` in the one-second window starting at `window`
    /// (Unix seconds); returns the hits in that window so far. One statement, so
    /// concurrent instances count together.
    pub async fn count_hit(&self, key: &str, window: i64) -> Result<i64, sqlx::Error> {
        use sqlx::Row;
        sqlx::query(
            "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
        )
        .bind(key)
        .bind(window)
        .fetch_one(&self.pool)
        .await?
        .try_get("hits")
    }

    /// Forgets rate-limit windows that ended before `window`.
    pub async fn forget_hits_before(&self, window: i64) -> Result<u64, sqlx::Error> {
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(window)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
    }

    /// Closes every connection (at shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
