//! Configuration: TOML file + `CAM2MQTT__SECTION__KEY` environment overrides,
//! loaded with the `config` crate, then validated. Every error names the key
//! (and, for a `[[cameras]]` entry, the camera).
//!
//! Each `[[cameras]]` entry selects its protocol with `protocol = "demo" |
//! "pppp" | "tutk"` and takes the common keys plus that protocol's own; any
//! other key is an error (see [`CameraConfig`]).
//!
//! Secrets are [`Secret`]s from the moment they are read, so the effective
//! config can be printed (`check-config`) without leaking them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{CameraId, Protocol};
use crate::proto::demo::{AudioStart, FrameCheck};
use crate::secret::Secret;

/// A configuration problem, naming the key and (where known) the file.
#[derive(Debug, thiserror::Error)]
#[error("{}{key}: {message}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
pub struct ConfigError {
    /// Config file, if one was read.
    pub file: Option<PathBuf>,
    /// Dotted key, e.g. `mqtt.url` or `cameras[1].host`.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: None,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The whole configuration.
///
/// Deserializes through a private raw form so that each `[[cameras]]` entry
/// can be checked against its protocol's keys (see [`CameraConfig`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct Config {
    /// MQTT broker.
    pub mqtt: MqttConfig,
    /// Home Assistant discovery.
    pub homeassistant: HomeAssistantConfig,
    /// Web UI / API (served from a later release; the key is accepted now).
    pub http: HttpConfig,
    /// Snapshot publishing.
    pub snapshots: SnapshotConfig,
    /// Finding cameras.
    pub discovery: DiscoveryConfig,
    /// Wyze account (used once the Wyze protocol lands).
    pub wyze: WyzeConfig,
    /// Static cameras and per-camera settings (`[[cameras]]`).
    pub cameras: Vec<CameraConfig>,
}

/// `[mqtt]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// `mqtt://host:port`, `mqtts://host:port`, or `embedded`.
    pub url: String,
    /// Broker user name.
    pub username: String,
    /// Broker password.
    pub password: Secret,
    /// File holding the password (first line), instead of `password`.
    pub password_file: Option<PathBuf>,
    /// MQTT client id.
    pub client_id: String,
    /// Prefix of every topic.
    pub base_topic: String,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: "mqtt://127.0.0.1:1883".into(),
            username: String::new(),
            password: Secret::default(),
            password_file: None,
            client_id: "cam2mqtt".into(),
            base_topic: "cam2mqtt".into(),
        }
    }
}

/// How Home Assistant discovery configs are published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryMode {
    /// One config topic per entity (any HA version). The default.
    #[default]
    Entity,
    /// One config topic per device (HA 2024.11 and later).
    Device,
    /// No discovery.
    Off,
}

/// `[homeassistant]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HomeAssistantConfig {
    /// Discovery format.
    pub discovery: DiscoveryMode,
    /// Discovery topic prefix.
    pub discovery_prefix: String,
    /// HA's birth/will topic.
    pub status_topic: String,
}

impl Default for HomeAssistantConfig {
    fn default() -> Self {
        Self {
            discovery: DiscoveryMode::Entity,
            discovery_prefix: "homeassistant".into(),
            status_topic: "homeassistant/status".into(),
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address; empty disables.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8099".into(),
        }
    }
}

/// `[snapshots]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnapshotConfig {
    /// Seconds between snapshots; 0 = only on demand.
    pub interval_s: u32,
    /// Largest snapshot payload; bigger frames are re-encoded smaller.
    pub max_bytes: usize,
    /// JPEG quality for frames the bridge encodes.
    pub jpeg_quality: u8,
    /// Threads decoding video snapshots, shared by every camera; 0 = chosen
    /// by the bridge (1 on a machine with up to 2 cores, else half the
    /// cores, at most 4). Each 1080p decode needs tens of MB for a moment.
    pub decode_workers: u16,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            interval_s: 10,
            max_bytes: 500_000,
            jpeg_quality: 80,
            decode_workers: 0,
        }
    }
}

/// `[discovery]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// Seconds between scans.
    pub interval_s: u32,
    /// PPPP LAN search (UDP 32108, plaintext and every known key).
    pub pppp_lan_search: bool,
    /// TUTK LAN search: a Wyze camera without a fixed `host` (named by UID
    /// in `[[cameras]]`, or one whose cloud-listed address stopped answering)
    /// is looked for with Disco packets to the broadcast address and to each
    /// `unicast_hosts` entry on UDP 32761.
    pub tutk_lan_search: bool,
    /// Hosts to treat as A9 cameras in demo mode (ports 8080/8070/8090).
    /// Empty by default: a camera in demo mode is always 192.168.4.153 on its
    /// own access point, so add that address once the bridge joins that network.
    pub demo_mode_hosts: Vec<String>,
    /// Hosts to search by unicast besides broadcast (`host` or `host:port`;
    /// for VLANs, where broadcasts do not reach the cameras). Without a port
    /// the PPPP search goes to 32108 and the TUTK search to 32761; a port
    /// given is used by both.
    pub unicast_hosts: Vec<String>,
    /// Whether the PPPP search also goes to the broadcast address.
    pub pppp_broadcast: bool,
    /// Whether the TUTK search also goes to the broadcast address.
    pub tutk_broadcast: bool,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            interval_s: 60,
            pppp_lan_search: true,
            tutk_lan_search: true,
            demo_mode_hosts: Vec::new(),
            unicast_hosts: Vec::new(),
            pppp_broadcast: true,
            tutk_broadcast: true,
        }
    }
}

