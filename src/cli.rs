//! Command-line interface (CONTRACT.md): argument parsing and the one-shot
//! commands (`snapshot`, `wifi`, `check-config`, `simulate`, `demo`).
//!
//! `snapshot` and `wifi` run their camera the way the bridge does (the
//! supervisor and one camera task on a hub of their own, see [`with_camera`]):
//! there is no second session runner, so a camera answers the CLI as it
//! answers the bridge.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand, ValueEnum};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bus::{BridgeEvent, CommandInput, Hub};
use crate::config::{CameraKind, Config, ConfigError};
use crate::discovery::{CameraSpec, Listing};
use crate::io::UdpFactory;
use crate::model::IntercomSource;
use crate::model::{CameraCommand, CameraId};
use crate::publisher::remote::RemoteBridge;
use crate::secret::Secret;
use crate::sim::runner::{DemoSimOptions, SimCamera};
use crate::supervisor::{CameraSettings, Supervisor};

/// cam2mqtt: cheap Wi-Fi cameras → MQTT with Home Assistant discovery.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Config file (TOML).
    #[arg(long, global = true, env = "CAM2MQTT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Home Assistant add-on options (`/data/options.json`): the config comes
    /// from them (and an optional `/config/config.toml` under them) instead of
    /// `--config`. Found by itself when running as an add-on.
    #[arg(long, global = true, conflicts_with = "config")]
    pub addon_options: Option<PathBuf>,
    /// Log level or filter (error, warn, info, debug, trace, or a tracing
    /// filter). Default: info, or the add-on's `log_level` option.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
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
    /// Play an audio file or URL on a camera's speaker (intercom).
    Talk(TalkArgs),
    /// Run every discovery source once and list the cameras found.
    Discover(DiscoverArgs),
    /// Load and validate the config; print it with secrets redacted.
    CheckConfig,
}

/// `discover` flags.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// How long to wait for answers.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Search only `discovery.unicast_hosts`: no LAN broadcasts.
    #[arg(long)]
    pub no_broadcast: bool,
}

/// `demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address of the embedded MQTT broker.
    #[arg(long, default_value = crate::app::DEFAULT_EMBEDDED_LISTEN)]
    pub mqtt_listen: SocketAddr,
    /// Address of the web UI, live streams and API.
    #[arg(long, default_value = "127.0.0.1:8099")]
    pub http_listen: SocketAddr,
    /// Address of the RTSP server (`rtsp://ADDR/<camera>`).
    #[arg(long, default_value = "127.0.0.1:8554")]
    pub rtsp_listen: SocketAddr,
    /// Seconds between snapshots.
    #[arg(long, default_value_t = 5)]
    pub snapshot_interval: u32,
}

/// Protocols `simulate` can speak.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SimProtocol {
    /// A9 demo mode.
    Demo,
    /// PPPP (CS2).
    Pppp,
    /// TUTK (Wyze).
    Tutk,
}

/// `simulate` flags.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Protocol to speak.
    #[arg(long, value_enum, default_value = "demo")]
    pub protocol: SimProtocol,
    /// First listen address. Demo cameras use three consecutive ports each
    /// (video, audio, Wi-Fi); PPPP cameras answer LAN searches there (default
    /// port 32108; with a fixed port, camera N listens on the Nth next IP, like
    /// cameras on a LAN). Port 0 picks free ports. Default 127.0.0.1:0 for
    /// demo, 127.0.0.1:32108 for pppp, 127.0.0.1:32761 for tutk.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// PPPP command dialect.
    #[arg(long, value_enum, default_value = "json")]
    pub dialect: SimDialect,
    /// PPPP key: a PSK name, `none` or 4 hex bytes (default: json `camera`,
    /// binary none, cgi `@@@@....`).
    #[arg(long)]
    pub psk: Option<String>,
    /// UID of the first camera (the others count up from its serial; for
    /// tutk from its trailing digits). Default: a made-up one.
    #[arg(long)]
    pub uid: Option<String>,
    /// TUTK ENR (default: a made-up 32-character one).
    #[arg(long)]
    pub enr: Option<String>,
    /// TUTK MAC (default: a made-up one; the others count up).
    #[arg(long)]
    pub mac: Option<String>,
    /// TUTK transport the camera answers: transcode (older firmware) or cc51
    /// (V4 firmware ≥ 4.52.9.5332).
    #[arg(long, default_value = "transcode")]
    pub transport: String,
    /// TUTK K-auth status: 1, 3 or 6 take a login; 2 (updating), 4
    /// (checking ENR) and 5 (off) refuse one.
    #[arg(long, default_value_t = 3)]
    pub auth_status: u8,
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
    /// Write what each camera hears on its speaker (intercom) into DIR, per
    /// playback: the payload as received (`.ulaw`, `.alaw`, `.pcm`,
    /// `.adpcm`, named by codec and rate) and a decoded `.wav`.
    #[arg(long, value_name = "DIR")]
    pub record_audio: Option<PathBuf>,
}

/// PPPP dialects `simulate` can speak.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SimDialect {
    /// JSON (HDWiFiCamPro).
    Json,
    /// Binary iLnk (YsxLite).
    Binary,
    /// CGI over PPPP (Little Stars; experimental).
    Cgi,
}

