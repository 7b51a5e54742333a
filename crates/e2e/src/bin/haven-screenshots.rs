//! `cargo xtask screenshots`: the release app and the real server with its demo accounts,
//! every view of every role in headless Chromium at 1280 px and at 360 px, written as
//! PNG files for people to look at. Fails, naming the view, if any page scrolls sideways,
//! misses the app's frame, or broke the Content-Security-Policy.

use haven_e2e::screenshots::{PHONE, WIDE, walk};
use haven_e2e::{ServerProcess, env_path};

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("haven-screenshots: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> haven_e2e::Result {
    let out = env_path("HAVEN_SCREENSHOTS")?;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = ServerProcess::start(data.path(), 0, &["--demo"])?;
    let pages = walk(&server, &[WIDE, PHONE], Some(&out)).await?;
    let mut problems = Vec::new();
    for page in &pages {
        let file = page
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        let verdict = if page.problems().is_empty() {
            "ok"
        } else {
            "PROBLEM"
        };
        println!("{verdict:>7}  {:<48} {file}", page.label());
        problems.extend(page.problems());
    }
    println!("\n{} screenshots in {}", pages.len(), out.display());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
