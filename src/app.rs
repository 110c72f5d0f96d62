//! Wires the bridge together: discovery → supervisor → camera tasks →
//! publisher → MQTT, with discovery asked to rescan by the publisher
//! (`bridge/set/discover`) and to look again by cameras that left. Owns the root cancellation token; `run` returns after a
//! clean shutdown (offline states published).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::discovery::Sources;
use crate::io::{SocketFactory, UdpFactory};
use crate::publisher::ha::HaContext;
use crate::publisher::topics::Topics;
use crate::publisher::{PublisherCore, PublisherSettings};
use crate::supervisor::core::CoreSettings;
use crate::supervisor::{CameraSettings, Supervisor};

/// Where the embedded broker listens when the config says `embedded` and no
/// `--mqtt-listen` was given.
pub const DEFAULT_EMBEDDED_LISTEN: &str = "127.0.0.1:1883";

/// How long shutdown waits for the cameras to stop before the publisher
/// publishes them offline (each camera waits at most 2 s for its own jobs).
const CAMERAS_STOP_WAIT: Duration = Duration::from_secs(3);

/// Largest live JPEG the live decoder makes (it is not sent over MQTT, so
/// `snapshots.max_bytes` does not apply; this bounds a hostile stream).
const LIVE_MAX_BYTES: usize = 4 << 20;

/// Knobs that are not user configuration (tests shorten them).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The camera cores' tunables (restart backoffs, snapshot waits).
    pub core: CoreSettings,
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
            core: CoreSettings::default(),
            seed: 0x5eed,
            embedded_listen: DEFAULT_EMBEDDED_LISTEN
                .parse()
                .unwrap_or_else(|_| ([127, 0, 0, 1], 1883).into()),
            state_dir: None,
        }
    }
}

/// Runs the bridge over real UDP until `shutdown` completes; runtime settings
/// persist in `state_dir`. Every host name in the config is looked up first:
/// one that does not resolve stops it before anything starts.
pub async fn run(
    cfg: Config,
    state_dir: Option<std::path::PathBuf>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    crate::config::resolve_names(&cfg).await?;
    let sources = crate::discovery::configured::sources(&cfg, state_dir.clone()).await?;
    let opts = RunOptions {
        state_dir,
        ..RunOptions::default()
    };
    run_with(cfg, sources, UdpFactory, opts, shutdown).await
}

