//! Installing what the build and the tests need, only when it is missing, from the
//! package registries this project's machines reach (crates.io, npm, Debian). Nothing
//! here downloads a prebuilt browser or toolchain of its own.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, root, run_cmd, step};

pub const TRUNK_VERSION: &str = "0.21.14";
/// binaryen's wasm-opt from npm: Debian's (version 108) corrupts wasm-bindgen 0.2.130
/// output (TOOLCHAIN.md).
pub const BINARYEN_VERSION: &str = "132.0.0";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// axe-core from npm, injected into pages by the accessibility tests.
pub const AXE_VERSION: &str = "4.14.1";

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}

/// Tools we install outside the repository, so every clone on a machine shares them.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map_or_else(|| home().join(".cache"), PathBuf::from)
        .join("haven")
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map_or_else(|| home().join(".cargo"), PathBuf::from)
        .join("bin")
}

fn npm_dir() -> PathBuf {
    cache_dir().join("npm")
}

/// PATH with our npm tools and cargo's bin first, so trunk finds the pinned wasm-opt
/// and wasm-bindgen.
pub fn path_with_tools() -> OsString {
    let mut parts = vec![npm_dir().join("node_modules/.bin"), cargo_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        parts.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(parts).unwrap_or_default()
}

pub fn trunk() -> PathBuf {
    let installed = cargo_bin().join("trunk");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("trunk")
    }
}

/// The first line a command prints, if it runs and succeeds.
fn output(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .env("PATH", path_with_tools())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The version of `package` pinned in Cargo.lock.
fn locked_version(package: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let marker = format!("name = \"{package}\"\nversion = \"");
    let start = lock
        .find(&marker)
        .map(|i| i + marker.len())
        .ok_or_else(|| format!("{package} is not in Cargo.lock"))?;
    let end = lock[start..]
        .find('"')
        .ok_or_else(|| "Cargo.lock is malformed".to_owned())?;
    Ok(lock[start..start + end].to_owned())
}

fn cargo_install(args: &[&str]) -> Result {
    step(&format!("installing {} (once per machine)", args.join(" ")));
    run_cmd(crate::cargo().arg("install").args(args))
}

fn ensure_wasm_target() -> Result {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    step("adding the wasm32-unknown-unknown target");
    run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn apt_install(packages: &[&str]) -> Result {
    step(&format!(
        "installing {} from Debian (once per machine)",
        packages.join(" ")
    ));
    let apt = |args: &[&str]| {
        run_cmd(
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    // Package lists start empty on a new machine.
    apt(&["update"])?;
    let mut install = vec!["install", "-y"];
    install.extend_from_slice(packages);
    apt(&install)
}

fn ensure_node() -> Result {
    if output("npm", &["--version"]).is_some() {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"])
}

/// `package@version` into our npm directory.
fn npm_install(package: &str, version: &str) -> Result {
    ensure_node()?;
    step(&format!("installing npm {package}@{version}"));
    let dir = npm_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let manifest = dir.join("package.json");
    if !manifest.exists() {
        std::fs::write(&manifest, "{\"name\":\"haven-tools\",\"private\":true}\n")
            .map_err(|e| e.to_string())?;
    }
    run_cmd(Command::new("npm").current_dir(&dir).args([
        "install",
        "--no-audit",
        "--no-fund",
        "--save-exact",
        &format!("{package}@{version}"),
    ]))
}

/// The installed version of an npm package of ours, if any.
fn npm_version(package: &str) -> Option<String> {
    let manifest = npm_dir()
        .join("node_modules")
        .join(package)
        .join("package.json");
    let text = std::fs::read_to_string(manifest).ok()?;
    // `"version": "4.14.1"`: npm writes it on one line.
    let rest = text.split("\"version\"").nth(1)?;
    let value = rest.split('"').nth(1)?;
    Some(value.to_owned())
}

/// axe-core's script, for the end-to-end tests.
pub fn axe_script() -> PathBuf {
    npm_dir().join("node_modules/axe-core/axe.min.js")
}

fn ensure_wasm_opt() -> Result {
    let wasm_opt = npm_dir().join("node_modules/.bin/wasm-opt");
    let want = format!(
        "version {}",
        BINARYEN_VERSION.split('.').next().unwrap_or_default()
    );
    if output(&wasm_opt, &["--version"]).is_some_and(|v| v.contains(&want)) {
        return Ok(());
    }
    npm_install("binaryen", BINARYEN_VERSION)
}

/// The wasm32 target, wasm-bindgen-cli matching Cargo.lock, trunk and wasm-opt.
pub fn ensure_build_tools() -> Result {
    ensure_wasm_target()?;
    let bindgen = locked_version("wasm-bindgen")?;
    let have = output(cargo_bin().join("wasm-bindgen"), &["--version"]).unwrap_or_default();
    if have != format!("wasm-bindgen {bindgen}") {
        // Not --locked: its lockfile pins a crate the registry here does not serve.
        cargo_install(&[&format!("wasm-bindgen-cli@{bindgen}")])?;
    }
    let have = output(trunk(), &["--version"]).unwrap_or_default();
    if have != format!("trunk {TRUNK_VERSION}") {
        cargo_install(&[&format!("trunk@{TRUNK_VERSION}"), "--locked"])?;
    }
    ensure_wasm_opt()
}

/// Chromium and chromedriver, Firefox ESR and geckodriver, WebKitGTK's driver and Xvfb.
pub fn ensure_browsers() -> Result {
    let wanted = [
        ("/usr/bin/chromium", "chromium"),
        (CHROMEDRIVER, "chromium-driver"),
        ("/usr/bin/firefox-esr", "firefox-esr"),
        ("/usr/bin/WebKitWebDriver", "webkit2gtk-driver"),
        ("/usr/bin/Xvfb", "xvfb"),
    ];
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, package)| *package)
        .collect();
    if !missing.is_empty() {
        apt_install(&missing)?;
    }
    if output(cargo_bin().join("geckodriver"), &["--version"]).is_none() {
        cargo_install(&["geckodriver"])?;
    }
    if npm_version("axe-core").as_deref() != Some(AXE_VERSION) {
        npm_install("axe-core", AXE_VERSION)?;
    }
    Ok(())
}

/// Where geckodriver is, for the end-to-end tests.
pub fn geckodriver() -> PathBuf {
    cargo_bin().join("geckodriver")
}
