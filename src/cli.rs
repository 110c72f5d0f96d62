//! Command-line interface (CONTRACT.md): argument parsing and the one-shot
//! commands (`snapshot`, `wifi`, `check-config`, `simulate`, `demo`).

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{CameraConfig, Config, ConfigError};
use crate::io::{EventSink, SessionCommand, SocketFactory, UdpFactory};
use crate::model::{CameraCommand, MediaFrame, Protocol};
use crate::proto::SessionEvent;
use crate::secret::Secret;
use crate::sim::runner::{DemoSimOptions, SimCamera};
use crate::supervisor::{demo_spec, CameraSpec};

/// cam2mqtt: cheap Wi-Fi cameras → MQTT with Home Assistant discovery.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Config file (TOML).
    #[arg(long, global = true, env = "CAM2MQTT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log level or filter (error, warn, info, debug, trace, or a tracing filter).
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    /// Directory for settings changed at runtime, tokens and device caches
    /// (`/data` in the add-on). Default: `$XDG_STATE_HOME/cam2mqtt` or `~/.local/state/cam2mqtt`.
    #[arg(long, global = true, env = "CAM2MQTT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the bridge (the default).
    Run,
    /// Embedded broker + simulated cameras + the bridge: try it with nothing installed.
    Demo(DemoArgs),
    /// Run simulated cameras speaking the camera side of a protocol.
    Simulate(SimulateArgs),
    /// Save one JPEG from a camera and exit.
    Snapshot(SnapshotArgs),
    /// Send Wi-Fi settings to a camera and report its answer.
    Wifi(WifiArgs),
    /// Load and validate the config; print it with secrets redacted.
    CheckConfig,
}

/// `demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the embedded MQTT broker.
    #[arg(long, default_value = crate::app::DEFAULT_EMBEDDED_LISTEN)]
    pub mqtt_listen: SocketAddr,
    /// Address of the web UI (reserved: the web UI arrives in a later release).
    #[arg(long, default_value = "127.0.0.1:8099")]
    pub http_listen: SocketAddr,
    /// Seconds between snapshots.
    #[arg(long, default_value_t = 5)]
    pub snapshot_interval: u32,
}

/// Protocols `simulate` can speak.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SimProtocol {
    /// A9 demo mode.
    Demo,
    /// PPPP (not yet available).
    Pppp,
    /// TUTK/Wyze (not yet available).
    Tutk,
}

/// `simulate` flags.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Protocol to speak.
    #[arg(long, value_enum)]
    pub protocol: SimProtocol,
    /// First listen address; demo cameras use three consecutive ports each
    /// (video, audio, Wi-Fi). Port 0 picks free ports.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Number of cameras.
    #[arg(long, default_value_t = 1)]
    pub count: u16,
    /// Probability of dropping each datagram the camera sends (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Frames per second.
    #[arg(long, default_value_t = 10)]
    pub fps: u32,
    /// Picture size, WIDTHxHEIGHT.
    #[arg(long, default_value = "640x480")]
    pub size: String,
}

/// `snapshot` flags.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Camera id from the config, or a demo-mode address `host[:video_port]`.
    pub camera: String,
    /// Output file (default `<camera>.jpg`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Give up after this long.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `wifi` flags.
#[derive(Debug, Args)]
pub struct WifiArgs {
    /// Camera id from the config, or a demo-mode address `host[:video_port]`.
    pub camera: String,
    /// Network name.
    #[arg(long)]
    pub ssid: String,
    /// File whose first line is the password.
    #[arg(long, conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
    /// `-` reads the password from standard input (never pass it on the command line).
    #[arg(long)]
    pub password: Option<String>,
}

impl Cli {
    /// The state directory: `--state-dir`, else the XDG state directory.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.state_dir.clone().or_else(|| {
            std::env::var_os("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
                .map(|d| d.join("cam2mqtt"))
        })
    }
}

