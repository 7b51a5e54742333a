//! `cargo xtask bench` (start-up part): the release server and the release app in
//! headless Chromium. Each figure is written to BENCHMARKS.md beside its reference,
//! measured in the same run: the app's time to interactive next to the time to load a
//! plain JSON response over the same TLS server.

use haven_e2e::{Browser, Result, ServerProcess, Session, env_path};

const RUNS: usize = 7;
const START: &str = "<!-- bench:foundation:start -->";
const END: &str = "<!-- bench:foundation:end -->";

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

async fn measure() -> Result<(Stats, Stats, Stats)> {
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
    Ok((stats(cold), stats(warm), stats(plain)))
}

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next();
    args.next()
}

fn write_section(section: &str) -> Result {
    let path = env_path("HAVEN_BENCHMARKS")?;
    let current = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let updated = match (current.find(START), current.find(END)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{section}{}", &current[..a], &current[b + END.len()..])
        }
        _ => format!("{}\n{section}\n", current.trim_end()),
    };
    std::fs::write(&path, updated).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let sizes = arg("--sizes").unwrap_or_default();
    let (cold, warm, plain) = match measure().await {
        Ok(results) => results,
        Err(e) => {
            eprintln!("haven-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let date = command_line("date", &["-u", "+%Y-%m-%d"]);
    let section = format!(
        "{START}\n## Foundation: bundle size and start-up (issue 2)\n\n\
         Measured by `cargo xtask bench` on {date}, {machine}.\n\n\
         ### What the browser downloads (release build, `wasm-opt -Oz`; KB = 1,000 bytes)\n\n\
         Budget, enforced by `cargo xtask test`: 450 KB brotli for everything the app loads.\n\n\
         | file | raw | gzip | brotli |\n| --- | ---: | ---: | ---: |\n{sizes}\n\n\
         ### Start-up in headless Chromium over loopback HTTPS ({RUNS} runs; ms)\n\n\
         | what | median | min | max |\n| --- | ---: | ---: | ---: |\n{}\n{}\n{}\n\n\
         The reference row is the same TLS server answering a plain JSON request in a fresh \
         browser: the floor for any page. \"Interactive\" is the app's own \
         `haven-interactive` mark: configuration fetched and parsed, start page rendered, \
         WSS link open.\n{END}",
        row("reference: plain JSON response, fresh browser", &plain),
        row(
            "app interactive, fresh browser (cold cache, new TLS session)",
            &cold
        ),
        row("app interactive, reload (warm cache)", &warm),
        machine = machine(),
    );
    println!("{section}");
    if let Err(e) = write_section(&section) {
        eprintln!("haven-bench: cannot write BENCHMARKS.md: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
