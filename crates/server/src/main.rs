//! `haven-server`: the command line over the library. It parses arguments into a
//! [`ServerConfig`], starts the server and prints where to find it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use haven_protocol::HttpsUrl;
use haven_server::ServerConfig;
use haven_server::config::TlsSource;
use tracing::level_filters::LevelFilter;

#[derive(Parser)]
#[command(
    name = "haven-server",
    version,
    about = "The Haven telehealth server (HTTPS and WSS only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app and the API over TLS.
    Serve(ServeArgs),
    /// Check the audit log without trusting the running server.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print the current code for a TOTP secret (base32), as an authenticator app would.
    Totp {
        /// The base32 secret shown at enrolment (or printed by `serve --demo`).
        secret: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify an export (from the auditor view or GET /api/audit/export): every entry
    /// against the tree, the tree against the signed head, the head against the key.
    Verify {
        /// The export file (JSON Lines).
        file: PathBuf,
        /// The server's data directory, whose audit key is trusted.
        #[arg(long, default_value = ".haven")]
        data: PathBuf,
        /// Trust this public key (hex) instead of the data directory's.
        #[arg(long)]
        public_key: Option<String>,
        /// The organisation whose export this must be (by default, the only one the
        /// data directory hosts).
        #[arg(long)]
        organisation: Option<String>,
    },
    /// Prove that the stored log extends an older signed head kept elsewhere.
    CheckHead {
        /// The old head: JSON from GET /api/audit/head (as a witness browser keeps it),
        /// or an export's first line.
        head: PathBuf,
        #[arg(long, default_value = ".haven")]
        data: PathBuf,
        /// The organisation whose log this must be (by default, the one the head names);
        /// a head of another is refused.
        #[arg(long)]
        organisation: Option<String>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on (TLS only).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Directory for the database and the development certificate.
    #[arg(long, default_value = ".haven")]
    data: PathBuf,
    /// PEM certificate chain; without it a development certificate is created.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The https:// origin users reach the default organisation at (other organisations
    /// have host names of their own); without it, only this machine's loopback names.
    #[arg(long, value_parser = parse_https)]
    public_origin: Option<HttpsUrl>,
    /// The built app (trunk's dist directory).
    #[arg(long)]
    static_dir: Option<PathBuf>,
    /// The organisation's name shown in the app.
    #[arg(long, default_value = "Haven")]
    brand_name: String,
    /// Idle time before automatic logoff, in seconds.
    #[arg(long, default_value_t = 900)]
    idle_timeout_secs: u64,
    /// WebSocket heartbeat interval, in seconds.
    #[arg(long, default_value_t = 15)]
    heartbeat_secs: u64,
    /// How long audit entries are kept, in days (at least six years; nothing is deleted
    /// before then).
    #[arg(long, default_value_t = haven_server::audit::MIN_RETENTION_DAYS)]
    audit_retention_days: u32,
    /// Seed a demo organisation with one user of each role and print how to sign in.
    #[arg(long)]
    demo: bool,
    /// Load balancers or reverse proxies (comma-separated addresses or CIDR networks)
    /// whose `X-Forwarded-For` names the client; from anyone else the header is ignored.
    #[arg(long, value_delimiter = ',', value_parser = parse_cidr)]
    trusted_proxies: Vec<haven_server::http::extract::Cidr>,
    /// An ICE server for video visits (repeat for more): `stun:host[:port]` or
    /// `turns:host[:port]` (TURN over TLS; a plain `turn:` is refused).
    #[arg(long = "ice-server", value_parser = parse_ice)]
    ice_servers: Vec<haven_protocol::visits::IceUrl>,
    /// A file holding the secret shared with the TURN server (coturn's
    /// `static-auth-secret`), for its short-lived credentials.
    #[arg(long)]
    turn_secret_file: Option<PathBuf>,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, default_value = "info")]
    log_level: LevelFilter,
}

fn parse_cidr(value: &str) -> Result<haven_server::http::extract::Cidr, String> {
    haven_server::http::extract::Cidr::parse(value)
}

fn parse_ice(value: &str) -> Result<haven_protocol::visits::IceUrl, String> {
    haven_protocol::visits::IceUrl::parse(value).map_err(|e| e.to_string())
}

