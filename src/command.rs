//! Commands, whoever sends them (MQTT `set/<name>`, REST `POST
//! commands/<name>`, the CLI): a command name and payload become a
//! [`CameraCommand`] or a [`CommandError`] whose text tells the user what is
//! allowed. [`parse_for`] applies the one rule every front end shares, in
//! order: the command exists, the camera can do it at all
//! ([`gate`]), the payload fits its limit and holds a value this camera accepts.
//! The supervisor applies it in `Supervisor::route`, so MQTT and REST give the
//! same answers.
//!
//! Payloads are untrusted. Error texts never echo a payload that may hold a
//! secret (the Wi-Fi JSON is checked field by field for that reason).

use bytes::Bytes;

use crate::model::{
    CameraCommand, CameraId, CameraInfo, CommandError, CommandKind, IntercomRequest,
    IntercomSource, NightVision, PlaybackMode, PtzMove,
};
use crate::secret::Secret;

/// Largest snapshot interval accepted (seconds).
pub const MAX_SNAPSHOT_INTERVAL: u32 = 3600;

fn text<'a>(command: &'static str, payload: &'a [u8]) -> Result<&'a str, CommandError> {
    std::str::from_utf8(payload)
        .map(str::trim)
        .map_err(|_| CommandError::BadValue {
            command,
            reason: "payload is not UTF-8 text".into(),
        })
}

/// A switch's payload: `on`/`true`/`1` or `off`/`false`/`0`, any case.
fn on_off(command: &'static str, payload: &[u8]) -> Result<bool, CommandError> {
    let t = text(command, payload)?.to_ascii_lowercase();
    match t.as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(bad(command, format!("{t:?}; allowed: on, off"))),
    }
}

fn bad(command: &'static str, reason: impl Into<String>) -> CommandError {
    CommandError::BadValue {
        command,
        reason: reason.into(),
    }
}

/// The largest payload a command takes: audio files for the intercom, a few
/// bytes for everything else. Bigger payloads are refused unread.
pub fn max_payload(kind: CommandKind) -> usize {
    match kind {
        CommandKind::Intercom => 8 << 20,
        _ => 4096,
    }
}

/// Parses the payload of `set/<name>` into a command, taking every value any
/// camera may accept (see [`parse_camera_command`] for one camera's).
pub fn parse_command(name: &str, payload: &Bytes) -> Result<CameraCommand, CommandError> {
    parse_kind(kind(name)?, payload, &NightVision::ALL)
}

/// The command called `name` (the `set/<name>` topic leaf, the REST path
/// segment).
pub fn kind(name: &str) -> Result<CommandKind, CommandError> {
    CommandKind::from_name(name).ok_or_else(|| CommandError::UnknownCommand(truncate(name, 64)))
}

/// Whether a payload of `len` bytes is within what `kind` takes. Front ends
/// check this before queueing a payload, so a huge one is never held.
pub fn admit(kind: CommandKind, len: usize) -> Result<(), CommandError> {
    if len > max_payload(kind) {
        return Err(CommandError::TooBig {
            command: kind.name().to_string(),
            len,
            max: max_payload(kind),
        });
    }
    Ok(())
}

/// Whether the camera `info` can do `kind` at all: `set/light` to a camera
/// without a light says it has no light, whatever the payload.
pub fn gate(info: &CameraInfo, kind: CommandKind) -> Result<(), CommandError> {
    let needs = kind.capability();
    if info.can(needs) {
        Ok(())
    } else {
        Err(CommandError::Lacks {
            command: kind.name(),
            what: needs.missing(),
        })
    }
}

/// Parses the payload of `kind` for the camera `info`: first the [`gate`],
/// then the payload against the values this camera accepts (the same ones
/// its Home Assistant select offers).
pub fn parse_for(
    info: &CameraInfo,
    kind: CommandKind,
    payload: &Bytes,
) -> Result<CameraCommand, CommandError> {
    gate(info, kind)?;
    parse_kind(kind, payload, info.night_vision_modes())
}