impl From<SimDialect> for crate::proto::pppp::dialect::Dialect {
    fn from(d: SimDialect) -> Self {
        match d {
            SimDialect::Json => Self::Json,
            SimDialect::Binary => Self::Binary,
            SimDialect::Cgi => Self::Cgi,
        }
    }
}

/// `snapshot` flags.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Camera id from the config; a UID (of a configured camera, of the Wyze
    /// account, or of a PPPP camera found by LAN search); or a demo-mode
    /// camera's address `host[:video_port]`. If a bridge for this config is
    /// running (its `bridge/state` is `online` on the broker), it is asked
    /// instead.
    pub camera: String,
    /// Output file (default `<camera id>.jpg`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Give up after this long.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Search by UID only at `discovery.unicast_hosts`: no LAN broadcasts.
    #[arg(long)]
    pub no_broadcast: bool,
    /// Talk to the camera even when a bridge for this config is running (the
    /// bridge then loses the camera while this runs). By default the running
    /// bridge is asked for the snapshot instead.
    #[arg(long)]
    pub direct: bool,
}

/// `talk` flags.
#[derive(Debug, Args)]
pub struct TalkArgs {
    /// Camera id from the config, or a UID (as for `snapshot`). If a bridge
    /// for this config is running, it plays the audio.
    pub camera: String,
    /// An audio file (WAV, MP3, OGG, FLAC, AAC) or an http(s) URL.
    pub audio: String,
    /// Gain, 0.0–2.0.
    #[arg(long, default_value_t = 1.0)]
    pub volume: f32,
    /// How long the camera may take to come online.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Search by UID only at `discovery.unicast_hosts`: no LAN broadcasts.
    #[arg(long)]
    pub no_broadcast: bool,
    /// Talk to the camera even when a bridge for this config is running.
    #[arg(long)]
    pub direct: bool,
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
    /// The add-on options file: `--addon-options`, or `/data/options.json`
    /// when running as an add-on.
    pub fn addon_options(&self) -> Option<PathBuf> {
        if self.config.is_some() {
            return None;
        }
        self.addon_options.clone().or_else(crate::addon::detect)
    }