/// `[wyze]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WyzeConfig {
    /// Account e-mail.
    pub email: String,
    /// Account password.
    pub password: Secret,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
    /// Developer API key.
    pub api_key: Secret,
    /// Developer key id.
    pub key_id: String,
    /// TOTP secret for 2FA accounts.
    pub totp_secret: Secret,
    /// Login host (`https://auth-prod.api.wyze.com`); changed only for tests.
    pub auth_url: String,
    /// App API host (`https://api.wyzecam.com`): refresh and device list.
    pub api_url: String,
    /// PEM file with extra root certificates to trust (a test cloud, or a
    /// proxy that intercepts TLS).
    pub ca_file: Option<PathBuf>,
}

impl WyzeConfig {
    /// The default login host.
    pub const DEFAULT_AUTH_URL: &'static str = "https://auth-prod.api.wyze.com";
    /// The default app API host.
    pub const DEFAULT_API_URL: &'static str = "https://api.wyzecam.com";
}

impl Default for WyzeConfig {
    fn default() -> Self {
        Self {
            email: String::new(),
            password: Secret::default(),
            password_file: None,
            api_key: Secret::default(),
            key_id: String::new(),
            totp_secret: Secret::default(),
            auth_url: Self::DEFAULT_AUTH_URL.into(),
            api_url: Self::DEFAULT_API_URL.into(),
            ca_file: None,
        }
    }
}

/// The keys every `[[cameras]]` entry takes, whatever its protocol
/// (besides `protocol` itself).
const COMMON_KEYS: &[&str] = &["id", "name", "enabled", "snapshot_interval_s"];

/// What `protocol` may be.
const PROTOCOLS: &str = "one of demo, pppp, tutk";

/// One `[[cameras]]` entry: common keys plus the protocol's own.
///
/// Read in two steps (serde's `flatten` cannot be combined with
/// `deny_unknown_fields`): the entry as a raw table, the common keys and
/// `protocol` taken from it, every remaining key checked against that
/// protocol's keys, then the rest read into the protocol's struct. Serializes
/// flat, with `protocol = "..."` among the keys, so `check-config` output loads
/// again.
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
fn from_str_setting<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr<Err = String>,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// A `[[cameras]]` entry before it is checked: key → value, as the `config`
/// crate read it (so its lenient conversions, e.g. `"8080"` → 8080, still apply).
type RawCamera = config::Map<String, config::Value>;

