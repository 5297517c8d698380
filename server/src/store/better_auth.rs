//! Reading another system's database: the `user` and `passkey` tables of a
//! better-auth app (`@better-auth/passkey`, SimpleWebAuthn underneath), on
//! SQLite or PostgreSQL, read only.

use std::str::FromStr;

use sqlx::{
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqlitePoolOptions},
    Row,
};

use super::{Engine, StoreError};

/// A better-auth user, as stored.
#[derive(Debug)]
pub struct BetterAuthUser {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// Unix milliseconds, when readable.
    pub created_at: Option<i64>,
}

/// A better-auth passkey, as stored.
#[derive(Debug)]
pub struct BetterAuthPasskey {
    pub user_id: String,
    pub name: Option<String>,
    /// The COSE public key, base64 (standard alphabet).
    pub public_key: String,
    /// base64url.
    pub credential_id: String,
    pub counter: i64,
    pub backed_up: bool,
    /// `singleDevice` or `multiDevice` (backup eligible).
    pub device_type: String,
    /// Comma-separated.
    pub transports: Option<String>,
    pub created_at: Option<i64>,
    pub aaguid: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Open(#[from] StoreError),
    #[error("could not read better-auth's user and passkey tables")]
    Read(#[source] sqlx::Error),
}

/// Reads every user and passkey of the better-auth database at `url`.
pub async fn read_better_auth(
    url: &str,
) -> Result<(Vec<BetterAuthUser>, Vec<BetterAuthPasskey>), ReadError> {
    let read = ReadError::Read;
    match Engine::of_url(url)? {
        Engine::Sqlite => {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(StoreError::Connect)?
                .read_only(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(StoreError::Connect)?;
            // better-auth's SQLite dates are Unix milliseconds (Kysely) or
            // ISO text (other adapters): both are read.
            let users =
                sqlx::query("SELECT id, name, email, createdAt FROM user ORDER BY createdAt, id")
                    .fetch_all(&pool)
                    .await
                    .map_err(read)?
                    .into_iter()
                    .map(|row| BetterAuthUser {
                        id: row.get("id"),
                        name: row.try_get("name").ok(),
                        email: row.try_get("email").ok(),
                        created_at: sqlite_time(&row, "createdAt"),
                    })
                    .collect();
            let passkeys = sqlx::query(
                "SELECT userId, name, publicKey, credentialID, counter, backedUp, deviceType, \
                 transports, createdAt, aaguid FROM passkey ORDER BY createdAt, id",
            )
            .fetch_all(&pool)
            .await
            .map_err(read)?
            .into_iter()
            .map(|row| BetterAuthPasskey {
                user_id: row.get("userId"),
                name: row.try_get("name").ok().flatten(),
                public_key: row.get("publicKey"),
                credential_id: row.get("credentialID"),
                counter: row.try_get("counter").unwrap_or_default(),
                backed_up: row.try_get::<i64, _>("backedUp").unwrap_or_default() != 0,
                device_type: row.try_get("deviceType").unwrap_or_default(),
                transports: row.try_get("transports").ok().flatten(),
                created_at: sqlite_time(&row, "createdAt"),
                aaguid: row.try_get("aaguid").ok().flatten(),
            })
            .collect();
            pool.close().await;
            Ok((users, passkeys))
        }
        Engine::Postgres => {
            let pool = PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .map_err(StoreError::Connect)?;
            let users = sqlx::query(
                "SELECT id, name, email, \
                 CAST(EXTRACT(EPOCH FROM \"createdAt\") * 1000 AS BIGINT) AS created_at \
                 FROM \"user\" ORDER BY \"createdAt\", id",
            )
            .fetch_all(&pool)
            .await
            .map_err(read)?
            .into_iter()
            .map(|row| BetterAuthUser {
                id: row.get("id"),
                name: row.try_get("name").ok(),
                email: row.try_get("email").ok(),
                created_at: row.try_get("created_at").ok(),
            })
            .collect();
            let passkeys = sqlx::query(
                "SELECT \"userId\", name, \"publicKey\", \"credentialID\", CAST(counter AS BIGINT) AS counter, \
                 \"backedUp\", \"deviceType\", transports, \
                 CAST(EXTRACT(EPOCH FROM \"createdAt\") * 1000 AS BIGINT) AS created_at, aaguid \
                 FROM passkey ORDER BY \"createdAt\", id",
            )
            .fetch_all(&pool)
            .await
            .map_err(read)?
            .into_iter()
            .map(|row| BetterAuthPasskey {
                user_id: row.get("userId"),
                name: row.try_get("name").ok().flatten(),
                public_key: row.get("publicKey"),
                credential_id: row.get("credentialID"),
                counter: row.try_get("counter").unwrap_or_default(),
                backed_up: row.try_get("backedUp").unwrap_or_default(),
                device_type: row.try_get("deviceType").unwrap_or_default(),
                transports: row.try_get("transports").ok().flatten(),
                created_at: row.try_get("created_at").ok().flatten(),
                aaguid: row.try_get("aaguid").ok().flatten(),
            })
            .collect();
            pool.close().await;
            Ok((users, passkeys))
        }
    }
}

/// A SQLite time column: Unix milliseconds, or RFC 3339 text.
fn sqlite_time(row: &sqlx::sqlite::SqliteRow, column: &str) -> Option<i64> {
    if let Ok(Some(ms)) = row.try_get::<Option<i64>, _>(column) {
        return Some(ms);
    }
    let text: String = row.try_get::<Option<String>, _>(column).ok().flatten()?;
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(&text, rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{}Z", text.replace(' ', "T")), rfc3339))
        .ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}