    /// The state directory: `--state-dir`, else `/data` for the add-on, else
    /// the XDG state directory.
    pub fn state_dir(&self) -> Option<PathBuf> {
        if self.state_dir.is_none() && self.addon_options().is_some() && Path::new("/data").is_dir()
        {
            return Some(PathBuf::from(crate::addon::STATE_DIR));
        }
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

/// Finds a camera by config id or UID, or takes `ip` / `host:port` as a
/// demo-mode camera's address. A camera reached by address counts as silent
/// only after `silence` (the command's own timeout).
async fn find_camera(
    cfg: &Config,
    state_dir: Option<PathBuf>,
    name: &str,
    silence: Duration,
) -> anyhow::Result<CameraSpec> {
    let sources = crate::discovery::configured::sources(cfg, state_dir).await?;
    let all = sources.configured_specs();
    let known: Vec<&CameraSpec> = all.iter().collect();
    // By id or UID (the rule the HTTP API shares: CameraInfo::answers_to).
    let wanted_uid = name
        .parse::<crate::proto::pppp::uid::Uid>()
        .ok()
        .map(|u| u.compact());
    if let Some(spec) = known.iter().find(|c| c.info.answers_to(name)) {
        return Ok((*spec).clone());
    }
    // A Wyze camera of the account (by its id or UID).
    if let Some(wyze) = &sources.wyze {
        if let Some(d) = wyze
            .scan()
            .await
            .into_iter()
            .find(|d| d.spec.info.answers_to(name))
        {
            return Ok(d.spec);
        }
    }
    // A PPPP camera by UID that the config does not name: search the LAN for it.
    if let (Some(uid), Some(pppp)) = (wanted_uid.as_ref(), &sources.pppp) {
        eprintln!("searching for {name}: {}", search_note(cfg));
        let found = pppp.scan(&UdpFactory, Duration::from_secs(3)).await;
        if let Some(d) = found.into_iter().find(|d| d.spec.info.uid == *uid) {
            return Ok(d.spec);
        }
        bail!(UsageError(format!(
            "no PPPP camera {name:?} answered a LAN search"
        )));
    }
    // Not a configured camera: only an address is taken, never a name to look up.
    let is_address = name.parse::<std::net::IpAddr>().is_ok() || name.contains(':');
    if !is_address {
        let ids: Vec<&str> = known.iter().map(|c| c.info.id.as_str()).collect();
        bail!(UsageError(format!(
            "no camera {name:?} in the config ({}); to reach a demo-mode camera by address, give its IP or host:port, e.g. 192.168.4.153",
            if ids.is_empty() {
                "it names no cameras".to_string()
            } else {
                format!("configured: {}", ids.join(", "))
            }
        )));
    }
    let mut cam = crate::discovery::configured::demo_host_entry(name)
        .map_err(|e| UsageError(format!("{name:?} is not an address: {e}")))?;
    let CameraKind::Demo(demo) = &mut cam.kind else {
        bail!(UsageError(format!("{name:?} is not a camera")));
    };
    // Silent only after the command's own timeout, which then speaks first.
    demo.silence_timeout_s = u32::try_from(silence.as_secs().saturating_add(2)).unwrap_or(u32::MAX);
    let demo = demo.clone();
    Ok(crate::discovery::configured::demo_spec(&cam, &demo, 0, "camera").await?)
}

/// Runs one camera exactly as the bridge does (the supervisor, its camera
/// task and the one command gate, on a hub of its own, with no MQTT and no
/// HTTP), hands `f` the hub and the camera's id, then stops it.
async fn with_camera<T>(
    cfg: &Config,
    spec: CameraSpec,
    f: impl AsyncFnOnce(&Hub, &CameraId) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let id = spec.info.id.clone();
    let (requests_tx, requests_rx) = mpsc::channel(8);
    let hub = Hub::new(requests_tx);
    let (discovery_tx, discovery_rx) = mpsc::channel(1);
    let (rescan_tx, _rescan_rx) = mpsc::channel(1);
    let (forget_tx, _forget_rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    let settings = CameraSettings {
        max_bytes: cfg.snapshots.max_bytes,
        jpeg_quality: cfg.snapshots.jpeg_quality,
        core: crate::supervisor::core::CoreSettings::default(),
        state_dir: None,
        decode_pool: crate::supervisor::snapshot_pool(1).context("starting a decode thread")?,
        live: crate::media::live::LiveSettings::default(),
        tts: crate::supervisor::tts::Tts::from_config(&cfg.homeassistant).map(std::sync::Arc::new),
    };
    let supervisor = Supervisor::new(
        std::sync::Arc::new(UdpFactory),
        settings,
        hub.clone(),
        forget_tx,
        cancel.clone(),
        0x5eed,
    );
    let running = tokio::spawn(supervisor.run(discovery_rx, requests_rx, rescan_tx));
    discovery_tx
        .send(crate::discovery::DiscoveryEvent::Found(Box::new(spec)))
        .await
        .context("the camera runner stopped")?;
    let result = f(&hub, &id).await;
    cancel.cancel();
    let _ = running.await;
    result
}

/// Waits until `pred` holds for camera `id`'s events (checking the view
/// first), at most `timeout`; then says why not, with the camera's last error.
async fn wait_camera(
    hub: &Hub,
    id: &CameraId,
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut(&BridgeEvent) -> bool,
) -> anyhow::Result<()> {
    let mut events = hub.subscribe();
    let why_not = |hub: &Hub| {
        hub.read(|v| {
            v.get(id)
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.last_error.clone())
        })
    };
    let deadline = crate::io::clock::deadline_now() + timeout;
    loop {
        let event = match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(event)) => event,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) | Err(_) => {
                match why_not(hub) {
                    Some(e) => bail!("{what} ({e})"),
                    None => bail!("{what}"),
                }
            }
        };
        if let BridgeEvent::State { camera, state } = &event {
            if camera == id && state.session == crate::bus::SessionPhase::AuthFailed {
                bail!(
                    "{what}: the camera rejected the credentials ({})",
                    state.last_error.as_deref().unwrap_or("auth failed")
                );
            }
        }
        if pred(&event) {
            return Ok(());
        }
    }
}

/// `cam2mqtt snapshot`.
pub async fn snapshot(
    cfg: &Config,
    state_dir: Option<PathBuf>,
    args: SnapshotArgs,
) -> anyhow::Result<()> {
    let cfg = &broadcasts(cfg, !args.no_broadcast);
    if !args.direct {
        if let Some(mut bridge) = RemoteBridge::find(&cfg.mqtt, BRIDGE_LOOKUP).await {
            if let Some(id) = bridge.camera_id(&args.camera) {
                eprintln!(
                    "a bridge for this config is running (bridge/state online on {}): asking it for a snapshot of {id} (--direct talks to the camera instead)",
                    bridge.url
                );
                let jpeg = bridge.snapshot(&id, args.timeout).await;
                bridge.close().await;
                let jpeg = jpeg?;
                let path = args
                    .output
                    .unwrap_or_else(|| PathBuf::from(format!("{id}.jpg")));
                std::fs::write(&path, &jpeg)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("{} bytes written to {}", jpeg.len(), path.display());
                return Ok(());
            }
            bridge.close().await;
        }
    }
    let spec = find_camera(cfg, state_dir, &args.camera, args.timeout).await?;
    if matches!(spec.info.reach, crate::model::Reach::Uid { .. })
        && spec.info.protocol == crate::model::Protocol::Tutk
    {
        eprintln!("looking for {}: {}", spec.info.id, search_note(cfg));
    }
    let reach = spec.info.reach.to_string();
    let out_id = spec.info.id.clone();
    // The camera publishes its first picture as soon as it delivers one.
    let jpeg = with_camera(cfg, spec, async |hub, id| {
        let what = format!(
            "no complete frame from {reach} within {} (is it reachable, and are its keys right?)",
            humantime::format_duration(args.timeout)
        );
        wait_camera(
            hub,
            id,
            args.timeout,
            &what,
            |e| matches!(e, BridgeEvent::Snapshot { camera, .. } if camera == id),
        )
        .await?;
        hub.read(|v| {
            v.get(id)
                .and_then(|c| c.snapshot.as_ref().map(|s| s.jpeg.clone()))
        })
        .context("the snapshot vanished")
    })
    .await?;
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{out_id}.jpg")));
    std::fs::write(&path, &jpeg).with_context(|| format!("writing {}", path.display()))?;
    println!("{} bytes written to {}", jpeg.len(), path.display());
    Ok(())
}

