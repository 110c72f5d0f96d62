//! Configuration: TOML file + `CAM2MQTT__SECTION__KEY` environment overrides,
//! loaded with the `config` crate, then validated. Every error names the key.
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// Static cameras and per-camera overrides.
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
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            interval_s: 10,
            max_bytes: 500_000,
            jpeg_quality: 80,
        }
    }
}

/// `[discovery]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// Seconds between scans.
    pub interval_s: u32,
    /// PPPP LAN search (used once PPPP lands).
    pub pppp_lan_search: bool,
    /// TUTK LAN search (used once Wyze lands).
    pub tutk_lan_search: bool,
    /// Hosts to treat as A9 cameras in demo mode (ports 8080/8070/8090).
    /// Empty by default: a camera in demo mode is always 192.168.4.153 on its
    /// own access point, so add that address once the bridge joins that network.
    pub demo_mode_hosts: Vec<String>,
    /// Hosts to probe by unicast instead of broadcast.
    pub unicast_hosts: Vec<String>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            interval_s: 60,
            pppp_lan_search: true,
            tutk_lan_search: true,
            demo_mode_hosts: Vec::new(),
            unicast_hosts: Vec::new(),
        }
    }
}

/// `[wyze]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
}

/// One `[[cameras]]` entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CameraConfig {
    /// Topic-safe id; derived from UID or address when empty.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Protocol.
    pub protocol: Option<Protocol>,
    /// Address (IP or host name).
    pub host: String,
    /// PPPP/TUTK UID.
    pub uid: String,
    /// Login user.
    pub username: String,
    /// Login password.
    pub password: Secret,
    /// Wyze ENR.
    pub enr: Secret,
    /// MAC address.
    pub mac: String,
    /// Per-camera snapshot interval (seconds).
    pub snapshot_interval_s: Option<u32>,
    /// Set false to ignore this camera.
    pub enabled: bool,
    /// Demo mode: video port (default 8080).
    pub video_port: u16,
    /// Demo mode: audio port (default 8070).
    pub audio_port: u16,
    /// Demo mode: Wi-Fi setup port (default 8090).
    pub command_port: u16,
    /// Demo mode: how frames are checked (`header` or `markers`).
    pub frame_check: FrameCheck,
    /// Demo mode: whether to request audio (`request` or `off`).
    pub audio_start: AudioStart,
    /// Seconds without a frame before the camera counts as offline.
    pub silence_timeout_s: u32,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            protocol: None,
            host: String::new(),
            uid: String::new(),
            username: String::new(),
            password: Secret::default(),
            enr: Secret::default(),
            mac: String::new(),
            snapshot_interval_s: None,
            enabled: true,
            video_port: 8080,
            audio_port: 8070,
            command_port: 8090,
            frame_check: FrameCheck::default(),
            audio_start: AudioStart::default(),
            silence_timeout_s: 10,
        }
    }
}

impl CameraConfig {
    /// A demo-mode camera at `host` with default settings.
    pub fn demo(host: &str) -> Self {
        Self {
            protocol: Some(Protocol::Demo),
            host: host.into(),
            ..Self::default()
        }
    }

    /// The id this camera gets: `id`, else derived from UID, else from the address.
    pub fn effective_id(&self) -> CameraId {
        if !self.id.is_empty() {
            return CameraId::derive(&self.id);
        }
        if !self.uid.is_empty() {
            return CameraId::derive(&self.uid);
        }
        let proto = self.protocol.map_or("camera", Protocol::as_str);
        if self.protocol == Some(Protocol::Demo) && self.video_port != 8080 {
            CameraId::derive(&format!("{proto}_{}_{}", self.host, self.video_port))
        } else {
            CameraId::derive(&format!("{proto}_{}", self.host))
        }
    }

    /// The silence timeout as a duration.
    pub fn silence_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.silence_timeout_s.max(1)))
    }
}

impl Config {
    /// Loads `path` (if given) plus environment overrides, then validates.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
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
                .with_list_parse_key("discovery.unicast_hosts"),
        );
        let with_file = |mut e: ConfigError| {
            e.file = path.map(Path::to_path_buf);
            e
        };
        let raw = builder
            .build()
            .map_err(|e| with_file(from_config_error(e)))?;
        let mut cfg: Config = raw
            .try_deserialize()
            .map_err(|e| with_file(from_config_error(e)))?;
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
        let cfg: Config = raw.try_deserialize().map_err(from_config_error)?;
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
        let mut seen = std::collections::HashSet::new();
        for (i, cam) in self.cameras.iter().enumerate() {
            let key = |k: &str| format!("cameras[{i}].{k}");
            if !cam.id.is_empty() {
                CameraId::parse(&cam.id).map_err(|m| ConfigError::new(key("id"), m))?;
            }
            let Some(protocol) = cam.protocol else {
                return Err(ConfigError::new(
                    key("protocol"),
                    "missing; one of demo, pppp, tutk",
                ));
            };
            if protocol == Protocol::Demo && cam.host.is_empty() {
                return Err(ConfigError::new(
                    key("host"),
                    "a demo-mode camera needs its address",
                ));
            }
            for (k, port) in [
                ("video_port", cam.video_port),
                ("audio_port", cam.audio_port),
                ("command_port", cam.command_port),
            ] {
                if port == 0 {
                    return Err(ConfigError::new(key(k), "must be 1 to 65535"));
                }
            }
            if let Some(s) = cam.snapshot_interval_s {
                if s > 3600 {
                    return Err(ConfigError::new(
                        key("snapshot_interval_s"),
                        "must be 0 to 3600 seconds",
                    ));
                }
            }
            let id = cam.effective_id();
            if id.as_str() == "bridge" {
                return Err(ConfigError::new(
                    key("id"),
                    "\"bridge\" is reserved for the bridge's own topics",
                ));
            }
            if cam.enabled && !seen.insert(id.clone()) {
                return Err(ConfigError::new(
                    key("id"),
                    format!("duplicate camera id {id:?}"),
                ));
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
    fn redacted_toml_hides_secrets_and_round_trips() {
        let cfg = Config::from_toml(
            "[mqtt]\npassword = \"brokerpw\"\n[[cameras]]\nprotocol=\"demo\"\nhost=\"127.0.0.1\"\npassword=\"campw\"",
        )
        .unwrap();
        let text = cfg.redacted_toml();
        assert!(
            !text.contains("brokerpw") && !text.contains("campw"),
            "{text}"
        );
        assert!(text.contains("<redacted>"));
        let again = Config::from_toml(&text).unwrap();
        assert_eq!(again.cameras.len(), 1);
    }

    #[test]
    fn ids_are_derived_from_uid_or_address() {
        assert_eq!(
            CameraConfig::demo("192.168.4.153").effective_id().as_str(),
            "demo_192_168_4_153"
        );
        let mut c = CameraConfig::demo("127.0.0.1");
        c.video_port = 18080;
        assert_eq!(c.effective_id().as_str(), "demo_127_0_0_1_18080");
    }
}
