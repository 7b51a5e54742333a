//! Building the app with trunk, precompressing its files for the server, and measuring
//! what a browser downloads.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::{Result, root, run_cmd, step, tools};

/// What every page load may cost, brotli-compressed (issue 2: 450 KB, to tighten later).
pub const BROTLI_BUDGET_BYTES: u64 = 450 * 1000;

/// Builds the release bundle into `dist/` and writes `.br` / `.gz` beside each file.
pub fn build_app() -> Result<PathBuf> {
    step("building the app (trunk, release, wasm-opt)");
    let dist = root().join("dist");
    run_cmd(
        std::process::Command::new(tools::trunk())
            .current_dir(root())
            .env("PATH", tools::path_with_tools())
            .args(["build", "--release", "--offline"]),
    )?;
    // Every language but English is fetched by the pages shown in it, from files named
    // as the app was compiled to ask for them.
    let files = haven_i18n::compile::files(&root().join("locales")).map_err(|e| e.join("\n"))?;
    for (name, text) in files {
        let path = dist.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    compress_dir(&dist)?;
    Ok(dist)
}

fn app_files(dist: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dist).map_err(|e| format!("cannot read {}: {e}", dist.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let compressed = matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz"));
        if path.is_file() && !compressed {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn brotli(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(data).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}

fn compress_dir(dist: &Path) -> Result {
    for file in app_files(dist)? {
        let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (ext, bytes) in [("br", brotli(&data)?), ("gz", gzip(&data)?)] {
            let mut name = file.clone().into_os_string();
            name.push(".");
            name.push(ext);
            std::fs::write(&name, bytes).map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    Ok(())
}

/// Files of the end-to-end encryption worker: loaded only after someone who converses
/// signs in, so outside the page-load budget (and measured on their own).
pub const AFTER_SIGN_IN_PREFIX: &str = "e2ee-worker";

pub struct Sizes {
    pub files: Vec<(String, u64, u64, u64)>,
    /// What every page load costs (the budget's subject).
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
    /// The encryption worker, loaded after sign-in.
    pub later: (u64, u64, u64),
    /// The visit module, loaded when a visit view opens.
    pub visit: (u64, u64, u64),
    /// The catalogues fetched only by pages shown in their language.
    pub languages: (u64, u64, u64),
}

/// Catalogue files fetched when shown: the languages other than English, and the audit
/// log's English words (see `haven_i18n::compile::files`).
const LANGUAGE_PREFIX: &str = "locale-";

/// Files of the visit module: loaded when a visit view opens, so outside the page-load
/// budget too (and measured on their own).
pub const VISIT_PREFIX: &str = "haven-visit";

fn after_sign_in(name: &str) -> bool {
    name.starts_with(AFTER_SIGN_IN_PREFIX)
}

fn visit_module(name: &str) -> bool {
    name.starts_with(VISIT_PREFIX)
}

fn on_page_load(name: &str) -> bool {
    !after_sign_in(name) && !visit_module(name) && !name.starts_with(LANGUAGE_PREFIX)
}

/// Sizes of everything the page loads: raw, and as the server sends it compressed.
pub fn measure(dist: &Path) -> Result<Sizes> {
    let mut sizes = Sizes {
        files: Vec::new(),
        raw: 0,
        gzip: 0,
        brotli: 0,
        later: (0, 0, 0),
        visit: (0, 0, 0),
        languages: (0, 0, 0),
    };
    for file in app_files(dist)? {
        let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (raw, gz, br) = (
            data.len() as u64,
            gzip(&data)?.len() as u64,
            brotli(&data)?.len() as u64,
        );
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let (total_raw, total_gz, total_br) = if on_page_load(&name) {
            (&mut sizes.raw, &mut sizes.gzip, &mut sizes.brotli)
        } else if after_sign_in(&name) {
            let (r, g, b) = &mut sizes.later;
            (r, g, b)
        } else if visit_module(&name) {
            let (r, g, b) = &mut sizes.visit;
            (r, g, b)
        } else {
            let (r, g, b) = &mut sizes.languages;
            (r, g, b)
        };
        *total_raw += raw;
        *total_gz += gz;
        *total_br += br;
        sizes.files.push((name, raw, gz, br));
    }
    Ok(sizes)
}

impl Sizes {
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<40} {:>10} {:>10} {:>10}\n",
            "file", "raw", "gzip", "brotli"
        );
        for (name, raw, gz, br) in &self.files {
            out.push_str(&format!("{name:<40} {raw:>10} {gz:>10} {br:>10}\n"));
        }
        out.push_str(&format!(
            "{:<40} {:>10} {:>10} {:>10}\n",
            "total on page load", self.raw, self.gzip, self.brotli
        ));
        let (raw, gz, br) = self.later;
        out.push_str(&format!(
            "{:<40} {raw:>10} {gz:>10} {br:>10}\n",
            "encryption worker, after sign-in"
        ));
        let (raw, gz, br) = self.visit;
        out.push_str(&format!(
            "{:<40} {raw:>10} {gz:>10} {br:>10}\n",
            "visit module, when a visit view opens"
        ));
        let (raw, gz, br) = self.languages;
        out.push_str(&format!(
            "{:<40} {raw:>10} {gz:>10} {br:>10}",
            "catalogues, when shown"
        ));
        out
    }

    /// Rows for BENCHMARKS.md: kind of file, raw, gzip, brotli (in KB).
    pub fn markdown_rows(&self) -> String {
        let kb = |b: u64| format!("{:.1}", b as f64 / 1000.0);
        let mut rows = String::new();
        let kind = |name: &str| match name.rsplit('.').next() {
            Some("wasm") => "wasm",
            Some("js") => "JS glue",
            Some("html") => "index.html",
            Some("css") => "CSS",
            Some("svg") => "icon (SVG)",
            _ => "other",
        };
        for (name, raw, gz, br) in self.files.iter().filter(|f| on_page_load(&f.0)) {
            rows.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                kind(name),
                kb(*raw),
                kb(*gz),
                kb(*br)
            ));
        }
        rows.push_str(&format!(
            "| **total on page load** | **{}** | **{}** | **{}** |\n",
            kb(self.raw),
            kb(self.gzip),
            kb(self.brotli)
        ));
        let (raw, gz, br) = self.later;
        rows.push_str(&format!(
            "| encryption worker (openmls), loaded after sign-in | {} | {} | {} |\n",
            kb(raw),
            kb(gz),
            kb(br)
        ));
        let (raw, gz, br) = self.visit;
        rows.push_str(&format!(
            "| visit module (views and WebRTC), loaded when a visit view opens | {} | {} | {} |\n",
            kb(raw),
            kb(gz),
            kb(br)
        ));
        let (raw, gz, br) = self.languages;
        rows.push_str(&format!(
            "| catalogues fetched when shown (Spanish; the English words of the admin, audit and visit views) | {} | {} | {} |",
            kb(raw),
            kb(gz),
            kb(br)
        ));
        rows
    }
}