/// `cam2mqtt talk`.
pub async fn talk(cfg: &Config, state_dir: Option<PathBuf>, args: TalkArgs) -> anyhow::Result<()> {
    let cfg = &broadcasts(cfg, !args.no_broadcast);
    let volume = crate::command::volume(Some(f64::from(args.volume)), &args.volume.to_string())
        .map_err(|e| UsageError(e.to_string()))?;
    let url = args.audio.starts_with("http://") || args.audio.starts_with("https://");
    let source = if url {
        IntercomSource::Url(args.audio.clone())
    } else {
        let bytes =
            std::fs::read(&args.audio).with_context(|| format!("reading {}", args.audio))?;
        IntercomSource::File(bytes.into())
    };
    let wait = crate::command::PLAYBACK_WAIT;
    if !args.direct {
        if let Some(mut bridge) = RemoteBridge::find(&cfg.mqtt, BRIDGE_LOOKUP).await {
            if let Some(id) = bridge.camera_id(&args.camera) {
                eprintln!(
                    "a bridge for this config is running (bridge/state online on {}): it plays the audio on {id} (--direct talks to the camera instead)",
                    bridge.url
                );
                let payload = match &source {
                    IntercomSource::Url(u) if (volume - 1.0).abs() > f32::EPSILON => {
                        serde_json::json!({ "url": u, "volume": volume })
                            .to_string()
                            .into()
                    }
                    IntercomSource::Url(u) => serde_json::json!({ "url": u }).to_string().into(),
                    IntercomSource::File(b) => b.clone(),
                    IntercomSource::Live(_) | IntercomSource::Say(_) => bytes::Bytes::new(),
                };
                if matches!(source, IntercomSource::File(_)) && (volume - 1.0).abs() > f32::EPSILON
                {
                    eprintln!("note: over MQTT a file plays at volume 1.0 (--volume applies to URLs, or use --direct)");
                }
                let ev = bridge.command(&id, "intercom", payload, wait).await;
                bridge.close().await;
                let ev = ev?;
                println!("played on {id}: {}", ev["playback"]);
                return Ok(());
            }
            bridge.close().await;
        }
    }
    let spec = find_camera(cfg, state_dir, &args.camera, args.timeout).await?;
    let command = CameraCommand::Intercom(crate::model::IntercomRequest {
        source,
        volume,
        mode: crate::model::PlaybackMode::Refuse,
    });
    let timeout = args.timeout;
    let played = with_camera(cfg, spec, async |hub, id| {
        wait_camera(
            hub,
            id,
            timeout,
            &format!(
                "camera {id} did not come online within {}",
                humantime::format_duration(timeout)
            ),
            |e| matches!(e, BridgeEvent::Availability { camera, online: true } if camera == id),
        )
        .await?;
        // A Wyze camera says whether it has a speaker when it logs in: its
        // description is updated with the first picture.
        let mut events = hub.subscribe();
        let result = hub
            .command(id.clone(), CommandInput::Parsed(command), wait)
            .await;
        let mut report = None;
        while let Ok(ev) = events.try_recv() {
            if let BridgeEvent::CommandResult {
                camera,
                playback: Some(p),
                ..
            } = ev
            {
                if camera == *id {
                    report = Some(p);
                }
            }
        }
        result.map_err(|e| anyhow::anyhow!("camera {id}: {e}"))?;
        Ok((id.clone(), report))
    })
    .await?;
    match played {
        (id, Some(p)) => println!(
            "played {:.1} s of {:.1} s on {id}",
            p.played.as_secs_f64(),
            p.duration.as_secs_f64()
        ),
        (id, None) => println!("played on {id}"),
    }
    Ok(())
}

/// `cam2mqtt wifi`.
pub async fn wifi(cfg: &Config, state_dir: Option<PathBuf>, args: WifiArgs) -> anyhow::Result<()> {
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
    let spec = find_camera(cfg, state_dir, &args.camera, Duration::from_secs(30)).await?;
    let command = CameraCommand::SetWifi {
        ssid: args.ssid.clone(),
        password,
    };
    let info = spec.info.clone();
    // The one gate says at once if the camera cannot do this at all.
    crate::command::check(&info, &command)
        .map_err(|e| anyhow::anyhow!("camera {}: {e}", info.id))?;
    let result = with_camera(cfg, spec, async |hub, id| {
        wait_camera(
            hub,
            id,
            Duration::from_secs(30),
            &format!("camera {id} did not come online within 30s"),
            |e| matches!(e, BridgeEvent::Availability { camera, online: true } if camera == id),
        )
        .await?;
        Ok(hub
            .command(
                id.clone(),
                CommandInput::Parsed(command),
                Duration::from_secs(30),
            )
            .await)
    })
    .await?;
    let spec_info = info;
    match result {
        Ok(()) => {
            let leaves = if spec_info.protocol == crate::model::Protocol::Demo {
                "leaves demo mode and "
            } else {
                "reboots and "
            };
            println!(
                "camera {} accepted Wi-Fi {:?}; it now {leaves}joins that network",
                spec_info.id, args.ssid
            );
            Ok(())
        }
        Err(e) => bail!("camera {}: {e}", spec_info.id),
    }
}

