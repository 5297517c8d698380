//! The site's accounts (email and an Argon2id password hash) and sessions
//! (a random cookie token, stored as its SHA-256 hash).

use app::backend::{Account, AccountError, Accounts};
use async_trait::async_trait;

use super::passwords::{hash_password, password_matches, Argon2Jobs};
use crate::{
    flex::{clock::Clock, ids},
    store::{AccountKey, AccountRow, Store},
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

fn account(row: AccountRow) -> (Account, String) {
    let account = Account {
        id: row.id,
        email: row.email,
        external_id: row.external_id,
    };
    (account, row.password_hash)
}

impl SqlAccounts {
    /// The account, and its password hash.
    async fn find(&self, key: AccountKey<'_>) -> Result<Option<(Account, String)>, AccountError> {
        Ok(self
            .store
            .find_account(key)
            .await
            .map_err(internal)?
            .map(account))
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
        let inserted = self
            .store
            .insert_account(&account.id, &account.email, &hash, self.clock.now())
            .await
            .map_err(internal)?;
        if !inserted {
            return Err(AccountError::EmailTaken);
        }
        Ok(account)
    }

    fn check_email(&self, email: &str) -> Result<String, AccountError> {
        parse_email(email)
    }

    async fn change_email(&self, account_id: &str, email: &str) -> Result<(), AccountError> {
        let email = parse_email(email)?;
        match self.store.update_account_email(account_id, &email).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(AccountError::EmailTaken),
            Err(e) => Err(internal(e)),
        }
    }

    async fn check_password(&self, email: &str, password: &str) -> Result<Account, AccountError> {
        let found = match parse_email(email) {
            Ok(email) => self.find(AccountKey::Email(&email)).await?,
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
            .find(AccountKey::Email(&email))
            .await?
            .map(|(account, _)| account))
    }

    async fn find_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<Account>, AccountError> {
        Ok(self
            .find(AccountKey::ExternalId(external_id))
            .await?
            .map(|(account, _)| account))
    }

    async fn ensure_external_id(&self, account_id: &str) -> Result<String, AccountError> {
        self.store
            .ensure_account_external_id(account_id, &uuid::Uuid::new_v4().to_string())
            .await
            .map_err(internal)?
            .ok_or_else(|| AccountError::Internal("the account has no external id".into()))
    }

    async fn start_session(&self, account_id: &str) -> Result<String, AccountError> {
        let token = ids::random_token(32);
        let now = self.clock.now();
        self.store
            .insert_session(&ids::hash(&token), account_id, now, now + SESSION_TTL_MS)
            .await
            .map_err(internal)?;
        Ok(token)
    }

    async fn session_account(&self, token: &str) -> Result<Option<Account>, AccountError> {
        Ok(self
            .store
            .session_account(&ids::hash(token), self.clock.now())
            .await
            .map_err(internal)?
            .map(|row| account(row).0))
    }

    async fn end_session(&self, token: &str) -> Result<(), AccountError> {
        self.store
            .delete_session(&ids::hash(token))
            .await
            .map_err(internal)
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
