//! A walk through every view of every demo role in headless Chromium, at a desktop and a
//! phone width: `cargo xtask screenshots` writes a PNG of each (for people to look at),
//! and the end-to-end test runs the same walk to check what a person would notice
//! without looking: that no view makes the page scroll sideways, that each signed-in
//! view is inside the app's frame, and that nothing broke the Content-Security-Policy.
//!
//! Navigation inside the app is by its own links (a page load would sign the person
//! out: the session lives in memory only). The viewport is set through the DevTools
//! protocol, so a 360 px page is 360 CSS pixels wide exactly.

use std::path::{Path, PathBuf};

use haven_protocol::access::{Role, View, navigation};
use serde_json::Value;

use crate::{Browser, Result, ServerProcess, Session};

/// A desktop browser window.
pub const WIDE: u32 = 1280;
/// A small phone.
pub const PHONE: u32 = 360;
/// The viewport height while checking; screenshots grow to the page's full height.
const HEIGHT: u32 = 800;

/// One view at one width in one language, as measured.
#[derive(Debug, Clone)]
pub struct Page {
    pub role: Option<Role>,
    /// The view's path, or a name for a state that has none ("sign-in").
    pub name: String,
    pub width: u32,
    /// The page's language (`<html lang>`).
    pub lang: String,
    /// `document.documentElement.scrollWidth`.
    pub scroll_width: f64,
    /// `window.innerWidth`.
    pub inner_width: f64,
    /// Whether the signed-in frame (navigation and content) was there.
    pub shell: bool,
    /// The page's own count of Content-Security-Policy violations.
    pub csp_violations: String,
    /// Visible text with an ASCII letter outside `translate="no"` (only meaningful in
    /// the pseudo-locale, where every catalogue letter is accented).
    pub untranslated: Vec<String>,
    /// Controls drawn smaller than 24 by 24 CSS pixels.
    pub small_controls: Vec<String>,
    /// axe-core's violations, when it ran.
    pub axe: Vec<String>,
    pub file: Option<PathBuf>,
}

impl Page {
    pub fn scrolls_sideways(&self) -> bool {
        self.scroll_width > self.inner_width
    }

    /// "admin /admin/users at 360 px in es".
    pub fn label(&self) -> String {
        let who = self.role.map_or("signed out", Role::as_str);
        format!("{who} {} at {} px in {}", self.name, self.width, self.lang)
    }

    /// What is wrong with this page, in words, if anything.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.scrolls_sideways() {
            problems.push(format!(
                "{}: the page scrolls sideways ({} px of content in a {} px window)",
                self.label(),
                self.scroll_width,
                self.inner_width
            ));
        }
        if self.role.is_some() && !self.shell {
            problems.push(format!("{}: the app's frame did not render", self.label()));
        }
        if self.csp_violations != "0" {
            problems.push(format!(
                "{}: {} Content-Security-Policy violation(s)",
                self.label(),
                self.csp_violations
            ));
        }
        for text in &self.untranslated {
            problems.push(format!("{}: not from the catalogue: {text}", self.label()));
        }
        for control in &self.small_controls {
            problems.push(format!(
                "{}: a control under 24×24 px: {control}",
                self.label()
            ));
        }
        for violation in &self.axe {
            problems.push(format!("{}: axe: {violation}", self.label()));
        }
        problems
    }
}

/// The demo accounts walked: one per role.
fn accounts() -> Vec<(Role, &'static str)> {
    Role::ALL
        .into_iter()
        .filter_map(|role| {
            haven_server::demo::USERS
                .iter()
                .find(|u| u.role == role)
                .map(|u| (role, u.email))
        })
        .collect()
}

fn slug(name: &str) -> String {
    let s: String = name
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if s.is_empty() { "home".into() } else { s }
}

/// Layout, frame, CSP, text outside the catalogue and small controls, in one pass.
const MEASURE: &str = r#"const d = document.documentElement;
    const data = '[translate="no"], script, style, noscript, template, title';
    const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const untranslated = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode, el = node.parentElement;
        if (!el || el.closest(data) || !shown(el)) continue;
        if (/[A-Za-z]/.test(node.data)) untranslated.push(node.data.trim().slice(0, 80));
    }
    for (const el of document.body.querySelectorAll('[aria-label], [title], [placeholder], [alt]')) {
        if (el.closest(data)) continue;
        for (const a of ['aria-label', 'title', 'placeholder', 'alt']) {
            const v = el.getAttribute(a);
            if (v && /[A-Za-z]/.test(v)) untranslated.push(`${a}="${v.slice(0, 80)}"`);
        }
    }
    const small = [];
    const controls = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, [role="button"], [tabindex]:not([tabindex="-1"])';
    for (const el of document.querySelectorAll(controls)) {
        if (!shown(el) || el.closest('[hidden], [inert]')) continue;
        const r = el.getBoundingClientRect();
        // Off-screen until focused (the skip link) is not drawn.
        if (r.right <= 0 || r.bottom <= 0) continue;
        if (r.width < 24 || r.height < 24) {
            const name = el.id ? '#' + el.id : el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ').join('.') : '');
            small.push(`${name} (${Math.round(r.width)}×${Math.round(r.height)})`);
        }
    }
    return { scroll: d.scrollWidth, inner: window.innerWidth, height: d.scrollHeight, lang: d.lang,
        shell: !!document.querySelector('.signed-in #nav') && !!document.querySelector('.signed-in #content'),
        csp: d.getAttribute('data-csp-violations') ?? '0', untranslated, small };"#;

