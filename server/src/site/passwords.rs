//! The site's password hashing: Argon2id on `ARGON2_AT_ONCE` threads of its
//! own, each reusing one working memory, so memory stays bounded however many
//! sign-ins arrive (more than the threads are refused as busy, not queued).

use std::{
    cell::RefCell,
    sync::{Arc, OnceLock},
};

use app::backend::AccountError;
use argon2::{
    password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::Semaphore;

use super::accounts::internal;
use crate::flex::ids;

/// Argon2 runs at once (19 MiB each); more are refused as busy, not queued.
pub const ARGON2_AT_ONCE: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// Argon2 jobs on `ARGON2_AT_ONCE` threads of their own (started on first
/// use), at most one job each. Own threads, not tokio's blocking pool: each
/// thread's allocator arena keeps the 19 MiB it last used, so the fewer
/// threads ever run Argon2, the less memory stays resident.
pub(super) struct Argon2Jobs {
    permits: Arc<Semaphore>,
    threads: OnceLock<std::sync::mpsc::Sender<Job>>,
}

impl Argon2Jobs {
    pub(super) fn new() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(ARGON2_AT_ONCE)),
            threads: OnceLock::new(),
        }
    }

    fn threads(&self) -> &std::sync::mpsc::Sender<Job> {
        self.threads.get_or_init(|| {
            let (sender, jobs) = std::sync::mpsc::channel::<Job>();
            let jobs = Arc::new(std::sync::Mutex::new(jobs));
            for _ in 0..ARGON2_AT_ONCE {
                let jobs = jobs.clone();
                let spawned = std::thread::Builder::new()
                    .name("argon2".into())
                    .spawn(move || loop {
                        let next = jobs
                            .lock()
                            .map_err(drop)
                            .and_then(|j| j.recv().map_err(drop));
                        let Ok(job) = next else { return };
                        job();
                    });
                if let Err(error) = spawned {
                    tracing::error!(%error, "could not start an Argon2 thread");
                }
            }
            sender
        })
    }

    /// Starts the job if a permit is free (held until the job ends, even if
    /// the request is gone); otherwise `Busy` at once.
    pub(super) fn start<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, AccountError> + Send + 'static,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<T, AccountError>>, AccountError> {
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| AccountError::Busy)?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                .unwrap_or_else(|_| Err(internal("an Argon2 job panicked")));
            drop(permit);
            let _ = answer.send(result);
        });
        self.threads()
            .send(job)
            .map_err(|_| internal("the Argon2 threads are gone"))?;
        Ok(answered)
    }
}

/// Argon2 with `argon2`'s parameters into `out`, in this thread's working
/// memory: allocated on the thread's first run and reused. A fresh 19 MiB per
/// run is what the crate does, and glibc keeps each freed one resident (its
/// mmap threshold rises after the first), so the server grew by 19 MiB with
/// every new run on a new arena: 1,000 guesses peaked near 300 MB.
fn argon2_into(
    argon2: &Argon2,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), AccountError> {
    thread_local! {
        static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    }
    MEMORY
        .with_borrow_mut(|memory| {
            memory.resize(argon2.params().block_count(), Block::default());
            argon2.hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
        })
        .map_err(internal)
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes), as a PHC string.
pub(super) fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(internal)?;
    let mut out = [0; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(
        &Argon2::default(),
        password.as_bytes(),
        salt_bytes,
        &mut out,
    )?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&Params::default()).map_err(internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(internal)?),
    };
    Ok(hash.to_string())
}

/// Checks a password against a stored hash, or, for an unknown account,
/// against a fixed hash made once: one Argon2 run either way, the same cost.
pub(super) fn password_matches(password: &str, hash: Option<&str>) -> Result<bool, AccountError> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = match hash {
        Some(hash) => hash,
        None => DUMMY.get_or_init(|| hash_password(&ids::random_token(32)).unwrap_or_default()),
    };
    let hash = PasswordHash::new(hash).map_err(internal)?;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Err(internal("a stored password hash has no salt or no output"));
    };
    let argon2 = Argon2::new(
        Algorithm::try_from(hash.algorithm).map_err(internal)?,
        hash.version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .map_err(internal)?,
        Params::try_from(&hash).map_err(internal)?,
    );
    let mut salt_bytes = [0; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(internal)?;
    let mut out = vec![0; expected.len()];
    argon2_into(&argon2, password.as_bytes(), salt_bytes, &mut out)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(internal)? == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_email_is_checked_against_the_dummy_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(password_matches("correct horse", Some(&hash)).unwrap());
        assert!(!password_matches("wrong", Some(&hash)).unwrap());
        assert!(!password_matches("correct horse", None).unwrap());
    }

    #[test]
    fn hashes_are_standard_phc_strings_that_the_crate_verifies() {
        use argon2::PasswordVerifier;
        let hash = hash_password("correct horse").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        // And a hash the crate made (as older accounts have) still verifies here.
        use argon2::PasswordHasher;
        let theirs = Argon2::default()
            .hash_password(b"older account", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(password_matches("older account", Some(&theirs)).unwrap());
        assert!(!password_matches("older acount", Some(&theirs)).unwrap());
    }

    #[tokio::test]
    async fn argon2_jobs_beyond_the_permits_are_refused_as_busy_not_queued() {
        let jobs = Argon2Jobs::new();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        let running: Vec<_> = (0..ARGON2_AT_ONCE)
            .map(|_| {
                let wait = wait.clone();
                jobs.start(move || {
                    let _ = wait.lock().unwrap().recv();
                    Ok(())
                })
                .unwrap()
            })
            .collect();
        assert!(matches!(jobs.start(|| Ok(())), Err(AccountError::Busy)));
        for _ in 0..ARGON2_AT_ONCE {
            release.send(()).unwrap();
        }
        for job in running {
            job.await.unwrap().unwrap();
        }
        assert!(jobs.start(|| Ok(())).unwrap().await.unwrap().is_ok());
    }
}
