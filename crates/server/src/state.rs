//! Shared, read-mostly state handed to every request.

use std::sync::Arc;
use std::time::Duration;

use haven_protocol::{Brand, HttpsUrl};
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
    assets: Assets,
    public_origin: Option<HttpsUrl>,
    brand: Brand,
    idle_timeout: Duration,
    heartbeat: Duration,
    limiter: Limiter,
    live: Live,
    audit_key: ed25519_dalek::SigningKey,
}

impl AppState {
    pub fn new(
        db: SqlitePool,
        assets: Assets,
        public_origin: Option<HttpsUrl>,
        brand: Brand,
        idle_timeout: Duration,
        heartbeat: Duration,
        audit_key: ed25519_dalek::SigningKey,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                assets,
                public_origin,
                brand,
                idle_timeout,
                heartbeat,
                limiter: Limiter::default(),
                live: Live::default(),
                audit_key,
            }),
        }
    }

    pub fn db(&self) -> &SqlitePool {
        &self.inner.db
    }
    pub fn assets(&self) -> &Assets {
        &self.inner.assets
    }
    pub fn public_origin(&self) -> Option<&HttpsUrl> {
        self.inner.public_origin.as_ref()
    }
    pub fn brand(&self) -> &Brand {
        &self.inner.brand
    }
    pub fn idle_timeout(&self) -> Duration {
        self.inner.idle_timeout
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
}