/// `cameras[i].key`, or just `key` for an entry outside a config file.
fn camera_key(index: Option<usize>, key: &str) -> String {
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
fn camera_message(what: &str, label: &str, hint: Option<&str>) -> String {
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
    fn label(&self) -> String {
        camera_label([self.id.as_str(), self.uid(), self.host()])
    }

    /// Builds an entry from its raw table; errors name `cameras[index].<key>`
    /// and the camera.
    fn from_raw(mut raw: RawCamera, index: Option<usize>) -> Result<Self, ConfigError> {
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

    /// Checks what a type cannot express; `i` is the entry's index.
    fn validate(&self, i: usize) -> Result<(), ConfigError> {
        let label = self.label();
        let error = |key: &str, what: &str, hint: Option<&str>| {
            ConfigError::new(camera_key(Some(i), key), camera_message(what, &label, hint))
        };
        if !self.id.is_empty() {
            CameraId::parse(&self.id).map_err(|m| error("id", &m, None))?;
        }
        match &self.kind {
            CameraKind::Demo(d) => {
                if d.host.is_empty() {
                    return Err(error("host", "a demo-mode camera needs its address", None));
                }
                for (k, port) in [
                    ("video_port", d.video_port),
                    ("audio_port", d.audio_port),
                    ("command_port", d.command_port),
                ] {
                    if port == 0 {
                        return Err(error(k, "must be 1 to 65535", None));
                    }
                }
            }
            CameraKind::Pppp(p) => {
                if p.uid.is_empty() && p.host.is_empty() {
                    return Err(error("uid", "a pppp camera needs its uid or host", None));
                }
                if !p.uid.is_empty() {
                    if let Err(e) = p.uid.parse::<crate::proto::pppp::uid::Uid>() {
                        return Err(error("uid", &e.to_string(), None));
                    }
                }
                if let Err(e) = crate::proto::pppp::obfuscate::parse_psk_setting(&p.psk) {
                    return Err(error("psk", &e, None));
                }
                if !p.dialect.is_empty()
                    && p.dialect
                        .parse::<crate::proto::pppp::dialect::Dialect>()
                        .is_err()
                {
                    return Err(error(
                        "dialect",
                        &format!("unknown dialect {:?}", p.dialect),
                        Some("one of json, binary, cgi (empty: chosen by the key)"),
                    ));
                }
                if p.search_port == 0 {
                    return Err(error("search_port", "must be 1 to 65535", None));
                }
            }
            CameraKind::Tutk(t) => {
                if t.uid.is_empty() {
                    return Err(error("uid", "a tutk camera needs its uid", None));
                }
                if t.enr.is_empty() {
                    return Err(error(
                        "enr",
                        "missing",
                        Some("a tutk camera needs its ENR (from the Wyze account) to authenticate"),
                    ));
                }
            }
        }
        if let Some(s) = self.snapshot_interval_s {
            if s > 3600 {
                return Err(error(
                    "snapshot_interval_s",
                    "must be 0 to 3600 seconds",
                    None,
                ));
            }
        }
        Ok(())
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

/// What the file holds, before the cameras are checked; see [`Config`].
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    mqtt: MqttConfig,
    homeassistant: HomeAssistantConfig,
    http: HttpConfig,
    snapshots: SnapshotConfig,
    discovery: DiscoveryConfig,
    wyze: WyzeConfig,
    cameras: Vec<RawCamera>,
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, ConfigError> {
        let cameras = raw
            .cameras
            .into_iter()
            .enumerate()
            .map(|(i, cam)| CameraConfig::from_raw(cam, Some(i)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            mqtt: raw.mqtt,
            homeassistant: raw.homeassistant,
            http: raw.http,
            snapshots: raw.snapshots,
            discovery: raw.discovery,
            wyze: raw.wyze,
            cameras,
        })
    }
}

impl Config {
    /// Loads `path` (if given) plus environment overrides, then validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(path, None)
    }

    /// [`Config::load`] with the environment given as a map (tests), or read
    /// from the process when `None`.
    fn load_with_env(
        path: Option<&Path>,
        env: Option<config::Map<String, String>>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = path {
            if !path.exists() {
                return Err(ConfigError {
                    file: Some(path.to_path_buf()),
                    key: "(file)".into(),
                    message: "config file not found".into(),
                });
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("CAM2MQTT")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("discovery.demo_mode_hosts")
                .with_list_parse_key("discovery.unicast_hosts")
                .source(env),
        );
        let with_file = |mut e: ConfigError| {
            e.file = path.map(Path::to_path_buf);
            e
        };
        let raw = builder
            .build()
            .map_err(|e| with_file(from_config_error(e)))?;
        let raw: RawConfig = raw
            .try_deserialize()
            .map_err(|e| with_file(from_config_error(e)))?;
        let mut cfg = Config::try_from(raw).map_err(with_file)?;
        cfg.resolve_secret_files().map_err(with_file)?;
        cfg.validate().map_err(with_file)?;
        Ok(cfg)
    }

    /// Parses TOML text (tests and the add-on use this), then validates.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .map_err(from_config_error)?;
        let raw: RawConfig = raw.try_deserialize().map_err(from_config_error)?;
        let cfg = Config::try_from(raw)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn resolve_secret_files(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.mqtt.password_file {
            self.mqtt.password = read_secret_file(path, "mqtt.password_file")?;
        }
        if let Some(path) = &self.wyze.password_file {
            self.wyze.password = read_secret_file(path, "wyze.password_file")?;
        }
        Ok(())
    }

    /// Checks values a type cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.mqtt.url.as_str();
        if url != "embedded" && !(url.starts_with("mqtt://") || url.starts_with("mqtts://")) {
            return Err(ConfigError::new(
                "mqtt.url",
                format!("{url:?} is not mqtt://host:port, mqtts://host:port or \"embedded\""),
            ));
        }
        if url != "embedded" {
            parse_broker_url(url).map_err(|m| ConfigError::new("mqtt.url", m))?;
        }
        check_topic_part("mqtt.base_topic", &self.mqtt.base_topic)?;
        check_topic_part(
            "homeassistant.discovery_prefix",
            &self.homeassistant.discovery_prefix,
        )?;
        if self.mqtt.client_id.is_empty() {
            return Err(ConfigError::new("mqtt.client_id", "must not be empty"));
        }
        if !self.http.listen.is_empty() && self.http.listen.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(ConfigError::new(
                "http.listen",
                format!(
                    "{:?} is not an address like 0.0.0.0:8099 (or \"\" to disable)",
                    self.http.listen
                ),
            ));
        }
        if self.snapshots.interval_s > 3600 {
            return Err(ConfigError::new(
                "snapshots.interval_s",
                "must be 0 to 3600 seconds",
            ));
        }
        if self.snapshots.max_bytes < 10_000 {
            return Err(ConfigError::new(
                "snapshots.max_bytes",
                "must be at least 10000 bytes",
            ));
        }
        if !(1..=100).contains(&self.snapshots.jpeg_quality) {
            return Err(ConfigError::new(
                "snapshots.jpeg_quality",
                "must be 1 to 100",
            ));
        }
        for (i, host) in self.discovery.demo_mode_hosts.iter().enumerate() {
            if host.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("discovery.demo_mode_hosts[{i}]"),
                    "empty host",
                ));
            }
        }
        // Enabled cameras by id, to name the first holder of a duplicate.
        let mut seen = std::collections::HashMap::new();
        for (i, cam) in self.cameras.iter().enumerate() {
            cam.validate(i)?;
            let id = cam.effective_id();
            let error = |what: &str| {
                ConfigError::new(
                    camera_key(Some(i), "id"),
                    camera_message(what, &cam.label(), None),
                )
            };
            if id.as_str() == "bridge" {
                return Err(error("\"bridge\" is reserved for the bridge's own topics"));
            }
            if cam.enabled {
                if let Some(first) = seen.insert(id.clone(), i) {
                    return Err(error(&format!(
                        "duplicate camera id \"{id}\", also the id of cameras[{first}]"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The effective config as TOML with every secret replaced.
    pub fn redacted_toml(&self) -> String {
        // Secret serializes as "<redacted>", so plain serialization is safe.
        let value = serde_json::to_value(self).unwrap_or_default();
        toml_from_json(&value, "")
    }
}

/// Splits `mqtt[s]://host:port` into (tls, host, port).
pub fn parse_broker_url(url: &str) -> Result<(bool, String, u16), String> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtts://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("mqtt://") {
        (false, r)
    } else {
        return Err(format!("{url:?} does not start with mqtt:// or mqtts://"));
    };
    let rest = rest.trim_end_matches('/');
    let default_port = if tls { 8883 } else { 1883 };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| format!("bad port {p:?} in {url:?}"))?;
            (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                port,
            )
        }
        _ => (rest.to_string(), default_port),
    };
    if host.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    Ok((tls, host, port))
}

