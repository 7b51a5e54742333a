//! End-to-end support: real browsers driven over W3C WebDriver (Chromium through
//! chromedriver, Firefox ESR through geckodriver, WebKit through WebKitWebDriver under
//! Xvfb), and the real `haven-server` binary serving the release build of the app.
//!
//! Every wait here is on a condition the page or a process exposes, never a sleep.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

pub mod audit_bench;
pub mod delivery_bench;
pub mod group_bench;
pub mod memory_bench;
pub mod mls_bench;
pub mod screenshots;
pub mod signin_bench;

pub type Result<T = ()> = std::result::Result<T, String>;

/// How long any one condition may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// The most presses of Tab [`Session::tab_to`] makes before giving up.
pub const MAX_TABS: usize = 80;

/// What has focus, as [`Session::tab_to`] sees it.
struct Focus {
    matches: bool,
    name: String,
    /// Whether anything on the page matches at all.
    present: bool,
}

/// The demo account `email`.
fn demo_user(email: &str) -> Result<&'static haven_server::demo::DemoUser> {
    let users: &'static [haven_server::demo::DemoUser] = &haven_server::demo::USERS;
    users
        .iter()
        .find(|u| u.email == email)
        .ok_or_else(|| format!("{email} is not a demo user"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Browser {
    Chromium,
    Firefox,
    WebKit,
}

/// The last TOTP time step used per (origin, email): a server accepts each step's code
/// once, so a person signing in twice within 30 seconds needs the next step's code.
static TOTP_USED: std::sync::Mutex<std::collections::BTreeMap<(String, String), u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

const WEBKIT_BROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// A port nothing listens on now, for a server or a driver.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A child process killed when dropped.
struct Owned(Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver in a process group of its own, killed with everything it started when
/// dropped: a browser left open by a failed test (or one not closed) goes with it
/// instead of living on.
struct Driver(Owned);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// An X server for WebKit, on the first free display number.
fn start_xvfb() -> Result<(Owned, String)> {
    for n in 90..190 {
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
        if lock.exists() {
            // A display whose X server was killed leaves its lock behind: reuse it.
            let holder = std::fs::read_to_string(&lock)
                .ok()
                .and_then(|pid| pid.trim().parse::<u32>().ok());
            let alive = holder.is_none_or(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if alive {
                continue;
            }
            let _ = std::fs::remove_file(&lock);
            let _ = std::fs::remove_file(&socket);
        } else if socket.exists() {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1280x1024x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start Xvfb: {e}"))?;
        let mut child = Owned(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if socket.exists() {
                return Ok((child, format!(":{n}")));
            }
            if let Ok(Some(_)) = child.0.try_wait() {
                break; // lost a race for this display; try the next one
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Err("no display for Xvfb".into())
}

/// One browser session with its driver (and X server), all released on drop.
pub struct Session {
    pub client: Client,
    pub browser: Browser,
    _profile: tempfile::TempDir,
    _driver: Driver,
    _xvfb: Option<Owned>,
}

impl Browser {
    pub const ALL: [Browser; 3] = [Browser::Chromium, Browser::Firefox, Browser::WebKit];

    pub fn name(self) -> &'static str {
        match self {
            Self::Chromium => "Chromium",
            Self::Firefox => "Firefox",
            Self::WebKit => "WebKit",
        }
    }

    /// `extra`: more command-line arguments, for Chromium only.
    fn capabilities(self, profile: &Path, extra: &[&str]) -> Capabilities {
        let mut chromium_args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .map(str::to_owned)
        .to_vec();
        chromium_args.push(format!("--user-data-dir={}", profile.display()));
        chromium_args.extend(extra.iter().map(|a| (*a).to_owned()));
        let caps = match self {
            Self::Chromium => json!({
                "browserName": "chrome",
                "acceptInsecureCerts": true,
                "goog:loggingPrefs": { "browser": "ALL" },
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": chromium_args,
                },
            }),
            Self::Firefox => json!({
                "browserName": "firefox",
                "acceptInsecureCerts": true,
                "moz:firefoxOptions": {
                    "binary": "/usr/bin/firefox-esr",
                    "args": ["-headless"],
                    "prefs": {
                        "network.http.http3.enable": false,
                        "network.captive-portal-service.enabled": false,
                        "network.connectivity-service.enabled": false,
                        "app.update.enabled": false,
                        "datareporting.policy.dataSubmissionEnabled": false,
                        "browser.safebrowsing.malware.enabled": false,
                        "browser.safebrowsing.phishing.enabled": false,
                    },
                },
            }),
            Self::WebKit => json!({
                "browserName": "MiniBrowser",
                "acceptInsecureCerts": true,
                "webkitgtk:browserOptions": {
                    "binary": WEBKIT_BROWSER,
                    "args": ["--automation"],
                },
            }),
        };
        match caps {
            Value::Object(map) => map,
            _ => Capabilities::new(),
        }
    }

    fn driver(self, port: u16, display: Option<&str>) -> Result<Driver> {
        let port_arg = format!("--port={port}");
        let mut cmd = match self {
            Self::Chromium => {
                let mut c = Command::new("/usr/bin/chromedriver");
                c.arg(&port_arg);
                c
            }
            Self::Firefox => {
                let gecko = std::env::var_os("GECKODRIVER").unwrap_or_else(|| "geckodriver".into());
                let mut c = Command::new(gecko);
                c.args(["--port", &port.to_string(), "--host", "127.0.0.1"]);
                c
            }
            Self::WebKit => {
                let mut c = Command::new("/usr/bin/WebKitWebDriver");
                c.arg(&port_arg);
                c
            }
        };
        if let Some(display) = display {
            cmd.env("DISPLAY", display);
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd.spawn()
            .map(|child| Driver(Owned(child)))
            .map_err(|e| format!("cannot start the {} driver: {e}", self.name()))
    }
}

impl Session {
    pub async fn start(browser: Browser) -> Result<Self> {
        Self::start_with(browser, &[]).await
    }

    /// [`Session::start`] with more command-line arguments for the browser (Chromium).
    pub async fn start_with(browser: Browser, extra: &[&str]) -> Result<Self> {
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let xvfb = match browser {
            Browser::WebKit => Some(start_xvfb()?),
            _ => None,
        };
        let display = xvfb.as_ref().map(|(_, d)| d.as_str());
        let port = free_port()?;
        let driver = browser.driver(port, display)?;
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(browser.capabilities(profile.path(), extra));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        // The driver is ready when it accepts a session.
        let client = loop {
            match builder.connect(&url).await {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("{}: no session: {e}", browser.name()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Ok(Self {
            client,
            browser,
            _profile: profile,
            _driver: driver,
            _xvfb: xvfb.map(|(x, _)| x),
        })
    }

    pub async fn goto(&self, url: &str) -> Result {
        self.client
            .goto(url)
            .await
            .map_err(|e| format!("goto {url}: {e}"))
    }

    /// Reloads the page as a person pressing reload does, and waits until the new
    /// document has loaded.
    pub async fn reload(&self) -> Result {
        self.eval("window.__havenBeforeReload = true; setTimeout(() => location.reload(), 0); return true;")
            .await?;
        let deadline = Instant::now() + WAIT;
        // While the old document goes, a script may not run at all: that is no answer.
        let loaded = "return window.__havenBeforeReload === undefined && document.readyState === 'complete';";
        while self.eval(loaded).await.ok() != Some(Value::Bool(true)) {
            if Instant::now() > deadline {
                return Err(format!("{}: the page did not reload", self.browser.name()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Waits until `css` matches an element.
    pub async fn wait_for(&self, css: &str) -> Result {
        self.client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .map(|_| ())
            .map_err(|e| format!("{}: waiting for {css}: {e}", self.browser.name()))
    }

    /// Types `value` into the field `css`, replacing what was there.
    pub async fn fill(&self, css: &str, value: &str) -> Result {
        let field = self
            .client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("{css}: {e}"))?;
        field.clear().await.map_err(|e| format!("{css}: {e}"))?;
        field
            .send_keys(value)
            .await
            .map_err(|e| format!("{css}: {e}"))
    }

    /// Chooses `path` in the file input `css`, as a person picking a file does.
    pub async fn choose_file(&self, css: &str, path: &Path) -> Result {
        let path = path.to_str().ok_or("the file's path is not UTF-8")?;
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("{css}: {e}"))?
            .send_keys(path)
            .await
            .map_err(|e| format!("{css}: {e}"))
    }

    pub async fn click(&self, css: &str) -> Result {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("{css}: {e}"))?
            .click()
            .await
            .map(|_| ())
            .map_err(|e| format!("{css}: {e}"))
    }

    /// Signs a demo user in through the page: password, then a TOTP code when the role
    /// has one; waits until the signed-in app shows.
    pub async fn sign_in(&self, email: &str) -> Result {
        let user = demo_user(email)?;
        self.wait_for("#sign-in[data-step='password']").await?;
        self.fill("#email", user.email).await?;
        self.fill("#password", user.password).await?;
        self.click("#sign-in-submit").await?;
        if let Some(secret) = user.totp_secret {
            self.wait_for_step("code").await?;
            let code = self.demo_totp_code(email, &secret).await?;
            self.fill("#code", &code).await?;
            self.click("#code-submit").await?;
        }
        self.wait_signed_in(user.role.as_str()).await
    }

    /// As [`Session::sign_in`], with the keyboard only: Tab to each field, type, Enter
    /// (which submits the form). For a sign-in page just loaded, where nothing has focus
    /// yet and Tab starts from the top of the page.
    pub async fn sign_in_with_keyboard(&self, email: &str) -> Result {
        let user = demo_user(email)?;
        self.wait_for("#sign-in[data-step='password']").await?;
        self.tab_to("#email").await?;
        self.type_text(user.email).await?;
        self.tab_to("#password").await?;
        self.type_text(user.password).await?;
        self.press(&Key::Enter.to_string()).await?;
        if let Some(secret) = user.totp_secret {
            self.wait_for_step("code").await?;
            let code = self.demo_totp_code(email, &secret).await?;
            // The form was rebuilt for the new step, the new fields inserted before the
            // old ones went: the focus went with them, and the code field lies behind
            // where it was.
            self.shift_tab_to("#code").await?;
            self.type_text(&code).await?;
            self.press(&Key::Enter.to_string()).await?;
        }
        self.wait_signed_in(user.role.as_str()).await
    }

    /// Waits until the signed-in app shows for `role`, saying what the sign-in form
    /// shows if it does not.
    async fn wait_signed_in(&self, role: &str) -> Result {
        let signed_in = self
            .wait_for(&format!(".signed-in[data-role='{role}']"))
            .await;
        match signed_in {
            Ok(()) => Ok(()),
            Err(e) => Err(format!(
                "{e}; the page shows: {}",
                self.sign_in_state().await
            )),
        }
    }

    /// The code of a demo user's authenticator for a time step not yet used on this
    /// page's server (see [`Session::totp_step`]).
    async fn demo_totp_code(&self, email: &str, secret: &[u8]) -> Result<String> {
        let step = self.totp_step(email).await?;
        haven_server::secrets::totp_code(secret, step * haven_server::secrets::TOTP_STEP_SECS)
            .map_err(|e| e.to_string())
    }

    /// Presses `keys` on whatever has focus, one after the other, as a person at the
    /// keyboard does: each key goes down and up, except the modifiers (Shift, Control,
    /// Alt, Meta), which stay down until the end (or a [`Key::Null`]), so
    /// `format!("{}{}", Key::Shift, Key::Tab)` is Shift+Tab.
    ///
    /// Through WebDriver's actions, not Element Send Keys to the active element: that
    /// command treats its element by type (on a file input, chromedriver takes the keys
    /// for a file's path and fails), so a Tab could not leave a file input.
    pub async fn press(&self, keys: &str) -> Result {
        let modifiers = [Key::Shift, Key::Control, Key::Alt, Key::Meta].map(char::from);
        let null = char::from(Key::Null);
        let mut held: Vec<char> = Vec::new();
        let mut actions = KeyActions::new("keyboard".to_owned());
        for key in keys.chars() {
            if key == null {
                for down in held.drain(..).rev() {
                    actions = actions.then(KeyAction::Up { value: down });
                }
            } else if modifiers.contains(&key) {
                if !held.contains(&key) {
                    held.push(key);
                    actions = actions.then(KeyAction::Down { value: key });
                }
            } else {
                actions = actions
                    .then(KeyAction::Down { value: key })
                    .then(KeyAction::Up { value: key });
            }
        }
        for down in held.into_iter().rev() {
            actions = actions.then(KeyAction::Up { value: down });
        }
        self.client
            .perform_actions(actions)
            .await
            .map_err(|e| format!("{}: pressing {keys:?}: {e}", self.browser.name()))
    }

    /// Types `text` into whatever has focus.
    pub async fn type_text(&self, text: &str) -> Result {
        self.press(text).await
    }

    /// Presses Tab until the element with focus matches `css` (at most [`MAX_TABS`]
    /// times); what had focus at each step is in the error when it never does. Past the
    /// end of the page the browser wraps around to its top.
    pub async fn tab_to(&self, css: &str) -> Result {
        self.move_focus_to(css, false).await
    }

    /// As [`Session::tab_to`], backwards (Shift+Tab).
    pub async fn shift_tab_to(&self, css: &str) -> Result {
        self.move_focus_to(css, true).await
    }

    async fn move_focus_to(&self, css: &str, backwards: bool) -> Result {
        let (key, name) = if backwards {
            (format!("{}{}", Key::Shift, Key::Tab), "Shift+Tab")
        } else {
            (Key::Tab.to_string(), "Tab")
        };
        let mut trail = Vec::new();
        loop {
            let focus = self.focus(css).await?;
            if focus.matches {
                return Ok(());
            }
            trail.push(focus.name);
            if trail.len() > MAX_TABS {
                let there = if focus.present {
                    "it is on the page"
                } else {
                    "it is not on the page"
                };
                return Err(format!(
                    "{}: {MAX_TABS} presses of {name} never reached {css} ({there}); the focus was on: {}",
                    self.browser.name(),
                    trail.join(" → ")
                ));
            }
            self.press(&key).await?;
        }
    }

    /// Whether the element with focus matches `css`, and a short name for it.
    async fn focus(&self, css: &str) -> Result<Focus> {
        let script = r#"const [css] = arguments;
            const e = document.activeElement;
            const name = el => {
                if (!el) return 'nothing';
                if (el === document.body) return 'body';
                let s = el.tagName.toLowerCase();
                if (el.id) s += '#' + el.id;
                if (typeof el.className === 'string' && el.className.trim())
                    s += '.' + el.className.trim().split(/\s+/).join('.');
                for (const a of ['data-view', 'data-email', 'data-conversation', 'type'])
                    if (el.hasAttribute(a)) s += `[${a}="${el.getAttribute(a)}"]`;
                const row = el.parentElement?.closest('[data-email]');
                if (row) s += ` in [data-email="${row.dataset.email}"]`;
                return s;
            };
            return { matches: !!e && e.matches(css), name: name(e),
                present: document.querySelector(css) !== null };"#;
        let value = self
            .client
            .execute(script, vec![json!(css)])
            .await
            .map_err(|e| format!("{}: the focus, for {css}: {e}", self.browser.name()))?;
        Ok(Focus {
            matches: value["matches"] == Value::Bool(true),
            name: value["name"].as_str().unwrap_or("?").to_owned(),
            present: value["present"] == Value::Bool(true),
        })
    }

    /// Waits until the element with focus matches `css`.
    pub async fn wait_for_focus(&self, css: &str) -> Result {
        let css = serde_json::to_string(css).map_err(|e| e.to_string())?;
        self.wait_until(&format!(
            "return document.activeElement?.matches({css}) === true;"
        ))
        .await
    }

    /// Chooses `path` in the file input that has focus. WebDriver has no other way to
    /// choose a file than sending its path as keys to the input (no file dialog opens);
    /// here they go to the input the keyboard reached.
    pub async fn choose_file_in_focus(&self, path: &Path) -> Result {
        let path = path.to_str().ok_or("the file's path is not UTF-8")?;
        let focus = self.focus("input[type='file']").await?;
        if !focus.matches {
            return Err(format!(
                "{}: the focus is on {}, not on a file input",
                self.browser.name(),
                focus.name
            ));
        }
        self.client
            .active_element()
            .await
            .map_err(|e| format!("{}: the focused file input: {e}", self.browser.name()))?
            .send_keys(path)
            .await
            .map_err(|e| format!("{}: choosing {path}: {e}", self.browser.name()))
    }

    /// Waits for the sign-in form's `step`; on a timeout, says what the form shows.
    async fn wait_for_step(&self, step: &str) -> Result {
        match self
            .wait_for(&format!("#sign-in[data-step='{step}']"))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err(format!(
                "{e}; the page shows: {}",
                self.sign_in_state().await
            )),
        }
    }

    /// What the sign-in form shows (its step, error and notice), for a failure's message.
    async fn sign_in_state(&self) -> String {
        let script = "const q = s => document.querySelector(s);
            return JSON.stringify({ step: q('#sign-in')?.dataset.step ?? null,
                error: q('#sign-in-error')?.textContent ?? null,
                notice: q('#notice')?.textContent ?? null,
                path: location.pathname });";
        match self.eval(script).await {
            Ok(Value::String(state)) => state,
            Ok(other) => other.to_string(),
            Err(e) => e,
        }
    }

    /// A TOTP time step not yet used for `email` on this page's server, within the one
    /// step either way the server accepts; waits for the next step when none is left.
    async fn totp_step(&self, email: &str) -> Result<u64> {
        let origin = self
            .client
            .current_url()
            .await
            .map_err(|e| e.to_string())?
            .origin()
            .ascii_serialization();
        let key = (origin, email.to_owned());
        let period = haven_server::secrets::TOTP_STEP_SECS;
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_secs();
            let current = now / period;
            {
                let mut used = TOTP_USED.lock().map_err(|e| e.to_string())?;
                let step = used
                    .get(&key)
                    .map_or(current, |last| (last + 1).max(current.saturating_sub(1)));
                if step <= current + 1 {
                    used.insert(key, step);
                    return Ok(step);
                }
            }
            // The condition waited on is the clock itself: the next time step.
            tokio::time::sleep(Duration::from_secs(period - now % period)).await;
        }
    }

    /// Chooses the option `value` of the `<select>` `css`.
    pub async fn select(&self, css: &str, value: &str) -> Result {
        self.client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("{css}: {e}"))?
            .select_by_value(value)
            .await
            .map_err(|e| format!("{css}: {e}"))
    }

    /// Sets the value of the control `css` and fires `event` (`input`, `change`) on it,
    /// as a person's choice arrives: for controls a driver cannot type into (a colour
    /// picker) or will not operate headless (Firefox and a closed `<select>`).
    pub async fn set_value(&self, css: &str, value: &str, event: &str) -> Result {
        let script = format!(
            "const c = document.querySelector({css:?}); if (!c) return false; c.value = {value:?}; \
             c.dispatchEvent(new Event({event:?}, {{ bubbles: true }})); return true;"
        );
        match self.eval(&script).await? {
            Value::Bool(true) => Ok(()),
            _ => Err(format!("{}: no {css} to set", self.browser.name())),
        }
    }

    /// Waits until `script` (the body of a function) returns `true`.
    pub async fn wait_until(&self, script: &str) -> Result {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.eval(script).await? == Value::Bool(true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{}: waiting until {script}", self.browser.name()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A Chrome DevTools Protocol command, through chromedriver (Chromium only).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        if self.browser != Browser::Chromium {
            return Err(format!("{}: no DevTools protocol", self.browser.name()));
        }
        self.client
            .issue_cmd(Cdp {
                cmd: cmd.to_owned(),
                params,
            })
            .await
            .map_err(|e| format!("{cmd}: {e}"))
    }

    /// Makes the page's viewport exactly `width` by `height` CSS pixels at one device
    /// pixel per CSS pixel; `mobile` also makes the page behave as on a phone (viewport
    /// meta tag, overlay scrollbars).
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) -> Result {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile }),
        )
        .await
        .map(|_| ())
    }

    pub async fn eval(&self, script: &str) -> Result<Value> {
        self.client
            .execute(script, Vec::new())
            .await
            .map_err(|e| format!("{}: {script}: {e}", self.browser.name()))
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        let script = format!("return document.querySelector({css:?})?.textContent ?? null;");
        match self.eval(&script).await? {
            Value::String(s) => Ok(s),
            other => Err(format!("{css}: no text ({other})")),
        }
    }

    /// Console entries at level SEVERE. Only chromedriver exposes the console; the other
    /// browsers are checked through the page's own counters (`diagnostics.rs`).
    pub async fn console_errors(&self) -> Result<Vec<String>> {
        if self.browser != Browser::Chromium {
            return Ok(Vec::new());
        }
        let logs = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .map_err(|e| format!("browser log: {e}"))?;
        Ok(logs
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn close(self) -> Result {
        let Self { client, .. } = self;
        client.close().await.map_err(|e| e.to_string())
    }
}

/// chromedriver's `POST /session/{id}/se/log`.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "browser" }).to_string()),
        )
    }
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}

/// Where `cargo xtask` put the built pieces.
pub fn env_path(name: &str) -> Result<PathBuf> {
    std::env::var_os(name).map(PathBuf::from).ok_or_else(|| {
        format!("{name} is not set: run the end-to-end tests through `cargo xtask test`")
    })
}

/// The real `haven-server` binary, as a person would run it.
pub struct ServerProcess {
    child: Option<Owned>,
    pub port: u16,
    pub data: PathBuf,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts on `port` (0: any free port) and waits until it says where it listens.
    pub fn start(data: &Path, port: u16, extra: &[&str]) -> Result<Self> {
        let bin = env_path("HAVEN_SERVER_BIN")?;
        let dist = env_path("HAVEN_DIST")?;
        std::fs::create_dir_all(data).map_err(|e| e.to_string())?;
        // Appended to across restarts, so a test can read everything the server said.
        let log = data.join("server.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data")
            .arg(data)
            .arg("--static-dir")
            .arg(dist)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start haven-server: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let child = Owned(child);
        let mut lines = BufReader::new(stdout).lines();
        let port = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("Haven is running at ") {
                        let port = url
                            .trim_end_matches('/')
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.parse::<u16>().ok())
                            .ok_or_else(|| format!("unexpected start line: {line}"))?;
                        break port;
                    }
                }
                _ => {
                    let log = std::fs::read_to_string(&log).unwrap_or_default();
                    return Err(format!("haven-server exited before listening:\n{log}"));
                }
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self {
            child: Some(child),
            port,
            data: data.to_path_buf(),
            log,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// The server's process id while it runs, to read its memory from `/proc`.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|child| child.0.id())
    }

    /// SIGKILL: no graceful shutdown, as in a crash.
    pub fn kill(&mut self) {
        self.child = None;
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A logo for [`set_default_brand`]: its (claimed) content hash and its SVG.
pub struct Logo<'a> {
    pub hash: &'a str,
    pub svg: &'a [u8],
}

/// Gives the default organisation of the server keeping its data in `data` a brand,
/// written straight into its store (as a test's or a benchmark's setting, not through
/// the admin API): colours, default language and, optionally, a logo.
pub async fn set_default_brand(
    data: &Path,
    colours: &haven_protocol::BrandColours,
    language: &str,
    logo: Option<Logo<'_>>,
) -> Result {
    let db = haven_server::store::open(data)
        .await
        .map_err(|e| e.to_string())?;
    let fail = |e: sqlx::Error| e.to_string();
    if let Some(logo) = &logo {
        sqlx::query("INSERT INTO brand_logos (org_id, hash, content_type, bytes, created_at) SELECT id, ?, 'image/svg+xml', ?, 0 FROM organisations WHERE is_default = 1")
            .bind(logo.hash)
            .bind(logo.svg)
            .execute(&db)
            .await
            .map_err(fail)?;
    }
    let colours = serde_json::to_string(colours).map_err(|e| e.to_string())?;
    sqlx::query("INSERT OR REPLACE INTO organisation_brands (org_id, colours, support, language, logo_hash, updated_at) SELECT id, ?, '', ?, ?, 0 FROM organisations WHERE is_default = 1")
        .bind(colours)
        .bind(language)
        .bind(logo.map(|l| l.hash))
        .execute(&db)
        .await
        .map_err(fail)?;
    Ok(())
}
