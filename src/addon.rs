//! The Home Assistant add-on: its options (`/data/options.json`, as the
//! Supervisor writes them from the add-on's configuration page) become the
//! normal [`Config`], so the start script stays a few lines and this mapping
//! is tested here.
//!
//! - Options are checked again here (the Supervisor checks them against the
//!   schema in `hass-addon/cam2mqtt/config.yaml`, but a hand-edited file or a
//!   schema slip must still give an error naming the option).
//! - The MQTT broker is the user's `mqtt.url` option if set, else the one the
//!   Supervisor's MQTT service names (the start script exports it as
//!   `CAM2MQTT_ADDON_MQTT_*`), else an error saying what to do.
//! - The web UI listens on [`HTTP_LISTEN`] (the ingress port) and trusts the
//!   ingress proxy ([`INGRESS_PROXY`]); anyone else needs `web_username` /
//!   `web_password`.
//! - An optional `config.toml` in the add-on's config folder is merged under
//!   the options: it fills what the options leave out (camera quirks, say),
//!   and an option that is set wins.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::config::{Config, ConfigError};
use crate::secret::Secret;

/// Where the Supervisor writes the options.
pub const OPTIONS_PATH: &str = "/data/options.json";
/// Where the add-on's own config folder (`addon_config`) is mounted.
pub const USER_CONFIG: &str = "/config/config.toml";

/// The user config under the options: [`USER_CONFIG`], or `config.toml` in
/// `CAM2MQTT_ADDON_CONFIG_DIR` (tests).
pub fn user_config_path() -> PathBuf {
    match std::env::var_os("CAM2MQTT_ADDON_CONFIG_DIR") {
        Some(dir) => PathBuf::from(dir).join("config.toml"),
        None => PathBuf::from(USER_CONFIG),
    }
}
/// The state directory inside the add-on.
pub const STATE_DIR: &str = "/data";
/// Home Assistant's ingress proxy, on the Supervisor's network.
pub const INGRESS_PROXY: &str = "172.30.32.2";
/// Where the web UI listens: the add-on's `ingress_port` on the host network.
pub const HTTP_LISTEN: &str = "0.0.0.0:8099";

/// The options the add-on takes (top level).
const OPTIONS: [&str; 11] = [
    "log_level",
    "cameras",
    "wyze",
    "snapshot_interval_s",
    "discovery",
    "mqtt",
    "live_fps",
    "web_username",
    "web_password",
    "tts_engine",
    "rtsp_port",
];

/// Home Assistant's API through the Supervisor (`homeassistant_api: true`).
pub const CORE_URL: &str = "http://supervisor/core";

/// The broker the Supervisor's MQTT service names.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceBroker {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User.
    pub username: String,
    /// Password.
    pub password: Secret,
    /// TLS.
    pub ssl: bool,
}

impl ServiceBroker {
    /// The broker from `CAM2MQTT_ADDON_MQTT_{HOST,PORT,USERNAME,PASSWORD,SSL}`
    /// (read through `var`), if the host is set.
    pub fn from_env(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, ConfigError> {
        // bashio prints `null` for a field the service does not have.
        let get = |k: &str| {
            var(&format!("CAM2MQTT_ADDON_MQTT_{k}")).filter(|v| !v.is_empty() && v != "null")
        };
        let Some(host) = get("HOST") else {
            return Ok(None);
        };
        let port = match get("PORT") {
            None => 1883,
            Some(p) => p.parse().map_err(|_| {
                ConfigError::new(
                    "mqtt service",
                    format!("the Supervisor's MQTT service gave port {p:?}, not a port number"),
                )
            })?,
        };
        Ok(Some(Self {
            host,
            port,
            username: get("USERNAME").unwrap_or_default(),
            password: Secret::new(get("PASSWORD").unwrap_or_default()),
            ssl: get("SSL").is_some_and(|s| s == "true" || s == "1"),
        }))
    }
}

/// What the add-on finds around it: the Supervisor's broker, and where the
/// web UI listens and whom it trusts (fixed in the add-on; tests on loopback
/// set `CAM2MQTT_ADDON_HTTP_LISTEN` and `CAM2MQTT_ADDON_INGRESS_PROXY`).
#[derive(Debug, Clone, PartialEq)]
pub struct Surroundings {
    /// The MQTT service's broker, if the Supervisor offers one.
    pub broker: Option<ServiceBroker>,
    /// The web UI's listen address.
    pub http_listen: String,
    /// The ingress proxy's address.
    pub ingress_proxy: String,
    /// Home Assistant's API (for text-to-speech) and the Supervisor's token
    /// for it, when the Supervisor gave one.
    pub core: Option<(String, Secret)>,
}

impl Surroundings {
    /// The add-on's fixed addresses and the given broker.
    pub fn with_broker(broker: Option<ServiceBroker>) -> Self {
        Self {
            broker,
            http_listen: HTTP_LISTEN.into(),
            ingress_proxy: INGRESS_PROXY.into(),
            core: None,
        }
    }