/// `cam2mqtt discover`: runs every discovery source once and prints the cameras.
pub async fn discover(
    cfg: &Config,
    state_dir: Option<PathBuf>,
    args: DiscoverArgs,
) -> anyhow::Result<()> {
    let cfg = &broadcasts(cfg, !args.no_broadcast);
    eprintln!("{}", search_note(cfg));
    let sources = crate::discovery::configured::sources(cfg, state_dir).await?;
    let found = sources
        .scan(&UdpFactory, args.timeout, &Default::default())
        .await;
    let listings: Vec<Listing> = found.iter().map(Listing::from).collect();
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&listings)?)
    } else if listings.is_empty() {
        "no cameras found (configured cameras, demo_mode_hosts, PPPP and TUTK LAN searches and the Wyze account were asked)\n".to_string()
    } else {
        let mut t = format!(
            "{:<6} {:<28} {:<24} {:<22} {:<18} source\n",
            "proto", "id", "uid", "address", "model"
        );
        for l in &listings {
            t.push_str(&format!("{l}\n"));
        }
        t
    };
    print_out(&text)
}

/// Writes `text` to standard output. A reader that went away (`| head`)
/// is not an error: the output is simply not wanted any more (`println!`
/// would panic on the broken pipe).
fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to standard output"))
        }
        _ => Ok(()),
    }
}

/// How long `snapshot` looks for a running bridge on the config's broker.
const BRIDGE_LOOKUP: Duration = Duration::from_secs(3);

/// `cfg` with the LAN broadcasts left as configured (`allow`) or turned off.
fn broadcasts(cfg: &Config, allow: bool) -> Config {
    let mut cfg = cfg.clone();
    if !allow {
        cfg.discovery.pppp_broadcast = false;
        cfg.discovery.tutk_broadcast = false;
    }
    cfg
}

/// Where the LAN searches of `cfg` send, in words.
fn search_note(cfg: &Config) -> String {
    let d = &cfg.discovery;
    // The TUTK search looks only for Wyze cameras without an address: the
    // account's, and configured ones without `host`.
    let tutk_wanted = !cfg.wyze.email.is_empty()
        || cfg
            .cameras
            .iter()
            .any(|c| matches!(&c.kind, CameraKind::Tutk(t) if t.host.is_empty()));
    let mut parts = Vec::new();
    for (on, broadcast, name, port) in [
        (d.pppp_lan_search, d.pppp_broadcast, "PPPP", 32108),
        (
            d.tutk_lan_search && tutk_wanted,
            d.tutk_broadcast,
            "TUTK",
            32761,
        ),
    ] {
        if !on {
            continue;
        }
        let mut to = Vec::new();
        if broadcast {
            to.push(format!("broadcast 255.255.255.255:{port}"));
        }
        if !d.unicast_hosts.is_empty() {
            to.push(format!("unicast {}", d.unicast_hosts.join(", ")));
        }
        if to.is_empty() {
            to.push("nowhere (no broadcast, no discovery.unicast_hosts)".into());
        }
        parts.push(format!("{name} LAN search to {}", to.join(" and ")));
    }
    if parts.is_empty() {
        return "LAN searches are off".into();
    }
    let hint = if (d.pppp_lan_search && d.pppp_broadcast)
        || (d.tutk_lan_search && tutk_wanted && d.tutk_broadcast)
    {
        "; --no-broadcast searches only discovery.unicast_hosts"
    } else {
        ""
    };
    format!("{}{hint}", parts.join("; "))
}

/// `cam2mqtt check-config`; `from_file` is false when no config file was given.
pub fn check_config(cfg: &Config, from_file: bool) {
    if !from_file {
        eprintln!(
            "note: no --config file given (nor CAM2MQTT_CONFIG): this is the built-in default configuration with any CAM2MQTT__* environment overrides"
        );
    }
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
    if !(0.0..=1.0).contains(&args.loss) {
        bail!(UsageError("--loss must be between 0 and 1".into()));
    }
    let (width, height) = parse_size(&args.size)?;
    match args.protocol {
        SimProtocol::Demo => simulate_demo(&args, width, height, shutdown).await,
        SimProtocol::Pppp => simulate_pppp(&args, width, height, shutdown).await,
        SimProtocol::Tutk => simulate_tutk(&args, width, height, shutdown).await,
    }
}

async fn simulate_demo(
    args: &SimulateArgs,
    width: u32,
    height: u32,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut cams = Vec::new();
    for i in 0..args.count {
        let base = if listen.port() == 0 {
            0
        } else {
            listen.port().saturating_add(i.saturating_mul(3))
        };
        let opts = DemoSimOptions {
            label: format!("sim{i}"),
            ip: listen.ip(),
            base_port: base,
            width,
            height,
            fps: args.fps,
            loss: args.loss,
            seed: u64::from(i),
            return_to_demo_after: Some(RETURN_TO_DEMO),
        };
        cams.push(SimCamera::spawn_demo(opts).await?);
    }
    let mut text = format!(
        "# {} simulated demo-mode camera(s). Add to your cam2mqtt config:\n",
        cams.len()
    );
    for c in &cams {
        text.push_str(&c.config_snippet());
    }
    print_out(&text)?;
    shutdown.await;
    for c in cams {
        c.stop().await;
    }
    Ok(())
}

