//! Issue 11's design system, end to end: every view of every role in headless Chromium
//! at a 360 px phone width (the walk `cargo xtask screenshots` photographs). No view may
//! make the page scroll sideways, every signed-in view is inside the app's frame, and no
//! style or script broke the Content-Security-Policy. Also: no colour is named outside
//! the design tokens, so a brand can restyle everything by overriding them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use haven_e2e::ServerProcess;
use haven_e2e::screenshots::{PHONE, walk};
use haven_protocol::access::{Role, navigation};

#[tokio::test]
async fn every_view_fits_a_phone_and_renders_the_frame() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let pages = walk(&server, &[PHONE], None).await.unwrap();
    // Every view of every role was visited.
    for role in Role::ALL {
        for view in navigation(role) {
            assert!(
                pages
                    .iter()
                    .any(|p| p.role == Some(role) && p.name == view.path()),
                "{role:?} {} was not visited",
                view.path()
            );
        }
    }
    let problems: Vec<String> = pages.iter().flat_map(|p| p.problems()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for page in &pages {
        assert_eq!(page.inner_width, f64::from(PHONE), "{}", page.label());
    }
}

/// Colour literals in declarations: hex, rgb()/hsl() and friends, and the named colours
/// a stylesheet is most tempted by. Returns the offending lines.
fn colour_literals(css: &str) -> Vec<String> {
    let word_at = |text: &str, i: usize, len: usize| {
        let ident = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        !text[..i].chars().last().is_some_and(ident)
            && !text[i + len..].chars().next().is_some_and(ident)
    };
    let mut found = Vec::new();
    for (n, line) in css.lines().enumerate() {
        let code = line
            .split("/*")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        // Declarations only: what follows the last `{` (selectors may hold ids).
        let code = code.rsplit('{').next().unwrap_or_default();
        let Some(colon) = code.find(':') else {
            continue;
        };
        let values = &code[colon..];
        let hex = values.match_indices('#').any(|(i, _)| {
            let digits = values[i + 1..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .count();
            [3, 4, 6, 8].contains(&digits) && word_at(values, i + 1, digits)
        });
        let functions = [
            "rgb(", "rgba(", "hsl(", "hsla(", "hwb(", "oklch(", "oklab(", "lab(", "lch(", "color(",
        ]
        .iter()
        .any(|f| {
            values
                .match_indices(f)
                .any(|(i, _)| word_at(values, i, f.len() - 1))
        });
        let named = [
            "white",
            "black",
            "red",
            "green",
            "blue",
            "gray",
            "grey",
            "transparent",
            "canvastext",
        ]
        .iter()
        .any(|name| {
            values
                .match_indices(name)
                .any(|(i, _)| word_at(values, i, name.len()))
        });
        if hex || functions || named {
            found.push(format!("{}: {}", n + 1, line.trim()));
        }
    }
    found
}

#[test]
fn no_colour_is_named_outside_the_tokens() {
    let style = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../style");
    let mut checked = 0;
    for entry in std::fs::read_dir(&style).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "css")
            && path.file_name().is_some_and(|n| n != "tokens.css")
        {
            let css = std::fs::read_to_string(&path).unwrap();
            let found = colour_literals(&css);
            assert!(
                found.is_empty(),
                "{}:\n{}",
                path.display(),
                found.join("\n")
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no stylesheet checked");
    // The check itself finds what it should.
    assert_eq!(colour_literals("a { color: #fff; }").len(), 1);
    assert_eq!(
        colour_literals("a { background: rgb(0 0 0 / 0.5); }").len(),
        1
    );
    assert_eq!(colour_literals("a { border: 1px solid white; }").len(), 1);
    assert_eq!(colour_literals("a { color: color(srgb 1 0 0); }").len(), 1);
    assert!(
        colour_literals("a { white-space: nowrap; color: var(--haven-color-text); }").is_empty()
    );
    assert!(colour_literals("#add, #haven > main { border: 0; }").is_empty());
}