    /// From the environment (read through `var`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut s = Self::with_broker(ServiceBroker::from_env(&var)?);
        if let Some(l) = var("CAM2MQTT_ADDON_HTTP_LISTEN").filter(|v| !v.is_empty()) {
            s.http_listen = l;
        }
        if let Some(p) = var("CAM2MQTT_ADDON_INGRESS_PROXY").filter(|v| !v.is_empty()) {
            s.ingress_proxy = p;
        }
        if let Some(token) = var("SUPERVISOR_TOKEN").filter(|v| !v.is_empty()) {
            let url = var("CAM2MQTT_ADDON_CORE_URL")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| CORE_URL.into());
            s.core = Some((url, Secret::new(token)));
        }
        Ok(s)
    }
}

/// What the add-on runs with.
#[derive(Debug)]
pub struct Addon {
    /// The effective configuration.
    pub config: Config,
    /// The `log_level` option (`info` when not set).
    pub log_level: String,
}

/// The options file when this process runs as an add-on (the Supervisor
/// sets `SUPERVISOR_TOKEN` and writes [`OPTIONS_PATH`]).
pub fn detect() -> Option<PathBuf> {
    let path = PathBuf::from(OPTIONS_PATH);
    (std::env::var_os("SUPERVISOR_TOKEN").is_some() && path.exists()).then_some(path)
}

/// The `log_level` option of the file at `path`, if it can be read (for the
/// logger, set up before the rest is checked).
pub fn log_level(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v.get("log_level")?.as_str().map(str::to_string)
}

/// Loads the options at `path`, the optional user config (`user_config`, if
/// the file exists) and the service broker from the environment.
pub fn load(path: &Path, user_config: Option<&Path>) -> Result<Addon, ConfigError> {
    let in_file = |mut e: ConfigError| {
        e.file.get_or_insert_with(|| path.to_path_buf());
        e
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        in_file(ConfigError::new(
            "(file)",
            format!("cannot read the add-on options: {e}"),
        ))
    })?;
    let user = match user_config.filter(|p| p.exists()) {
        Some(p) => Some((
            std::fs::read_to_string(p).map_err(|e| {
                let mut err = ConfigError::new("(file)", format!("cannot read: {e}"));
                err.file = Some(p.to_path_buf());
                err
            })?,
            p.to_path_buf(),
        )),
        None => None,
    };
    let around = Surroundings::from_env(|k| std::env::var(k).ok()).map_err(in_file)?;
    map(
        &text,
        user.as_ref().map(|(t, p)| (t.as_str(), p.as_path())),
        &around,
    )
    .map_err(in_file)
}

/// Maps the options JSON (plus a user config under it, and the service
/// broker) to the effective configuration.
pub fn map(
    options: &str,
    user_config: Option<(&str, &Path)>,
    around: &Surroundings,
) -> Result<Addon, ConfigError> {
    let opts: Value = serde_json::from_str(options).map_err(|e| {
        ConfigError::new(
            "(options)",
            format!("not a JSON object ({e}); the Supervisor writes it from the add-on's configuration page"),
        )
    })?;
    let Value::Object(opts) = opts else {
        return Err(ConfigError::new("(options)", "not a JSON object"));
    };
    if let Some(unknown) = opts.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
        return Err(ConfigError::new(
            unknown.as_str(),
            format!(
                "not an option of this add-on; options: {}",
                OPTIONS.join(", ")
            ),
        ));
    }
    let log_level = match opts.get("log_level") {
        None | Some(Value::Null) => "info".to_string(),
        Some(Value::String(l))
            if ["trace", "debug", "info", "warn", "error"].contains(&l.as_str()) =>
        {
            l.clone()
        }
        Some(other) => {
            return Err(ConfigError::new(
                "log_level",
                format!("{other} is not one of trace, debug, info, warn, error"),
            ))
        }
    };
    // A broker in the user's config.toml is the user's choice too.
    let user_broker = user_config.is_some_and(|(text, _)| {
        config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .is_ok_and(|c| c.get_string("mqtt.url").is_ok())
    });
    let layer = config_layer(&opts, around, user_broker)?;
    let options_toml = crate::config::toml_from_json(&layer, "");
    let mut layers: Vec<(&str, Option<&Path>)> = Vec::new();
    if let Some((text, path)) = user_config {
        layers.push((text, Some(path)));
    }
    layers.push((&options_toml, None));
    let config = Config::from_layers(&layers)?;
    Ok(Addon { config, log_level })
}

