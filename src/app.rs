//! Wires the bridge together: discovery → supervisor → camera tasks →
//! publisher → MQTT. Owns the root cancellation token; `run` returns after a
//! clean shutdown (offline states published).

use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::io::{SocketFactory, UdpFactory};
use crate::publisher::ha::HaContext;
use crate::publisher::topics::Topics;
use crate::publisher::{PublisherCore, PublisherSettings};
use crate::supervisor::backoff::Backoff;
use crate::supervisor::{
    configured_cameras, CameraSettings, CameraSpec, DiscoveryEvent, Supervisor,
};

/// Where the embedded broker listens when the config says `embedded` and no
/// `--mqtt-listen` was given.
pub const DEFAULT_EMBEDDED_LISTEN: &str = "127.0.0.1:1883";

/// Knobs that are not user configuration (tests shorten them).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Session restart policy.
    pub backoff: Backoff,
    /// Seed for backoff jitter.
    pub seed: u64,
    /// Embedded broker address (used when `mqtt.url = "embedded"`).
    pub embedded_listen: SocketAddr,
    /// Where runtime settings persist (`None`: nothing is written).
    pub state_dir: Option<std::path::PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            backoff: Backoff::default(),
            seed: 0x5eed,
            embedded_listen: DEFAULT_EMBEDDED_LISTEN
                .parse()
                .unwrap_or_else(|_| ([127, 0, 0, 1], 1883).into()),
            state_dir: None,
        }
    }
}

/// Runs the bridge over real UDP until `shutdown` completes; runtime settings
/// persist in `state_dir`.
pub async fn run(
    cfg: Config,
    state_dir: Option<std::path::PathBuf>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let cameras = configured_cameras(&cfg).await?;
    let opts = RunOptions {
        state_dir,
        ..RunOptions::default()
    };
    run_with(cfg, cameras, UdpFactory, opts, shutdown).await
}

/// Runs the bridge with the given cameras and socket factory (tests use an in-memory network).
pub async fn run_with<F: SocketFactory>(
    cfg: Config,
    cameras: Vec<CameraSpec>,
    factory: F,
    opts: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let max_payload = cfg.snapshots.max_bytes;
    let url = if cfg.mqtt.url == "embedded" {
        let addr = opts.embedded_listen;
        tokio::task::spawn_blocking(move || {
            crate::broker::start(addr, max_payload.max(1 << 20) + 65_536)
        })
        .await
        .context("embedded broker task")??;
        format!("mqtt://{addr}")
    } else {
        cfg.mqtt.url.clone()
    };
    if cameras.is_empty() {
        tracing::warn!(
            "no cameras configured: add [[cameras]] or discovery.demo_mode_hosts (see config/cam2mqtt.example.toml), or try `cam2mqtt demo`"
        );
    }
    let core = PublisherCore::new(PublisherSettings {
        ha: HaContext {
            topics: Topics::new(&cfg.mqtt.base_topic),
            prefix: cfg.homeassistant.discovery_prefix.clone(),
            mode: cfg.homeassistant.discovery,
            bridge_id: cfg.mqtt.client_id.clone(),
            // The web UI is not served yet, so no configuration_url until it is.
            web_url: None,
        },
        status_topic: cfg.homeassistant.status_topic.clone(),
    });

    let cancel = CancellationToken::new();
    let (events_tx, events_rx) = mpsc::channel(1024);
    let (requests_tx, requests_rx) = mpsc::channel(64);
    let (discovery_tx, discovery_rx) = mpsc::channel(64);
    let (rescan_tx, mut rescan_rx) = mpsc::channel(1);

    let publisher = tokio::spawn(crate::publisher::run(
        core,
        cfg.mqtt.clone(),
        url,
        max_payload,
        events_rx,
        requests_tx,
        cancel.clone(),
    ));
    let settings = CameraSettings {
        max_bytes: cfg.snapshots.max_bytes,
        jpeg_quality: cfg.snapshots.jpeg_quality,
        backoff: opts.backoff,
        state_dir: opts.state_dir.clone(),
    };
    let supervisor = Supervisor::new(factory, settings, events_tx, cancel.clone(), opts.seed);
    let supervisor = tokio::spawn(supervisor.run(discovery_rx, requests_rx, rescan_tx));

    // Discovery: the configured cameras now and on every rescan. LAN searches
    // for PPPP and TUTK join this loop when those protocols land.
    let discovery_cancel = cancel.clone();
    let discovery = tokio::spawn(async move {
        loop {
            for spec in &cameras {
                if discovery_tx
                    .send(DiscoveryEvent::Found(Box::new(spec.clone())))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            tokio::select! {
                () = discovery_cancel.cancelled() => return,
                r = rescan_rx.recv() => if r.is_none() { return },
            }
        }
    });

    let mut publisher = publisher;
    let result = tokio::select! {
        () = shutdown => Ok(()),
        r = &mut publisher => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::Error::new(e)),
            Err(e) => Err(anyhow::anyhow!("publisher task failed: {e}")),
        },
    };
    tracing::info!("shutting down");
    cancel.cancel();
    let _ = supervisor.await;
    let _ = discovery.await;
    if !publisher.is_finished() {
        let _ = publisher.await;
    }
    result
}