fn check_topic_part(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty()
        || value.contains(['#', '+'])
        || value.starts_with('/')
        || value.ends_with('/')
    {
        return Err(ConfigError::new(
            key,
            format!(
                "{value:?} must be a non-empty topic without wildcards or leading/trailing '/'"
            ),
        ));
    }
    Ok(())
}

fn read_secret_file(path: &Path, key: &str) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(key, format!("cannot read {}: {e}", path.display())))?;
    Ok(Secret::new(
        text.lines().next().unwrap_or_default().to_string(),
    ))
}

/// Maps the `config` crate's error to ours, keeping the key it names.
fn from_config_error(e: config::ConfigError) -> ConfigError {
    match e {
        config::ConfigError::Type {
            key,
            unexpected,
            expected,
            ..
        } => ConfigError::new(
            key.unwrap_or_else(|| "(root)".into()),
            format!("invalid type: {unexpected}, expected {expected}"),
        ),
        config::ConfigError::At { error, key, .. } => {
            let mut inner = from_config_error(*error);
            if let Some(k) = key {
                inner.key = k;
            }
            inner
        }
        config::ConfigError::Message(m) => {
            // serde messages look like "unknown field `x`, expected one of …"
            ConfigError::new(guess_key(&m), m)
        }
        other => ConfigError::new("(file)", other.to_string()),
    }
}

fn guess_key(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .map_or_else(|| "(config)".to_string(), str::to_string)
}