/// Errors that map to exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Finds a camera by config id or parses `host[:port]` as a demo-mode camera.
async fn find_camera(cfg: &Config, name: &str) -> anyhow::Result<CameraSpec> {
    let cameras = crate::supervisor::configured_cameras(cfg).await?;
    if let Some(spec) = cameras
        .into_iter()
        .find(|c| c.info.id.as_str() == name || c.info.uid == name)
    {
        return Ok(spec);
    }
    let (host, port) = match name.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| UsageError(format!("bad port in {name:?}")))?,
        ),
        None => (name, 8080),
    };
    if host.is_empty() {
        return Err(UsageError(format!(
            "{name:?} is neither a configured camera nor host[:port]"
        ))
        .into());
    }
    let mut cam = CameraConfig::demo(host);
    cam.video_port = port;
    if port != 8080 {
        // The simulator's layout: video, audio, Wi-Fi on consecutive ports.
        cam.audio_port = port.saturating_add(1);
        cam.command_port = port.saturating_add(2);
    }
    Ok(demo_spec(&cam, 0, "camera").await?)
}

struct Capture {
    first: Option<oneshot::Sender<bytes::Bytes>>,
}

impl EventSink for Capture {
    fn event(&mut self, event: SessionEvent) {
        if let SessionEvent::Media(MediaFrame::Jpeg(j)) = event {
            if let Some(tx) = self.first.take() {
                let _ = tx.send(j);
            }
        }
    }
}

/// Runs a session for `spec` until `f` is done with it.
async fn with_session<T>(
    spec: &CameraSpec,
    f: impl AsyncFnOnce(
        &mpsc::Sender<SessionCommand>,
        oneshot::Receiver<bytes::Bytes>,
    ) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let socket = UdpFactory
        .bind_for(spec.info.address)
        .await
        .context("binding a UDP socket")?;
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let (frame_tx, frame_rx) = oneshot::channel();
    let cancel = CancellationToken::new();
    let sink = Capture {
        first: Some(frame_tx),
    };
    let driver = spec
        .session
        .clone()
        .spawn(socket, cmd_rx, sink, cancel.clone());
    let result = f(&cmd_tx, frame_rx).await;
    cancel.cancel();
    let _ = driver.await;
    result
}

/// `cam2mqtt snapshot`.
pub async fn snapshot(cfg: &Config, args: SnapshotArgs) -> anyhow::Result<()> {
    let spec = find_camera(cfg, &args.camera).await?;
    let jpeg = with_session(&spec, async |_, frame| {
        tokio::time::timeout(args.timeout, frame)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "no complete frame from {} within {:?}",
                    spec.info.address,
                    args.timeout
                )
            })?
            .context("session ended")
    })
    .await?;
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{}.jpg", spec.info.id)));
    std::fs::write(&path, &jpeg).with_context(|| format!("writing {}", path.display()))?;
    println!("{} bytes written to {}", jpeg.len(), path.display());
    Ok(())
}

/// `cam2mqtt wifi`.
pub async fn wifi(cfg: &Config, args: WifiArgs) -> anyhow::Result<()> {
    let password = match (&args.password_file, args.password.as_deref()) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Secret::new(text.lines().next().unwrap_or_default())
        }
        (None, Some("-")) => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("reading the password from stdin")?;
            Secret::new(text.lines().next().unwrap_or_default())
        }
        (None, Some(_)) => bail!(UsageError("--password only takes '-' (read from stdin), so the password stays out of shell history; or use --password-file".into())),
        (None, None) => Secret::default(),
    };
    let spec = find_camera(cfg, &args.camera).await?;
    if spec.info.protocol != Protocol::Demo {
        bail!("Wi-Fi setup is only implemented for demo-mode cameras in this release");
    }
    let command = CameraCommand::SetWifi {
        ssid: args.ssid.clone(),
        password,
    };
    let result = with_session(&spec, async |cmds, _| {
        let (tx, rx) = oneshot::channel();
        cmds.send(SessionCommand { command, reply: tx })
            .await
            .context("session ended")?;
        rx.await.context("session ended")
    })
    .await?;
    match result {
        Ok(()) => {
            println!(
                "camera {} accepted Wi-Fi {:?}; it now leaves demo mode and joins that network",
                spec.info.id, args.ssid
            );
            Ok(())
        }
        Err(e) => bail!("camera {}: {e}", spec.info.id),
    }
}

