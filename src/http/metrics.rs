//! `GET /metrics`: Prometheus (OpenMetrics text) through `prometheus-client`.
//!
//! Nothing is kept here: a [`Collector`] reads the hub at every scrape (the
//! feeds' counters, the view's states, the bridge status), so the numbers are
//! the same ones health, MQTT and the web UI show.
//!
//! Per camera (label `camera`): frames and bytes received, frames dropped in
//! the session, reconnects, session phase (one series per phase, 1 for the
//! current one), online, fps, viewers, snapshot latency (histogram). Bridge:
//! MQTT connected, connects, messages published, live decoders, uptime.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::AppState;
use crate::bus::{Hub, SessionPhase};

/// The registry `/metrics` encodes.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    /// A registry reading `hub` at every scrape.
    pub fn new(hub: Hub) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(HubCollector { hub }));
        Self { registry }
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            // Only a fmt::Write into a String: cannot fail (a bug if seen).
            let _ = writeln!(out, "# encoding failed: {e}");
        }
        out
    }
}

/// `GET /metrics`.
pub async fn render(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// Reads the hub at scrape time.
struct HubCollector {
    hub: Hub,
}

impl std::fmt::Debug for HubCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubCollector")
    }
}

/// One camera's numbers at scrape time.
struct Row {
    camera: String,
    frames: u64,
    bytes: u64,
    dropped: u64,
    reconnects: u64,
    phase: Option<SessionPhase>,
    online: bool,
    fps: f64,
    viewers: usize,
    latency: (f64, u64, Vec<(f64, u64)>),
}

fn rows(hub: &Hub) -> Vec<Row> {
    hub.read(|views| {
        views
            .iter()
            .map(|v| {
                let feed = hub.live().get(&v.info.id);
                let counters = feed.as_ref().map(|f| f.counters()).unwrap_or_default();
                let state = v.state.as_ref();
                Row {
                    camera: v.info.id.as_str().to_string(),
                    frames: counters.frames,
                    bytes: counters.bytes,
                    dropped: state.map_or(0, |s| s.frames_dropped),
                    reconnects: state.map_or(0, |s| s.reconnects),
                    phase: state.map(|s| s.session),
                    online: v.online,
                    fps: state.map_or(0.0, |s| s.fps),
                    viewers: feed.as_ref().map_or(0, |f| f.viewer_count()),
                    latency: feed
                        .as_ref()
                        .map(|f| f.snapshot_latency.read())
                        .unwrap_or_else(|| (0.0, 0, Vec::new())),
                }
            })
            .collect()
    })
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Vec<(&str, String)>, u64)],
) -> std::fmt::Result {
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in series {
        ConstCounter::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Vec<(&str, String)>, f64)],
) -> std::fmt::Result {
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in series {
        ConstGauge::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

/// A bridge-wide gauge (no labels).
fn single_gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: f64,
) -> std::fmt::Result {
    let m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v).encode(m)
}

/// A bridge-wide counter (no labels).
fn single_counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> std::fmt::Result {
    let m = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(v).encode(m)
}

impl Collector for HubCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let rows = rows(&self.hub);
        let cam = |r: &Row| vec![("camera", r.camera.clone())];
        let per = |f: &dyn Fn(&Row) -> u64| -> Vec<(Vec<(&str, String)>, u64)> {
            rows.iter().map(|r| (cam(r), f(r))).collect()
        };
        let per_f = |f: &dyn Fn(&Row) -> f64| -> Vec<(Vec<(&str, String)>, f64)> {
            rows.iter().map(|r| (cam(r), f(r))).collect()
        };
        counter(
            &mut encoder,
            "cam2mqtt_camera_frames",
            "Complete pictures (JPEG frames or video access units) received",
            &per(&|r| r.frames),
        )?;
        counter(
            &mut encoder,
            "cam2mqtt_camera_received_bytes",
            "Bytes of the pictures received",
            &per(&|r| r.bytes),
        )?;
        gauge(
            &mut encoder,
            "cam2mqtt_camera_session_frames_dropped",
            "Frames thrown away (missing parts, failed checks) in the current session",
            &per_f(&|r| r.dropped as f64),
        )?;
        counter(
            &mut encoder,
            "cam2mqtt_camera_reconnects",
            "Sessions restarted since the bridge started",
            &per(&|r| r.reconnects),
        )?;
        let phases: Vec<(Vec<(&str, String)>, f64)> = rows
            .iter()
            .flat_map(|r| {
                SessionPhase::ALL.into_iter().map(move |p| {
                    let labels = vec![
                        ("camera", r.camera.clone()),
                        ("phase", p.as_str().to_string()),
                    ];
                    (labels, if r.phase == Some(p) { 1.0 } else { 0.0 })
                })
            })
            .collect();
        gauge(
            &mut encoder,
            "cam2mqtt_camera_session_phase",
            "What the camera's session is doing (1 for the current phase)",
            &phases,
        )?;
        gauge(
            &mut encoder,
            "cam2mqtt_camera_online",
            "1 while the camera delivers pictures",
            &per_f(&|r| if r.online { 1.0 } else { 0.0 }),
        )?;
        gauge(
            &mut encoder,
            "cam2mqtt_camera_fps",
            "Frames per second over the last stats period",
            &per_f(&|r| r.fps),
        )?;
        gauge(
            &mut encoder,
            "cam2mqtt_camera_viewers",
            "Live viewers now (MJPEG streams and RTSP clients)",
            &per_f(&|r| r.viewers as f64),
        )?;
        {
            let mut m = encoder.encode_descriptor(
                "cam2mqtt_camera_snapshot_latency",
                "Time from a snapshot's request to its JPEG",
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            for r in &rows {
                let (sum, count, buckets) = &r.latency;
                let labels = cam(r);
                m.encode_family(&labels)?
                    .encode_histogram::<Vec<(&str, String)>>(*sum, *count, buckets, None)?;
            }
        }
        let status = self.hub.status();
        single_gauge(
            &mut encoder,
            "cam2mqtt_live_decoders",
            "H.264/H.265 live decoders running",
            status.live_decoders() as f64,
        )?;
        single_gauge(
            &mut encoder,
            "cam2mqtt_mqtt_connected",
            "1 while the MQTT broker connection is up",
            if status.mqtt_connected() { 1.0 } else { 0.0 },
        )?;
        single_counter(
            &mut encoder,
            "cam2mqtt_mqtt_connects",
            "Connections made to the MQTT broker",
            status.mqtt_connects(),
        )?;
        single_counter(
            &mut encoder,
            "cam2mqtt_mqtt_published_messages",
            "Messages handed to the MQTT client",
            status.mqtt_published(),
        )?;
        let rtsp = status.rtsp();
        single_gauge(
            &mut encoder,
            "cam2mqtt_rtsp_clients",
            "RTSP client connections now",
            rtsp.clients as f64,
        )?;
        single_counter(
            &mut encoder,
            "cam2mqtt_rtsp_clients_dropped",
            "RTSP clients dropped for not keeping up with their camera",
            rtsp.dropped,
        )?;
        single_counter(
            &mut encoder,
            "cam2mqtt_rtsp_jpeg_reencoded",
            "JPEG pictures re-encoded because RTP/JPEG cannot carry them as they are",
            rtsp.reencoded,
        )?;
        single_gauge(
            &mut encoder,
            "cam2mqtt_uptime_seconds",
            "Seconds since the bridge started",
            status.uptime().as_secs_f64().floor(),
        )?;
        Ok(())
    }
}