/// Minimal TOML rendering of a JSON value tree (tables, arrays of tables, scalars).
fn toml_from_json(v: &serde_json::Value, prefix: &str) -> String {
    use serde_json::Value;
    let mut scalars = String::new();
    let mut tables = String::new();
    if let Value::Object(map) = v {
        for (k, val) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match val {
                Value::Object(_) => {
                    tables.push_str(&format!("\n[{path}]\n"));
                    tables.push_str(&toml_from_json(val, &path));
                }
                Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                    for item in items {
                        tables.push_str(&format!("\n[[{path}]]\n"));
                        tables.push_str(&toml_from_json(item, &path));
                    }
                }
                Value::Null => scalars.push_str(&format!("# {k} = (not set)\n")),
                other => scalars.push_str(&format!("{k} = {other}\n")),
            }
        }
    }
    scalars + &tables
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `[[cameras]]` entry the simulator prints and the integration tests use.
    const DEMO: &str = "[[cameras]]\nprotocol=\"demo\"\nhost=\"127.0.0.1\"\nvideo_port=18080\naudio_port=18081\ncommand_port=18082\nframe_check=\"markers\"\nsilence_timeout_s=3\nsnapshot_interval_s=1\n";

    fn demo_of(cam: &CameraConfig) -> &DemoCameraConfig {
        match &cam.kind {
            CameraKind::Demo(d) => d,
            other => panic!("not a demo camera: {other:?}"),
        }
    }

    #[test]
    fn defaults_validate() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::from_toml("[mqtt]\nurl = \"http://x\"").unwrap_err();
        assert_eq!(e.key, "mqtt.url");
        let e = Config::from_toml("[snapshots]\ninterval_s = 99999").unwrap_err();
        assert_eq!(e.key, "snapshots.interval_s");
        let e = Config::from_toml("[mqtt]\nport = 5").unwrap_err();
        assert!(e.to_string().contains("port"), "{e}");
        let e = Config::from_toml("[[cameras]]\nprotocol = \"demo\"").unwrap_err();
        assert_eq!(e.key, "cameras[0].host");
        let e = Config::from_toml("[[cameras]]\nprotocol = \"foo\"\nhost=\"x\"").unwrap_err();
        assert!(e.to_string().contains("foo"), "{e}");
    }

    #[test]
    fn broker_urls_parse() {
        assert_eq!(
            parse_broker_url("mqtt://h:1884").unwrap(),
            (false, "h".into(), 1884)
        );
        assert_eq!(
            parse_broker_url("mqtts://h").unwrap(),
            (true, "h".into(), 8883)
        );
        assert_eq!(
            parse_broker_url("mqtt://[::1]:1").unwrap(),
            (false, "::1".into(), 1)
        );
        assert!(parse_broker_url("mqtt://:1").is_err());
    }

    #[test]
    fn a_demo_config_loads_unchanged() {
        let cfg = Config::from_toml(DEMO).unwrap();
        let cam = &cfg.cameras[0];
        assert_eq!(cam.protocol(), Protocol::Demo);
        assert_eq!(cam.host(), "127.0.0.1");
        assert_eq!(cam.uid(), "");
        assert!(cam.enabled);
        assert_eq!(cam.snapshot_interval_s, Some(1));
        let d = demo_of(cam);
        assert_eq!(
            (d.video_port, d.audio_port, d.command_port),
            (18080, 18081, 18082)
        );
        assert_eq!(d.frame_check, FrameCheck::Markers);
        assert_eq!(d.audio_start, AudioStart::Request);
        assert_eq!(d.silence_timeout(), Duration::from_secs(3));
        assert_eq!(cam.effective_id().as_str(), "demo_127_0_0_1_18080");

        let cfg =
            Config::from_toml("[[cameras]]\nprotocol=\"demo\"\nhost=\"192.168.4.153\"").unwrap();
        let d = demo_of(&cfg.cameras[0]);
        assert_eq!(
            (
                d.video_port,
                d.audio_port,
                d.command_port,
                d.silence_timeout_s
            ),
            (8080, 8070, 8090, 10)
        );
        assert_eq!(d.frame_check, FrameCheck::Header);
    }

    #[test]
    fn video_port_on_a_tutk_camera_is_rejected_naming_the_key_the_camera_and_the_allowed_keys() {
        let e = Config::from_toml(
            "[[cameras]]\nid=\"garage\"\nprotocol=\"tutk\"\nuid=\"ABCDEFGHIJKLMNOPQRST\"\nenr=\"secret-enr\"\nvideo_port=8080",
        )
        .unwrap_err();
        assert_eq!(e.key, "cameras[0].video_port");
        assert_eq!(
            e.to_string(),
            "cameras[0].video_port: not a setting of a tutk camera (camera \"garage\"); \
             tutk cameras take: id, name, enabled, snapshot_interval_s, host, uid, enr, mac"
        );
        assert!(!e.to_string().contains("secret-enr"), "{e}");
    }

    #[test]
    fn each_protocol_rejects_the_keys_of_the_others() {
        for (protocol, key, value) in [
            ("demo", "uid", "\"x\""),
            ("demo", "password", "\"pw\""),
            ("pppp", "enr", "\"x\""),
            ("pppp", "frame_check", "\"markers\""),
            ("tutk", "username", "\"admin\""),
            ("tutk", "silence_timeout_s", "5"),
        ] {
            let e = Config::from_toml(&format!(
                "[[cameras]]\nprotocol=\"{protocol}\"\nhost=\"10.0.0.9\"\n{key}={value}"
            ))
            .unwrap_err();
            assert_eq!(e.key, format!("cameras[0].{key}"), "{protocol}: {e}");
            assert!(
                e.message
                    .contains(&format!("not a setting of a {protocol} camera")),
                "{e}"
            );
        }
    }

    #[test]
    fn several_unknown_keys_are_named_together() {
        let e = Config::from_toml(
            "[[cameras]]\nprotocol=\"pppp\"\nhost=\"h\"\nzoom=1\nenr=\"x\"\naudio_port=1",
        )
        .unwrap_err();
        assert_eq!(e.key, "cameras[0].audio_port");
        assert!(
            e.message.contains("(camera \"h\")")
                && e.message.ends_with("; also not pppp settings: enr, zoom"),
            "{e}"
        );
    }

    #[test]
    fn an_error_in_a_config_file_names_the_file_the_key_and_the_camera() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cams.toml");
        std::fs::write(
            &path,
            "[[cameras]]\nprotocol=\"demo\"\nhost=\"10.0.0.2\"\n\n\
             [[cameras]]\nprotocol=\"tutk\"\nuid=\"WYZEUID0123456789ABC\"\nenr=\"k\"\nvideo_port=8080\n",
        )
        .unwrap();
        let e = Config::load_with_env(Some(&path), Some(config::Map::new())).unwrap_err();
        assert_eq!(e.file.as_deref(), Some(path.as_path()));
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("{}: cameras[1].video_port: ", path.display())),
            "{text}"
        );
        assert!(text.contains("(camera \"WYZEUID0123456789ABC\")"), "{text}");
        assert!(text.contains("tutk cameras take: "), "{text}");
    }

    #[test]
    fn a_type_error_in_a_camera_names_the_key_and_the_camera() {
        let e =
            Config::from_toml(&DEMO.replace("video_port=18080", "video_port=\"x\"")).unwrap_err();
        assert_eq!(e.key, "cameras[0].video_port");
        assert!(
            e.message.contains("invalid type") && e.message.contains("(camera \"127.0.0.1\")"),
            "{e}"
        );

        let e = Config::from_toml(&DEMO.replace("\"markers\"", "\"crc\"")).unwrap_err();
        assert_eq!(e.key, "cameras[0].frame_check");
        assert!(e.message.contains("expected header or markers"), "{e}");

        let e =
            Config::from_toml(&DEMO.replace("video_port=18080", "video_port=70000")).unwrap_err();
        assert_eq!(e.key, "cameras[0].video_port");

        let e = Config::from_toml(
            &DEMO.replace("snapshot_interval_s=1", "snapshot_interval_s=\"soon\""),
        )
        .unwrap_err();
        assert_eq!(e.key, "cameras[0].snapshot_interval_s");

        let e = Config::from_toml(
            "[[cameras]]\nid=\"door\"\nprotocol=\"pppp\"\nuid=\"U\"\npassword=[1]",
        )
        .unwrap_err();
        assert_eq!(e.key, "cameras[0].password");
        assert!(e.message.contains("(camera \"door\")"), "{e}");
    }

    #[test]
    fn a_missing_protocol_is_an_error_listing_the_protocols() {
        let e = Config::from_toml("[[cameras]]\nid=\"porch\"\nhost=\"10.0.0.3\"").unwrap_err();
        assert_eq!(e.key, "cameras[0].protocol");
        assert_eq!(
            e.message,
            "missing (camera \"porch\"); one of demo, pppp, tutk"
        );
    }

    #[test]
    fn an_unknown_protocol_lists_the_known_ones() {
        let e = Config::from_toml(&format!(
            "{DEMO}\n[[cameras]]\nprotocol=\"rtsp\"\nhost=\"cam\""
        ))
        .unwrap_err();
        assert_eq!(e.key, "cameras[1].protocol");
        assert_eq!(
            e.message,
            "unknown protocol \"rtsp\" (camera \"cam\"); one of demo, pppp, tutk"
        );
    }

    #[test]
    fn pppp_and_tutk_cameras_load_with_their_own_keys() {
        let cfg = Config::from_toml(
            "[[cameras]]\nname=\"Door\"\nprotocol=\"pppp\"\nuid=\"ABCD-123456-ABCDE\"\nusername=\"admin\"\npassword=\"pw\"\n\
             [[cameras]]\nprotocol=\"tutk\"\nhost=\"10.0.0.7\"\nuid=\"WYZEUID0123456789ABC\"\nenr=\"enr\"\nmac=\"AA:BB\"\nenabled=false",
        )
        .unwrap();
        let [door, wyze] = &cfg.cameras[..] else {
            panic!("{:?}", cfg.cameras)
        };
        assert_eq!(door.protocol(), Protocol::Pppp);
        // One id whether the UID is written with hyphens or without.
        assert_eq!(door.effective_id().as_str(), "abcd123456abcde");
        let mut compact = door.clone();
        if let CameraKind::Pppp(p) = &mut compact.kind {
            p.uid = "ABCD123456ABCDE".into();
        }
        assert_eq!(compact.effective_id(), door.effective_id());
        let CameraKind::Pppp(p) = &door.kind else {
            panic!()
        };
        assert_eq!((p.username.as_str(), p.password.expose()), ("admin", "pw"));
        assert_eq!(wyze.host(), "10.0.0.7");
        assert!(!wyze.enabled);
        let CameraKind::Tutk(t) = &wyze.kind else {
            panic!()
        };
        assert_eq!((t.enr.expose(), t.mac.as_str()), ("enr", "AA:BB"));
    }

    #[test]
    fn pppp_needs_a_uid_or_host_and_tutk_needs_uid_and_enr() {
        let e = Config::from_toml("[[cameras]]\nid=\"x\"\nprotocol=\"pppp\"").unwrap_err();
        assert_eq!(e.key, "cameras[0].uid");
        Config::from_toml("[[cameras]]\nprotocol=\"pppp\"\nhost=\"10.0.0.4\"").unwrap();

        let e =
            Config::from_toml("[[cameras]]\nprotocol=\"tutk\"\nhost=\"h\"\nenr=\"k\"").unwrap_err();
        assert_eq!(e.key, "cameras[0].uid");
        let e = Config::from_toml("[[cameras]]\nid=\"garage\"\nprotocol=\"tutk\"\nuid=\"U\"")
            .unwrap_err();
        assert_eq!(e.key, "cameras[0].enr");
        assert!(
            e.message.contains("(camera \"garage\")") && e.message.contains("authenticate"),
            "{e}"
        );
    }

    #[test]
    fn validation_errors_name_the_camera() {
        let e =
            Config::from_toml(&DEMO.replace("command_port=18082", "command_port=0")).unwrap_err();
        assert_eq!(e.key, "cameras[0].command_port");
        assert!(e.message.contains("(camera \"127.0.0.1\")"), "{e}");

        let e = Config::from_toml(&format!(
            "{DEMO}[[cameras]]\nid=\"tv\"\nprotocol=\"demo\"\nhost=\"h\"\nsnapshot_interval_s=4000"
        ))
        .unwrap_err();
        assert_eq!(e.key, "cameras[1].snapshot_interval_s");
        assert!(e.message.contains("(camera \"tv\")"), "{e}");

        let e = Config::from_toml("[[cameras]]\nid=\"bridge\"\nprotocol=\"demo\"\nhost=\"h\"")
            .unwrap_err();
        assert_eq!(e.key, "cameras[0].id");
        assert!(e.message.contains("reserved"), "{e}");

        let two = "[[cameras]]\nid=\"a\"\nprotocol=\"demo\"\nhost=\"h1\"\n\
                   [[cameras]]\nid=\"a\"\nprotocol=\"pppp\"\nhost=\"h2\"\n";
        let e = Config::from_toml(two).unwrap_err();
        assert_eq!(e.key, "cameras[1].id");
        assert!(e.message.contains("cameras[0]"), "{e}");
        Config::from_toml(&format!("{two}enabled=false")).unwrap();
    }

    #[test]
    fn redacted_toml_round_trips_all_three_protocols_with_secrets_hidden() {
        let cfg = Config::from_toml(&format!(
            "[mqtt]\npassword = \"brokerpw\"\n[wyze]\napi_key = \"wyzekey\"\n\
             {DEMO}\
             [[cameras]]\nid=\"door\"\nprotocol=\"pppp\"\nuid=\"ABCD-123456-ABCDE\"\nusername=\"admin\"\npassword=\"camerapw\"\n\
             [[cameras]]\nprotocol=\"tutk\"\nuid=\"WYZEUID0123456789ABC\"\nenr=\"wyzeenr\"\nmac=\"AA:BB\"\nsnapshot_interval_s=30\n"
        ))
        .unwrap();
        let text = cfg.redacted_toml();
        for secret in ["brokerpw", "wyzekey", "camerapw", "wyzeenr"] {
            assert!(!text.contains(secret), "{secret} in:\n{text}");
        }
        for shown in [
            "protocol = \"demo\"",
            "protocol = \"pppp\"",
            "protocol = \"tutk\"",
            "password = \"<redacted>\"",
            "enr = \"<redacted>\"",
            "username = \"admin\"",
            "frame_check = \"markers\"",
        ] {
            assert!(text.contains(shown), "no {shown} in:\n{text}");
        }
        let again = Config::from_toml(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(again.cameras.len(), 3);
        let protocols: Vec<Protocol> = again.cameras.iter().map(CameraConfig::protocol).collect();
        assert_eq!(protocols, [Protocol::Demo, Protocol::Pppp, Protocol::Tutk]);
        let ids = |c: &Config| {
            c.cameras
                .iter()
                .map(CameraConfig::effective_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&again), ids(&cfg));
        assert_eq!(demo_of(&again.cameras[0]).video_port, 18080);
        assert_eq!(again.cameras[2].snapshot_interval_s, Some(30));
        assert_eq!(again.redacted_toml(), text);
    }

    #[test]
    fn a_config_and_a_camera_also_deserialize_through_serde() {
        let cfg = Config::from_toml(&format!(
            "{DEMO}[[cameras]]\nprotocol=\"pppp\"\nuid=\"ABCD-123456-ABCDE\"\npassword=\"pw\""
        ))
        .unwrap();
        let json = serde_json::to_value(&cfg).unwrap();
        assert_eq!(
            json["cameras"][1]["snapshot_interval_s"],
            serde_json::Value::Null
        );
        let again: Config = serde_json::from_value(json).unwrap();
        assert_eq!(demo_of(&again.cameras[0]).command_port, 18082);
        assert_eq!(again.cameras[1].snapshot_interval_s, None);

        let cam: CameraConfig = serde_json::from_value(serde_json::json!({
            "protocol": "tutk", "uid": "U", "enr": "k", "enabled": false
        }))
        .unwrap();
        assert_eq!((cam.protocol(), cam.enabled), (Protocol::Tutk, false));
        let e = serde_json::from_value::<CameraConfig>(serde_json::json!({
            "protocol": "tutk", "uid": "U", "audio_port": 1
        }))
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("audio_port: not a setting of a tutk camera (camera \"U\")"),
            "{e}"
        );
    }

    #[test]
    fn the_key_lists_match_the_structs() {
        fn keys<T: Serialize + Default>() -> Vec<String> {
            let mut k: Vec<String> = serde_json::to_value(T::default())
                .unwrap()
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        }
        fn sorted(k: &[&str]) -> Vec<String> {
            let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
            k.sort();
            k
        }
        assert_eq!(keys::<DemoCameraConfig>(), sorted(DemoCameraConfig::KEYS));
        assert_eq!(keys::<PpppCameraConfig>(), sorted(PpppCameraConfig::KEYS));
        assert_eq!(keys::<TutkCameraConfig>(), sorted(TutkCameraConfig::KEYS));
        let common = serde_json::to_value(CameraConfig::demo("h")).unwrap();
        for k in COMMON_KEYS {
            assert!(common.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn environment_overrides_still_apply_to_the_sections() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, format!("[mqtt]\nclient_id = \"from-file\"\n{DEMO}")).unwrap();
        let env: config::Map<String, String> = [
            ("CAM2MQTT__MQTT__CLIENT_ID", "from-env"),
            ("CAM2MQTT__MQTT__PASSWORD", "envpw"),
            ("CAM2MQTT__SNAPSHOTS__INTERVAL_S", "30"),
            ("CAM2MQTT__DISCOVERY__DEMO_MODE_HOSTS", "10.0.0.1,10.0.0.2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let cfg = Config::load_with_env(Some(&path), Some(env)).unwrap();
        assert_eq!(cfg.mqtt.client_id, "from-env");
        assert_eq!(cfg.mqtt.password.expose(), "envpw");
        assert_eq!(cfg.snapshots.interval_s, 30);
        assert_eq!(cfg.discovery.demo_mode_hosts, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(demo_of(&cfg.cameras[0]).video_port, 18080);
    }

    #[test]
    fn wyze_hosts_default_to_the_wyze_cloud_and_can_point_elsewhere() {
        let cfg = Config::from_toml(DEMO).unwrap();
        assert_eq!(cfg.wyze.auth_url, "https://auth-prod.api.wyze.com");
        assert_eq!(cfg.wyze.api_url, "https://api.wyzecam.com");
        assert_eq!(cfg.wyze.ca_file, None);
        let cfg = Config::from_toml(&format!(
            "[wyze]\nemail = \"a@b.c\"\npassword = \"wyzepw\"\ntotp_secret = \"wyzetotp\"\n\
             auth_url = \"https://127.0.0.1:4443\"\napi_url = \"https://127.0.0.1:4444\"\n\
             ca_file = \"/tmp/ca.pem\"\n{DEMO}"
        ))
        .unwrap();
        assert_eq!(cfg.wyze.auth_url, "https://127.0.0.1:4443");
        assert_eq!(cfg.wyze.api_url, "https://127.0.0.1:4444");
        assert_eq!(cfg.wyze.ca_file.as_deref(), Some(Path::new("/tmp/ca.pem")));
        let text = cfg.redacted_toml();
        assert!(
            !text.contains("wyzepw") && !text.contains("wyzetotp"),
            "{text}"
        );
        assert!(
            text.contains("auth_url = \"https://127.0.0.1:4443\""),
            "{text}"
        );
        let e = Config::from_toml(&format!("[wyze]\nauth_host = \"x\"\n{DEMO}")).unwrap_err();
        assert!(e.to_string().contains("auth_host"), "{e}");
    }

    #[test]
    fn the_example_config_loads_and_its_camera_examples_use_only_their_protocols_keys() {
        let text = include_str!("../config/cam2mqtt.example.toml");
        Config::from_toml(text).unwrap();
        // Each example: "# [[cameras]]" and the "# key = value" lines after it,
        // up to the first line that is not one.
        let mut examples: Vec<String> = Vec::new();
        let mut open = false;
        for line in text.lines() {
            if line == "# [[cameras]]" {
                examples.push("[[cameras]]\n".into());
                open = true;
            } else if open {
                match line.strip_prefix("# ") {
                    Some(l) if l.starts_with(' ') => {} // a comment's second line
                    Some(l) => {
                        let example = examples.last_mut().expect("open example");
                        example.push_str(l);
                        example.push('\n');
                    }
                    None => open = false,
                }
            }
        }
        assert!(
            examples[0].contains("silence_timeout_s") && examples[2].contains("mac"),
            "{examples:?}"
        );
        let protocols = examples
            .iter()
            .map(|example| {
                let raw = config::Config::builder()
                    .add_source(config::File::from_str(example, config::FileFormat::Toml))
                    .build()
                    .and_then(config::Config::try_deserialize::<RawConfig>)
                    .unwrap_or_else(|e| panic!("{e}\n{example}"));
                // Keys and types only: the examples leave required secrets empty.
                let cfg = Config::try_from(raw).unwrap_or_else(|e| panic!("{e}\n{example}"));
                cfg.cameras[0].protocol()
            })
            .collect::<Vec<_>>();
        assert_eq!(protocols, [Protocol::Demo, Protocol::Pppp, Protocol::Tutk]);
    }

    #[test]
    fn ids_are_derived_from_uid_or_address() {
        assert_eq!(
            CameraConfig::demo("192.168.4.153").effective_id().as_str(),
            "demo_192_168_4_153"
        );
        let mut c = CameraConfig::demo("127.0.0.1");
        if let CameraKind::Demo(d) = &mut c.kind {
            d.video_port = 18080;
        }
        assert_eq!(c.effective_id().as_str(), "demo_127_0_0_1_18080");
        let pppp = CameraConfig::new(CameraKind::Pppp(PpppCameraConfig {
            host: "10.0.0.5".into(),
            ..PpppCameraConfig::default()
        }));
        assert_eq!(pppp.effective_id().as_str(), "pppp_10_0_0_5");
        let tutk = CameraConfig::new(CameraKind::Tutk(TutkCameraConfig {
            uid: "WYZE-UID".into(),
            ..TutkCameraConfig::default()
        }));
        assert_eq!(tutk.effective_id().as_str(), "wyze_uid");
    }
}
