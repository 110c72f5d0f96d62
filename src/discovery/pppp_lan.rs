//! PPPP cameras as a discovery source: LAN_SEARCH (`F1 30 00 00`, in
//! plaintext and in every known obfuscation) to the broadcast address, to each
//! `discovery.unicast_hosts` entry and to each configured PPPP camera's host,
//! on UDP 32108, from a socket of its own. A camera answers with a PUNCH_PKT
//! naming its UID; the first byte of the answer names its key
//! ([`obfuscate::detect`]), and the key (with the address) is remembered per
//! UID in the state directory (`pppp.json`), so a restart connects at once.
//!
//! Configured PPPP cameras are always reported (source `config`), refined by
//! what was learnt about them; others are reported when they answer (source
//! `pppp_lan`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::probe::{self, Probe};
use super::{CameraSpec, Discovered};
use crate::config::{CameraConfig, PpppCameraConfig};
use crate::io::SocketFactory;
use crate::model::{CameraId, CameraInfo, Capability, Protocol, Reach};
use crate::proto::pppp::client::RESOLUTIONS;
use crate::proto::pppp::dialect::{Dialect, Password};
use crate::proto::pppp::obfuscate::{all_obfuscations, detect, parse_psk_setting, Obfuscation};
use crate::proto::pppp::session::PpppConfig;
use crate::proto::pppp::uid::Uid;
use crate::proto::pppp::wire::{Message, LAN_SEARCH_PORT};
use crate::proto::{SocketIx, SocketSpec, Transmit};

/// How often the search is repeated within one scan.
const RESEND: Duration = Duration::from_millis(500);

/// What was learnt about one camera (kept in `pppp.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// The key, as a `psk` setting (`camera`, `none`, or 8 hex digits).
    pub psk: String,
    /// Where it answered from (its session port).
    pub address: SocketAddr,
    /// Where the search that it answered went (its search port).
    #[serde(default)]
    pub search: Option<SocketAddr>,
}

/// A configured PPPP camera.
#[derive(Debug, Clone)]
pub struct ConfiguredPppp {
    /// The whole entry (id, name, interval).
    pub camera: CameraConfig,
    /// Its PPPP keys.
    pub pppp: PpppCameraConfig,
    /// Its host, resolved (when it has one).
    pub ip: Option<IpAddr>,
    /// Its UID, parsed (when it has one).
    pub uid: Option<Uid>,
}

/// The PPPP LAN search source.
#[derive(Debug, Clone)]
pub struct PpppLan {
    /// Where searches go besides the configured hosts.
    pub targets: Vec<SocketAddr>,
    /// The configured PPPP cameras.
    pub configured: Vec<ConfiguredPppp>,
    /// The default snapshot interval.
    pub default_interval: u32,
    /// The frame check for cameras that send no frame header.
    pub validate_jpeg: crate::model::FrameValidator,
    memory: Arc<Mutex<BTreeMap<String, Seen>>>,
    memory_path: Option<PathBuf>,
}

/// The key setting for an obfuscation (how it is remembered).
pub fn psk_setting(o: &Obfuscation) -> String {
    match o {
        Obfuscation::None => "none".into(),
        Obfuscation::Xor(k) => all_obfuscations()
            .find(|(_, x)| x == o)
            .and_then(|(name, _)| name)
            .map_or_else(
                || k.0.iter().map(|b| format!("{b:02x}")).collect(),
                str::to_string,
            ),
    }
}