fn parse_https(value: &str) -> Result<HttpsUrl, String> {
    HttpsUrl::parse(value).map_err(|e| e.to_string())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_max_level(args.log_level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => TlsSource::Files { cert, key },
        _ => TlsSource::Development,
    };
    let mut config = ServerConfig::new(args.data);
    config.listen = args.listen;
    config.tls = tls;
    config.public_origin = args.public_origin;
    config.static_dir = args.static_dir;
    config.brand_name = args.brand_name;
    config.idle_timeout = Duration::from_secs(args.idle_timeout_secs);
    config.heartbeat = Duration::from_secs(args.heartbeat_secs);
    config.demo = args.demo;
    config.guards.trusted_proxies = args.trusted_proxies;
    config.audit_retention_days = args.audit_retention_days;
    config.ice.servers = args.ice_servers;
    if let Some(file) = &args.turn_secret_file {
        let secret = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read the TURN secret in {}: {e}", file.display()))?;
        config.ice.turn_secret = Some(secret.trim().as_bytes().to_vec());
    }
    config.ice.check().map_err(str::to_owned)?;
    let public = config.public_origin.clone();
    let running = haven_server::serve::start(config)
        .await
        .map_err(|e| e.to_string())?;
    let shown = match public {
        Some(origin) => origin.to_string(),
        None if running.addr.ip().is_loopback() => {
            format!("https://localhost:{}/", running.addr.port())
        }
        None => format!(
            "https://localhost:{}/ (from this machine only: other names get \"no such clinic\" until --public-origin names one)",
            running.addr.port()
        ),
    };
    println!("Haven is running at {shown}");
    println!("TLS certificate SHA-256: {}", running.cert_sha256);
    if let Some(spki) = &running.spki_sha256 {
        println!("Development certificate SPKI SHA-256 (base64): {spki}");
    }
    if args.demo {
        print_demo_accounts();
    }
    tracing::info!(addr = %running.addr, "listening");
    let handle = running.handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        handle.graceful_shutdown(Some(Duration::from_secs(5)));
    });
    running.wait().await.map_err(|e| e.to_string())
}

fn print_demo_accounts() {
    println!("\nDemo accounts (for trying Haven only):");
    for user in &haven_server::demo::USERS {
        let second = match &user.totp_secret {
            Some(secret) => format!(
                "code: haven-server totp {}",
                haven_server::secrets::totp_base32(secret)
            ),
            None => "no second factor yet".to_owned(),
        };
        println!(
            "  {:<10} {:<22} password \"{}\"  {second}",
            user.role.as_str(),
            user.email,
            user.password
        );
    }
}

fn totp_now(secret: &str) -> Result<(), String> {
    let bytes = totp_rs::Secret::try_from_base32(secret.trim())
        .map_err(|_| "that is not a base32 TOTP secret".to_owned())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let code =
        haven_server::secrets::totp_code(bytes.as_bytes(), now).map_err(|e| e.to_string())?;
    let left = haven_server::secrets::TOTP_STEP_SECS - now % haven_server::secrets::TOTP_STEP_SECS;
    println!("{code}  (valid for {left} more seconds)");
    Ok(())
}

async fn audit(command: AuditCommand) -> Result<(), String> {
    use haven_server::audit::cli;
    let verdict = match command {
        AuditCommand::Verify {
            file,
            data,
            public_key,
            organisation,
        } => {
            let trusted = match public_key {
                Some(key) => cli::parse_key(&key)?,
                None => cli::trusted_key(&data)?,
            };
            let organisation = cli::expected_organisation(&data, organisation.as_deref()).await?;
            cli::verify_file(&file, &trusted, &organisation)?
        }
        AuditCommand::CheckHead {
            head,
            data,
            organisation,
        } => {
            let text = std::fs::read_to_string(&head)
                .map_err(|e| format!("cannot read {}: {e}", head.display()))?;
            cli::check_head(&data, &text, organisation.as_deref()).await?
        }
    };
    println!("{}", verdict.describe());
    if verdict.is_intact() {
        Ok(())
    } else {
        Err("the audit log failed verification".to_owned())
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("haven-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve(args).await,
            Command::Totp { secret } => totp_now(&secret),
            Command::Audit(command) => audit(command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("haven-server: {e}");
            ExitCode::FAILURE
        }
    }
}
