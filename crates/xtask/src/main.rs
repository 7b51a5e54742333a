//! `cargo xtask run | test | bench | screenshots`: the one entry point, the same on a newcomer's
//! machine and in CI. Each command installs what it needs when it is missing (and only
//! then), so a fresh machine of this project's kind needs nothing but Rust.

mod bundle;
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

pub type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  run [SERVER OPTIONS]   build the app and the server, then serve Haven over HTTPS
                         (options go to `haven-server serve`: --listen ADDR, --data DIR,
                         --tls-cert FILE --tls-key FILE, --public-origin URL,
                         --brand-name NAME, --idle-timeout-secs N)
  test                   everything CI checks: fmt, clippy (native and wasm32), tests,
                         browser tests, the bundle size budget, end-to-end tests
  size                   build the app and print what each file costs against the budget
  bench                  measure bundle size and start-up time; update BENCHMARKS.md
  screenshots            build the app, serve it with the demo accounts, and write a PNG of
                         every view of every role at 1280 px and 360 px wide into
                         target/screenshots/; fails naming any view that scrolls sideways";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("run") => run(&rest),
        Some("test") => test(&rest),
        Some("bench") => bench(&rest),
        Some("screenshots") => screenshots(&rest),
        Some("size") => size(&rest).map(|_| ()),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask lives in `crates/xtask`).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

pub fn step(title: &str) {
    println!("\n==> {title}");
}

/// Runs `cmd`, failing with a message that names it.
pub fn run_cmd(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root())
        .env("PATH", tools::path_with_tools());
    cmd
}

fn run(args: &[String]) -> Result {
    tools::ensure_build_tools()?;
    let dist = bundle::build_app()?;
    step("building the server (release)");
    run_cmd(cargo().args(["build", "--release", "-p", "haven-server"]))?;
    let server = root().join("target/release/haven-server");
    step("starting Haven (Ctrl-C to stop)");
    let mut cmd = Command::new(server);
    cmd.current_dir(root())
        .arg("serve")
        .arg("--static-dir")
        .arg(&dist)
        .args(args);
    run_cmd(&mut cmd)
}

