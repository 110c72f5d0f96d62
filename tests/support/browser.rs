//! Headless Chromium for the web UI tests: chromedriver on a loopback port,
//! a browser that fetches nothing on its own (and has a fake microphone that
//! beeps), screenshots, and waiting for a script's answer.
//!
//! Not a module of `support` (which every test binary compiles): the web UI
//! tests include it with `#[path = "support/browser.rs"] mod browser;`.
#![allow(dead_code)] // each web UI test uses a different part

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::support;

/// Chromium and chromedriver, or None (with a message) when they are missing
/// outside CI. In CI a missing browser fails the test.
pub fn browser_programs(test: &str) -> Option<(PathBuf, PathBuf)> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| which(n));
    let chromedriver = which("chromedriver");
    match (chromium, chromedriver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let what = format!(
                "chromium {} and chromedriver {}",
                if c.is_some() { "found" } else { "missing" },
                if d.is_some() { "found" } else { "missing" }
            );
            if std::env::var_os("CI").is_some() {
                panic!(
                    "{what}; tests/run.sh installs them (apt-get install chromium chromium-driver)"
                );
            }
            eprintln!(
                "SKIPPED {test}: {what}. Install them (apt-get install chromium chromium-driver, or run tests/run.sh) to run it; in CI it fails instead."
            );
            None
        }
    }
}

/// The program `name` on the `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `$CARGO_TARGET_DIR/web-ui`, or `target/web-ui` in the package.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("web-ui")
}

/// A screenshot of the top of the page, to `dir/name`.
pub async fn save_screenshot(client: &Client, dir: &Path, name: &str) {
    client
        .execute("window.scrollTo(0, 0); return null;", vec![])
        .await
        .expect("scroll to the top");
    save_view(client, dir, name).await;
}

/// A screenshot of what the window shows now, to `dir/name`.
pub async fn save_view(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.expect("take a screenshot");
    std::fs::write(dir.join(name), png).expect("write the screenshot");
}

/// What failure messages add: the end of the server's log.
pub struct Ctx {
    /// The log file of the process under test.
    pub log: PathBuf,
    /// What it is ("demo", "bridge"), for the message.
    pub what: &'static str,
}

impl Ctx {
    /// The last 30 lines of the log, as a message's tail.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(30);
        format!(
            "\n--- end of the {}'s log ---\n{}",
            self.what,
            lines[from..].join("\n")
        )
    }
}

/// Runs `script` until `ready` accepts its value or `timeout` passes.
pub async fn wait_js(
    client: &Client,
    ctx: &Ctx,
    what: &str,
    timeout: Duration,
    script: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    wait_script(client, ctx, what, timeout, script, false, ready).await
}

/// [`wait_js`] for a script that answers through its callback argument.
pub async fn wait_async_js(
    client: &Client,
    ctx: &Ctx,
    what: &str,
    timeout: Duration,
    script: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    wait_script(client, ctx, what, timeout, script, true, ready).await
}

pub async fn wait_script(
    client: &Client,
    ctx: &Ctx,
    what: &str,
    timeout: Duration,
    script: &str,
    callback: bool,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = if callback {
            client.execute_async(script, vec![]).await
        } else {
            client.execute(script, vec![]).await
        };
        let last = match answer {
            Ok(v) if ready(&v) => return v,
            Ok(v) => v,
            Err(e) => json!(format!("script failed: {e}")),
        };
        if Instant::now() >= deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}; last seen: {last}{}",
                ctx.tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A child process killed (and reaped) on drop; with `group`, its whole
/// process group (it was started as the leader of a new one).
pub struct Proc {
    child: Child,
    group: bool,
}

impl Proc {
    pub fn spawn(what: &str, cmd: &mut Command, group: bool) -> Self {
        if group {
            use std::os::unix::process::CommandExt as _;
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Self { child, group }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.group {
            // The group we created: chromedriver and the browser it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver on a free loopback port. On drop it ends the browser session
/// (so Chromium quits) and then kills chromedriver's process group.
pub struct Driver {
    port: u16,
    session: Option<String>,
    // Dropped after `Drop::drop` ran: the session is ended first.
    _proc: Proc,
}

impl Driver {
    pub fn start(chromedriver: &Path, dir: &Path) -> Self {
        let port = support::free_port();
        let proc = Proc::spawn(
            "chromedriver",
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!(
                    "--log-path={}",
                    dir.join("chromedriver.log").display()
                ))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            true,
        );
        assert!(
            support::wait_tcp(([127, 0, 0, 1], port).into(), Duration::from_secs(15)),
            "chromedriver listens on {port}"
        );
        Self {
            port,
            session: None,
            _proc: proc,
        }
    }

    /// A headless Chromium session that fetches nothing on its own: no
    /// component updates, sync, field trials or safe browsing; host names
    /// other than loopback do not resolve, and other addresses go to a closed
    /// local proxy port (loopback bypasses proxies).
    pub async fn connect(&mut self, chromium: &Path, profile: &Path, closed_port: u16) -> Client {
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-sync".into(),
            "--metrics-recording-only".into(),
            "--disable-default-apps".into(),
            "--disable-extensions".into(),
            "--disable-domain-reliability".into(),
            "--disable-client-side-phishing-detection".into(),
            "--disable-breakpad".into(),
            "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,InterestFeedContentSuggestions,CertificateTransparencyComponentUpdater".into(),
            "--safebrowsing-disable-auto-update".into(),
            "--password-store=basic".into(),
            "--use-mock-keychain".into(),
            "--hide-scrollbars".into(),
            // A fake microphone (a beep) that needs no permission prompt,
            // for push-to-talk.
            "--use-fake-ui-for-media-stream".into(),
            "--use-fake-device-for-media-stream".into(),
            "--autoplay-policy=no-user-gesture-required".into(),
            "--lang=en-US".into(),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1".into(),
            format!("--proxy-server=http://127.0.0.1:{closed_port}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        // DOMContentLoaded is enough: live MJPEG images never finish loading.
        caps.insert("pageLoadStrategy".into(), json!("eager"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("start headless Chromium through chromedriver: {e}"));
        self.session = client.session_id().await.ok().flatten();
        client
    }

    /// Ends the session cleanly (Chromium quits).
    pub async fn close(&mut self, client: Client) {
        if client.close().await.is_ok() {
            self.session = None;
        }
    }

    /// Runs a Chrome DevTools command through chromedriver (fantoccini has
    /// no call for it).
    pub fn cdp(&self, cmd: &str, params: Value) {
        let id = self.session.as_deref().expect("a browser session");
        let body = json!({ "cmd": cmd, "params": params }).to_string();
        let answer = self.request("POST", &format!("/session/{id}/goog/cdp/execute"), &body);
        assert!(answer.starts_with("HTTP/1.1 200"), "{cmd}: {answer}");
    }

    /// One plain HTTP/1.1 request to chromedriver; its answer as text.
    fn request(&self, method: &str, path: &str, body: &str) -> String {
        let addr = ([127, 0, 0, 1], self.port).into();
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            return String::new();
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        // Up to the end of the body: chromedriver may keep the connection.
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = s.read(&mut buf) {
            answer.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if answer.len() >= head_end + 4 + length {
                    break;
                }
            }
        }
        String::from_utf8_lossy(&answer).into_owned()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // On a failure the fantoccini client is gone without ending the
        // session: DELETE it by hand so chromedriver quits Chromium.
        if let Some(id) = self.session.take() {
            self.request("DELETE", &format!("/session/{id}"), "");
        }
    }
}
