//! `cargo xtask bench` (start-up part): the release server and the release app in
//! headless Chromium. Each figure is written to BENCHMARKS.md beside its reference,
//! measured in the same run: the app's time to interactive next to the time to load a
//! plain JSON response over the same TLS server.

use haven_e2e::{Browser, Result, ServerProcess, Session, audit_bench, env_path};

const RUNS: usize = 7;
/// Each section of BENCHMARKS.md this tool owns, between its markers.
fn markers(section: &str) -> (String, String) {
    (
        format!("<!-- bench:{section}:start -->"),
        format!("<!-- bench:{section}:end -->"),
    )
}

async fn number(session: &Session, script: &str) -> Result<f64> {
    session
        .eval(script)
        .await?
        .as_f64()
        .ok_or_else(|| format!("not a number: {script}"))
}

/// Milliseconds from navigation start to the app's `haven-interactive` mark (config
/// loaded, start page rendered, WSS link open).
async fn app_load(session: &Session, url: &str) -> Result<f64> {
    session.goto(url).await?;
    session.wait_for("#link-status[data-link='open']").await?;
    number(
        session,
        "return performance.getEntriesByName('haven-interactive')[0].startTime;",
    )
    .await
}

/// Milliseconds from navigation start to the end of a plain JSON response.
async fn plain_load(session: &Session, url: &str) -> Result<f64> {
    session.goto(url).await?;
    number(
        session,
        "return performance.getEntriesByType('navigation')[0].responseEnd;",
    )
    .await
}

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(f64::total_cmp);
    Stats {
        median: samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN),
        min: samples.first().copied().unwrap_or(f64::NAN),
        max: samples.last().copied().unwrap_or(f64::NAN),
    }
}

fn row(what: &str, s: &Stats) -> String {
    format!("| {what} | {:.0} | {:.0} | {:.0} |", s.median, s.min, s.max)
}

fn command_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let chromium = command_line("/usr/bin/chromium", &["--version"]);
    format!("{cores} cores, {cpu}; {chromium}")
}

/// Start-up figures: the default organisation, the same after it is branded, and the
/// reference.
struct Startup {
    cold: Stats,
    warm: Stats,
    branded_cold: Stats,
    branded_warm: Stats,
    plain: Stats,
}

/// Gives the server's default organisation a brand: colours, an SVG logo and Spanish.
async fn brand(data: &std::path::Path) -> Result {
    let colour = |hex: &str| haven_protocol::Colour::parse(hex).map_err(|e| e.to_string());
    let colours = haven_protocol::BrandColours {
        primary: colour("#5b2a86")?,
        page: colour("#fbf8ff")?,
        ..Default::default()
    };
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20"><rect width="40" height="20" fill="purple"/></svg>"#;
    let hash = "cd".repeat(32);
    let logo = haven_e2e::Logo { hash: &hash, svg };
    haven_e2e::set_default_brand(data, &colours, "es", Some(logo)).await
}

async fn measure() -> Result<Startup> {
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = ServerProcess::start(data.path(), 0, &[])?;
    let (mut cold, mut warm, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        // A fresh browser and profile each time: nothing cached, a new TLS handshake.
        let session = Session::start(Browser::Chromium).await?;
        cold.push(app_load(&session, &server.url("/")).await?);
        warm.push(app_load(&session, &server.url("/")).await?);
        session.close().await?;
        let session = Session::start(Browser::Chromium).await?;
        plain.push(plain_load(&session, &server.url("/api/health")).await?);
        session.close().await?;
    }
    brand(data.path()).await?;
    let (mut branded_cold, mut branded_warm) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let session = Session::start(Browser::Chromium).await?;
        branded_cold.push(app_load(&session, &server.url("/")).await?);
        branded_warm.push(app_load(&session, &server.url("/")).await?);
        session.close().await?;
    }
    Ok(Startup {
        cold: stats(cold),
        warm: stats(warm),
        branded_cold: stats(branded_cold),
        branded_warm: stats(branded_warm),
        plain: stats(plain),
    })
}

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next();
    args.next()
}

fn write_section(name: &str, section: &str) -> Result {
    let (start, end) = markers(name);
    let section = format!("{start}\n{section}\n{end}");
    let path = env_path("HAVEN_BENCHMARKS")?;
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{section}{}", &current[..a], &current[b + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).map_err(|e| e.to_string())
}