/// The `i`th address after `first` (the next IPv4 addresses for a fixed port).
fn nth_listen(first: SocketAddr, i: u16) -> SocketAddr {
    match (first.ip(), first.port()) {
        (_, 0) => first,
        (std::net::IpAddr::V4(v4), port) => SocketAddr::from((
            std::net::Ipv4Addr::from(u32::from(v4).wrapping_add(u32::from(i))),
            port,
        )),
        (ip, port) => SocketAddr::new(ip, port.saturating_add(i)),
    }
}

async fn simulate_pppp(
    args: &SimulateArgs,
    width: u32,
    height: u32,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use crate::proto::pppp::uid::Uid;
    use crate::sim::runner::PpppSimOptions;
    let listen = args.listen.unwrap_or_else(|| {
        SocketAddr::from(([127, 0, 0, 1], crate::proto::pppp::wire::LAN_SEARCH_PORT))
    });
    if let Some(psk) = &args.psk {
        crate::proto::pppp::obfuscate::parse_psk_setting(psk)
            .map_err(|e| UsageError(format!("--psk: {e}")))?;
    }
    let dialect: crate::proto::pppp::dialect::Dialect = args.dialect.into();
    // Without --uid the dialect's made-up UID; the others count up from it.
    let first_uid: Uid = match args.uid.as_deref() {
        Some(u) => u
            .parse()
            .map_err(|e| UsageError(format!("--uid {u:?}: {e}")))?,
        None => crate::sim::pppp::PpppCameraConfig::new(dialect).uid,
    };
    let mut cams = Vec::new();
    for i in 0..args.count {
        let u = &first_uid;
        let uid = Some(
            Uid::new(u.prefix(), u.serial().wrapping_add(u32::from(i)), u.check())
                .unwrap_or_else(|_| u.clone()),
        );
        let opts = PpppSimOptions {
            dialect,
            psk: args.psk.clone(),
            uid,
            label: format!("pppp{i}"),
            listen: nth_listen(listen, i),
            width,
            height,
            fps: args.fps,
            loss: args.loss,
            seed: u64::from(i),
            ..PpppSimOptions::default()
        };
        let cam = SimCamera::spawn_pppp(opts).await.with_context(|| {
            format!(
                "binding {} (is another camera or simulator there?)",
                nth_listen(listen, i)
            )
        })?;
        cams.push(cam);
    }
    let mut text = format!(
        "# {} simulated PPPP camera(s) ({:?} dialect). Add to your cam2mqtt config:\n",
        cams.len(),
        args.dialect
    );
    for c in &cams {
        text.push_str(&c.config_snippet(&c.default_id()));
    }
    print_out(&text)?;
    let recorders = record_audio(
        args,
        cams.iter().map(|c| {
            let h = c.handle().clone();
            (
                c.default_id(),
                Box::new(move || h.playbacks()) as PlaybackReader,
            )
        }),
    )?;
    shutdown.await;
    for r in recorders {
        r.abort();
    }
    for c in cams {
        c.stop().await;
    }
    Ok(())
}

/// Reads a simulated camera's playbacks.
type PlaybackReader = Box<dyn Fn() -> Vec<crate::sim::playback::Playback> + Send>;

