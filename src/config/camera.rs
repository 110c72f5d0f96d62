//! `[[cameras]]` entries: the common keys, each protocol's own settings, and
//! the two-step reading that checks an entry's keys against its protocol.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{from_config_error, ConfigError};
use crate::model::{CameraId, Protocol};
use crate::proto::demo::{AudioStart, FrameCheck};
use crate::secret::Secret;

/// The keys every `[[cameras]]` entry takes, whatever its protocol
/// (besides `protocol` itself).
pub(super) const COMMON_KEYS: &[&str] = &["id", "name", "enabled", "snapshot_interval_s"];

/// What `protocol` may be.
const PROTOCOLS: &str = "one of demo, pppp, tutk";

/// One `[[cameras]]` entry: common keys plus the protocol's own.
///
/// Read in two steps (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`): the entry as a raw table, the common keys and
/// `protocol` taken from it, every remaining key checked against that
/// protocol's keys, then the rest read into the protocol's struct. Serializes
/// flat, with `protocol = "..."` among the keys, so `check-config` output loads
/// again (once its secret placeholders are filled in).
#[derive(Debug, Clone, Serialize)]
pub struct CameraConfig {
    /// Topic-safe id; derived from UID or address when empty.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Set false to ignore this camera (default true).
    pub enabled: bool,
    /// Per-camera snapshot interval (seconds); `[snapshots].interval_s` when unset.
    pub snapshot_interval_s: Option<u32>,
    /// `protocol` and the protocol's own keys.
    #[serde(flatten)]
    pub kind: CameraKind,
}

/// The protocol of a camera entry, with its settings.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum CameraKind {
    /// A9 demo mode (`protocol = "demo"`).
    Demo(DemoCameraConfig),
    /// CS2 PPPP (`protocol = "pppp"`).
    Pppp(PpppCameraConfig),
    /// ThroughTek TUTK / Wyze (`protocol = "tutk"`).
    Tutk(TutkCameraConfig),
}

/// Settings of a demo-mode camera (`protocol = "demo"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoCameraConfig {
    /// Address (IP or host name). Required.
    pub host: String,
    /// MAC address (shown in Home Assistant).
    pub mac: String,
    /// Video port (default 8080).
    pub video_port: u16,
    /// Audio port (default 8070).
    pub audio_port: u16,
    /// Wi-Fi setup port (default 8090).
    pub command_port: u16,
    /// How frames are checked (`header` or `markers`).
    #[serde(deserialize_with = "from_str_setting")]
    pub frame_check: FrameCheck,
    /// Whether to request audio (`request` or `off`).
    #[serde(deserialize_with = "from_str_setting")]
    pub audio_start: AudioStart,
    /// Seconds without a frame before the camera counts as offline (default 10).
    pub silence_timeout_s: u32,
}

impl DemoCameraConfig {
    /// The keys of a demo camera besides the common ones.
    pub const KEYS: &'static [&'static str] = &[
        "host",
        "mac",
        "video_port",
        "audio_port",
        "command_port",
        "frame_check",
        "audio_start",
        "silence_timeout_s",
    ];

    /// The silence timeout as a duration (at least 1 s).
    pub fn silence_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.silence_timeout_s.max(1)))
    }
}

impl Default for DemoCameraConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            mac: String::new(),
            video_port: 8080,
            audio_port: 8070,
            command_port: 8090,
            frame_check: FrameCheck::default(),
            audio_start: AudioStart::default(),
            silence_timeout_s: 10,
        }
    }
}

/// Settings of a PPPP camera (`protocol = "pppp"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpppCameraConfig {
    /// Address (IP or host name); found by LAN search when empty.
    pub host: String,
    /// PPPP UID (e.g. `ABCD-123456-ABCDE`, hyphens optional).
    pub uid: String,
    /// Login user (empty: the dialect's default).
    pub username: String,
    /// Login password (empty: the dialect's default).
    pub password: Secret,
    /// Obfuscation key: a PSK name (`camera`, `@@@@....`…), `none`, or 4 hex
    /// bytes; empty: detected from the camera's answer to the LAN search.
    pub psk: String,
    /// Command dialect: `json`, `binary` or `cgi`; empty: chosen by the key.
    pub dialect: String,
    /// UDP port the camera answers LAN searches on (32108).
    pub search_port: u16,
    /// The camera has a pan/tilt motor (adds PTZ buttons).
    pub ptz: bool,
    /// The camera has a switchable light (adds a light switch).
    pub light: bool,
    /// Intercom (experimental): `auto` (on for the JSON dialect), `on` or
    /// `off`; see the README's PPPP intercom notes.
    pub intercom: String,
}