impl PpppLan {
    /// A source searching `targets` (plus the configured hosts), remembering
    /// keys in `state_dir/pppp.json` when a state directory is given.
    pub fn new(
        targets: Vec<SocketAddr>,
        configured: Vec<ConfiguredPppp>,
        default_interval: u32,
        validate_jpeg: crate::model::FrameValidator,
        state_dir: Option<PathBuf>,
    ) -> Self {
        let memory_path = state_dir.map(|d| d.join("pppp.json"));
        let memory = memory_path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            targets,
            configured,
            default_interval,
            validate_jpeg,
            memory: Arc::new(Mutex::new(memory)),
            memory_path,
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Seen>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remember(&self, uid: &Uid, seen: Seen) {
        let changed = {
            let mut m = self.memory();
            m.insert(uid.compact(), seen.clone()) != Some(seen)
        };
        if let (true, Some(path)) = (changed, &self.memory_path) {
            let snapshot = self.memory().clone();
            let write = || -> std::io::Result<()> {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let tmp = path.with_extension("json.tmp");
                std::fs::write(&tmp, serde_json::to_vec_pretty(&snapshot)?)?;
                std::fs::rename(&tmp, path)
            };
            if let Err(e) = write() {
                tracing::warn!(path = %path.display(), error = %e, "cannot remember PPPP keys");
            }
        }
    }

    /// Every place a search goes: the targets and the configured hosts.
    fn all_targets(&self) -> Vec<SocketAddr> {
        let mut t = self.targets.clone();
        for c in &self.configured {
            if let Some(ip) = c.ip {
                t.push(SocketAddr::new(ip, c.pppp.search_port));
            }
        }
        t.sort_unstable();
        t.dedup();
        t
    }

    /// Runs one search; returns the configured cameras (always) and the
    /// others that answered.
    pub async fn scan<F: SocketFactory>(&self, factory: &F, timeout: Duration) -> Vec<Discovered> {
        let answers = self.search(factory, timeout).await;
        let mut out = Vec::new();
        let mut claimed = Vec::new();
        for c in &self.configured {
            let answer = answers.iter().find(|(uid, addr, _)| {
                c.uid.as_ref().map_or(c.ip == Some(addr.ip()), |u| u == uid)
            });
            if let Some((uid, addr, _)) = answer {
                claimed.push(uid.clone());
                let _ = addr;
            }
            let uid = c.uid.clone().or_else(|| answer.map(|a| a.0.clone()));
            let (spec, notes) = self.spec(Some(c), uid);
            out.push(Discovered {
                spec,
                source: "config",
                notes,
            });
        }
        for (uid, _, _) in &answers {
            if claimed.contains(uid) {
                continue;
            }
            let (spec, notes) = self.spec(None, Some(uid.clone()));
            out.push(Discovered {
                spec,
                source: "pppp_lan",
                notes,
            });
        }
        out
    }

    /// Specs of the configured cameras from what is known now (no search).
    pub fn configured_specs(&self) -> Vec<CameraSpec> {
        self.configured
            .iter()
            .map(|c| self.spec(Some(c), c.uid.clone()).0)
            .collect()
    }

    /// Sends LAN searches for `timeout`; returns (uid, address, obfuscation) of
    /// every camera that answered.
    async fn search<F: SocketFactory>(
        &self,
        factory: &F,
        timeout: Duration,
    ) -> Vec<(Uid, SocketAddr, Obfuscation)> {
        let targets = self.all_targets();
        if targets.is_empty() {
            return Vec::new();
        }
        let spec = SocketSpec {
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            broadcast: true,
        };
        let mut probe = PpppSearch {
            lan: self,
            targets: &targets,
            found: Vec::new(),
        };
        probe::run(
            factory,
            spec,
            timeout,
            RESEND,
            "PPPP LAN search",
            &mut probe,
        )
        .await;
        probe.found
    }

    fn answer(
        &self,
        from: SocketAddr,
        payload: &[u8],
        targets: &[SocketAddr],
    ) -> Option<(Uid, SocketAddr, Obfuscation)> {
        let (psk, obf) = detect(*payload.first()?)?;
        let mut plain = payload.to_vec();
        obf.open(&mut plain);
        let Ok(Message::PunchPkt(uid)) = Message::decode(&plain) else {
            return None;
        };
        tracing::debug!(%uid, %from, psk = psk.unwrap_or("none"), "PPPP camera answered");
        self.remember(
            &uid,
            Seen {
                psk: psk_setting(&obf),
                address: from,
                search: targets.iter().find(|t| t.ip() == from.ip()).copied(),
            },
        );
        Some((uid, from, obf))
    }

    /// The spec of a camera: `configured` when it is in the config, refined by
    /// what is remembered about `uid`.
    fn spec(
        &self,
        configured: Option<&ConfiguredPppp>,
        uid: Option<Uid>,
    ) -> (CameraSpec, Vec<(&'static str, String)>) {
        let seen = uid
            .as_ref()
            .and_then(|u| self.memory().get(&u.compact()).cloned());
        let default_p = PpppCameraConfig::default();
        let p = configured.map_or(&default_p, |c| &c.pppp);
        let obfuscation = if !p.psk.is_empty() {
            parse_psk_setting(&p.psk).ok()
        } else {
            seen.as_ref().and_then(|s| parse_psk_setting(&s.psk).ok())
        };
        let dialect = p
            .dialect
            .parse::<Dialect>()
            .ok()
            .or_else(|| obfuscation.as_ref().map(Dialect::guess));
        // Where to search for it: its configured host, else where it answered
        // a search, else everywhere the LAN search goes.
        let target = configured
            .and_then(|c| c.ip)
            .map(|ip| SocketAddr::new(ip, p.search_port))
            .or_else(|| {
                seen.as_ref().map(|s| {
                    s.search
                        .unwrap_or_else(|| SocketAddr::new(s.address.ip(), p.search_port))
                })
            });
        let mut session = PpppConfig::new(target.into_iter().collect(), self.validate_jpeg);
        if session.search_targets.is_empty() {
            session.search_targets = self.targets.clone();
        }
        session.uid = uid.clone();
        session.obfuscation = obfuscation;
        session.dialect = p.dialect.parse::<Dialect>().ok();
        session.talk = p.intercom.parse().unwrap_or_default();
        session.username = (!p.username.is_empty()).then(|| p.username.clone());
        session.password = (!p.password.is_empty()).then(|| Password::new(p.password.expose()));
        let id = configured.map_or_else(
            || CameraId::derive(&uid.as_ref().map_or_else(String::new, Uid::compact)),
            |c| c.camera.effective_id(),
        );
        let name = configured
            .map(|c| c.camera.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_string());
        let mut caps = vec![
            Capability::Snapshot,
            Capability::Wifi,
            Capability::NightVision,
            Capability::Reboot,
        ];
        let cgi = dialect == Some(Dialect::Cgi);
        if !cgi {
            caps.push(Capability::Resolution);
        }
        // JSON cameras report a percentage, binary ones dBm; with the dialect
        // still unknown the sensor comes once the camera reports either.
        match dialect {
            Some(Dialect::Json) => caps.push(Capability::SignalPercent),
            Some(Dialect::Binary) => caps.push(Capability::Signal),
            Some(Dialect::Cgi) | None => {}
        }
        if p.ptz && !cgi {
            caps.push(Capability::Ptz);
        }
        if p.light && !cgi {
            caps.push(Capability::Light);
        }
        let reach = match &uid {
            Some(u) => Reach::Uid {
                uid: u.to_string(),
                last_known: seen.as_ref().map(|s| s.address).or(target),
            },
            None => Reach::Host(
                target
                    .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, LAN_SEARCH_PORT))),
            ),
        };
        let credentials = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (p.username.as_str(), p.password.expose()).hash(&mut h);
            h.finish()
        };
        let fingerprint = format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{credentials:x}",
            session.search_targets,
            uid.as_ref().map(Uid::compact),
            obfuscation,
            session.dialect,
            caps
        );
        let notes = vec![
            (
                "psk",
                obfuscation
                    .as_ref()
                    .map_or_else(|| "unknown".to_string(), psk_setting),
            ),
            (
                "dialect",
                dialect.map_or_else(|| "unknown".to_string(), |d| d.as_str().to_string()),
            ),
        ];
        let info = CameraInfo {
            uid: uid.as_ref().map_or_else(|| id.to_string(), Uid::compact),
            id,
            name,
            protocol: Protocol::Pppp,
            reach,
            model: "PPPP camera".into(),
            firmware: None,
            mac: None,
            resolutions: if cgi {
                Vec::new()
            } else {
                RESOLUTIONS.map(str::to_string).to_vec()
            },
            capabilities: caps,
        };
        let snapshot_interval_s = configured
            .and_then(|c| c.camera.snapshot_interval_s)
            .unwrap_or(self.default_interval);
        (
            CameraSpec {
                info,
                snapshot_interval_s,
                session: Arc::new(session),
                off_session: None,
                fingerprint,
            },
            notes,
        )
    }
}

