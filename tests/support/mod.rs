//! Test harness: a real mosquitto on a free loopback port, an MQTT recorder,
//! the bridge as a subprocess, and the sans-IO `Pair` stepper.
#![allow(dead_code)]
// each test binary uses a different part
// Out-of-process tests (mosquitto, the bridge binary) run in real time and measure it.
#![allow(clippy::disallowed_methods)]

pub mod contract;
pub mod pair;
pub mod rtsp;
pub mod two_socket;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A free TCP port on 127.0.0.1 (tiny race with whoever binds next; callers retry).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on loopback")
}

/// A mosquitto broker for one test, killed on drop.
pub struct Mosquitto {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Starts mosquitto with anonymous access on a free loopback port.
    pub fn start() -> Self {
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port();
            let conf = dir.path().join("mosquitto.conf");
            // As root, mosquitto would switch to the `mosquitto` user; keep the
            // user we are so it can read the config in our temp dir.
            let user = std::env::var("USER").unwrap_or_default();
            let as_root = user == "root" || unsafe_is_root();
            let log = dir.path().join("mosquitto.log");
            // Bursts of 1,000 QoS 1 messages must not hit mosquitto's default
            // per-client queue of 1,000 (it would drop what a test counts).
            let mut text = format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\nlog_dest file {}\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nconnection_messages true\n",
                log.display()
            );
            if as_root {
                text.push_str("user root\n");
            }
            std::fs::write(&conf, text).expect("write mosquitto.conf");
            let child = match Command::new("mosquitto")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                Ok(c) => c,
                Err(e) => panic!("cannot start mosquitto ({e}); install it: apt-get install -y mosquitto mosquitto-clients"),
            };
            let mut m = Self {
                child,
                port,
                _dir: dir,
            };
            if wait_tcp(m.addr(), Duration::from_secs(5)) {
                return m;
            }
            let _ = m.child.kill();
        }
        panic!("mosquitto did not start");
    }

    /// Kills the broker (losing every retained message: no persistence) and
    /// starts a fresh one on the same port.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let conf = self._dir.path().join("mosquitto.conf");
        for _ in 0..50 {
            if let Ok(child) = Command::new("mosquitto")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
            {
                self.child = child;
                if wait_tcp(self.addr(), Duration::from_secs(2)) {
                    return;
                }
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("mosquitto did not restart on port {}", self.port);
    }

    /// Kills the broker; [`Mosquitto::resume`] starts it again.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the broker again on the same port after [`Mosquitto::stop`]
    /// (retained messages are gone: no persistence).
    pub fn resume(&mut self) {
        self.restart();
    }

    /// mosquitto's log (connections, disconnections, warnings).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `mqtt://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unsafe_is_root() -> bool {
    // No libc: ask the id command, good enough for a test harness.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_tcp(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// One received MQTT message.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// Retain flag as delivered (true only for replayed retained messages).
    pub retain: bool,
    /// When it arrived.
    pub at: Instant,
}

impl Msg {
    /// The payload as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
    /// The payload as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// Records every message on the given filters.
pub struct Recorder {
    /// Client for publishing.
    pub client: AsyncClient,
    msgs: Arc<Mutex<Vec<Msg>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Connects to `port` and subscribes to `filters`.
    pub async fn connect(port: u16, filters: &[&str]) -> Self {
        let id = format!("test-{}", rand_suffix());
        let mut opts = MqttOptions::new(id, "127.0.0.1", port);
        opts.set_max_packet_size(16 << 20, 16 << 20);
        let (client, mut eventloop) = AsyncClient::new(opts, 100);
        for f in filters {
            client
                .subscribe(*f, QoS::AtLeastOnce)
                .await
                .expect("subscribe");
        }
        let msgs = Arc::new(Mutex::new(Vec::new()));
        let sink = msgs.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => sink.lock().unwrap().push(Msg {
                        topic: p.topic.clone(),
                        payload: p.payload.clone(),
                        retain: p.retain,
                        at: Instant::now(),
                    }),
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        Self { client, msgs, task }
    }

    /// Everything received so far.
    pub fn all(&self) -> Vec<Msg> {
        self.msgs.lock().unwrap().clone()
    }

    /// Messages on `topic`.
    pub fn on(&self, topic: &str) -> Vec<Msg> {
        self.all()
            .into_iter()
            .filter(|m| m.topic == topic)
            .collect()
    }

    /// Forgets what was received.
    pub fn clear(&self) {
        self.msgs.lock().unwrap().clear();
    }

