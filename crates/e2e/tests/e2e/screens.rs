//! Every view of every role, end to end (the walk `cargo xtask screenshots` photographs):
//! at a 360 px phone width no view makes the page scroll sideways or draws a control
//! under 24×24 px, every signed-in view is inside the app's frame, and no style or script
//! broke the Content-Security-Policy; in the pseudo-locale no text bypasses the
//! catalogues; axe-core finds nothing in Chromium and Firefox, in English and Spanish,
//! in the default brand and a dark one. Also: no colour is named outside the design
//! tokens, so a brand can restyle everything by overriding them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use haven_e2e::screenshots::{Options, PHONE, Page, walk_with};
use haven_e2e::{Browser, ServerProcess, Session};
use haven_protocol::access::{Role, navigation};

/// Every view of every role was visited, in every language asked for.
fn visited_all(pages: &[Page], langs: &[&str]) {
    for role in Role::ALL {
        for view in navigation(role) {
            for lang in langs {
                assert!(
                    pages
                        .iter()
                        .any(|p| p.role == Some(role) && p.name == view.path() && p.lang == *lang),
                    "{role:?} {} was not visited in {lang}",
                    view.path()
                );
            }
        }
    }
}

fn no_problems(pages: &[Page]) {
    let problems: Vec<String> = pages.iter().flat_map(Page::problems).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Where a test leaves its screenshots: beside the other test output.
fn shots(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/e2e-screenshots")
        .join(name)
}

#[tokio::test]
async fn every_view_fits_a_phone_and_renders_the_frame() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let out = shots("phone");
    let _ = std::fs::remove_dir_all(&out);
    let options = Options {
        widths: &[PHONE],
        out: Some(&out),
        ..Options::default()
    };
    let pages = walk_with(&server, Browser::Chromium, options)
        .await
        .unwrap();
    visited_all(&pages, &["en"]);
    // Attached to the test's output: where to look at each view.
    for page in &pages {
        if let Some(file) = &page.file {
            println!("{}: {}", page.label(), file.display());
        }
    }
    no_problems(&pages);
    for page in &pages {
        assert_eq!(page.inner_width, f64::from(PHONE), "{}", page.label());
        assert!(
            page.file.as_ref().is_some_and(|f| f.exists()),
            "{}: no screenshot",
            page.label()
        );
    }
}

/// In the pseudo-locale every letter from the catalogues is accented: plain ASCII text
/// outside data (`translate="no"`) bypassed the catalogue.
#[tokio::test]
async fn no_view_shows_text_that_bypasses_the_catalogue() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let options = Options {
        widths: &[PHONE],
        lang: Some("en-XA"),
        ..Options::default()
    };
    let pages = walk_with(&server, Browser::Chromium, options)
        .await
        .unwrap();
    visited_all(&pages, &["en-XA"]);
    no_problems(&pages);
    // The check itself sees plain text: the sign-in page in English shows some.
    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/?lang=en")).await.unwrap();
    session.wait_for("#sign-in").await.unwrap();
    let plain = session
        .eval("return /[A-Za-z]/.test(document.querySelector('#sign-in h2').textContent);")
        .await
        .unwrap();
    assert_eq!(plain, serde_json::Value::Bool(true));
    session.close().await.unwrap();
}

/// A dark brand that passes the server's own contrast rule.
fn dark_brand() -> haven_protocol::BrandColours {
    let c = |hex: &str| haven_protocol::Colour::parse(hex).unwrap();
    let colours = haven_protocol::BrandColours {
        primary: c("#8ab4f8"),
        on_primary: c("#0b1a33"),
        page: c("#101418"),
        surface: c("#1b2027"),
        text: c("#e8eaed"),
        text_muted: c("#b4bcc6"),
    };
    assert!(
        colours.contrast_failures().is_empty(),
        "{:?}",
        colours.contrast_failures()
    );
    colours
}

/// axe-core finds nothing on any view of any role, in English and Spanish, in the
/// default brand and a dark one.
async fn axe_everywhere(browser: Browser) {
    let axe_path = haven_e2e::env_path("HAVEN_AXE").unwrap();
    let axe = std::fs::read_to_string(&axe_path).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let options = || Options {
        lang: Some("en"),
        switch_to: &["es"],
        axe: Some(&axe),
        ..Options::default()
    };
    let pages = walk_with(&server, browser, options()).await.unwrap();
    visited_all(&pages, &["en", "es"]);
    no_problems(&pages);

    haven_e2e::set_default_brand(data.path(), &dark_brand(), "en", None)
        .await
        .unwrap();
    let pages = walk_with(&server, browser, options()).await.unwrap();
    visited_all(&pages, &["en", "es"]);
    no_problems(&pages);
}

#[tokio::test]
async fn axe_finds_nothing_on_any_view_in_chromium() {
    axe_everywhere(Browser::Chromium).await;
}

#[tokio::test]
async fn axe_finds_nothing_on_any_view_in_firefox() {
    axe_everywhere(Browser::Firefox).await;
}

/// The language switch shows Spanish (its catalogue fetched on the way), keeps the choice in this browser, and
/// `?lang=` wins over it; an organisation's default language is used until a person
/// chooses.
#[tokio::test]
async fn a_person_switches_to_spanish_and_the_choice_is_kept() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), 0, &["--demo"]).unwrap();
    let session = Session::start(Browser::Chromium).await.unwrap();
    let heading = "return document.querySelector('#sign-in h2')?.textContent;";
    session.goto(&server.url("/")).await.unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    assert_eq!(session.eval(heading).await.unwrap(), "Sign in");
    session.select("#language", "es").await.unwrap();
    session
        .wait_until("return document.documentElement.lang === 'es';")
        .await
        .unwrap();
    assert_eq!(session.eval(heading).await.unwrap(), "Iniciar sesión");
    // Signed in, the views and the frame are in Spanish too.
    session.sign_in("patient@demo.haven").await.unwrap();
    assert_eq!(session.text("#sign-out").await.unwrap(), "Cerrar sesión");
    session.reload().await.unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    session
        .wait_until("return document.documentElement.lang === 'es';")
        .await
        .unwrap();
    assert_eq!(session.eval(heading).await.unwrap(), "Iniciar sesión");
    session.goto(&server.url("/?lang=en")).await.unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    assert_eq!(session.eval(heading).await.unwrap(), "Sign in");
    session.close().await.unwrap();

    // An organisation whose default is Spanish: a new browser starts in Spanish.
    haven_e2e::set_default_brand(
        data.path(),
        &haven_protocol::BrandColours::default(),
        "es",
        None,
    )
    .await
    .unwrap();
    let session = Session::start(Browser::Chromium).await.unwrap();
    session.goto(&server.url("/")).await.unwrap();
    session
        .wait_for("#sign-in[data-step='password']")
        .await
        .unwrap();
    session
        .wait_until("return document.documentElement.lang === 'es';")
        .await
        .unwrap();
    assert_eq!(session.eval(heading).await.unwrap(), "Iniciar sesión");
    session.close().await.unwrap();
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