/// `--record-audio DIR`: a task per camera writing each finished playback.
fn record_audio(
    args: &SimulateArgs,
    cams: impl Iterator<Item = (String, PlaybackReader)>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let Some(dir) = &args.record_audio else {
        return Ok(Vec::new());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("recording what the cameras hear into {}", dir.display());
    Ok(cams
        .map(|(label, read)| tokio::spawn(crate::sim::playback::record(dir.clone(), label, read)))
        .collect())
}

/// The `i`th TUTK UID after `first`: its trailing digits count up (same
/// width); with no trailing digits, the last characters become the number.
fn nth_tutk_uid(first: &str, i: u16) -> String {
    if i == 0 {
        return first.to_owned();
    }
    let digits = first
        .bytes()
        .rev()
        .take_while(u8::is_ascii_digit)
        .count()
        .max(4);
    let digits = digits.min(first.len()).min(9);
    let (head, tail) = first.split_at(first.len() - digits);
    let n: u64 = tail.parse().unwrap_or(0) + u64::from(i);
    let n = format!("{n:0digits$}");
    format!("{head}{}", &n[n.len() - digits..])
}

/// The `i`th MAC after `first` (its last byte counts up, wrapping).
fn nth_mac(first: &str, i: u16) -> String {
    let hex: String = first.chars().filter(char::is_ascii_hexdigit).collect();
    match u64::from_str_radix(&hex, 16) {
        Ok(v) if hex.len() == 12 => {
            format!("{:012X}", (v.wrapping_add(u64::from(i))) & 0xFFFF_FFFF_FFFF)
        }
        _ => first.to_owned(),
    }
}

async fn simulate_tutk(
    args: &SimulateArgs,
    width: u32,
    height: u32,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use crate::proto::tutk::auth::ChallengeStatus;
    use crate::proto::tutk::kcmd::FrameSize;
    use crate::sim::runner::TutkSimOptions;
    use crate::sim::tutk::{Transport, DEFAULT_MAC, DEFAULT_UID};
    let listen = args.listen.unwrap_or_else(|| {
        SocketAddr::from(([127, 0, 0, 1], crate::proto::tutk::iotc::DEFAULT_PORT))
    });
    let transport: Transport = args
        .transport
        .parse()
        .map_err(|e| UsageError(format!("--transport: {e}")))?;
    let auth_status = match ChallengeStatus::from_byte(args.auth_status) {
        ChallengeStatus::Unknown(b) => bail!(UsageError(format!(
            "--auth-status {b}: one of 1, 3, 6 (or 2, 4, 5 to refuse logins)"
        ))),
        s => s,
    };
    // 640x480 is the flag's default for the other protocols: a Wyze camera
    // starts at 640x360 instead.
    let resolution = match FrameSize::from_dimensions(width, height) {
        Some(s) => s,
        None if (width, height) == (640, 480) => FrameSize::Sd360,
        None => bail!(UsageError(format!(
            "--size {width}x{height}: a Wyze size (640x360, 1280x720, 1920x1080, 2560x1440)"
        ))),
    };
    let first_uid = args.uid.clone().unwrap_or_else(|| DEFAULT_UID.to_owned());
    let first_mac = args.mac.clone().unwrap_or_else(|| DEFAULT_MAC.to_owned());
    let mut cams = Vec::new();
    for i in 0..args.count {
        let opts = TutkSimOptions {
            uid: Some(nth_tutk_uid(&first_uid, i)),
            enr: args.enr.clone(),
            mac: Some(nth_mac(&first_mac, i)),
            listen: nth_listen(listen, i),
            transport,
            auth_status,
            resolution,
            fps: args.fps,
            loss: args.loss,
            seed: u64::from(i),
            ..TutkSimOptions::default()
        };
        let cam = SimCamera::spawn_tutk(opts).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidInput {
                anyhow::Error::new(UsageError(e.to_string()))
            } else {
                anyhow::Error::new(e).context(format!(
                    "binding {} (is another camera or simulator there?)",
                    nth_listen(listen, i)
                ))
            }
        })?;
        cams.push(cam);
    }
    let mut text = format!(
        "# {} simulated Wyze (TUTK) camera(s) ({transport}). Add to your cam2mqtt config:\n",
        cams.len()
    );
    for c in &cams {
        text.push_str(&c.config_snippet(&c.default_id()));
    }
    print_out(&text)?;
    let recorders = record_audio(
        args,
        cams.iter().map(|c| {
            let h = c.handle().clone();
            (
                c.default_id(),
                Box::new(move || h.playbacks()) as PlaybackReader,
            )
        }),
    )?;
    shutdown.await;
    for r in recorders {
        r.abort();
    }
    for c in cams {
        c.stop().await;
    }
    Ok(())
}

/// A simulated camera that was sent Wi-Fi settings comes back in demo mode this
/// much later (a real one does when it cannot join the network it was given),
/// so a demo survives trying `set/wifi`.
pub const RETURN_TO_DEMO: Duration = Duration::from_secs(30);

/// The `mosquitto_sub` lines that watch a bridge without dumping JPEG bytes
/// into the terminal: everything but snapshots as text, snapshots as sizes.
pub fn watch_lines(ip: std::net::IpAddr, port: u16) -> [String; 2] {
    [
        format!("mosquitto_sub -h {ip} -p {port} -v -t 'cam2mqtt/#' -T 'cam2mqtt/+/snapshot'"),
        format!("mosquitto_sub -h {ip} -p {port} -t 'cam2mqtt/+/snapshot' -F '%t %l bytes'"),
    ]
}