/// The [`gate`] and this camera's values for a command built in code (the
/// CLI's), the same checks [`parse_for`] makes on a payload.
pub fn check(info: &CameraInfo, command: &CameraCommand) -> Result<(), CommandError> {
    gate(info, command.kind())?;
    if let CameraCommand::NightVision(mode) = command {
        let modes = info.night_vision_modes();
        if !modes.contains(mode) {
            return Err(bad(
                "night_vision",
                format!("{:?}; allowed: {}", mode.as_str(), NightVision::list(modes)),
            ));
        }
    }
    Ok(())
}

/// Parses `set/<name>` for the camera `info` ([`kind`], then [`parse_for`]).
pub fn parse_camera_command(
    info: &CameraInfo,
    name: &str,
    payload: &Bytes,
) -> Result<CameraCommand, CommandError> {
    parse_for(info, kind(name)?, payload)
}

/// The error for a command to a camera id that is not one of `known`. `raw`
/// is what the sender wrote (shown truncated).
pub fn unknown_camera<'a>(raw: &str, known: impl Iterator<Item = &'a CameraId>) -> CommandError {
    let known: Vec<&str> = known.map(CameraId::as_str).collect();
    CommandError::UnknownCamera(format!(
        "{:?}; known cameras: {}",
        truncate(raw, 64),
        if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        }
    ))
}

