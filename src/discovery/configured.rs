//! The configured cameras as a discovery source: each enabled `[[cameras]]`
//! entry and each `discovery.demo_mode_hosts` entry becomes a [`CameraSpec`],
//! with its protocol session settings. The one place a protocol is chosen.

use std::net::SocketAddr;
use std::sync::Arc;

use super::demo_probe::DemoProbe;
use super::pppp_lan::{ConfiguredPppp, PpppLan};
use super::{CameraSpec, Sources};
use sha2::{Digest, Sha256};

use crate::config::{
    CameraConfig, CameraKind, Config, ConfigError, DemoCameraConfig, TutkCameraConfig,
};
use crate::model::{CameraInfo, Capability, Protocol, Reach};
use crate::proto::demo::DemoConfig;
use crate::proto::pppp::wire::LAN_SEARCH_PORT;
use crate::proto::tutk::iotc::DEFAULT_PORT as TUTK_PORT;
use crate::proto::tutk::session::{resolution_name, TutkConfig};

/// Resolves `host` (IP or name) to one address.
async fn resolve(host: &str, port: u16, key: &str) -> Result<SocketAddr, ConfigError> {
    let err = |message: String| ConfigError {
        file: None,
        key: key.to_string(),
        message,
    };
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| err(format!("cannot resolve {host:?}: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| err(format!("{host:?} has no address")))
}

/// Builds a demo-mode camera's spec from its config entry; `key` names the
/// entry in errors.
pub async fn demo_spec(
    cam: &CameraConfig,
    demo: &DemoCameraConfig,
    default_interval: u32,
    key: &str,
) -> Result<CameraSpec, ConfigError> {
    let video = resolve(&demo.host, demo.video_port, key).await?;
    let audio = SocketAddr::new(video.ip(), demo.audio_port);
    let command = SocketAddr::new(video.ip(), demo.command_port);
    let id = cam.effective_id();
    let mut session = DemoConfig::new(
        video,
        audio,
        command,
        crate::media::jpeg::decodes_demo_sized,
    );
    session.frame_check = demo.frame_check;
    session.audio_start = demo.audio_start;
    session.silence_timeout = demo.silence_timeout();
    let name = if cam.name.is_empty() {
        id.to_string()
    } else {
        cam.name.clone()
    };
    Ok(CameraSpec {
        info: CameraInfo {
            uid: id.as_str().to_string(),
            id,
            name,
            protocol: Protocol::Demo,
            reach: Reach::Host(video),
            model: "A9 (demo mode)".into(),
            firmware: None,
            mac: (!demo.mac.is_empty()).then(|| demo.mac.clone()),
            resolutions: Vec::new(),
            capabilities: vec![Capability::Snapshot, Capability::Wifi],
        },
        snapshot_interval_s: cam.snapshot_interval_s.unwrap_or(default_interval),
        // DemoConfig holds addresses and policies only, no secret.
        fingerprint: format!("{session:?}"),
        session: Arc::new(session),
    })
}

/// Builds a static TUTK (Wyze) camera's spec: `host` is `ip` or `ip:port`
/// (default port 32761).
pub async fn tutk_spec(
    cam: &CameraConfig,
    t: &TutkCameraConfig,
    default_interval: u32,
    key: &str,
) -> Result<CameraSpec, ConfigError> {
    let (host, port) = split_host_port(&t.host).map_err(|message| ConfigError {
        file: None,
        key: key.to_string(),
        message,
    })?;
    let peer = resolve(host, port.unwrap_or(TUTK_PORT), key).await?;
    let id = cam.effective_id();
    let session = TutkConfig::new(&t.uid, t.enr.clone(), &t.mac, peer);
    let name = if cam.name.is_empty() {
        id.to_string()
    } else {
        cam.name.clone()
    };
    // The fingerprint restarts the session when the address or ENR changes;
    // it carries a digest of the ENR, never the ENR.
    let enr_digest: String = Sha256::digest(t.enr.expose().as_bytes())[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(CameraSpec {
        info: CameraInfo {
            uid: t.uid.clone(),
            id,
            name,
            protocol: Protocol::Tutk,
            reach: Reach::Uid {
                uid: t.uid.clone(),
                last_known: Some(peer),
            },
            model: "Wyze camera".into(),
            firmware: None,
            mac: (!t.mac.is_empty()).then(|| t.mac.clone()),
            resolutions: session
                .resolutions()
                .into_iter()
                .map(resolution_name)
                .collect(),
            capabilities: vec![
                Capability::Snapshot,
                Capability::Resolution,
                Capability::NightVision,
                Capability::Light,
                Capability::Signal,
            ],
        },
        snapshot_interval_s: cam.snapshot_interval_s.unwrap_or(default_interval),
        fingerprint: format!("tutk {peer} {} {} enr:{enr_digest}", t.uid, t.mac),
        session: Arc::new(session),
    })
}

/// Splits `host`, `host:port` or `[v6]:port` (a bare IPv6 address has several
/// colons and no port); the port, when given, is 1 to 65535.
fn split_host_port(entry: &str) -> Result<(&str, Option<u16>), String> {
    let entry = entry.trim();
    let (host, port) = match entry.rsplit_once(':') {
        Some((h, p)) if h.starts_with('[') || !h.contains(':') => {
            let port = p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("bad port {p:?} in {entry:?}"))?;
            (h.trim_start_matches('[').trim_end_matches(']'), Some(port))
        }
        _ => (entry, None),
    };
    if host.is_empty() {
        return Err(format!("no host in {entry:?}"));
    }
    Ok((host, port))
}

/// A `discovery.demo_mode_hosts` entry: `host` or `host:video_port`. A
/// non-default video port puts audio and Wi-Fi on the next two ports, as
/// `cam2mqtt simulate` lays out its cameras.
pub fn demo_host_entry(entry: &str) -> Result<CameraConfig, String> {
    let (host, port) = split_host_port(entry)?;
    let mut cam = CameraConfig::demo(host);
    if let (Some(port), CameraKind::Demo(d)) = (port, &mut cam.kind) {
        if port != d.video_port {
            d.video_port = port;
            d.audio_port = port.saturating_add(1);
            d.command_port = port.saturating_add(2);
        }
    }
    Ok(cam)
}

/// `host` or `host:port` (an IPv6 address in brackets) resolved to an address,
/// with `default_port` when none is given.
async fn resolve_entry(
    entry: &str,
    default_port: u16,
    key: &str,
) -> Result<SocketAddr, ConfigError> {
    let (host, port) = split_host_port(entry).map_err(|message| ConfigError {
        file: None,
        key: key.to_string(),
        message,
    })?;
    resolve(host, port.unwrap_or(default_port), key).await
}

/// The sources a config names: its static cameras (resolved now), its
/// demo-mode hosts to probe and the PPPP LAN search; `state_dir` keeps what
/// the PPPP search learnt. Errors name the config key.
pub async fn sources(
    cfg: &Config,
    state_dir: Option<std::path::PathBuf>,
) -> Result<Sources, ConfigError> {
    let mut configured = Vec::new();
    let mut pppp = Vec::new();
    for (i, cam) in cfg.cameras.iter().enumerate() {
        if !cam.enabled {
            continue;
        }
        match &cam.kind {
            CameraKind::Demo(demo) => configured.push(
                demo_spec(
                    cam,
                    demo,
                    cfg.snapshots.interval_s,
                    &format!("cameras[{i}].host"),
                )
                .await?,
            ),
            CameraKind::Pppp(p) => {
                let ip = if p.host.is_empty() {
                    None
                } else {
                    Some(
                        resolve(&p.host, p.search_port, &format!("cameras[{i}].host"))
                            .await?
                            .ip(),
                    )
                };
                pppp.push(ConfiguredPppp {
                    camera: cam.clone(),
                    pppp: p.clone(),
                    ip,
                    uid: p.uid.parse().ok(),
                });
            }
            CameraKind::Tutk(t) if t.host.is_empty() => {
                tracing::warn!(camera = %cam.effective_id(), "a tutk camera without `host` needs the Wyze cloud list, which this release does not read yet; camera skipped");
            }
            CameraKind::Tutk(t) => configured.push(
                tutk_spec(
                    cam,
                    t,
                    cfg.snapshots.interval_s,
                    &format!("cameras[{i}].host"),
                )
                .await?,
            ),
        }
    }
    let mut probe = Vec::new();
    for (i, entry) in cfg.discovery.demo_mode_hosts.iter().enumerate() {
        let key = format!("discovery.demo_mode_hosts[{i}]");
        let cam = demo_host_entry(entry).map_err(|message| ConfigError {
            file: None,
            key: key.clone(),
            message,
        })?;
        let id = cam.effective_id();
        if configured.iter().any(|s: &CameraSpec| s.info.id == id) {
            continue; // configured explicitly as well
        }
        let CameraKind::Demo(demo) = &cam.kind else {
            continue;
        };
        probe.push(demo_spec(&cam, demo, cfg.snapshots.interval_s, &key).await?);
    }
    let mut targets = Vec::new();
    if cfg.discovery.pppp_lan_search {
        if cfg.discovery.pppp_broadcast {
            targets.push(SocketAddr::from(([255, 255, 255, 255], LAN_SEARCH_PORT)));
        }
        for (i, entry) in cfg.discovery.unicast_hosts.iter().enumerate() {
            targets.push(
                resolve_entry(
                    entry,
                    LAN_SEARCH_PORT,
                    &format!("discovery.unicast_hosts[{i}]"),
                )
                .await?,
            );
        }
    }
    let pppp = (cfg.discovery.pppp_lan_search || !pppp.is_empty()).then(|| {
        PpppLan::new(
            targets,
            pppp,
            cfg.snapshots.interval_s,
            crate::media::jpeg::decodes_demo_sized,
            state_dir,
        )
    });
    Ok(Sources {
        configured,
        demo_probe: DemoProbe::new(probe),
        pppp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_host_entries_take_an_optional_video_port() {
        let c = demo_host_entry("192.168.4.153").unwrap();
        assert_eq!(c.effective_id().as_str(), "demo_192_168_4_153");
        let c = demo_host_entry("127.0.0.1:18080").unwrap();
        let CameraKind::Demo(d) = &c.kind else {
            panic!("demo")
        };
        assert_eq!(
            (d.video_port, d.audio_port, d.command_port),
            (18080, 18081, 18082)
        );
        assert!(demo_host_entry("h:0").is_err());
        assert!(demo_host_entry(":80").is_err());
        let c = demo_host_entry("[::1]:9000").unwrap();
        assert_eq!(c.host(), "::1");
    }
}
