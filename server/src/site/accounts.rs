//! The site's accounts (email and an Argon2id password hash) and sessions
//! (a random cookie token, stored as its SHA-256 hash).

use app::backend::{Account, AccountError, Accounts};
use async_trait::async_trait;
use sqlx::{any::AnyRow, Row};

use super::passwords::{hash_password, password_matches, Argon2Jobs};
use crate::{
    flex::{
        clock::{Clock, Millis},
        ids,
    },
    store::Store,
};

const SESSION_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

pub struct SqlAccounts {
    store: Store,
    clock: Clock,
    argon2: Argon2Jobs,
}

impl SqlAccounts {
    pub fn new(store: Store, clock: Clock) -> Self {
        Self {
            store,
            clock,
            argon2: Argon2Jobs::new(),
        }
    }

    async fn argon2<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, AccountError> + Send + 'static,
    ) -> Result<T, AccountError> {
        self.argon2.start(job)?.await.map_err(internal)?
    }
}

/// Deletes the site sessions that expired before `now`; returns how many.
pub async fn sweep_expired_sessions(store: &Store, now: Millis) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM site_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(store.pool())
        .await?;
    Ok(done.rows_affected())
}

pub(super) fn internal(error: impl Into<app::backend::Cause>) -> AccountError {
    AccountError::internal(error)
}

/// An email address, trimmed and lower-cased: something@domain.tld, at most 254 characters.
fn parse_email(text: &str) -> Result<String, AccountError> {
    let email = text.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(AccountError::Invalid(
            "Enter an email address such as ada@example.com.".into(),
        ))
    }
}

fn check_new_password(password: &str) -> Result<(), AccountError> {
    match password.chars().count() {
        0..8 => Err(AccountError::Invalid(
            "Choose a password of at least 8 characters.".into(),
        )),
        129.. => Err(AccountError::Invalid(
            "Choose a password of at most 128 characters.".into(),
        )),
        _ => Ok(()),
    }
}

fn account_from_row(row: &AnyRow) -> Result<Account, AccountError> {
    Ok(Account {
        id: row.try_get("id").map_err(internal)?,
        email: row.try_get("email").map_err(internal)?,
        external_id: row.try_get("external_id").map_err(internal)?,
    })
}

impl SqlAccounts {
    async fn find(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<(Account, String)>, AccountError> {
        let row = sqlx::query(&format!(
            "SELECT id, email, external_id, password_hash FROM site_accounts WHERE {column} = $1"
        ))
        .bind(value)
        .fetch_optional(self.store.pool())
        .await
        .map_err(internal)?;
        row.map(|row| {
            Ok((
                account_from_row(&row)?,
                row.try_get("password_hash").map_err(internal)?,
            ))
        })
        .transpose()
    }
}

#[async_trait]
impl Accounts for SqlAccounts {
    async fn sign_up(&self, email: &str, password: &str) -> Result<Account, AccountError> {
        let email = parse_email(email)?;
        check_new_password(password)?;
        let password = password.to_owned();
        let hash = self.argon2(move || hash_password(&password)).await?;
        let account = Account {
            id: uuid::Uuid::new_v4().to_string(),
            email,
            external_id: None,
        };
        let inserted = sqlx::query(
            "INSERT INTO site_accounts (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&account.id)
        .bind(&account.email)
        .bind(hash)
        .bind(self.clock.now())
        .execute(self.store.pool())
        .await;
        match inserted {
            Ok(_) => Ok(account),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(AccountError::EmailTaken)
            }
            Err(e) => Err(internal(e)),
        }
    }

    async fn check_password(&self, email: &str, password: &str) -> Result<Account, AccountError> {
        let found = match parse_email(email) {
            Ok(email) => self.find("email", &email).await?,
            Err(_) => None,
        };
        let (account, hash) = found.unzip();
        let password = password.to_owned();
        match (
            account,
            self.argon2(move || password_matches(&password, hash.as_deref()))
                .await?,
        ) {
            (Some(account), true) => Ok(account),
            _ => Err(AccountError::WrongCredentials),
        }
    }

    async fn find_by_email(&self, email: &str) -> Result<Option<Account>, AccountError> {
        let Ok(email) = parse_email(email) else {
            return Ok(None);
        };
        Ok(self
            .find("email", &email)
            .await?
            .map(|(account, _)| account))
    }

    async fn find_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<Account>, AccountError> {
        Ok(self
            .find("external_id", external_id)
            .await?
            .map(|(account, _)| account))
    }

    async fn ensure_external_id(&self, account_id: &str) -> Result<String, AccountError> {
        sqlx::query(
            "UPDATE site_accounts SET external_id = $1 WHERE id = $2 AND external_id IS NULL",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(account_id)
        .execute(self.store.pool())
        .await
        .map_err(internal)?;
        self.find("id", account_id)
            .await?
            .and_then(|(account, _)| account.external_id)
            .ok_or_else(|| AccountError::Internal("the account has no external id".into()))
    }

    async fn start_session(&self, account_id: &str) -> Result<String, AccountError> {
        let token = ids::random_token(32);
        let now = self.clock.now();
        sqlx::query("INSERT INTO site_sessions (id_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(ids::hash(&token))
            .bind(account_id)
            .bind(now)
            .bind(now + SESSION_TTL_MS)
            .execute(self.store.pool())
            .await
            .map_err(internal)?;
        Ok(token)
    }

    async fn session_account(&self, token: &str) -> Result<Option<Account>, AccountError> {
        sqlx::query(
            "SELECT a.id, a.email, a.external_id FROM site_sessions s \
             JOIN site_accounts a ON a.id = s.account_id WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(ids::hash(token))
        .bind(self.clock.now())
        .fetch_optional(self.store.pool())
        .await
        .map_err(internal)?
        .as_ref()
        .map(account_from_row)
        .transpose()
    }

    async fn end_session(&self, token: &str) -> Result<(), AccountError> {
        sqlx::query("DELETE FROM site_sessions WHERE id_hash = $1")
            .bind(ids::hash(token))
            .execute(self.store.pool())
            .await
            .map_err(internal)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            parse_email("  Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "ada@example.com.",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_have_a_length_range() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
    }
}
