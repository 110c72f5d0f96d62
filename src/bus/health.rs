//! The bridge's health, from what the hub knows: a camera is healthy when
//! its frames arrived within the window, whatever its session phase says (a
//! session can be up while the camera sends nothing). Shown at
//! `GET /api/health` and published retained on `bridge/health`.

use std::time::Duration;

use serde::Serialize;

use super::Hub;

/// Frames older than this make a camera degraded.
pub const WINDOW: Duration = Duration::from_secs(10);

/// One camera's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CameraHealth {
    /// Camera id.
    pub id: String,
    /// A frame arrived within the window.
    pub healthy: bool,
    /// `streaming` / `connecting` / `offline` / `auth_failed`.
    pub status: &'static str,
    /// Seconds since the last frame (`null`: none yet).
    pub last_frame_age_s: Option<f64>,
    /// Frames per second over the last stats period.
    pub fps: f64,
    /// Frames received since the bridge started.
    pub frames: u64,
    /// Frames thrown away in the current session.
    pub frames_dropped: u64,
    /// Sessions restarted since the bridge started.
    pub reconnects: u64,
    /// Live viewers now.
    pub viewers: usize,
}

/// The whole bridge's health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// MQTT up and every camera healthy.
    pub healthy: bool,
    /// Whether the broker connection is up.
    pub mqtt_connected: bool,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Resident memory in bytes (`null` where it cannot be read).
    pub rss_bytes: Option<u64>,
    /// Live decoders running.
    pub live_decoders: u64,
    /// Every camera.
    pub cameras: Vec<CameraHealth>,
    /// Ids of the cameras that are not healthy.
    pub degraded: Vec<String>,
}

/// The health now.
pub fn report(hub: &Hub) -> HealthReport {
    let now = crate::io::clock::now();
    let cameras: Vec<CameraHealth> = hub.read(|views| {
        views
            .iter()
            .map(|v| {
                let feed = hub.live().get(&v.info.id);
                let age = feed.as_ref().and_then(|f| f.last_frame_age(now));
                let state = v.state.as_ref();
                CameraHealth {
                    id: v.info.id.as_str().to_string(),
                    healthy: age.is_some_and(|a| a <= WINDOW),
                    status: v.status(),
                    last_frame_age_s: age.map(|a| (a.as_secs_f64() * 10.0).round() / 10.0),
                    fps: state.map_or(0.0, |s| s.fps),
                    frames: feed.as_ref().map_or(0, |f| f.counters().frames),
                    frames_dropped: state.map_or(0, |s| s.frames_dropped),
                    reconnects: state.map_or(0, |s| s.reconnects),
                    viewers: feed.as_ref().map_or(0, |f| f.viewer_count()),
                }
            })
            .collect()
    });
    let degraded: Vec<String> = cameras
        .iter()
        .filter(|c| !c.healthy)
        .map(|c| c.id.clone())
        .collect();
    let status = hub.status();
    HealthReport {
        healthy: status.mqtt_connected() && degraded.is_empty(),
        mqtt_connected: status.mqtt_connected(),
        uptime_s: status.uptime().as_secs(),
        rss_bytes: rss_bytes(),
        live_decoders: status.live_decoders(),
        cameras,
        degraded,
    }
}

/// Resident memory of this process (Linux: `VmRSS` in `/proc/self/status`,
/// which is in kB whatever the page size; a Raspberry Pi 5 uses 16 kB pages).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
