//! The reference site's accounts and sessions.

use super::{is_duplicate, on_pool, on_reader, Store};

/// A site account, and its password hash when asked for.
#[derive(Debug, sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub email: String,
    pub external_id: Option<String>,
    pub password_hash: String,
}

/// Which column finds an account.
#[derive(Clone, Copy, Debug)]
pub enum AccountKey<'a> {
    Id(&'a str),
    Email(&'a str),
    ExternalId(&'a str),
}

impl Store {
    /// `false` when the email is taken.
    pub async fn insert_account(
        &self,
        id: &str,
        email: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<bool, sqlx::Error> {
        let inserted = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO site_accounts (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        });
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Changes an account's email; `false` when another account has it.
    pub async fn update_account_email(&self, id: &str, email: &str) -> Result<bool, sqlx::Error> {
        let updated = on_pool!(self, |pool| {
            sqlx::query("UPDATE site_accounts SET email = $1 WHERE id = $2")
                .bind(email)
                .bind(id)
                .execute(pool)
                .await
                .map(drop)
        });
        match updated {
            Ok(()) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn find_account(
        &self,
        key: AccountKey<'_>,
    ) -> Result<Option<AccountRow>, sqlx::Error> {
        let (column, value) = match key {
            AccountKey::Id(id) => ("id", id),
            AccountKey::Email(email) => ("email", email),
            AccountKey::ExternalId(id) => ("external_id", id),
        };
        on_reader!(self, |pool| {
            sqlx::query_as(&format!(
                "SELECT id, email, external_id, password_hash FROM site_accounts WHERE {column} = $1"
            ))
            .bind(value)
            .fetch_optional(pool)
            .await
        })
    }

    /// Gives the account `external_id` unless it has one; returns the one it has.
    pub async fn ensure_account_external_id(
        &self,
        account_id: &str,
        external_id: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE site_accounts SET external_id = $1 WHERE id = $2 AND external_id IS NULL",
            )
            .bind(external_id)
            .bind(account_id)
            .execute(pool)
            .await?;
            sqlx::query_scalar("SELECT external_id FROM site_accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await
                .map(Option::flatten)
        })
    }

    pub async fn insert_session(
        &self,
        id_hash: &[u8],
        account_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO site_sessions (id_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id_hash)
            .bind(account_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(drop)
        })
    }

    /// The account of a live session.
    pub async fn session_account(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> Result<Option<AccountRow>, sqlx::Error> {
        on_reader!(self, |pool| {
            sqlx::query_as(
                "SELECT a.id, a.email, a.external_id, a.password_hash FROM site_sessions s \
                 JOIN site_accounts a ON a.id = s.account_id WHERE s.id_hash = $1 AND s.expires_at > $2",
            )
            .bind(id_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn delete_session(&self, id_hash: &[u8]) -> Result<(), sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM site_sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Deletes the sessions that expired by `now`; returns how many.
    pub async fn sweep_expired_sessions(&self, now: i64) -> Result<u64, sqlx::Error> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM site_sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }
}
