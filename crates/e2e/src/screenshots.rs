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

/// One view at one width, as measured.
#[derive(Debug, Clone)]
pub struct Page {
    pub role: Option<Role>,
    /// The view's path, or a name for a state that has none ("sign-in").
    pub name: String,
    pub width: u32,
    /// `document.documentElement.scrollWidth`.
    pub scroll_width: f64,
    /// `window.innerWidth`.
    pub inner_width: f64,
    /// Whether the signed-in frame (navigation and content) was there.
    pub shell: bool,
    /// The page's own count of Content-Security-Policy violations.
    pub csp_violations: String,
    pub file: Option<PathBuf>,
}

impl Page {
    pub fn scrolls_sideways(&self) -> bool {
        self.scroll_width > self.inner_width
    }

    /// "admin /admin/users at 360 px".
    pub fn label(&self) -> String {
        let who = self.role.map_or("signed out", Role::as_str);
        format!("{who} {} at {} px", self.name, self.width)
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

const MEASURE: &str = "const d = document.documentElement; return {
    scroll: d.scrollWidth, inner: window.innerWidth, height: d.scrollHeight,
    shell: !!document.querySelector('.signed-in #nav') && !!document.querySelector('.signed-in #content'),
    csp: d.getAttribute('data-csp-violations') ?? '0' };";

/// No data still loading anywhere on the page.
const SETTLED: &str = "return document.querySelector('#haven .loading') === null;";

struct Walk<'a> {
    session: &'a Session,
    widths: &'a [u32],
    out: Option<&'a Path>,
    pages: Vec<Page>,
}

impl Walk<'_> {
    /// Measures (and, with an output directory, photographs) the current page at every
    /// width, then leaves the viewport at the first width.
    async fn capture(&mut self, role: Option<Role>, name: &str) -> Result {
        for &width in self.widths {
            let mobile = width < 600;
            self.session.set_viewport(width, HEIGHT, mobile).await?;
            self.session.wait_until(SETTLED).await?;
            let m = self.session.eval(MEASURE).await?;
            let number = |key: &str| m[key].as_f64().unwrap_or(f64::NAN);
            let mut page = Page {
                role,
                name: name.to_owned(),
                width,
                scroll_width: number("scroll"),
                inner_width: number("inner"),
                shell: m["shell"] == Value::Bool(true),
                csp_violations: m["csp"].as_str().unwrap_or("unknown").to_owned(),
                file: None,
            };
            if let Some(out) = self.out {
                let height = (number("height") as u32).clamp(HEIGHT, 6000);
                self.session.set_viewport(width, height, mobile).await?;
                let png = self
                    .session
                    .client
                    .screenshot()
                    .await
                    .map_err(|e| format!("{}: screenshot: {e}", page.label()))?;
                let who = role.map_or("signed-out", Role::as_str);
                let file = out.join(format!("{who}--{}--{width}px.png", slug(name)));
                std::fs::write(&file, png).map_err(|e| format!("{}: {e}", file.display()))?;
                page.file = Some(file);
            }
            self.pages.push(page);
        }
        if let Some(&first) = self.widths.first() {
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

/// Walks every view of every demo role (the server must run with `--demo`) at each of
/// `widths`, writing screenshots into `out` when given. Returns every page measured.
pub async fn walk(server: &ServerProcess, widths: &[u32], out: Option<&Path>) -> Result<Vec<Page>> {
    if let Some(out) = out {
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let session = Session::start(Browser::Chromium).await?;
    let result = walk_in(&session, server, widths, out).await;
    let closed = session.close().await;
    let pages = result?;
    closed?;
    Ok(pages)
}

async fn walk_in(
    session: &Session,
    server: &ServerProcess,
    widths: &[u32],
    out: Option<&Path>,
) -> Result<Vec<Page>> {
    let mut walk = Walk {
        session,
        widths,
        out,
        pages: Vec::new(),
    };
    if let Some(&first) = widths.first() {
        session.set_viewport(first, HEIGHT, first < 600).await?;
    }
    session.goto(&server.url("/")).await?;
    session.wait_for("#sign-in[data-step='password']").await?;
    session.wait_for("#link-status[data-link='open']").await?;
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