impl Default for PpppCameraConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            uid: String::new(),
            username: String::new(),
            password: Secret::default(),
            psk: String::new(),
            dialect: String::new(),
            search_port: 32108,
            ptz: false,
            light: false,
            intercom: "auto".into(),
        }
    }
}

impl PpppCameraConfig {
    /// The keys of a PPPP camera besides the common ones.
    pub const KEYS: &'static [&'static str] = &[
        "host",
        "uid",
        "username",
        "password",
        "psk",
        "dialect",
        "search_port",
        "ptz",
        "light",
        "intercom",
    ];
}

/// Settings of a TUTK (Wyze) camera (`protocol = "tutk"`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TutkCameraConfig {
    /// Address (IP or host name); found by LAN search when empty.
    pub host: String,
    /// TUTK UID (20 characters).
    pub uid: String,
    /// Wyze ENR (the camera's authentication key).
    pub enr: Secret,
    /// MAC address.
    pub mac: String,
}

impl TutkCameraConfig {
    /// The keys of a TUTK camera besides the common ones.
    pub const KEYS: &'static [&'static str] = &["host", "uid", "enr", "mac"];
}

impl CameraKind {
    /// The protocol this entry selects.
    pub fn protocol(&self) -> Protocol {
        match self {
            Self::Demo(_) => Protocol::Demo,
            Self::Pppp(_) => Protocol::Pppp,
            Self::Tutk(_) => Protocol::Tutk,
        }
    }
}

/// The keys of `protocol` besides the common ones.
fn protocol_keys(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::Demo => DemoCameraConfig::KEYS,
        Protocol::Pppp => PpppCameraConfig::KEYS,
        Protocol::Tutk => TutkCameraConfig::KEYS,
    }
}

/// Reads a setting through its `FromStr`, whose message lists what is allowed.
pub(super) fn from_str_setting<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr<Err = String>,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// A `[[cameras]]` entry before it is checked: key → value, as the `config`
/// crate read it (so its lenient conversions, e.g. `"8080"` → 8080, still apply).
pub(super) type RawCamera = config::Map<String, config::Value>;

/// `cameras[i].key`, or just `key` for an entry outside a config file.
pub(super) fn camera_key(index: Option<usize>, key: &str) -> String {
    match index {
        Some(i) => format!("cameras[{i}].{key}"),
        None => key.to_string(),
    }
}

/// ` (camera "garage")` from the first non-empty of id, uid, host; else "".
fn camera_label<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .find(|s| !s.is_empty())
        .map(|s| format!(" (camera {s:?})"))
        .unwrap_or_default()
}

/// `what (camera "x"); hint`.
pub(super) fn camera_message(what: &str, label: &str, hint: Option<&str>) -> String {
    match hint {
        Some(h) => format!("{what}{label}; {h}"),
        None => format!("{what}{label}"),
    }
}