fn audit_section(f: &audit_bench::Figures, date: &str) -> String {
    let hashes_per_append_budget = f.sha256_per_sec / f.appends_per_sec;
    format!(
        "## Audit log: appends, proofs and the export (issues 4 and 11)\n\n\
         Measured by `cargo xtask bench` on {date}, {machine}, on one core (a current-thread \
         runtime), embedded SQLite with `synchronous=FULL` (a durable commit per batch of \
         {batch} entries), release build; the 1-minute load average was {load} when the run began and \
         {load_after} when it ended (the machine is shared: a load near or above the number of \
         cores slows every figure, the raw SHA-256 reference included).\n\n\
         | what | figure |\n| --- | ---: |\n\
         | reference: raw SHA-256 of a 220-byte entry, one core | {sha:.0} hashes/s |\n\
         | appends, {entries} entries, durable commit per {batch} | **{rate:.0} entries/s** |\n\
         | appends, the first 100,000 | {first:.0} entries/s |\n\
         | single appends, each its own durable transaction (as one action does) | {single:.0} entries/s |\n\
         | one append costs as much time as | {budget:.0} raw hashes (it computes about 2) |\n\
         | inclusion proof at {entries} entries (from the store, mean of 1,000) | {inc:.0} µs, {inc_h} hashes ({inc_b} bytes) |\n\
         | verifying that proof | {ver:.1} µs |\n\
         | consistency proof from half the log to all of it | {con:.0} µs, {con_h} hashes |\n\
         | store size for {entries} entries (entries, nodes, indexes) | {mb:.0} MB |\n\n\
         Targets (issue 4): at least 10,000 appends/s; an inclusion proof under 1 ms with about \
         20 hashes. Appending is dominated by the SQLite writes (one entry row with its search \
         indexes and about two node rows per entry, written as multi-row inserts), not by \
         hashing; a single action's append is bounded by its own durable commit.\n\n\
         ### Export of {entries} entries, streamed (issue 11)\n\n\
         The export is the signed head, then exactly the entries it covers, read in batches of \
         {export_batch} rows and written out as the reader takes them (the stream \
         `GET /api/audit/export` sends, consumed in the same process). Memory is the \
         process's resident set (`/proc/self/status`: `VmRSS` sampled at every chunk, and the \
         kernel's high-water mark `VmHWM`, reset before each measurement). Each of the two timed \
         rows is the better of two runs, taken alternately.\n\n\
         | what | figure |\n| --- | ---: |\n\
         | reference: the same rows (index, entry, leaf) read with a plain streaming SELECT | {sel:.1} s ({sel_mb:.0} MB of payloads) |\n\
         | export streamed: {lines} JSON lines, {exp_mb:.0} MB | **{exp:.1} s** ({exp_rate:.0} entries/s) |\n\
         | resident memory before the export | {rss0:.0} MB |\n\
         | peak resident memory while the export streams | **{rss1:.0} MB** (+{grow:.1} MB) |\n\
         | reference: the same export held in memory whole (as the server built it before) | +{whole:.0} MB |\n\n\
         An export's memory no longer grows with the log: the peak stays a few batches above \
         the process's resting size, where holding the export whole costs about its own size.",
        machine = machine(),
        batch = audit_bench::BATCH,
        entries = f.entries,
        single = f.single_per_sec,
        sha = f.sha256_per_sec,
        rate = f.appends_per_sec,
        first = f.first_100k_per_sec,
        budget = hashes_per_append_budget,
        inc = f.inclusion_us,
        inc_h = f.inclusion_hashes,
        inc_b = f.inclusion_hashes * 32,
        ver = f.verify_us,
        con = f.consistency_us,
        con_h = f.consistency_hashes,
        mb = f.db_bytes as f64 / 1e6,
        load = f.load_before,
        load_after = f.load_after,
        export_batch = haven_server::audit::api::EXPORT_BATCH,
        sel = f.export.select_secs,
        sel_mb = f.export.select_bytes as f64 / 1e6,
        lines = f.export.lines,
        exp_mb = f.export.bytes as f64 / 1e6,
        exp = f.export.secs,
        exp_rate = f.entries as f64 / f.export.secs,
        rss0 = f.export.rss_before as f64 / 1e6,
        rss1 = f.export.rss_peak as f64 / 1e6,
        grow = f.export.rss_peak.saturating_sub(f.export.rss_before) as f64 / 1e6,
        whole = f.export.collected_peak as f64 / 1e6,
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let sizes = arg("--sizes").unwrap_or_default();
    // `--audit-only`: the audit figures alone, while tuning.
    let audit_only = std::env::args().any(|a| a == "--audit-only");
    let date = command_line("date", &["-u", "+%Y-%m-%d"]);
    // `--signin-only`: the sign-in burst figures alone.
    let signin_only = std::env::args().any(|a| a == "--signin-only");
    // `--mls FILE`: the output of the MLS benchmark runs (native and browser).
    if let Some(path) = arg("--mls") {
        let output = std::fs::read_to_string(&path).unwrap_or_default();
        let Some(section) = haven_e2e::mls_bench::section(&output, &date, &machine()) else {
            eprintln!("haven-bench: the MLS runs printed no complete figures ({path})");
            return std::process::ExitCode::FAILURE;
        };
        println!("{section}");
        if let Err(e) = write_section("mls", &section) {
            eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
            return std::process::ExitCode::FAILURE;
        }
        if std::env::args().any(|a| a == "--mls-only") {
            return std::process::ExitCode::SUCCESS;
        }
    }
    // `--delivery-only`: the Delivery Service's throughput alone.
    let delivery_only = std::env::args().any(|a| a == "--delivery-only");
    // `--scale-only`: latency with 200 clients and the 250-member group alone.
    let scale_only = std::env::args().any(|a| a == "--scale-only");
    // `--memory-only`: the server's memory under a backlog attack alone.
    let memory_only = std::env::args().any(|a| a == "--memory-only");
    // `--startup-only`: the bundle and start-up figures alone.
    if std::env::args().any(|a| a == "--startup-only") {
        return match startup(&sizes, &date).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(code) => code,
        };
    }
    if !audit_only && !signin_only && !scale_only && !memory_only {
        match haven_e2e::delivery_bench::run().await {
            Ok(figures) => {
                let section = haven_e2e::delivery_bench::section(&figures, &date, &machine());
                println!("{section}");
                if let Err(e) = write_section("delivery", &section) {
                    eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("haven-bench: delivery: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if !audit_only && !signin_only && !delivery_only && !memory_only {
        match haven_e2e::group_bench::run().await {
            Ok(figures) => {
                let section = haven_e2e::group_bench::section(&figures, &date, &machine());
                println!("{section}");
                if let Err(e) = write_section("scale", &section) {
                    eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("haven-bench: messaging at scale: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if !audit_only && !signin_only && !delivery_only && !scale_only {
        match haven_e2e::memory_bench::run().await {
            Ok(figures) => {
                let section = haven_e2e::memory_bench::section(&figures, &date, &machine());
                println!("{section}");
                if let Err(e) = write_section("memory", &section) {
                    eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("haven-bench: memory under a backlog attack: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if delivery_only || scale_only || memory_only {
        return std::process::ExitCode::SUCCESS;
    }
    // `--audit-only` skips the sign-in burst too.
    if !audit_only {
        match haven_e2e::signin_bench::run().await {
            Ok(figures) => {
                let section = haven_e2e::signin_bench::section(&figures, &date, &machine());
                println!("{section}");
                if let Err(e) = write_section("signin", &section) {
                    eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            Err(e) => {
                eprintln!("haven-bench: sign-in burst: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if signin_only {
        return std::process::ExitCode::SUCCESS;
    }
    if !audit_only && let Err(code) = startup(&sizes, &date).await {
        return code;
    }
    let audit = match audit_bench::run().await {
        Ok(figures) => figures,
        Err(e) => {
            eprintln!("haven-bench: audit: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let section = audit_section(&audit, &date);
    println!("{section}");
    if let Err(e) = write_section("audit", &section) {
        eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

async fn startup(sizes: &str, date: &str) -> std::result::Result<(), std::process::ExitCode> {
    let figures = match measure().await {
        Ok(results) => results,
        Err(e) => {
            eprintln!("haven-bench: {e}");
            return Err(std::process::ExitCode::FAILURE);
        }
    };
    let section = format!(
        "## Foundation: bundle size and start-up (issues 2 and 13)\n\n\
         Measured by `cargo xtask bench` on {date}, {machine}.\n\n\
         ### What the browser downloads (release build, `wasm-opt -Oz`; KB = 1,000 bytes)\n\n\
         Budget, enforced by `cargo xtask test`: 450 KB brotli for everything the app loads. \
         The English catalogue is compiled into the app; the Spanish one is fetched only by \
         a page shown in Spanish (after the page is interactive: English shows until it \
         arrives), and is not counted in the page load.\n\n\
         | file | raw | gzip | brotli |\n| --- | ---: | ---: | ---: |\n{sizes}\n\n\
         ### Start-up in headless Chromium over loopback HTTPS ({RUNS} runs; ms)\n\n\
         | what | median | min | max |\n| --- | ---: | ---: | ---: |\n{}\n{}\n{}\n{}\n{}\n\n\
         The reference row is the same TLS server answering a plain JSON request in a fresh \
         browser: the floor for any page. \"Interactive\" is the app's own \
         `haven-interactive` mark: configuration fetched and parsed, start page rendered, \
         WSS link open. \"Branded\" is the same organisation after it was given its own \
         colours, an SVG logo and Spanish as its default language, measured in the same \
         run.",
        row(
            "reference: plain JSON response, fresh browser",
            &figures.plain
        ),
        row(
            "app interactive, fresh browser (cold cache, new TLS session)",
            &figures.cold
        ),
        row("app interactive, reload (warm cache)", &figures.warm),
        row(
            "branded organisation: app interactive, fresh browser",
            &figures.branded_cold
        ),
        row(
            "branded organisation: app interactive, reload",
            &figures.branded_warm
        ),
        machine = machine(),
    );
    println!("{section}");
    write_section("foundation", &section).map_err(|e| {
        eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
        std::process::ExitCode::FAILURE
    })
}
