//! TLS for the only listener the server has. rustls with the ring provider, TLS 1.2 and
//! 1.3 only (rustls implements nothing older), HTTP/1.1 over ALPN.
//!
//! Without a configured certificate the server makes a self-signed development
//! certificate for localhost on first start and keeps it in the data directory, so the
//! fingerprint a person was told to trust stays the same across restarts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::TlsSource;

pub const DEV_CERT_FILE: &str = "dev-cert.pem";
pub const DEV_KEY_FILE: &str = "dev-key.pem";

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("cannot create the development certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key are not usable together: {0}")]
    Config(#[from] rustls::Error),
}

/// A ready server configuration and what a person needs to recognise its certificate.
pub struct TlsMaterial {
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the leaf certificate, colon-separated hex, as browsers show it.
    pub cert_sha256: String,
    /// base64 SHA-256 of the leaf's SubjectPublicKeyInfo, for Chromium's
    /// `--ignore-certificate-errors-spki-list`; only known for the development certificate.
    pub spki_sha256: Option<String>,
    /// The leaf certificate itself, so a test client can trust exactly it.
    pub leaf: CertificateDer<'static>,
}

pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The rustls configuration Haven serves with: TLS 1.2 and 1.3 only, HTTP/1.1 only
/// (WebSockets are upgraded from HTTP/1.1).
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read_err(path: &Path, detail: impl std::fmt::Display) -> TlsError {
    TlsError::Read {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    let write_err = |source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(write_err)?;
        file.write_all(contents.as_bytes()).map_err(write_err)
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, contents).map_err(write_err)
    }
}

/// Where the development certificate of a server keeping its data in `data_dir` is
/// (what a client of a development server trusts).
pub fn dev_cert_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DEV_DIR).join(DEV_CERT_FILE)
}

/// The development certificate's folder under the data directory.
const DEV_DIR: &str = "tls";

/// Creates the development certificate in `dir` unless it is already there.
fn ensure_dev_cert(dir: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    let cert_path = dir.join(DEV_CERT_FILE);
    let key_path = dir.join(DEV_KEY_FILE);
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let names = ["localhost", "127.0.0.1", "::1"]
        .map(str::to_owned)
        .to_vec();
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)?;
    write_private(&key_path, &signing_key.serialize_pem())?;
    std::fs::write(&cert_path, cert.pem()).map_err(|source| TlsError::Write {
        path: cert_path.clone(),
        source,
    })?;
    Ok((cert_path, key_path))
}

fn spki_of_key(key_path: &Path) -> Option<String> {
    let pem = std::fs::read_to_string(key_path).ok()?;
    let pair = rcgen::KeyPair::from_pem(&pem).ok()?;
    let spki = rcgen::PublicKeyData::subject_public_key_info(&pair);
    Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki)))
}

/// Loads (or, for development, creates) the certificate and builds the configuration.
pub fn load(source: &TlsSource, data_dir: &Path) -> Result<TlsMaterial, TlsError> {
    let (cert_path, key_path, development) = match source {
        TlsSource::Development => {
            let (c, k) = ensure_dev_cert(&data_dir.join(DEV_DIR))?;
            (c, k, true)
        }
        TlsSource::Files { cert, key } => (cert.clone(), key.clone(), false),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| read_err(&cert_path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| read_err(&cert_path, e))?;
    let leaf = certs
        .first()
        .cloned()
        .ok_or_else(|| TlsError::NoCertificate {
            path: cert_path.clone(),
        })?;
    // The key's path, never its contents, may appear in an error.
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|_| {
        read_err(
            &key_path,
            "no usable private key (PEM: PKCS#8, PKCS#1 or SEC1)",
        )
    })?;
    let config = server_config(certs, key)?;
    Ok(TlsMaterial {
        config: Arc::new(config),
        cert_sha256: fingerprint(&leaf),
        spki_sha256: if development {
            spki_of_key(&key_path)
        } else {
            None
        },
        leaf,
    })
}