fn test(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("`test` takes no options (got {extra})"));
    }
    tools::ensure_build_tools()?;
    tools::ensure_browsers()?;

    step("format");
    run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))?;

    step("clippy, native");
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "haven-app",
        "--all-targets",
        "--features",
        "haven-mls/bench",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("clippy, wasm32");
    run_cmd(cargo().args([
        "clippy",
        "-p",
        "haven-app",
        "-p",
        "haven-protocol",
        "-p",
        "haven-mls",
        "--features",
        "haven-mls/bench",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("native tests");
    run_cmd(cargo().args([
        "test",
        "--workspace",
        "--exclude",
        "haven-app",
        "--exclude",
        "haven-e2e",
    ]))?;

    step("browser tests (wasm-bindgen-test, headless Chromium)");
    run_cmd(
        cargo()
            .args([
                "test",
                "-p",
                "haven-app",
                "-p",
                "haven-mls",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env("CHROMEDRIVER", tools::CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    )?;

    let dist = size(&[])?;

    step("end-to-end tests (real server, release app, Chromium, Firefox, WebKit)");
    run_cmd(cargo().args(["build", "-p", "haven-server"]))?;
    run_cmd(
        cargo()
            .args(["test", "-p", "haven-e2e", "--", "--test-threads=1"])
            .env("HAVEN_SERVER_BIN", root().join("target/debug/haven-server"))
            .env("HAVEN_DIST", &dist)
            .env("GECKODRIVER", tools::geckodriver())
            .env("HAVEN_AXE", tools::axe_script()),
    )?;
    println!("\nall checks passed");
    Ok(())
}

fn bench(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("`bench` takes no options (got {extra})"));
    }
    tools::ensure_build_tools()?;
    tools::ensure_browsers()?;
    // `HAVEN_BENCH_STARTUP_ONLY=1`: the bundle and start-up alone (no MLS, delivery,
    // sign-in or audit runs), while working on the app's size or start.
    let startup_only = std::env::var_os("HAVEN_BENCH_STARTUP_ONLY").is_some();
    let mls = if startup_only {
        root().join("target/mls-bench.txt")
    } else {
        mls_bench()?
    };
    if args.is_empty() && std::env::var_os("HAVEN_BENCH_MLS_ONLY").is_some() {
        return run_cmd(
            cargo()
                .args([
                    "run",
                    "--release",
                    "-p",
                    "haven-e2e",
                    "--bin",
                    "haven-bench",
                    "--",
                ])
                .arg("--mls")
                .arg(&mls)
                .arg("--mls-only")
                .env("HAVEN_BENCHMARKS", root().join("BENCHMARKS.md")),
        );
    }
    let dist = bundle::build_app()?;
    let sizes = bundle::measure(&dist)?;
    println!("{}", sizes.table());
    step("building the server (release)");
    run_cmd(cargo().args(["build", "--release", "-p", "haven-server"]))?;
    step("start-up time in headless Chromium");
    run_cmd(
        cargo()
            .args([
                "run",
                "--release",
                "-p",
                "haven-e2e",
                "--bin",
                "haven-bench",
                "--",
            ])
            .arg("--sizes")
            .arg(sizes.markdown_rows())
            .args(if startup_only {
                vec!["--startup-only".into()]
            } else {
                vec![std::ffi::OsString::from("--mls"), mls.into_os_string()]
            })
            .env(
                "HAVEN_SERVER_BIN",
                root().join("target/release/haven-server"),
            )
            .env("HAVEN_DIST", &dist)
            .env("GECKODRIVER", tools::geckodriver())
            .env("HAVEN_BENCHMARKS", root().join("BENCHMARKS.md")),
    )
}

/// Runs the MLS benchmark natively and in headless Chromium (release builds) and keeps
/// what both printed, for `haven-bench --mls`.
fn mls_bench() -> Result<std::path::PathBuf> {
    step("MLS operations, natively and in headless Chromium");
    let mut output = String::new();
    for wasm in [false, true] {
        let mut cmd = cargo();
        cmd.args([
            "test",
            "--release",
            "-p",
            "haven-mls",
            "--features",
            "bench",
            "--test",
            "bench",
        ]);
        if wasm {
            cmd.args(["--target", "wasm32-unknown-unknown"])
                .env("CHROMEDRIVER", tools::CHROMEDRIVER)
                .env("WASM_BINDGEN_TEST_TIMEOUT", "600");
        }
        cmd.args(["--", "--nocapture"]);
        let shown = format!("{cmd:?}");
        let out = cmd
            .output()
            .map_err(|e| format!("cannot start {shown}: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
            return Err(format!("{shown} failed ({})", out.status));
        }
        output.push_str(&text);
    }
    let path = root().join("target/mls-bench.txt");
    std::fs::write(&path, output).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Builds the app and holds it to the page-load budget; where the app was built.
fn size(args: &[String]) -> Result<PathBuf> {
    if let Some(extra) = args.first() {
        return Err(format!("`size` takes no options (got {extra})"));
    }
    tools::ensure_build_tools()?;
    let dist = bundle::build_app()?;
    step("bundle size budget");
    let sizes = bundle::measure(&dist)?;
    println!("{}", sizes.table());
    if sizes.brotli > bundle::BROTLI_BUDGET_BYTES {
        return Err(format!(
            "the app's files are {} bytes brotli-compressed, over the budget of {}",
            sizes.brotli,
            bundle::BROTLI_BUDGET_BYTES
        ));
    }
    println!(
        "within budget: {} of {} bytes brotli",
        sizes.brotli,
        bundle::BROTLI_BUDGET_BYTES
    );
    Ok(dist)
}

fn screenshots(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("`screenshots` takes no options (got {extra})"));
    }
    tools::ensure_build_tools()?;
    tools::ensure_browsers()?;
    let dist = bundle::build_app()?;
    step("building the server");
    run_cmd(cargo().args(["build", "-p", "haven-server"]))?;
    let out = root().join("target/screenshots");
    step("every view of every role, 1280 px and 360 px wide (headless Chromium)");
    run_cmd(
        cargo()
            .args(["run", "-p", "haven-e2e", "--bin", "haven-screenshots"])
            .env("HAVEN_SERVER_BIN", root().join("target/debug/haven-server"))
            .env("HAVEN_DIST", &dist)
            .env("HAVEN_SCREENSHOTS", &out),
    )
}