/// The options as a config document (only what is set).
fn config_layer(
    opts: &Map<String, Value>,
    around: &Surroundings,
    user_broker: bool,
) -> Result<Value, ConfigError> {
    let mut cfg = Map::new();
    // The broker: the user's override, else the Supervisor's service.
    let user_mqtt = opts
        .get("mqtt")
        .map(|m| set_fields(m, "mqtt"))
        .transpose()?;
    let mqtt = match user_mqtt.filter(|m| m.get("url").is_some()) {
        Some(m) => Some(Value::Object(m)),
        None if user_broker => None,
        None => Some(match &around.broker {
            Some(b) => {
                let scheme = if b.ssl { "mqtts" } else { "mqtt" };
                let mut m = json!({ "url": format!("{scheme}://{}:{}", b.host, b.port) });
                if !b.username.is_empty() {
                    m["username"] = json!(b.username);
                    m["password"] = json!(b.password.expose());
                }
                m
            }
            None => {
                return Err(ConfigError::new(
                    "mqtt.url",
                    "no MQTT broker: install and start Home Assistant's Mosquitto broker add-on (it is then found by itself), or set the mqtt url option (e.g. mqtt://192.168.1.2:1883)",
                ))
            }
        }),
    };
    if let Some(mqtt) = mqtt {
        cfg.insert("mqtt".into(), mqtt);
    }
    let mut http = json!({
        "listen": around.http_listen,
        "trusted_proxies": [around.ingress_proxy],
    });
    if let Some(v) = opts.get("live_fps").filter(|v| !v.is_null()) {
        http["live_fps"] = v.clone();
    }
    for (option, key) in [("web_username", "username"), ("web_password", "password")] {
        if let Some(v) = opts.get(option).filter(|v| !is_unset(v)) {
            http[key] = v.clone();
        }
    }
    cfg.insert("http".into(), http);
    // RTSP on the host network (Home Assistant's own Generic Camera reaches
    // it on 127.0.0.1); port 0 turns it off.
    if let Some(port) = opts.get("rtsp_port").filter(|v| !v.is_null()) {
        let listen = match port.as_u64() {
            Some(0) => String::new(),
            Some(p) if p <= u64::from(u16::MAX) => format!("0.0.0.0:{p}"),
            _ => {
                return Err(ConfigError::new(
                    "rtsp_port",
                    format!("{port} is not a port: 1 to 65535, or 0 for no RTSP server"),
                ))
            }
        };
        cfg.insert("rtsp".into(), json!({ "listen": listen }));
    }
    if let Some((url, token)) = &around.core {
        // Text-to-speech for the Say entities, through the Supervisor.
        let mut ha = json!({ "url": url, "token": token.expose() });
        if let Some(v) = opts.get("tts_engine").filter(|v| !is_unset(v)) {
            ha["tts_engine"] = v.clone();
        }
        cfg.insert("homeassistant".into(), ha);
    }
    if let Some(v) = opts.get("snapshot_interval_s").filter(|v| !v.is_null()) {
        cfg.insert("snapshots".into(), json!({ "interval_s": v }));
    }
    for section in ["discovery", "wyze"] {
        if let Some(v) = opts.get(section) {
            let fields = set_fields(v, section)?;
            if !fields.is_empty() {
                cfg.insert(section.into(), Value::Object(fields));
            }
        }
    }
    match opts.get("cameras") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            let cams = list
                .iter()
                .enumerate()
                .map(|(i, c)| set_fields(c, &format!("cameras[{i}]")).map(Value::Object))
                .collect::<Result<Vec<_>, _>>()?;
            // None: the user config's cameras (if any) stay.
            if !cams.is_empty() {
                cfg.insert("cameras".into(), Value::Array(cams));
            }
        }
        Some(other) => {
            return Err(ConfigError::new(
                "cameras",
                format!("{} is not a list of cameras", kind_of(other)),
            ))
        }
    }
    Ok(Value::Object(cfg))
}

/// The fields of an option group that are set (not null, not an empty string
/// or list): the Supervisor writes optional fields as absent or empty.
fn set_fields(v: &Value, key: &str) -> Result<Map<String, Value>, ConfigError> {
    match v {
        Value::Object(m) => Ok(m
            .iter()
            .filter(|(_, v)| !is_unset(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()),
        Value::Null => Ok(Map::new()),
        other => Err(ConfigError::new(
            key,
            format!("{} where a group of settings belongs", kind_of(other)),
        )),
    }
}

fn is_unset(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a true/false value",
        Value::Number(_) => "a number",
        Value::String(_) => "a text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a group of settings",
    }
}

#[cfg(test)]
mod tests;
