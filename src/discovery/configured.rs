//! The configured cameras as a discovery source: each enabled `[[cameras]]`
//! entry and each `discovery.demo_mode_hosts` entry becomes a [`CameraSpec`],
//! with its protocol session settings. The one place a protocol is chosen.

use std::net::SocketAddr;
use std::sync::Arc;

use super::demo_probe::DemoProbe;
use super::pppp_lan::{ConfiguredPppp, PpppLan};
use super::tutk_lan::TutkLan;
use super::wyze_cloud::WyzeCloud;
use super::{CameraSpec, Sources};
use sha2::{Digest, Sha256};

use crate::config::{
    split_host_port, CameraConfig, CameraKind, Config, ConfigError, DemoCameraConfig,
    TutkCameraConfig,
};
use crate::model::{CameraId, CameraInfo, Capability, Protocol, Reach};
use crate::proto::demo::DemoConfig;
use crate::proto::pppp::wire::LAN_SEARCH_PORT;
use crate::proto::tutk::iotc::DEFAULT_PORT as TUTK_PORT;
use crate::proto::tutk::session::{resolution_name, TutkConfig};
use crate::secret::Secret;

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
        off_session: None,
    })
}

/// Builds a static TUTK (Wyze) camera's spec: `host` is `ip` or `ip:port`
/// (default port 32761). Without a host the camera is looked for by UID at
/// `search` (the TUTK LAN search targets), which must then not be empty.
pub async fn tutk_spec(
    cam: &CameraConfig,
    t: &TutkCameraConfig,
    default_interval: u32,
    key: &str,
    search: &[SocketAddr],
) -> Result<(CameraSpec, TutkConfig), ConfigError> {
    let (peer, search) = if t.host.is_empty() {
        let Some(first) = search.first() else {
            return Err(ConfigError {
                file: None,
                key: key.to_string(),
                message: "a tutk camera without `host` needs the TUTK LAN search \
                          (discovery.tutk_lan_search with tutk_broadcast or unicast_hosts)"
                    .into(),
            });
        };
        (*first, search.to_vec())
    } else {
        let (host, port) = split_host_port(&t.host).map_err(|message| ConfigError {
            file: None,
            key: key.to_string(),
            message,
        })?;
        (
            resolve(host, port.unwrap_or(TUTK_PORT), key).await?,
            Vec::new(),
        )
    };
    let id = cam.effective_id();
    Ok(tutk_camera_parts(TutkParams {
        name: if cam.name.is_empty() {
            id.to_string()
        } else {
            cam.name.clone()
        },
        id,
        uid: t.uid.clone(),
        peer,
        search,
        enr: t.enr.clone(),
        mac: t.mac.clone(),
        model: None,
        firmware: None,
        parent: None,
        snapshot_interval_s: cam.snapshot_interval_s.unwrap_or(default_interval),
    }))
}

/// What a TUTK camera's spec is made of, from the config or the cloud list.
#[derive(Debug, Clone)]
pub struct TutkParams {
    /// Topic id.
    pub id: CameraId,
    /// Display name.
    pub name: String,
    /// TUTK UID.
    pub uid: String,
    /// Where it listens (or, for a camera known only by UID, the first
    /// search target).
    pub peer: SocketAddr,
    /// Where to look for it when `peer` does not answer: the TUTK LAN search
    /// targets. Empty: `peer` is fixed (a configured `host`). A camera with
    /// no fixed host has `peer` among these and no known address.
    pub search: Vec<SocketAddr>,
    /// Its ENR.
    pub enr: Secret,
    /// Its MAC.
    pub mac: String,
    /// Model, when known (the cloud lists it).
    pub model: Option<String>,
    /// Firmware, when known.
    pub firmware: Option<String>,
    /// Base station ENR and MAC, for cameras behind one.
    pub parent: Option<(Secret, String)>,
    /// Snapshot interval.
    pub snapshot_interval_s: u32,
}

/// A TUTK camera's spec. Its capabilities are what the session can do
/// locally: snapshots, resolution, night vision, the status light (as
/// `light`) and the signal sensor.
pub fn tutk_camera_spec(p: TutkParams) -> CameraSpec {
    tutk_camera_parts(p).0
}

