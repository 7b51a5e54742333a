//! Starting and stopping a server: open the store, load the app, load TLS, listen.
//! The same function runs `haven-server serve` and the tests, so the tests exercise the
//! real TLS listener rather than a stand-in.

use std::net::SocketAddr;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use haven_protocol::config::{IDLE_TIMEOUT_RANGE_SECS, valid_brand_name};
use rustls::pki_types::CertificateDer;
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::http::assets::{Assets, AssetsError};
use crate::state::AppState;
use crate::store::StoreError;
use crate::tls::TlsError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Assets(#[from] AssetsError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid setting: {0}")]
    Setting(&'static str),
}

/// A server that is accepting connections.
pub struct Running {
    pub addr: SocketAddr,
    pub cert_sha256: String,
    pub spki_sha256: Option<String>,
    pub leaf: CertificateDer<'static>,
    handle: Handle<SocketAddr>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets open requests finish for up to `grace`, then returns.
    pub async fn shutdown(self, grace: Duration) {
        self.handle.graceful_shutdown(Some(grace));
        let _ = self.task.await;
    }

    /// Resolves when the server stops by itself (it should not).
    pub async fn wait(self) -> std::io::Result<()> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(std::io::Error::other(join.to_string())),
        }
    }

    pub fn handle(&self) -> Handle<SocketAddr> {
        self.handle.clone()
    }
}

pub async fn start(config: ServerConfig) -> Result<Running, StartError> {
    start_with(config, |router| router).await
}

/// [`start`], with `wrap` applied to the finished router: the seam where a test puts a
/// layer in front of the real routes (a fault to inject, a configuration to falsify).
pub async fn start_with(
    config: ServerConfig,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> Result<Running, StartError> {
    if !valid_brand_name(&config.brand_name) {
        return Err(StartError::Setting(
            "the brand name must be 1 to 80 printable characters",
        ));
    }
    let idle_secs = u32::try_from(config.idle_timeout.as_secs()).unwrap_or(u32::MAX);
    if !IDLE_TIMEOUT_RANGE_SECS.contains(&idle_secs) {
        return Err(StartError::Setting(
            "the idle timeout must be between 10 seconds and 24 hours",
        ));
    }
    if config.audit_retention_days < crate::audit::MIN_RETENTION_DAYS {
        return Err(StartError::Setting(
            "audit retention must be at least six years (2190 days)",
        ));
    }
    config.ice.check().map_err(StartError::Setting)?;
    if config.heartbeat.is_zero() {
        return Err(StartError::Setting(
            "the heartbeat interval must be positive",
        ));
    }
    let db = crate::store::open(&config.data_dir).await?;
    let default_org = crate::tenancy::ensure_default(&db, &config.brand_name, idle_secs)
        .await
        .map_err(|e| {
            StartError::Setting(if matches!(e, crate::error::Error::Internal(_)) {
                "cannot prepare the default organisation"
            } else {
                "invalid organisation"
            })
        })?;
    if config.demo {
        crate::demo::seed(&db, &default_org)
            .await
            .map_err(|_| StartError::Setting("cannot seed the demo organisation"))?;
    }
    let assets = match &config.static_dir {
        Some(dir) => Assets::load(dir)?,
        None => Assets::empty(),
    };
    let tls = crate::tls::load(&config.tls, &config.data_dir)?;
    let audit_key = crate::audit::load_or_create_key(&config.data_dir).map_err(|source| {
        StartError::Listen {
            addr: config.listen,
            source,
        }
    })?;
    let mls_issuer =
        crate::delivery::load_or_create_issuer(&config.data_dir).map_err(|source| {
            StartError::Listen {
                addr: config.listen,
                source,
            }
        })?;
    let state = AppState::new(
        db,
        config.data_dir.clone(),
        assets,
        config.public_origin.clone(),
        config.heartbeat,
        audit_key,
        mls_issuer,
        config.guards.clone(),
        config.ice.clone(),
    );
    let duties = tokio::spawn(crate::audit::duties::run_duties(
        state.clone(),
        config.audit_head_period,
    ));
    let delivery_duties = tokio::spawn(crate::delivery::duties::run(state.clone()));
    let checkpoints = tokio::spawn(crate::store::checkpoints(state.db().clone()));
    let identity_duties = tokio::spawn(crate::identity::duties::run(
        state.clone(),
        config
            .audit_head_period
            .min(crate::identity::duties::PERIOD),
    ));
    let listener =
        std::net::TcpListener::bind(config.listen).map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let server = axum_server::from_tcp_rustls(listener, RustlsConfig::from_config(tls.config))
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let handle = Handle::new();
    let handle_for_task = handle.clone();
    let service = wrap(crate::app(state)).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let result = server.handle(handle_for_task).serve(service).await;
        duties.abort();
        identity_duties.abort();
        delivery_duties.abort();
        checkpoints.abort();
        result
    });
    Ok(Running {
        addr,
        cert_sha256: tls.cert_sha256,
        spki_sha256: tls.spki_sha256,
        leaf: tls.leaf,
        handle,
        task,
    })
}