fn parse_kind(
    kind: CommandKind,
    payload: &Bytes,
    night_vision: &[NightVision],
) -> Result<CameraCommand, CommandError> {
    admit(kind, payload.len())?;
    Ok(match kind {
        CommandKind::Snapshot => CameraCommand::Snapshot,
        CommandKind::SnapshotInterval => {
            // Exactly what Home Assistant's number entity sends for a whole
            // number: decimal digits. No sign, exponent, fraction or spaces.
            let raw = std::str::from_utf8(payload)
                .map_err(|_| bad("snapshot_interval", "payload is not UTF-8 text"))?;
            let secs = (!raw.is_empty() && raw.len() <= 4 && raw.bytes().all(|b| b.is_ascii_digit()))
                .then(|| raw.parse::<u32>().ok())
                .flatten()
                .filter(|v| *v <= MAX_SNAPSHOT_INTERVAL)
                .ok_or_else(|| {
                    bad(
                        "snapshot_interval",
                        format!(
                            "{:?} is not a whole number of seconds from 0 to {MAX_SNAPSHOT_INTERVAL} (digits only, e.g. 10)",
                            truncate(raw, 32)
                        ),
                    )
                })?;
            CameraCommand::SetSnapshotInterval(secs)
        }
        CommandKind::Resolution => {
            let t = text("resolution", payload)?;
            if t.is_empty() {
                return Err(bad(
                    "resolution",
                    "empty; send one of the camera's resolutions",
                ));
            }
            CameraCommand::SetResolution(t.to_string())
        }
        CommandKind::Wifi => parse_wifi_json(payload)?,
        CommandKind::WifiSsid => {
            CameraCommand::StageWifiSsid(text("wifi_ssid", payload)?.to_string())
        }
        CommandKind::WifiPassword => {
            let t = std::str::from_utf8(payload)
                .map_err(|_| bad("wifi_password", "payload is not UTF-8 text"))?;
            CameraCommand::StageWifiPassword(Secret::new(t))
        }
        CommandKind::WifiApply => CameraCommand::ApplyWifi,
        CommandKind::Intercom => parse_intercom(payload)?,
        CommandKind::Say => parse_say(payload)?,
        CommandKind::NightVision => {
            let t = text("night_vision", payload)?.to_ascii_lowercase();
            let mode = night_vision
                .iter()
                .copied()
                .find(|m| m.as_str() == t)
                .ok_or_else(|| {
                    bad(
                        "night_vision",
                        format!(
                            "{:?}; allowed: {}",
                            truncate(&t, 32),
                            NightVision::list(night_vision)
                        ),
                    )
                })?;
            CameraCommand::NightVision(mode)
        }
        CommandKind::Light => CameraCommand::Light(on_off("light", payload)?),
        CommandKind::IrLed => CameraCommand::IrLed(on_off("ir_led", payload)?),
        CommandKind::Reboot => CameraCommand::Reboot,
        CommandKind::Ptz => {
            let t = text("ptz", payload)?.to_ascii_lowercase();
            CameraCommand::Ptz(match t.as_str() {
                "up" => PtzMove::Up,
                "down" => PtzMove::Down,
                "left" => PtzMove::Left,
                "right" => PtzMove::Right,
                "stop" => PtzMove::Stop,
                "home" => PtzMove::Home,
                _ => {
                    return Err(bad(
                        "ptz",
                        format!("{t:?}; allowed: up, down, left, right, stop, home"),
                    ))
                }
            })
        }
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// `{"ssid": "...", "password": "..."}`, checked without echoing the payload:
/// exactly these keys, each at most once, `password` optional (an open network).
fn parse_wifi_json(payload: &[u8]) -> Result<CameraCommand, CommandError> {
    use serde::de::{Deserializer as _, Error as _, MapAccess, Visitor};

    struct Wifi(Option<String>, Option<Option<String>>);
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Wifi;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object {\"ssid\": \"...\", \"password\": \"...\"}")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Wifi, A::Error> {
            let mut w = Wifi(None, None);
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                // Keys are never echoed: a pasted password may sit there
                // (found by cargo fuzz, mqtt_command).
                match key.as_ref() {
                    "ssid" if w.0.is_some() => {
                        return Err(A::Error::custom("duplicate key \"ssid\""))
                    }
                    "password" if w.1.is_some() => {
                        return Err(A::Error::custom("duplicate key \"password\""))
                    }
                    "ssid" => {
                        w.0 = Some(
                            map.next_value::<String>()
                                .map_err(|_| A::Error::custom("\"ssid\" must be a string"))?,
                        )
                    }
                    "password" => {
                        w.1 = Some(
                            map.next_value::<Option<String>>()
                                .map_err(|_| A::Error::custom("\"password\" must be a string"))?,
                        )
                    }
                    _ => {
                        return Err(A::Error::custom(
                            "unexpected key; only \"ssid\" and \"password\" are allowed",
                        ))
                    }
                }
            }
            Ok(w)
        }
    }

    let mut de = serde_json::Deserializer::from_slice(payload);
    let parsed = de.deserialize_map(V).and_then(|w| de.end().map(|()| w));
    let Wifi(ssid, password) = parsed.map_err(|e| {
        // Our own messages, or serde_json's, which carry a position or a type
        // name but never the input.
        let what = if e.is_data() {
            let text = e.to_string();
            let ours = text.starts_with("duplicate key")
                || text.starts_with("unexpected key")
                || text.starts_with("\"ssid\" must")
                || text.starts_with("\"password\" must");
            if ours {
                text.split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .to_string()
            } else {
                // serde_json's type errors can quote the value (a password).
                "expected a JSON object".to_string()
            }
        } else {
            format!("not JSON ({e})")
        };
        bad(
            "wifi",
            format!("{what}; send {{\"ssid\": \"...\", \"password\": \"...\"}}"),
        )
    })?;
    let ssid = ssid.ok_or_else(|| bad("wifi", "missing \"ssid\""))?;
    let password = Secret::new(password.flatten().unwrap_or_default());
    Ok(CameraCommand::SetWifi { ssid, password })
}

/// The longest playback (files, URLs and push-to-talk).
pub const MAX_PLAYBACK: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// How long a front end waits for a playback's result: the longest playback
/// (five minutes) plus time to fetch and set up.
pub const PLAYBACK_WAIT: std::time::Duration = std::time::Duration::from_secs(6 * 60);

/// The longest text `set/say` takes.
pub const MAX_SAY_CHARS: usize = 1000;

/// `set/say`: the text to speak (what Home Assistant's notify entity sends).
fn parse_say(payload: &Bytes) -> Result<CameraCommand, CommandError> {
    let t = std::str::from_utf8(payload).map_err(|_| bad("say", "payload is not UTF-8 text"))?;
    let t = t.trim();
    if t.is_empty() {
        return Err(bad("say", "empty text; send the words to speak"));
    }
    if t.chars().count() > MAX_SAY_CHARS {
        return Err(bad(
            "say",
            format!("the text is longer than {MAX_SAY_CHARS} characters"),
        ));
    }
    Ok(CameraCommand::Intercom(IntercomRequest {
        source: IntercomSource::Say(t.to_string()),
        volume: 1.0,
        mode: PlaybackMode::Queue,
    }))
}

/// An intercom volume, 0.0–2.0; `shown` is how the input wrote it.
pub fn volume(value: Option<f64>, shown: &str) -> Result<f32, CommandError> {
    match value {
        Some(x) if (0.0..=2.0).contains(&x) => Ok(x as f32),
        _ => Err(bad(
            "intercom",
            format!("volume must be a number from 0.0 to 2.0, not {shown}"),
        )),
    }
}

/// An intercom playback mode: `queue`, `replace` (or `refuse`, the default).
pub fn playback_mode(value: Option<&str>, shown: &str) -> Result<PlaybackMode, CommandError> {
    match value {
        Some("refuse") => Ok(PlaybackMode::Refuse),
        Some("queue") => Ok(PlaybackMode::Queue),
        Some("replace") => Ok(PlaybackMode::Replace),
        _ => Err(bad(
            "intercom",
            format!("mode must be \"queue\" or \"replace\", not {shown}"),
        )),
    }
}

/// `set/intercom`: `stop`; JSON `{"url": "...", "volume": 0.0–2.0, "mode":
/// "queue"|"replace"}`; anything else is the bytes of an audio file (WAV,
/// MP3, OGG, FLAC, AAC; checked when it is decoded).
fn parse_intercom(payload: &Bytes) -> Result<CameraCommand, CommandError> {
    const HOW: &str = "send audio file bytes, {\"url\": \"http://...\"} or stop";
    if payload.is_empty() {
        return Err(bad("intercom", format!("empty payload; {HOW}")));
    }
    if payload.trim_ascii().eq_ignore_ascii_case(b"stop") {
        return Ok(CameraCommand::IntercomStop);
    }
    if payload.trim_ascii_start().first() != Some(&b'{') {
        return Ok(CameraCommand::Intercom(IntercomRequest::new(
            IntercomSource::File(payload.clone()),
        )));
    }
    let v: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| bad("intercom", format!("not JSON ({e})")))?;
    let url = v
        .get("url")
        .and_then(|u| u.as_str())
        .ok_or_else(|| bad("intercom", "JSON payload needs a \"url\" string"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad("intercom", "url must start with http:// or https://"));
    }
    let volume = match v.get("volume") {
        None | Some(serde_json::Value::Null) => 1.0,
        Some(n) => volume(n.as_f64(), &n.to_string())?,
    };
    let mode = match v.get("mode") {
        None | Some(serde_json::Value::Null) => PlaybackMode::Refuse,
        Some(m) => playback_mode(m.as_str(), &m.to_string())?,
    };
    if let Some(key) = v.as_object().and_then(|o| {
        o.keys()
            .find(|k| !matches!(k.as_str(), "url" | "volume" | "mode"))
    }) {
        return Err(bad(
            "intercom",
            format!("unknown key {key:?}; the JSON takes url, volume and mode"),
        ));
    }
    Ok(CameraCommand::Intercom(IntercomRequest {
        source: IntercomSource::Url(url.to_string()),
        volume,
        mode,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, payload: &str) -> Result<CameraCommand, CommandError> {
        parse_command(name, &Bytes::copy_from_slice(payload.as_bytes()))
    }

    #[test]
    fn parses_values_and_explains_bad_ones() {
        assert!(matches!(
            p("snapshot_interval", "10"),
            Ok(CameraCommand::SetSnapshotInterval(10))
        ));
        for loose in ["1e3", "5.0", " 5", "5 ", "+5", "-0", "0x10", "", "00005"] {
            let e = p("snapshot_interval", loose).unwrap_err().to_string();
            assert!(e.contains("digits only"), "{loose:?}: {e}");
        }
        assert!(matches!(
            p("snapshot_interval", "0"),
            Ok(CameraCommand::SetSnapshotInterval(0))
        ));
        let e = p("snapshot_interval", "5000").unwrap_err().to_string();
        assert!(e.contains("0 to 3600"), "{e}");
        assert!(matches!(
            p("ir_led", "OFF"),
            Ok(CameraCommand::IrLed(false))
        ));
        let e = p("ir_led", "dim").unwrap_err().to_string();
        assert!(e.contains("on, off"), "{e}");
        let e = p("night_vision", "purple").unwrap_err().to_string();
        assert!(e.contains("on, off, auto"), "{e}");
        let e = p("bogus", "").unwrap_err().to_string();
        assert!(
            e.contains("unknown command") && e.contains("snapshot_interval"),
            "{e}"
        );
        assert!(matches!(p("light", "ON"), Ok(CameraCommand::Light(true))));
        assert!(matches!(
            p("ptz", "Left"),
            Ok(CameraCommand::Ptz(PtzMove::Left))
        ));
    }

    #[test]
    fn wifi_errors_never_echo_the_password() {
        for payload in [
            r#"{"ssid": "home", "password": 98765432}"#,
            r#"{"ssid": 98765432, "password": "98765432"}"#,
            r#"{"ssid": "home", "password": "98765432""#,
            r#"["98765432"]"#,
            r#"{"ssid": "home", "pass": "98765432"}"#,
            r#"{"ssid": "home", "password": "x", "98765432": 1}"#,
        ] {
            let e = p("wifi", payload).unwrap_err().to_string();
            assert!(!e.contains("98765432"), "{payload} -> {e}");
        }
        let ok = p("wifi", r#"{"ssid": "home", "password": "98765432"}"#).unwrap();
        assert!(!format!("{ok:?}").contains("98765432"));
    }

    #[test]
    fn wifi_json_rejects_duplicate_keys_and_takes_an_optional_password() {
        for dup in [
            r#"{"ssid": "a", "ssid": "b", "password": "12345678"}"#,
            r#"{"ssid": "a", "password": "12345678", "password": "87654321"}"#,
        ] {
            let e = p("wifi", dup).unwrap_err().to_string();
            assert!(e.contains("duplicate key"), "{dup}: {e}");
            assert!(!e.contains("12345678") && !e.contains("87654321"), "{e}");
        }
        assert!(
            matches!(p("wifi", r#"{"ssid": "open-net"}"#), Ok(CameraCommand::SetWifi { password, .. }) if password.is_empty())
        );
        assert!(matches!(
            p("wifi", r#"{"ssid": "n", "password": null}"#),
            Ok(CameraCommand::SetWifi { .. })
        ));
        let e = p("wifi", r#""98765432""#).unwrap_err().to_string();
        assert!(!e.contains("98765432"), "{e}");
        let e = p("wifi", r#"{"password": "x"}"#).unwrap_err().to_string();
        assert!(e.contains("missing \"ssid\""), "{e}");
    }

    #[test]
    fn payloads_over_the_commands_limit_are_refused_unread() {
        let big = Bytes::from(vec![b'a'; 4097]);
        let e = parse_command("wifi_ssid", &big).unwrap_err();
        assert!(
            matches!(
                e,
                CommandError::TooBig {
                    len: 4097,
                    max: 4096,
                    ..
                }
            ),
            "{e}"
        );
        let audio = Bytes::from(vec![0u8; 1 << 20]);
        assert!(
            parse_command("intercom", &audio).is_ok(),
            "audio files are bigger"
        );
    }

    #[test]
    fn intercom_takes_bytes_a_url_with_volume_and_mode_or_stop() {
        let Ok(CameraCommand::Intercom(r)) = p("intercom", "RIFF....") else {
            panic!("a file");
        };
        assert!(matches!(r.source, IntercomSource::File(_)));
        assert_eq!((r.volume, r.mode), (1.0, PlaybackMode::Refuse));
        let Ok(CameraCommand::Intercom(r)) = p("intercom", r#"{"url": "http://tts/x.mp3"}"#) else {
            panic!("a URL");
        };
        assert!(matches!(r.source, IntercomSource::Url(u) if u == "http://tts/x.mp3"));
        let Ok(CameraCommand::Intercom(r)) = p(
            "intercom",
            r#"{"url": "https://x/y.wav", "volume": 1.5, "mode": "replace"}"#,
        ) else {
            panic!("a URL with volume and mode");
        };
        assert_eq!((r.volume, r.mode), (1.5, PlaybackMode::Replace));
        assert!(matches!(
            p("intercom", "stop"),
            Ok(CameraCommand::IntercomStop)
        ));
        assert!(matches!(
            p("intercom", " STOP\n"),
            Ok(CameraCommand::IntercomStop)
        ));
        for (payload, says) in [
            (r#"{"url": "file:///etc/passwd"}"#, "http://"),
            (
                r#"{"url": "http://x", "volume": 3}"#,
                "volume must be a number from 0.0 to 2.0",
            ),
            (r#"{"url": "http://x", "volume": "loud"}"#, "volume"),
            (r#"{"url": "http://x", "mode": "later"}"#, "mode must be"),
            (
                r#"{"url": "http://x", "speed": 2}"#,
                "unknown key \"speed\"",
            ),
            (r#"{"volume": 1}"#, "needs a \"url\""),
            ("{nope", "not JSON"),
            ("", "empty payload"),
        ] {
            let e = p("intercom", payload).unwrap_err().to_string();
            assert!(e.contains(says), "{payload}: {e}");
        }
    }

    fn camera(capabilities: Vec<crate::model::Capability>) -> CameraInfo {
        CameraInfo {
            id: crate::model::CameraId::parse("door").unwrap(),
            uid: "DGOA424242SIMCA".into(),
            name: "Door".into(),
            protocol: crate::model::Protocol::Pppp,
            reach: crate::model::Reach::Host("127.0.0.1:32108".parse().unwrap()),
            model: "PPPP camera".into(),
            firmware: None,
            mac: None,
            resolutions: vec![],
            capabilities,
        }
    }

    #[test]
    fn a_command_for_something_the_camera_lacks_says_so_before_looking_at_the_value() {
        use crate::model::Capability;
        let cam = camera(vec![Capability::Snapshot, Capability::NightVision]);
        for (name, payload) in [("light", "-5"), ("light", "on"), ("ptz", "sideways")] {
            let e = parse_camera_command(&cam, name, &Bytes::from(payload)).unwrap_err();
            assert!(
                matches!(e, CommandError::Lacks { .. }),
                "{name} {payload}: {e}"
            );
            let text = e.to_string();
            let what = if name == "light" {
                "has no light"
            } else {
                "has no pan/tilt motor"
            };
            assert!(text.contains(what), "{text}");
        }
        // With the light, the value is what is wrong.
        let lit = camera(vec![Capability::Light]);
        let e = parse_camera_command(&lit, "light", &Bytes::from("-5")).unwrap_err();
        assert!(e.to_string().contains("allowed: on, off"), "{e}");
    }

    #[test]
    fn night_vision_takes_exactly_the_modes_the_camera_accepts_and_lists_them() {
        use crate::model::Capability;
        let on_off = camera(vec![Capability::NightVision]);
        let all = camera(vec![Capability::NightVision, Capability::NightVisionAuto]);
        let parse = |cam: &CameraInfo, v: &str| {
            parse_camera_command(cam, "night_vision", &Bytes::copy_from_slice(v.as_bytes()))
        };
        for (cam, listed) in [(&on_off, "on, off"), (&all, "on, off, auto")] {
            for mode in cam.night_vision_modes() {
                assert!(
                    matches!(parse(cam, mode.as_str()), Ok(CameraCommand::NightVision(m)) if m == *mode)
                );
            }
            let e = parse(cam, "purple").unwrap_err().to_string();
            assert!(e.ends_with(&format!("allowed: {listed}")), "{e}");
        }
        let e = parse(&on_off, "auto").unwrap_err().to_string();
        assert!(
            e.contains("\"auto\"; allowed: on, off") && !e.contains("on, off, auto"),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(name in "[a-z_]{0,20}", payload in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_command(&name, &Bytes::from(payload));
        }
    }
}