    /// Waits until `pred` holds for the messages received, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[Msg]) -> bool,
    ) -> Vec<Msg> {
        let deadline = Instant::now() + timeout;
        loop {
            let msgs = self.all();
            if pred(&msgs) {
                return msgs;
            }
            if Instant::now() > deadline {
                let topics: Vec<String> = msgs
                    .iter()
                    .map(|m| format!("{} ({}B)", m.topic, m.payload.len()))
                    .collect();
                panic!("timed out after {timeout:?} waiting for {what}; received: {topics:#?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Publishes a non-retained message.
    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await
            .expect("publish");
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// The bridge as a subprocess (`cam2mqtt run`), with its log captured.
pub struct Bridge {
    child: Child,
    /// Where its stderr goes.
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bridge {
    /// Starts `cam2mqtt run --config <toml>` with `RUST_LOG`-style `log_level`.
    pub fn run(config_toml: &str, log_level: &str) -> Self {
        Self::run_with_state(config_toml, log_level, None)
    }

    /// The same, keeping its state in `state_dir` (a fresh one when `None`).
    pub fn run_with_state(
        config_toml: &str,
        log_level: &str,
        state_dir: Option<&std::path::Path>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let state =
            state_dir.map_or_else(|| dir.path().join("state"), std::path::Path::to_path_buf);
        let conf = dir.path().join("cam2mqtt.toml");
        std::fs::write(&conf, config_toml).expect("write config");
        let log = dir.path().join("bridge.log");
        let child = Command::new(env!("CARGO_BIN_EXE_cam2mqtt"))
            .args(["--log-level", log_level, "--config"])
            .arg(&conf)
            .arg("--state-dir")
            .arg(state)
            .arg("run")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("spawn cam2mqtt");
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    /// Starts the binary with `args` and extra environment (for runs that are
    /// not `--config`, such as the add-on's `--addon-options`).
    pub fn spawn(args: &[&std::ffi::OsStr], env: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("bridge.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cam2mqtt"));
        cmd.args(args)
            .env_remove("RUST_LOG")
            .env_remove("SUPERVISOR_TOKEN")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn cam2mqtt");
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then waits (at most `limit`) for a clean exit; true if it exited.
    pub fn terminate(&mut self, limit: Duration) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends `signal` (`INT`, `TERM`), then waits (at most `limit`) for the
    /// process to exit; its exit status if it did.
    pub fn signal(&mut self, signal: &str, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL: no clean shutdown, so the broker must publish the last will.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where the bridge's `server` (`"http"` or `"rtsp"`) listens, read from
    /// the line its log gives it ([`listening_in`]).
    pub fn listening(&self, server: &str) -> SocketAddr {
        listening_in(&self.log, server)
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A config for `cam2mqtt run` with the given broker and camera entries.
pub fn bridge_config(mqtt_url: &str, extra: &str) -> String {
    format!(
        "[mqtt]\nurl = \"{mqtt_url}\"\nclient_id = \"cam2mqtt-test\"\n\n[snapshots]\ninterval_s = 2\n\n[rtsp]\nlisten = \"\"\n\n[http]\nlisten = \"\"\n\n[discovery]\n# Tests send nothing beyond loopback.\npppp_broadcast = false\ntutk_broadcast = false\n\n{extra}"
    )
}

/// The `event` messages of camera `cam`, as JSON.
pub fn events(msgs: &[Msg], cam: &str) -> Vec<serde_json::Value> {
    msgs.iter()
        .filter(|m| m.topic == format!("cam2mqtt/{cam}/event"))
        .map(Msg::json)
        .collect()
}

/// A simulated demo-mode camera of `width`x`height` on free loopback ports.
pub async fn demo_sim(
    label: &str,
    seed: u64,
    width: u32,
    height: u32,
) -> cam2mqtt::sim::runner::SimCamera {
    cam2mqtt::sim::runner::SimCamera::spawn_demo(cam2mqtt::sim::runner::DemoSimOptions {
        label: label.into(),
        width,
        height,
        seed,
        ..cam2mqtt::sim::runner::DemoSimOptions::default()
    })
    .await
    .expect("simulated camera")
}

/// A `[[cameras]]` entry with id `id` for the simulated demo-mode camera `cam`.
pub fn camera_toml(id: &str, cam: &cam2mqtt::sim::runner::SimCamera) -> String {
    cam.config_snippet()
        .replacen("[[cameras]]\n", &format!("[[cameras]]\nid = \"{id}\"\n"), 1)
}

/// Where the `server` (`"http"` or `"rtsp"`) of the bridge (or demo) that
/// logs to `log` listens, read from the line its log gives it. A config that
/// asks for port 0 lets the kernel choose, so no other process takes the
/// port between choosing and binding (as it can with [`free_port`]).
pub fn listening_in(log: &std::path::Path, server: &str) -> SocketAddr {
    let marker = match server {
        "http" => "API on http://",
        "rtsp" => "RTSP streams on rtsp://",
        other => panic!("no server {other:?}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let addr = text
            .split(marker)
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok());
        if let Some(addr) = addr {
            return addr;
        }
        assert!(
            Instant::now() < deadline,
            "it never said where its {server} server listens; log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