/// `cam2mqtt demo`.
pub async fn demo(
    args: DemoArgs,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    use crate::sim::runner::PpppSimOptions;
    let sim = SimCamera::spawn_demo(DemoSimOptions::default()).await?;
    let free = SocketAddr::from(([127, 0, 0, 1], 0));
    let json = SimCamera::spawn_pppp(PpppSimOptions {
        dialect: crate::proto::pppp::dialect::Dialect::Json,
        label: "pppp json".into(),
        listen: free,
        ..PpppSimOptions::default()
    })
    .await?;
    let binary = SimCamera::spawn_pppp(PpppSimOptions {
        dialect: crate::proto::pppp::dialect::Dialect::Binary,
        label: "pppp binary".into(),
        listen: free,
        seed: 1,
        ..PpppSimOptions::default()
    })
    .await?;
    let wyze = SimCamera::spawn_tutk(crate::sim::runner::TutkSimOptions {
        listen: free,
        ..crate::sim::runner::TutkSimOptions::default()
    })
    .await?;
    let mut cfg = Config::default();
    cfg.mqtt.url = "embedded".into();
    cfg.mqtt.client_id = "cam2mqtt-demo".into();
    cfg.snapshots.interval_s = args.snapshot_interval;
    cfg.http.listen = args.http_listen.to_string();
    cfg.rtsp.listen = args.rtsp_listen.to_string();
    // A camera that left demo mode is looked for again soon; the simulated
    // cameras are on loopback, so nothing is broadcast to the LAN.
    cfg.discovery.interval_s = 10;
    cfg.discovery.pppp_broadcast = false;
    cfg.discovery.tutk_broadcast = false;
    let mut cam = sim.camera_config();
    cam.id = "demo_a9".into();
    cam.name = "Demo A9 camera".into();
    cfg.cameras.push(cam);
    for (sim, id, name) in [
        (&json, "demo_pppp_json", "Demo PPPP camera (JSON)"),
        (&binary, "demo_pppp_binary", "Demo PPPP camera (binary)"),
    ] {
        let mut cam = sim.camera_config(id);
        cam.name = name.into();
        if let CameraKind::Pppp(p) = &mut cam.kind {
            p.light = true;
            p.ptz = true;
        }
        cfg.cameras.push(cam);
    }
    let mut cam = wyze.camera_config("demo_wyze");
    cam.name = "Demo Wyze camera".into();
    cfg.cameras.push(cam);
    cfg.validate().map_err(|e| anyhow::anyhow!(e))?;
    let sources = crate::discovery::configured::sources(&cfg, None).await?;
    let opts = crate::app::RunOptions {
        embedded_listen: args.mqtt_listen,
        ..Default::default()
    };
    let (ip, port) = (args.mqtt_listen.ip(), args.mqtt_listen.port());
    println!("cam2mqtt demo");
    println!("  MQTT broker (embedded): mqtt://{}", args.mqtt_listen);
    println!("  web UI:                 http://{}/", args.http_listen);
    println!(
        "  RTSP:                   rtsp://{}/demo_wyze (every camera: rtsp://{}/<camera>)",
        args.rtsp_listen, args.rtsp_listen
    );
    println!(
        "  simulated cameras:      demo_a9 (A9 demo mode, video on {})",
        sim.video_addr()
    );
    println!(
        "                          demo_pppp_json ({}, LAN search on {})",
        json.uid(),
        json.search_addr()
    );
    println!(
        "                          demo_pppp_binary ({}, LAN search on {})",
        binary.uid(),
        binary.search_addr()
    );
    println!(
        "                          demo_wyze ({}, Wyze over TUTK/IOTC on {})",
        wyze.uid(),
        wyze.addr()
    );
    let [text, snapshots] = watch_lines(ip, port);
    println!("  watch states, events:   {text}");
    println!("  watch snapshots:        {snapshots}");
    println!(
        "  note: set/wifi makes the simulated camera leave demo mode, as a real one does; it comes back after {}s",
        RETURN_TO_DEMO.as_secs()
    );
    println!("  press Ctrl-C to stop");
    let _ = std::io::stdout().flush();
    let result = crate::app::run_with(cfg, sources, UdpFactory, opts, shutdown).await;
    sim.stop().await;
    json.stop().await;
    binary.stop().await;
    wyze.stop().await;
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

#[cfg(test)]
mod simulate_tutk_tests {
    use super::{nth_mac, nth_tutk_uid};

    #[test]
    fn tutk_uids_and_macs_count_up_per_camera() {
        assert_eq!(
            nth_tutk_uid("SIMWYZE0000000000001", 0),
            "SIMWYZE0000000000001"
        );
        assert_eq!(
            nth_tutk_uid("SIMWYZE0000000000001", 2),
            "SIMWYZE0000000000003"
        );
        assert_eq!(
            nth_tutk_uid("ABCDEFGHIJKLMNOPQRST", 1),
            "ABCDEFGHIJKLMNOP0001"
        );
        assert_eq!(nth_tutk_uid("AB", 3), "03");
        assert_eq!(nth_mac("2CAA8E000001", 1), "2CAA8E000002");
        assert_eq!(nth_mac("2C:AA:8E:00:00:FF", 1), "2CAA8E000100");
        assert_eq!(nth_mac("odd", 1), "odd");
    }
}

#[cfg(test)]
mod search_note_tests {
    use super::*;

    #[test]
    fn the_search_note_names_the_broadcasts_and_no_broadcast_removes_them() {
        let mut cfg = Config::default();
        cfg.discovery.unicast_hosts = vec!["10.0.7.2".into()];
        assert!(
            !search_note(&cfg).contains("TUTK"),
            "no Wyze camera to look for"
        );
        cfg.wyze.email = "me@example.com".into();
        let note = search_note(&cfg);
        assert!(
            note.contains(
                "PPPP LAN search to broadcast 255.255.255.255:32108 and unicast 10.0.7.2"
            ) && note.contains("TUTK LAN search to broadcast 255.255.255.255:32761"),
            "{note}"
        );
        assert!(note.contains("--no-broadcast"), "{note}");
        let quiet = broadcasts(&cfg, false);
        assert!(!quiet.discovery.pppp_broadcast && !quiet.discovery.tutk_broadcast);
        let note = search_note(&quiet);
        assert!(!note.contains("255.255.255.255"), "{note}");
        assert!(!note.contains("--no-broadcast"), "{note}");
        cfg.discovery.pppp_lan_search = false;
        cfg.discovery.tutk_lan_search = false;
        assert_eq!(search_note(&cfg), "LAN searches are off");
    }
}