/// `cam2mqtt check-config`.
pub fn check_config(cfg: &Config) {
    print!("{}", cfg.redacted_toml());
    let _ = std::io::stdout().flush();
}

fn parse_size(s: &str) -> anyhow::Result<(u32, u32)> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| UsageError(format!("--size {s:?}: expected WIDTHxHEIGHT")))?;
    let (w, h) = (w.parse::<u32>()?, h.parse::<u32>()?);
    if !(16..=4096).contains(&w) || !(16..=4096).contains(&h) {
        bail!(UsageError(
            "--size: width and height must be 16 to 4096".into()
        ));
    }
    Ok((w, h))
}

/// `cam2mqtt simulate`.
pub async fn simulate(
    args: SimulateArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    if !matches!(args.protocol, SimProtocol::Demo) {
        bail!(UsageError(format!(
            "--protocol {:?} is not available yet; this release simulates demo",
            args.protocol
        )));
    }
    if !(0.0..=1.0).contains(&args.loss) {
        bail!(UsageError("--loss must be between 0 and 1".into()));
    }
    let (width, height) = parse_size(&args.size)?;
    let mut cams = Vec::new();
    for i in 0..args.count {
        let base = if args.listen.port() == 0 {
            0
        } else {
            args.listen.port().saturating_add(i.saturating_mul(3))
        };
        let opts = DemoSimOptions {
            label: format!("sim{i}"),
            ip: args.listen.ip(),
            base_port: base,
            width,
            height,
            fps: args.fps,
            loss: args.loss,
            seed: u64::from(i),
        };
        cams.push(SimCamera::spawn_demo(opts).await?);
    }
    println!(
        "# {} simulated demo-mode camera(s). Add to your cam2mqtt config:",
        cams.len()
    );
    for c in &cams {
        print!("{}", c.config_snippet());
    }
    let _ = std::io::stdout().flush();
    shutdown.await;
    for c in cams {
        c.stop().await;
    }
    Ok(())
}

/// `cam2mqtt demo`.
pub async fn demo(
    args: DemoArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let sim = SimCamera::spawn_demo(DemoSimOptions::default()).await?;
    let mut cfg = Config::default();
    cfg.mqtt.url = "embedded".into();
    cfg.mqtt.client_id = "cam2mqtt-demo".into();
    cfg.snapshots.interval_s = args.snapshot_interval;
    cfg.http.listen = args.http_listen.to_string();
    let mut cam = sim.camera_config();
    cam.id = "demo_a9".into();
    cam.name = "Demo A9 camera".into();
    cfg.cameras.push(cam);
    cfg.validate().map_err(|e| anyhow::anyhow!(e))?;
    let cameras = crate::supervisor::configured_cameras(&cfg).await?;
    let opts = crate::app::RunOptions {
        embedded_listen: args.mqtt_listen,
        ..Default::default()
    };
    let (ip, port) = (args.mqtt_listen.ip(), args.mqtt_listen.port());
    println!("cam2mqtt demo");
    println!("  MQTT broker (embedded): mqtt://{}", args.mqtt_listen);
    println!(
        "  simulated cameras:      demo_a9 (A9 demo mode, video on {})",
        sim.video_addr()
    );
    println!(
        "  web UI:                 http://{} (arrives in a later release)",
        args.http_listen
    );
    println!("  watch it:               mosquitto_sub -h {ip} -p {port} -t 'cam2mqtt/#' -v");
    println!("  press Ctrl-C to stop");
    let _ = std::io::stdout().flush();
    let result = crate::app::run_with(cfg, cameras, UdpFactory, opts, shutdown).await;
    sim.stop().await;
    result
}

/// Maps an error to the contract's exit codes (2 = usage or config, 1 = runtime).
pub fn exit_code(e: &anyhow::Error) -> i32 {
    if e.downcast_ref::<ConfigError>().is_some() || e.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}