/// Runs the bridge with the given discovery sources and socket factory (tests
/// use an in-memory network).
pub async fn run_with<F: SocketFactory>(
    cfg: Config,
    sources: Sources,
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
    if sources.configured_specs().is_empty() && sources.pppp.is_none() {
        tracing::warn!(
            "no cameras configured: add [[cameras]] or discovery.demo_mode_hosts (see config/cam2mqtt.example.toml), or try `cam2mqtt demo`"
        );
    }
    let configured = sources
        .configured_specs()
        .iter()
        .map(|s| s.info.id.clone())
        .collect();
    let record_path = opts.state_dir.as_ref().map(|d| d.join("discovery.json"));
    let record = record_path.as_deref().map(crate::publisher::load_record);
    let core = PublisherCore::new(
        PublisherSettings {
            ha: HaContext {
                topics: Topics::new(&cfg.mqtt.base_topic),
                prefix: cfg.homeassistant.discovery_prefix.clone(),
                mode: cfg.homeassistant.discovery,
                bridge_id: cfg.mqtt.client_id.clone(),
                // Only a URL the user gave: the bridge cannot know which of
                // its addresses Home Assistant's users reach.
                web_url: (!cfg.http.external_url.is_empty() && !cfg.http.listen.is_empty())
                    .then(|| cfg.http.external_url.clone()),
                speech: !cfg.homeassistant.url.is_empty() && !cfg.homeassistant.token.is_empty(),
            },
            status_topic: cfg.homeassistant.status_topic.clone(),
            configured,
        },
        record,
    );

    let http_listener = if cfg.http.listen.is_empty() {
        None
    } else {
        let listener = crate::http::bind(&cfg.http.listen)
            .await
            .with_context(|| format!("http.listen: cannot listen on {}", cfg.http.listen))?;
        let addr = listener.local_addr().context("http.listen")?;
        tracing::info!("web UI, live streams and API on http://{addr}/");
        Some(listener)
    };

    let rtsp_bound = if cfg.rtsp.listen.is_empty() {
        None
    } else {
        let bound = crate::rtsp::server::bind(&cfg.rtsp.listen)
            .await
            .with_context(|| format!("rtsp.listen: cannot listen on {}", cfg.rtsp.listen))?;
        let addr = bound.local_addr().context("rtsp.listen")?;
        Some((bound, addr))
    };
    let rtsp_base = rtsp_bound.as_ref().map(|(_, addr)| {
        let external = url_host(&cfg.http.external_url);
        let base = crate::rtsp::server::url_base(
            &cfg.rtsp.url,
            *addr,
            external.or_else(crate::io::socket::primary_ip),
        );
        tracing::info!("RTSP streams on {base}/<camera>");
        base
    });

    let cancel = CancellationToken::new();
    // The publisher stops after the cameras, so their last results are published.
    let publisher_stop = CancellationToken::new();
    let (requests_tx, requests_rx) = mpsc::channel(64);
    let hub = crate::bus::Hub::new(requests_tx);
    // Subscribed before any camera starts, so the publisher misses nothing.
    let events_rx = hub.subscribe();
    let (discovery_tx, discovery_rx) = mpsc::channel(64);
    let (rescan_tx, rescan_rx) = mpsc::channel(1);
    let (forget_tx, forget_rx) = mpsc::channel(64);
    let factory = Arc::new(factory);

    let publisher = tokio::spawn(crate::publisher::run(
        core,
        cfg.mqtt.clone(),
        url,
        max_payload,
        hub.clone(),
        events_rx,
        publisher_stop.clone(),
        record_path,
        (cfg.http.health_interval_s > 0)
            .then(|| Duration::from_secs(u64::from(cfg.http.health_interval_s))),
    ));
    let settings = CameraSettings {
        max_bytes: cfg.snapshots.max_bytes,
        jpeg_quality: cfg.snapshots.jpeg_quality,
        core: CoreSettings {
            rtsp_base,
            ..opts.core.clone()
        },
        state_dir: opts.state_dir.clone(),
        decode_pool: crate::supervisor::snapshot_pool(usize::from(cfg.snapshots.decode_workers))
            .context("starting the snapshot decode threads")?,
        live: crate::media::live::LiveSettings::at_fps(
            cfg.http.live_fps,
            LIVE_MAX_BYTES,
            cfg.snapshots.jpeg_quality,
        ),
        tts: crate::supervisor::tts::Tts::from_config(&cfg.homeassistant).map(Arc::new),
    };
    let supervisor = Supervisor::new(
        factory.clone(),
        settings,
        hub.clone(),
        forget_tx,
        cancel.clone(),
        opts.seed,
    );
    let supervisor = tokio::spawn(supervisor.run(discovery_rx, requests_rx, rescan_tx));
    let http_stop = CancellationToken::new();
    let http = match http_listener {
        Some(listener) => {
            let state = crate::http::AppState {
                hub: hub.clone(),
                settings: Arc::new(crate::http::HttpSettings::from_config(&cfg.http)),
                shutdown: http_stop.clone(),
                metrics: Arc::new(crate::http::metrics::Metrics::new(hub.clone())),
            };
            Some(tokio::spawn(async move {
                if let Err(e) = crate::http::serve(listener, state).await {
                    tracing::error!(error = %e, "the HTTP server stopped");
                }
            }))
        }
        None => None,
    };
    let rtsp = rtsp_bound.map(|(bound, _)| {
        let http = &cfg.http;
        let mut key = [0u8; 16];
        rand::Rng::fill(&mut rand::rng(), &mut key);
        let settings = crate::rtsp::server::RtspSettings {
            access: Arc::new(crate::rtsp::auth::Access::from_config(http, key)),
        };
        let (hub, stop) = (hub.clone(), http_stop.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::rtsp::server::serve(bound, hub, settings, stop).await {
                tracing::error!(error = %e, "the RTSP server stopped");
            }
        })
    });
    let discovery = tokio::spawn(crate::discovery::run(
        sources,
        factory,
        Duration::from_secs(u64::from(cfg.discovery.interval_s)),
        discovery_tx,
        rescan_rx,
        forget_rx,
        cancel.clone(),
    ));

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
    // Streams and event pages end first; nothing waits for a slow client.
    http_stop.cancel();
    if let Some(h) = http {
        if tokio::time::timeout(Duration::from_secs(2), h)
            .await
            .is_err()
        {
            tracing::warn!("HTTP clients did not disconnect within 2 s");
        }
    }
    if let Some(r) = rtsp {
        if tokio::time::timeout(Duration::from_secs(2), r)
            .await
            .is_err()
        {
            tracing::warn!("RTSP clients did not disconnect within 2 s");
        }
    }
    cancel.cancel();
    let stopped = async {
        let _ = supervisor.await;
        let _ = discovery.await;
    };
    if tokio::time::timeout(CAMERAS_STOP_WAIT, stopped)
        .await
        .is_err()
    {
        tracing::warn!(
            "cameras did not stop within {CAMERAS_STOP_WAIT:?}; publishing offline anyway"
        );
    }
    publisher_stop.cancel();
    if !publisher.is_finished() {
        let _ = publisher.await;
    }
    result
}

/// The host of a URL like `http://192.168.1.10:8099/`, if it is an IP address.
fn url_host(url: &str) -> Option<std::net::IpAddr> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Ok(addr) = host.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    host.trim_matches(['[', ']']).parse().ok()
}
