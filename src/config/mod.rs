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

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

mod camera;
mod names;
mod validate;

use camera::{from_str_setting, RawCamera};
pub use camera::{CameraConfig, CameraKind, DemoCameraConfig, PpppCameraConfig, TutkCameraConfig};
pub use names::{resolve_names, split_host_port};
pub use validate::parse_broker_url;

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
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
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
    /// RTSP server (same credentials as `http`).
    pub rtsp: RtspConfig,
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

impl std::str::FromStr for DiscoveryMode {
    type Err = String;

    /// `entity`, `device` or `off`; the error lists them.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "entity" => Ok(Self::Entity),
            "device" => Ok(Self::Device),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "unknown discovery mode {other:?}; one of entity, device, off"
            )),
        }
    }
}

/// `[homeassistant]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HomeAssistantConfig {
    /// Discovery format.
    #[serde(deserialize_with = "from_str_setting")]
    pub discovery: DiscoveryMode,
    /// Discovery topic prefix.
    pub discovery_prefix: String,
    /// HA's birth/will topic.
    pub status_topic: String,
    /// Home Assistant's URL, for text-to-speech (`set/say`); empty: no
    /// speech. The add-on sets it (the Supervisor's proxy).
    pub url: String,
    /// A long-lived access token for `url`.
    pub token: Secret,
    /// File whose first line is the token.
    pub token_file: Option<PathBuf>,
    /// The speech engine (`tts.piper`, `tts.google_translate_en_com`, …);
    /// empty: the first one Home Assistant has.
    pub tts_engine: String,
    /// Language for the engine (e.g. `en`); empty: the engine's default.
    pub tts_language: String,
}

impl Default for HomeAssistantConfig {
    fn default() -> Self {
        Self {
            discovery: DiscoveryMode::Entity,
            discovery_prefix: "homeassistant".into(),
            status_topic: "homeassistant/status".into(),
            url: String::new(),
            token: Secret::default(),
            token_file: None,
            tts_engine: String::new(),
            tts_language: String::new(),
        }
    }
}

/// `[http]`: the web UI, live streams, REST, health and metrics.
///
/// Who may use it: with `username`/`password` (basic) or `token` (bearer)
/// set, every client must present them; without, only loopback clients. The
/// `trusted_proxies` (Home Assistant's ingress proxy in the add-on, which
/// authenticates its users itself) are always let through.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Listen address; empty disables.
    pub listen: String,
    /// JPEGs per second a watched H.264/H.265 camera is decoded to (1–30).
    pub live_fps: u32,
    /// Basic-auth user (with `password`).
    pub username: String,
    /// Basic-auth password.
    pub password: Secret,
    /// File whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// Bearer token (`Authorization: Bearer <token>`).
    pub token: Secret,
    /// File whose first line is the token.
    pub token_file: Option<PathBuf>,
    /// Addresses always let in (the add-on's ingress proxy, 172.30.32.2).
    pub trusted_proxies: Vec<String>,
    /// Seconds between `bridge/health` publishes (0: never).
    pub health_interval_s: u32,
    /// The web UI's address as Home Assistant users reach it (e.g.
    /// `http://192.168.1.10:8099/`), shown as each device's "Visit" link
    /// (`configuration_url`); empty: no link (the bridge cannot know which of
    /// its addresses users see).
    pub external_url: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8099".into(),
            live_fps: 5,
            username: String::new(),
            password: Secret::default(),
            password_file: None,
            token: Secret::default(),
            token_file: None,
            trusted_proxies: Vec::new(),
            health_interval_s: 30,
            external_url: String::new(),
        }
    }
}

/// `[rtsp]`: every camera as `rtsp://HOST:8554/<camera>`, with the
/// credentials and the trust rule of `[http]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtspConfig {
    /// Listen address (TCP; UDP delivery uses a port pair on the same IP
    /// that the system picks); empty disables.
    pub listen: String,
    /// The server's address as users reach it (`rtsp://192.168.1.10:8554`),
    /// for each camera's `rtsp_url`; empty: the listen address, or this
    /// machine's address when listening on all of them.
    pub url: String,
}

impl Default for RtspConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8554".into(),
            url: String::new(),
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

/// What the file holds, before the cameras are checked; see [`Config`].
#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    mqtt: MqttConfig,
    homeassistant: HomeAssistantConfig,
    http: HttpConfig,
    rtsp: RtspConfig,
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
            rtsp: raw.rtsp,
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

    /// Layers TOML documents (later ones win; each named by its file, if it
    /// came from one), then validates: the add-on's user config under its
    /// options.
    pub fn from_layers(layers: &[(&str, Option<&Path>)]) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        for (text, _) in layers {
            builder = builder.add_source(config::File::from_str(text, config::FileFormat::Toml));
        }
        // A syntax error is in one document: name its file.
        for (text, path) in layers {
            if let (Err(e), Some(path)) = (
                config::Config::builder()
                    .add_source(config::File::from_str(text, config::FileFormat::Toml))
                    .build(),
                path,
            ) {
                let mut e = from_config_error(e);
                e.file = Some(path.to_path_buf());
                return Err(e);
            }
        }
        let raw = builder.build().map_err(from_config_error)?;
        let raw: RawConfig = raw.try_deserialize().map_err(from_config_error)?;
        let mut cfg = Config::try_from(raw)?;
        cfg.resolve_secret_files()?;
        cfg.validate()?;
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
        if let Some(path) = &self.http.password_file {
            self.http.password = read_secret_file(path, "http.password_file")?;
        }
        if let Some(path) = &self.homeassistant.token_file {
            self.homeassistant.token = read_secret_file(path, "homeassistant.token_file")?;
        }
        if let Some(path) = &self.http.token_file {
            self.http.token = read_secret_file(path, "http.token_file")?;
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
        } => {
            let key = key.unwrap_or_else(|| "(root)".into());
            let mut message = format!("invalid type: {unexpected}, expected {expected}");
            if key.ends_with("port") {
                message.push_str(" (a port is 1 to 65535)");
            }
            ConfigError::new(key, message)
        }
        config::ConfigError::At { error, key, .. } => {
            let mut inner = from_config_error(*error);
            if let Some(k) = key {
                // An unknown key inside a section: `discovery.foo`, not `discovery`.
                inner.key = if inner.message.starts_with("unknown field") && inner.key != k {
                    format!("{k}.{}", inner.key)
                } else {
                    k
                };
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
pub(crate) fn toml_from_json(v: &serde_json::Value, prefix: &str) -> String {
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
mod tests;
