//! Shared, read-mostly state handed to every request.

use std::sync::Arc;
use std::time::Duration;

use haven_protocol::HttpsUrl;
use sqlx::SqlitePool;

use crate::http::assets::Assets;
use crate::identity::live::Live;
use crate::identity::ratelimit::Limiter;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: SqlitePool,
    data_dir: std::path::PathBuf,
    assets: Assets,
    public_origin: Option<HttpsUrl>,
    heartbeat: Duration,
    limiter: Limiter,
    live: Live,
    audit_key: ed25519_dalek::SigningKey,
    mls_issuer: haven_mls::Issuer,
    fanout: Arc<dyn crate::delivery::fanout::FanOut>,
    writer: crate::delivery::writer::Writer,
    guards: Guards,
    anonymous_sockets: crate::http::ws::Anonymous,
    repeats: crate::audit::repeats::Repeats,
    csp_reports: crate::http::api::CspReports,
    ice: crate::config::IceConfig,
}

/// The settings that bound what an unauthenticated caller can cost.
#[derive(Debug, Clone)]
pub struct Guards {
    /// Connections from these networks may name the client in `X-Forwarded-For`.
    pub trusted_proxies: Vec<crate::http::extract::Cidr>,
    /// The sign-in rate limit's window.
    pub sign_in_window_secs: i64,
    /// A WebSocket that has not authenticated by then is closed.
    pub ws_auth_deadline: Duration,
    /// Unauthenticated WebSockets open at once per address (IPv6: per /64).
    pub ws_anonymous_per_address: usize,
    /// Signed-in WebSockets one person may hold open at once (tabs and devices).
    pub ws_per_person: usize,
    /// Conversations one person may start in 24 hours.
    pub conversations_per_day: i64,
}

impl Default for Guards {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            sign_in_window_secs: crate::identity::ratelimit::WINDOW_SECS,
            ws_auth_deadline: Duration::from_secs(10),
            ws_anonymous_per_address: 16,
            ws_per_person: 16,
            conversations_per_day: 200,
        }
    }
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: SqlitePool,
        data_dir: std::path::PathBuf,
        assets: Assets,
        public_origin: Option<HttpsUrl>,
        heartbeat: Duration,
        audit_key: ed25519_dalek::SigningKey,
        mls_issuer: haven_mls::Issuer,
        guards: Guards,
        ice: crate::config::IceConfig,
    ) -> Self {
        let fanout: Arc<dyn crate::delivery::fanout::FanOut> =
            Arc::new(crate::delivery::fanout::LocalFanOut::default());
        let writer = crate::delivery::writer::Writer::spawn(
            db.clone(),
            fanout.clone(),
            mls_issuer.verifying_key(),
        );
        Self {
            inner: Arc::new(Inner {
                fanout,
                writer,
                db,
                data_dir,
                assets,
                public_origin,
                heartbeat,
                limiter: Limiter::new(guards.sign_in_window_secs),
                live: Live::default(),
                audit_key,
                mls_issuer,
                guards,
                anonymous_sockets: crate::http::ws::Anonymous::default(),
                repeats: crate::audit::repeats::Repeats::default(),
                csp_reports: crate::http::api::CspReports::default(),
                ice,
            }),
        }
    }

    pub fn db(&self) -> &SqlitePool {
        &self.inner.db
    }
    /// Where the store, the keys and the attachments live.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.data_dir
    }
    pub fn assets(&self) -> &Assets {
        &self.inner.assets
    }
    pub fn public_origin(&self) -> Option<&HttpsUrl> {
        self.inner.public_origin.as_ref()
    }
    pub fn heartbeat(&self) -> Duration {
        self.inner.heartbeat
    }
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }
    pub fn live(&self) -> &Live {
        &self.inner.live
    }
    pub fn audit_key(&self) -> &ed25519_dalek::SigningKey {
        &self.inner.audit_key
    }
    /// The MLS Authentication Service's key: it signs device certificates.
    pub fn mls_issuer(&self) -> &haven_mls::Issuer {
        &self.inner.mls_issuer
    }
    pub fn fanout(&self) -> &Arc<dyn crate::delivery::fanout::FanOut> {
        &self.inner.fanout
    }
    /// The Delivery Service's group-commit writer.
    pub fn writer(&self) -> &crate::delivery::writer::Writer {
        &self.inner.writer
    }
    pub fn anonymous_sockets(&self) -> &crate::http::ws::Anonymous {
        &self.inner.anonymous_sockets
    }
    /// Content-Security-Policy reports taken per address in the current window.
    pub fn csp_reports(&self) -> &crate::http::api::CspReports {
        &self.inner.csp_reports
    }
    /// Entries recorded once per session and target within a window (`opened`, the
    /// state key), not once per call.
    pub fn repeats(&self) -> &crate::audit::repeats::Repeats {
        &self.inner.repeats
    }
    /// The ICE servers of video visits.
    pub fn ice(&self) -> &crate::config::IceConfig {
        &self.inner.ice
    }
    pub fn guards(&self) -> &Guards {
        &self.inner.guards
    }
    pub fn trusted_proxies(&self) -> &[crate::http::extract::Cidr] {
        &self.inner.guards.trusted_proxies
    }
}