impl CameraConfig {
    /// An entry with the common keys at their defaults.
    pub fn new(kind: CameraKind) -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            enabled: true,
            snapshot_interval_s: None,
            kind,
        }
    }

    /// A demo-mode camera at `host` with default settings.
    pub fn demo(host: &str) -> Self {
        Self::new(CameraKind::Demo(DemoCameraConfig {
            host: host.into(),
            ..DemoCameraConfig::default()
        }))
    }

    /// The camera's protocol.
    pub fn protocol(&self) -> Protocol {
        self.kind.protocol()
    }

    /// The camera's address (may be empty for PPPP and TUTK).
    pub fn host(&self) -> &str {
        match &self.kind {
            CameraKind::Demo(c) => &c.host,
            CameraKind::Pppp(c) => &c.host,
            CameraKind::Tutk(c) => &c.host,
        }
    }

    /// The camera's UID (empty for demo mode).
    pub fn uid(&self) -> &str {
        match &self.kind {
            CameraKind::Demo(_) => "",
            CameraKind::Pppp(c) => &c.uid,
            CameraKind::Tutk(c) => &c.uid,
        }
    }

    /// The id this camera gets: `id`, else derived from UID, else from the
    /// address (`<protocol>_<host>`, plus `_<video_port>` for a demo camera
    /// off port 8080).
    pub fn effective_id(&self) -> CameraId {
        if !self.id.is_empty() {
            return CameraId::derive(&self.id);
        }
        if !self.uid().is_empty() {
            // A PPPP UID names the camera with or without hyphens: one id.
            if let (CameraKind::Pppp(_), Ok(uid)) = (
                &self.kind,
                self.uid().parse::<crate::proto::pppp::uid::Uid>(),
            ) {
                return CameraId::derive(&uid.compact());
            }
            return CameraId::derive(self.uid());
        }
        let proto = self.protocol().as_str();
        match &self.kind {
            CameraKind::Demo(d) if d.video_port != 8080 => {
                CameraId::derive(&format!("{proto}_{}_{}", d.host, d.video_port))
            }
            _ => CameraId::derive(&format!("{proto}_{}", self.host())),
        }
    }

    /// ` (camera "x")` naming this entry in error messages.
    pub(super) fn label(&self) -> String {
        camera_label([self.id.as_str(), self.uid(), self.host()])
    }

    /// Builds an entry from its raw table; errors name `cameras[index].<key>`
    /// and the camera.
    pub(super) fn from_raw(mut raw: RawCamera, index: Option<usize>) -> Result<Self, ConfigError> {
        let text = |k: &str| {
            raw.get(k)
                .and_then(|v| v.clone().into_string().ok())
                .unwrap_or_default()
        };
        let label = camera_label(
            [text("id"), text("uid"), text("host")]
                .iter()
                .map(String::as_str),
        );
        let error = |key: &str, what: &str, hint: Option<&str>| {
            ConfigError::new(camera_key(index, key), camera_message(what, &label, hint))
        };

        let protocol = match raw.remove("protocol") {
            None => return Err(error("protocol", "missing", Some(PROTOCOLS))),
            Some(v) => match v.into_string() {
                Ok(name) => match name.as_str() {
                    "demo" => Protocol::Demo,
                    "pppp" => Protocol::Pppp,
                    "tutk" => Protocol::Tutk,
                    _ => {
                        return Err(error(
                            "protocol",
                            &format!("unknown protocol {name:?}"),
                            Some(PROTOCOLS),
                        ))
                    }
                },
                Err(e) => {
                    let e = from_config_error(e);
                    return Err(error("protocol", &e.message, Some(PROTOCOLS)));
                }
            },
        };

        fn take<T: serde::de::DeserializeOwned>(
            raw: &mut RawCamera,
            key: &str,
        ) -> Result<Option<T>, String> {
            raw.remove(key)
                .map(T::deserialize)
                .transpose()
                .map_err(|e| from_config_error(e).message)
        }
        let id = take::<String>(&mut raw, "id").map_err(|m| error("id", &m, None))?;
        let name = take::<String>(&mut raw, "name").map_err(|m| error("name", &m, None))?;
        let enabled = take::<bool>(&mut raw, "enabled").map_err(|m| error("enabled", &m, None))?;
        let snapshot_interval_s = take::<Option<u32>>(&mut raw, "snapshot_interval_s")
            .map_err(|m| error("snapshot_interval_s", &m, None))?;

        let allowed = protocol_keys(protocol);
        let mut unknown: Vec<&str> = raw
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed.contains(k))
            .collect();
        unknown.sort_unstable();
        if let Some((first, others)) = unknown.split_first() {
            let mut hint = format!(
                "{protocol} cameras take: {}",
                COMMON_KEYS
                    .iter()
                    .chain(allowed)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if !others.is_empty() {
                hint.push_str(&format!(
                    "; also not {protocol} settings: {}",
                    others.join(", ")
                ));
            }
            return Err(error(
                first,
                &format!("not a setting of a {protocol} camera"),
                Some(&hint),
            ));
        }

        let rest = config::Value::new(None, config::ValueKind::Table(raw));
        let variant = |e: config::ConfigError| {
            let e = from_config_error(e);
            error(&e.key, &e.message, None)
        };
        let kind = match protocol {
            Protocol::Demo => {
                CameraKind::Demo(DemoCameraConfig::deserialize(rest).map_err(variant)?)
            }
            Protocol::Pppp => {
                CameraKind::Pppp(PpppCameraConfig::deserialize(rest).map_err(variant)?)
            }
            Protocol::Tutk => {
                CameraKind::Tutk(TutkCameraConfig::deserialize(rest).map_err(variant)?)
            }
        };
        Ok(Self {
            id: id.unwrap_or_default(),
            name: name.unwrap_or_default(),
            enabled: enabled.unwrap_or(true),
            // `null` (JSON) is unset, like a missing key.
            snapshot_interval_s: snapshot_interval_s.flatten(),
            kind,
        })
    }
}

impl<'de> Deserialize<'de> for CameraConfig {
    /// One entry on its own (errors name the bare key); `Config` reads its
    /// entries with their index instead.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawCamera::deserialize(d)?;
        Self::from_raw(raw, None).map_err(serde::de::Error::custom)
    }
}