/// One LAN search: where it goes, who answered.
struct PpppSearch<'a> {
    lan: &'a PpppLan,
    targets: &'a [SocketAddr],
    found: Vec<(Uid, SocketAddr, Obfuscation)>,
}

impl Probe for PpppSearch<'_> {
    /// LAN_SEARCH to every target, in plaintext and every known key.
    fn round(&mut self) -> Vec<Transmit> {
        let mut out = Vec::new();
        for dst in self.targets {
            for (_, o) in all_obfuscations() {
                let mut bytes = Message::LanSearch.to_vec();
                o.seal(&mut bytes);
                out.push(Transmit {
                    socket: SocketIx(0),
                    dst: *dst,
                    payload: bytes,
                });
            }
        }
        out
    }

    /// Searches until the time is up: any number of cameras may answer.
    fn answer(&mut self, from: SocketAddr, payload: &[u8]) -> bool {
        if let Some(hit) = self.lan.answer(from, payload, self.targets) {
            if !self.found.iter().any(|f| f.0 == hit.0) {
                self.found.push(hit);
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::pppp::obfuscate::Key;

    /// A key learnt from a camera's answer is in the spec at once after a
    /// restart (read back from `pppp.json`), so the session searches in that
    /// encoding only and the dialect follows from it.
    #[test]
    fn a_learnt_key_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let uid: Uid = "DGOA-424242-SIMCA".parse().unwrap();
        let lan = || PpppLan::new(vec![], vec![], 10, |_| true, Some(dir.path().to_path_buf()));
        let first = lan();
        assert!(first
            .spec(None, Some(uid.clone()))
            .1
            .contains(&("psk", "unknown".into())));
        first.remember(
            &uid,
            Seen {
                psk: "camera".into(),
                address: "127.0.0.2:40000".parse().unwrap(),
                search: Some("127.0.0.2:32108".parse().unwrap()),
            },
        );
        let again = lan();
        let (spec, notes) = again.spec(None, Some(uid));
        assert!(notes.contains(&("psk", "camera".into())), "{notes:?}");
        assert!(notes.contains(&("dialect", "json".into())), "{notes:?}");
        assert_eq!(
            spec.info.address(),
            Some("127.0.0.2:40000".parse().unwrap())
        );
        assert!(
            spec.fingerprint.contains("127.0.0.2:32108"),
            "searches where it answered"
        );
    }

    #[test]
    fn keys_are_remembered_by_name_or_hex() {
        assert_eq!(psk_setting(&Obfuscation::None), "none");
        assert_eq!(
            psk_setting(&Obfuscation::Xor(Key::from_psk("camera"))),
            "camera"
        );
        assert_eq!(
            psk_setting(&Obfuscation::Xor(Key([0xDD, 0xF1, 0x01, 0x81]))),
            "ddf10181"
        );
        assert_eq!(
            parse_psk_setting("ddf10181"),
            Ok(Obfuscation::Xor(Key([0xDD, 0xF1, 0x01, 0x81])))
        );
    }
}