/// A TUTK camera's spec and its session settings (which share the memory
/// of where the camera answered last).
pub fn tutk_camera_parts(p: TutkParams) -> (CameraSpec, TutkConfig) {
    let mut session = TutkConfig::new(&p.uid, p.enr.clone(), &p.mac, p.peer);
    session.search = p.search.clone();
    // Known only by UID: the peer is just the first place to look.
    let last_known = (!p.search.contains(&p.peer)).then_some(p.peer);
    session.model = p.model.clone();
    session.parent = p.parent.clone();
    // The fingerprint restarts the session when the address or a key
    // changes; it carries digests of the keys, never a key.
    let digest = |s: &Secret| -> String {
        Sha256::digest(s.expose().as_bytes())[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let parent = p
        .parent
        .as_ref()
        .map(|(e, m)| format!(" parent:{m}:{}", digest(e)))
        .unwrap_or_default();
    let spec = CameraSpec {
        info: CameraInfo {
            uid: p.uid.clone(),
            id: p.id,
            name: p.name,
            protocol: Protocol::Tutk,
            reach: Reach::Uid {
                uid: p.uid.clone(),
                last_known,
            },
            model: p.model.clone().unwrap_or_else(|| "Wyze camera".into()),
            firmware: p.firmware,
            mac: (!p.mac.is_empty()).then(|| p.mac.clone()),
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
                Capability::IrLed,
                Capability::Signal,
            ],
        },
        snapshot_interval_s: p.snapshot_interval_s,
        fingerprint: format!(
            "tutk {} {} {} {} enr:{}{parent}",
            last_known.map_or_else(|| "search".to_string(), |a| a.to_string()),
            p.uid,
            p.mac,
            p.model.as_deref().unwrap_or("-"),
            digest(&p.enr)
        ),
        session: Arc::new(session.clone()),
        off_session: None,
    };
    (spec, session)
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

/// Where the TUTK LAN search sends its Discos (`discovery.tutk_lan_search`):
/// the broadcast address (unless `tutk_broadcast = false`) and each
/// `unicast_hosts` entry, on UDP 32761 unless the entry names a port.
pub async fn tutk_search_targets(cfg: &Config) -> Result<Vec<SocketAddr>, ConfigError> {
    let mut targets = Vec::new();
    if !cfg.discovery.tutk_lan_search {
        return Ok(targets);
    }
    if cfg.discovery.tutk_broadcast {
        targets.push(SocketAddr::from(([255, 255, 255, 255], TUTK_PORT)));
    }
    for (i, entry) in cfg.discovery.unicast_hosts.iter().enumerate() {
        let key = format!("discovery.unicast_hosts[{i}]");
        targets.push(resolve_entry(entry, TUTK_PORT, &key).await?);
    }
    Ok(targets)
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
    let tutk_search = tutk_search_targets(cfg).await?;
    let mut tutk_by_uid = Vec::new();
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
            CameraKind::Tutk(t) => {
                let (spec, session) = tutk_spec(
                    cam,
                    t,
                    cfg.snapshots.interval_s,
                    &format!("cameras[{i}].host"),
                    &tutk_search,
                )
                .await?;
                if t.host.is_empty() {
                    tutk_by_uid.push((spec.info.id.clone(), session));
                }
                configured.push(spec);
            }
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
            state_dir.clone(),
        )
    });
    let wyze =
        if cfg.wyze.email.is_empty() {
            None
        } else {
            let client = crate::cloud::wyze::WyzeClient::new(&cfg.wyze, state_dir.as_deref())
                .map_err(|e| ConfigError {
                    file: None,
                    key: "wyze".into(),
                    message: e.to_string(),
                })?;
            Some(WyzeCloud::new(
                client,
                cfg.snapshots.interval_s,
                tutk_search.clone(),
            ))
        };
    Ok(Sources {
        configured,
        demo_probe: DemoProbe::new(probe),
        pppp,
        wyze,
        tutk_lan: TutkLan::new(tutk_by_uid),
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
