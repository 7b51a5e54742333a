//! The server's secrets and how they are kept: random tokens (stored only as SHA-256),
//! passwords (argon2id, on a blocking thread), TOTP secrets and codes (RFC 6238, each
//! time step accepted once).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use haven_protocol::identity::{Id, Password, TotpCode};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the system random source failed")]
    Random,
    #[error("password hashing failed")]
    Hash,
    #[error("the TOTP secret is unusable")]
    Totp,
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| SecretError::Random)?;
    Ok(bytes)
}

pub fn new_id() -> Result<Id, SecretError> {
    random_bytes::<16>().map(Id::from_bytes)
}

/// A bearer token as handed to a client: 256 random bits, base64url.
pub fn new_token() -> Result<String, SecretError> {
    random_bytes::<32>().map(|b| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A token as a client presents it: the right shape, or nothing.
pub fn parse_token(token: &str) -> Option<&str> {
    (token.len() == haven_protocol::identity::TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(token)
}

fn hash_blocking(password: &str) -> Result<String, SecretError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|_| SecretError::Hash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| SecretError::Hash)
}

/// Hashes computed at once, at most: each takes 19 MiB, so a burst of sign-ins waits
/// its turn instead of taking the machine's memory.
pub fn max_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

fn hash_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(max_concurrent_hashes()))
}

/// The most hashes that ran at once since start (for tests and the benchmark).
static PEAK_HASHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static RUNNING_HASHES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn peak_concurrent_hashes() -> usize {
    PEAK_HASHES.load(std::sync::atomic::Ordering::SeqCst)
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads argon2 runs on: a fixed few, started once. Each 19 MiB hash reuses its
/// thread's memory, so the process's footprint stays at a few hashes however many
/// requests have come (on tokio's blocking pool every new thread would keep its own).
fn hash_threads() -> Option<&'static std::sync::mpsc::Sender<Job>> {
    static THREADS: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    THREADS
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
            for n in 0..max_concurrent_hashes() {
                let rx = rx.clone();
                let started = std::thread::Builder::new()
                    .name(format!("argon2-{n}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(poisoned) => poisoned.into_inner().recv(),
                            };
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    });
                if started.is_err() {
                    return None;
                }
            }
            Some(tx)
        })
        .as_ref()
}

/// Runs `work` (an argon2 computation) on one of the hash threads once a permit is free.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SecretError> {
    use std::sync::atomic::Ordering;
    let _permit = hash_permits()
        .acquire()
        .await
        .map_err(|_| SecretError::Hash)?;
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let running = RUNNING_HASHES.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK_HASHES.fetch_max(running, Ordering::SeqCst);
        let out = work();
        RUNNING_HASHES.fetch_sub(1, Ordering::SeqCst);
        let _ = done.send(out);
    });
    hash_threads()
        .ok_or(SecretError::Hash)?
        .send(job)
        .map_err(|_| SecretError::Hash)?;
    result.await.map_err(|_| SecretError::Hash)
}

/// argon2id with the crate's defaults (19 MiB, 2 passes), off the async threads and
/// under the bound on concurrent hashes.
pub async fn hash_password(password: &Password) -> Result<String, SecretError> {
    let password = password.expose().to_owned();
    bounded(move || hash_blocking(&password)).await?
}

/// A hash of a password nobody has, so that an unknown account costs the same time as a
/// wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("no account has this password").unwrap_or_default())
}

pub async fn verify_password(password: &Password, stored: &str) -> bool {
    let password = password.expose().to_owned();
    let stored = stored.to_owned();
    bounded(move || {
        PasswordHash::new(&stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

pub const TOTP_STEP_SECS: u64 = 30;

fn totp(secret: &[u8]) -> Result<totp_rs::Totp, SecretError> {
    totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build()
        .map_err(|_| SecretError::Totp)
}

/// A fresh 160-bit TOTP secret.
pub fn new_totp_secret() -> Result<Vec<u8>, SecretError> {
    random_bytes::<20>().map(|b| b.to_vec())
}

pub fn totp_base32(secret: &[u8]) -> String {
    totp_rs::Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={TOTP_STEP_SECS}",
        encode(issuer),
        encode(account),
        totp_base32(secret),
        encode(issuer)
    )
}

/// The code for `secret` at `unix_time`: for the demo helper and tests.
pub fn totp_code(secret: &[u8], unix_time: u64) -> Result<String, SecretError> {
    Ok(totp(secret)?.generate(unix_time).to_string())
}

/// The time step `code` is valid for (within one step of `unix_time`), if it is later
/// than `last_step`: each step's code is accepted once.
pub fn check_totp(secret: &[u8], code: &TotpCode, unix_time: u64, last_step: u64) -> Option<u64> {
    let totp = totp(secret).ok()?;
    totp.check(code.expose(), unix_time)
        .filter(|step| *step > last_step)
}

/// An Ed25519 signing key kept in `path` (mode 0600), created on first use.
pub fn load_or_create_key(path: &std::path::Path) -> std::io::Result<ed25519_dalek::SigningKey> {
    use ed25519_dalek::SigningKey;
    if let Ok(bytes) = std::fs::read(path) {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| std::io::Error::other("a signing key file is corrupt"))?;
        return Ok(SigningKey::from_bytes(&bytes));
    }
    let seed = random_bytes::<32>().map_err(std::io::Error::other)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(&seed)?;
    }
    #[cfg(not(unix))]
    std::fs::write(path, seed)?;
    Ok(SigningKey::from_bytes(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 secret, truncated to 6 digits.
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp_code(secret, time).unwrap(), code);
        }
    }

    #[test]
    fn a_code_is_accepted_once() {
        let secret = new_totp_secret().unwrap();
        let now = 1_700_000_000;
        let code = TotpCode::parse(&totp_code(&secret, now).unwrap()).unwrap();
        let step = check_totp(&secret, &code, now, 0).unwrap();
        assert_eq!(step, now / TOTP_STEP_SECS);
        assert_eq!(check_totp(&secret, &code, now, step), None, "replayed");
        assert_eq!(check_totp(&secret, &code, now + 120, 0), None, "too old");
        let wrong = TotpCode::parse("000000").unwrap();
        assert!(
            check_totp(&secret, &wrong, now, 0).is_none()
                || totp_code(&secret, now).unwrap() == "000000"
        );
    }

    #[tokio::test]
    async fn passwords_hash_as_argon2id_and_verify() {
        let password = Password::parse("a long enough password").unwrap();
        let hash = hash_password(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(&password, &hash).await);
        let other = Password::parse("another long password").unwrap();
        assert!(!verify_password(&other, &hash).await);
        assert!(!verify_password(&password, "not a hash").await);
    }

    #[test]
    fn tokens_are_256_bit_and_parse() {
        let token = new_token().unwrap();
        assert_eq!(parse_token(&token), Some(token.as_str()));
        assert_ne!(token, new_token().unwrap());
        assert_eq!(token_hash(&token).len(), 32);
        for bad in ["", "abc", "Bearer x", &"=".repeat(43)] {
            assert!(parse_token(bad).is_none());
        }
    }
}
