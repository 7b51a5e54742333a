//! How a server is configured: where it listens, where it keeps state, which certificate
//! it presents and what it tells the app. Every value is parsed before the server starts,
//! so a bad setting stops start-up with a clear message instead of surfacing later.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use haven_protocol::HttpsUrl;

/// Where the TLS certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// A self-signed development certificate, created on first start in the data dir.
    Development,
    /// A real certificate chain and private key, both PEM.
    Files { cert: PathBuf, key: PathBuf },
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub tls: TlsSource,
    /// The origin users reach the default organisation at. Without it, the default
    /// organisation answers only on this machine's loopback names. Other organisations
    /// are served on their own host names (`organisation_hosts`).
    pub public_origin: Option<HttpsUrl>,
    /// The built app (trunk's `dist/`). Without it only the API is served.
    pub static_dir: Option<PathBuf>,
    pub brand_name: String,
    pub idle_timeout: Duration,
    /// How often the server pings each WebSocket; a connection silent for two periods
    /// is closed.
    pub heartbeat: Duration,
    /// How long audit entries are kept, in days. HIPAA asks for six years; nothing shorter
    /// is accepted, and nothing in Haven deletes an entry at all before this.
    pub audit_retention_days: u32,
    /// A new signed audit tree head at least this often while entries arrive.
    pub audit_head_period: Duration,
    /// Seed a demo organisation with one user of each role (`--demo`).
    pub demo: bool,
    /// Limits on what unauthenticated callers can cost (trusted proxies, the sign-in
    /// window, anonymous WebSockets).
    pub guards: crate::state::Guards,
}

impl ServerConfig {
    /// Defaults for a development server keeping its state in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            data_dir,
            tls: TlsSource::Development,
            public_origin: None,
            static_dir: None,
            brand_name: "Haven".to_owned(),
            idle_timeout: Duration::from_secs(15 * 60),
            heartbeat: Duration::from_secs(15),
            demo: false,
            guards: crate::state::Guards::default(),
            audit_head_period: Duration::from_secs(60),
            audit_retention_days: crate::audit::MIN_RETENTION_DAYS,
        }
    }
}