/// Runs axe-core (already injected) on the page; the WCAG 2.0–2.2 A and AA rules.
const AXE_RUN: &str = r#"const done = arguments[arguments.length - 1];
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
        resultTypes: ['violations'] })
      .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.help}: ` +
          v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 160)).join(' | '))))
      .catch(e => done(['axe failed: ' + e]));"#;

/// No data still loading anywhere on the page, and no transition half-way (a colour
/// measured mid-fade is neither the old one nor the new).
const SETTLED: &str = "return document.querySelector('#haven .loading') === null
    && document.getAnimations().every(a => a.playState !== 'running'
        || a.effect?.getTiming().iterations === Infinity);";

/// What a walk does besides visiting every view.
#[derive(Debug, Clone, Default)]
pub struct Options<'a> {
    /// Viewport widths (Chromium only; empty: the window as it is).
    pub widths: &'a [u32],
    /// Where to write a screenshot of every page, if anywhere.
    pub out: Option<&'a Path>,
    /// `?lang=` for the page's address.
    pub lang: Option<&'a str>,
    /// Languages to switch to (through the page's own language switch) and measure
    /// again on every page, after its first language.
    pub switch_to: &'a [&'a str],
    /// axe-core's script, to run on every page.
    pub axe: Option<&'a str>,
}

struct Walk<'a> {
    session: &'a Session,
    options: Options<'a>,
    first_lang: String,
    pages: Vec<Page>,
}

impl Walk<'_> {
    async fn measure(
        &mut self,
        role: Option<Role>,
        name: &str,
        width: u32,
        mobile: bool,
    ) -> Result {
        self.session.wait_until(SETTLED).await?;
        let m = self.session.eval(MEASURE).await?;
        let number = |key: &str| m[key].as_f64().unwrap_or(f64::NAN);
        let strings = |key: &str| -> Vec<String> {
            m[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut page = Page {
            role,
            name: name.to_owned(),
            width,
            lang: m["lang"].as_str().unwrap_or_default().to_owned(),
            scroll_width: number("scroll"),
            inner_width: number("inner"),
            shell: m["shell"] == Value::Bool(true),
            csp_violations: m["csp"].as_str().unwrap_or("unknown").to_owned(),
            untranslated: if page_is_pseudo(&m) {
                strings("untranslated")
            } else {
                Vec::new()
            },
            small_controls: strings("small"),
            axe: Vec::new(),
            file: None,
        };
        if let Some(axe) = self.options.axe {
            page.axe = self.axe(axe).await?;
        }
        if let Some(out) = self.options.out {
            let height = (number("height") as u32).clamp(HEIGHT, 6000);
            self.session.set_viewport(width, height, mobile).await?;
            let png = self
                .session
                .client
                .screenshot()
                .await
                .map_err(|e| format!("{}: screenshot: {e}", page.label()))?;
            let who = role.map_or("signed-out", Role::as_str);
            let file = out.join(format!(
                "{who}--{}--{width}px--{}.png",
                slug(name),
                page.lang
            ));
            std::fs::write(&file, png).map_err(|e| format!("{}: {e}", file.display()))?;
            page.file = Some(file);
            self.session.set_viewport(width, HEIGHT, mobile).await?;
        }
        self.pages.push(page);
        Ok(())
    }

    async fn axe(&self, script: &str) -> Result<Vec<String>> {
        let present = self
            .session
            .eval("return typeof axe !== 'undefined';")
            .await?;
        if present != Value::Bool(true) {
            self.session
                .client
                .execute(script, Vec::new())
                .await
                .map_err(|e| format!("injecting axe-core: {e}"))?;
        }
        let found = self
            .session
            .client
            .execute_async(AXE_RUN, Vec::new())
            .await
            .map_err(|e| format!("axe-core: {e}"))?;
        Ok(found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Switches the page's language through its own switch, and waits until it shows.
    async fn switch(&self, lang: &str) -> Result {
        // Firefox's driver will not pick an option of a closed `<select>` headless.
        self.session.set_value("#language", lang, "change").await?;
        self.session
            .wait_until(&format!(
                "return document.documentElement.lang === {lang:?};"
            ))
            .await
    }

    /// Measures (and, with an output directory, photographs) the current page at every
    /// width and in every language, then leaves it at the first width and language.
    async fn capture(&mut self, role: Option<Role>, name: &str) -> Result {
        let widths: Vec<u32> = self.options.widths.to_vec();
        let sizes: Vec<Option<u32>> = if widths.is_empty() {
            vec![None]
        } else {
            widths.iter().copied().map(Some).collect()
        };
        for size in sizes {
            let width = match size {
                Some(width) => {
                    self.session
                        .set_viewport(width, HEIGHT, width < 600)
                        .await?;
                    width
                }
                None => self
                    .session
                    .eval("return window.innerWidth;")
                    .await?
                    .as_u64()
                    .unwrap_or(0) as u32,
            };
            self.measure(role, name, width, width < 600).await?;
            let switch_to: Vec<&str> = self.options.switch_to.to_vec();
            for lang in &switch_to {
                self.switch(lang).await?;
                self.measure(role, name, width, width < 600).await?;
            }
            if !switch_to.is_empty() {
                let first = self.first_lang.clone();
                self.switch(&first).await?;
            }
        }
        if let Some(&first) = widths.first() {
            self.session
                .set_viewport(first, HEIGHT, first < 600)
                .await?;
        }
        Ok(())
    }

    /// Clicks `css` the way a person's click arrives (a DOM click on the element).
    async fn click(&self, css: &str) -> Result {
        self.session.wait_for(css).await?;
        let script = format!("document.querySelector({css:?}).click(); return true;");
        self.session.eval(&script).await.map(|_| ())
    }

    async fn open(&self, view: View) -> Result {
        self.click(&format!("#nav a[data-view='{}']", view.path()))
            .await?;
        self.session
            .wait_for(&format!("#view[data-view='{}']", view.path()))
            .await?;
        self.session.wait_until(SETTLED).await
    }

    /// States inside a view worth a look of their own.
    async fn extras(&mut self, role: Role, view: View) -> Result {
        match view {
            View::MyPatients => {
                self.click("#view .people a").await?;
                self.session
                    .wait_for("#view[data-view='/patients/record']")
                    .await?;
                self.capture(Some(role), "/patients/record").await?;
                self.open(view).await?;
            }
            View::Users => {
                self.click("#view button.deactivate").await?;
                self.session.wait_for("#confirm-dialog[open]").await?;
                self.capture(Some(role), "/admin/users/confirm-deactivate")
                    .await?;
                self.click("#confirm-cancel").await?;
                self.session
                    .wait_until("return !document.querySelector('#confirm-dialog[open]');")
                    .await?;
            }
            View::Audit => {
                self.click("#audit-entries tbody tr").await?;
                self.session.wait_for("#audit-entry").await?;
                self.capture(Some(role), "/audit/entry").await?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn page_is_pseudo(measured: &Value) -> bool {
    measured["lang"].as_str() == Some("en-XA")
}

/// Walks every view of every demo role (the server must run with `--demo`) at each of
/// `widths` in Chromium, writing screenshots into `out` when given. Returns every page
/// measured.
pub async fn walk(server: &ServerProcess, widths: &[u32], out: Option<&Path>) -> Result<Vec<Page>> {
    walk_with(
        server,
        Browser::Chromium,
        Options {
            widths,
            out,
            ..Options::default()
        },
    )
    .await
}

/// [`walk`] in `browser` with `options`.
pub async fn walk_with(
    server: &ServerProcess,
    browser: Browser,
    options: Options<'_>,
) -> Result<Vec<Page>> {
    if let Some(out) = options.out {
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let session = Session::start(browser).await?;
    let result = walk_in(&session, server, options).await;
    let closed = session.close().await;
    let pages = result?;
    closed?;
    Ok(pages)
}

async fn walk_in(
    session: &Session,
    server: &ServerProcess,
    options: Options<'_>,
) -> Result<Vec<Page>> {
    if let Some(&first) = options.widths.first() {
        session.set_viewport(first, HEIGHT, first < 600).await?;
    }
    let path = options
        .lang
        .map_or_else(|| "/".to_owned(), |lang| format!("/?lang={lang}"));
    session.goto(&server.url(&path)).await?;
    session.wait_for("#sign-in[data-step='password']").await?;
    session.wait_for("#link-status[data-link='open']").await?;
    let first_lang = session
        .eval("return document.documentElement.lang;")
        .await?
        .as_str()
        .unwrap_or("en")
        .to_owned();
    let mut walk = Walk {
        session,
        options,
        first_lang,
        pages: Vec::new(),
    };
    walk.capture(None, "sign-in").await?;
    for (role, email) in accounts() {
        session.sign_in(email).await?;
        for view in navigation(role) {
            walk.open(view).await?;
            walk.capture(Some(role), view.path()).await?;
            walk.extras(role, view).await?;
        }
        walk.click("#sign-out").await?;
        session.wait_for("#sign-in[data-step='password']").await?;
    }
    Ok(walk.pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_come_from_paths() {
        assert_eq!(slug("/admin/users"), "admin-users");
        assert_eq!(slug("sign-in"), "sign-in");
        assert_eq!(slug("/"), "home");
    }
}
