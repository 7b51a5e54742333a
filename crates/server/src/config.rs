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
    /// The STUN and TURN servers a visit's browsers use (none: they find each other on
    /// one network only).
    pub ice: IceConfig,
}

/// The ICE servers handed to a visit's browsers, and the secret shared with the TURN
/// server for its short-lived credentials (coturn's `static-auth-secret`).
#[derive(Clone, Default)]
pub struct IceConfig {
    pub servers: Vec<haven_protocol::visits::IceUrl>,
    pub turn_secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for IceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceConfig")
            .field("servers", &self.servers)
            .field(
                "turn_secret",
                &self.turn_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The shortest TURN secret taken, in bytes.
pub const MIN_TURN_SECRET_BYTES: usize = 16;

impl IceConfig {
    /// Refused: a `turns:` server without a secret to make its credentials with, or a
    /// secret too short to keep them from being guessed.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.servers.iter().any(|s| s.is_turn()) && self.turn_secret.is_none() {
            return Err(
                "a turns: ICE server needs --turn-secret-file (the TURN server's static-auth-secret)",
            );
        }
        if self
            .turn_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_TURN_SECRET_BYTES)
        {
            return Err("the TURN secret must be at least 16 bytes");
        }
        Ok(())
    }
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
            ice: IceConfig::default(),
        }
    }
}
