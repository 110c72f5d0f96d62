//! The JSON dialect of DGOx/PIXA cameras (HDWiFiCamPro, vi365; `pppp.md`
//! §3.1, facts from datenstau/A9_PPPP, magicus/PPPP and magicus/pppp-dissector).
//!
//! Channel-0 data is one or more blocks:
//!
//! ```text
//! 06 0A A0 80   header word (u32 BE); replies set 0x100 in check_user's ("admin" flag)
//! u32 LE len    JSON length
//! JSON          UTF-8, no NUL
//! ```
//!
//! Requests carry `pro` (name) and `cmd` (number), which must agree, plus
//! `user`, `pwd` (clear text; factory `admin`/`6666`) and `devmac` `"0000"`.
//! Replies carry `cmd` and `result`: 0 ok, -1 bad or missing user, -3 bad
//! password ([`JsonResult`]). `set_datetime` (126) is answered with cmd 128.
//!
//! [`decode_blocks`] policy, decided here: blocks are read back to back; a
//! length over [`MAX_JSON_LEN`] (64 KiB) is rejected; a block cut short is
//! [`WireError::Truncated`] (a session that reassembles may retry with more
//! bytes); after the last complete block, zero bytes are tolerated as
//! padding and anything else is an error. NULs and whitespace at the end of
//! a block's JSON are trimmed before parsing.

use std::fmt;

use serde_json::{Map, Value};

use super::{is_sensitive_key, BuildError, Password, REDACTED};
use crate::proto::codec::{LimitedHex, Reader, WireError};

/// The first two header bytes of every block.
pub const START: [u8; 2] = [0x06, 0x0A];
/// The header word of requests (and of ordinary replies), `06 0A A0 80`.
pub const REQUEST_FLAGS: u32 = 0x060A_A080;
/// Set in the header word of the check_user reply (magicus `PPPP.md`: the
/// only non-zero instance seen; probably mirrors `"admin": 1`).
pub const ADMIN_FLAG: u32 = 0x0000_0100;
/// Header length: flags word + length.
pub const HEADER_LEN: usize = 8;
/// Longest JSON accepted in one block (64 KiB).
pub const MAX_JSON_LEN: usize = 64 * 1024;
/// The `devmac` every open client sends.
pub const DEFAULT_DEVMAC: &str = "0000";

/// Command numbers (`pppp.md` §3.1).
pub mod cmd {
    /// set_cypush.
    pub const SET_CYPUSH: i64 = 1;
    /// check_user (login).
    pub const CHECK_USER: i64 = 100;
    /// get_parms.
    pub const GET_PARMS: i64 = 101;
    /// dev_control.
    pub const DEV_CONTROL: i64 = 102;
    /// edit_user.
    pub const EDIT_USER: i64 = 106;
    /// get_alarm.
    pub const GET_ALARM: i64 = 107;
    /// set_alarm.
    pub const SET_ALARM: i64 = 108;
    /// stream.
    pub const STREAM: i64 = 111;
    /// get_wifi.
    pub const GET_WIFI: i64 = 112;
    /// scan_wifi.
    pub const SCAN_WIFI: i64 = 113;
    /// set_wifi.
    pub const SET_WIFI: i64 = 114;
    /// set_datetime (answered with cmd 128).
    pub const SET_DATETIME: i64 = 126;
    /// ptz_control.
    pub const PTZ_CONTROL: i64 = 128;
    /// get_record_param.
    pub const GET_RECORD_PARAM: i64 = 199;
    /// talk_send.
    pub const TALK_SEND: i64 = 300;
    /// set_whiteLight.
    pub const SET_WHITE_LIGHT: i64 = 304;
    /// get_whiteLight.
    pub const GET_WHITE_LIGHT: i64 = 305;
    /// get_cloudsupport.
    pub const GET_CLOUD_SUPPORT: i64 = 9000;
}

/// The `pro` name that goes with a command number, for the known commands.
pub fn pro_name(cmd: i64) -> Option<&'static str> {
    Some(match cmd {
        cmd::SET_CYPUSH => "set_cypush",
        cmd::CHECK_USER => "check_user",
        cmd::GET_PARMS => "get_parms",
        cmd::DEV_CONTROL => "dev_control",
        cmd::EDIT_USER => "edit_user",
        cmd::GET_ALARM => "get_alarm",
        cmd::SET_ALARM => "set_alarm",
        cmd::STREAM => "stream",
        cmd::GET_WIFI => "get_wifi",
        cmd::SCAN_WIFI => "scan_wifi",
        cmd::SET_WIFI => "set_wifi",
        cmd::SET_DATETIME => "set_datetime",
        cmd::PTZ_CONTROL => "ptz_control",
        cmd::GET_RECORD_PARAM => "get_record_param",
        cmd::TALK_SEND => "talk_send",
        cmd::SET_WHITE_LIGHT => "set_whiteLight",
        cmd::GET_WHITE_LIGHT => "get_whiteLight",
        cmd::GET_CLOUD_SUPPORT => "get_cloudsupport",
        _ => return None,
    })
}

/// One decoded block.
#[derive(Clone, PartialEq)]
pub struct JsonBlock {
    /// The header word (u32 BE of the first 4 bytes).
    pub flags: u32,
    /// The parsed JSON.
    pub value: Value,
}

impl fmt::Debug for JsonBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonBlock")
            .field("flags", &format_args!("0x{:08x}", self.flags))
            .field("value", &format_args!("{}", redacted(&self.value)))
            .finish()
    }
}

/// A request block (`06 0A A0 80`) around `json`.
pub fn encode_block(json: &[u8]) -> Result<Vec<u8>, BuildError> {
    encode_block_with_flags(REQUEST_FLAGS, json)
}

/// A block with the given header word around `json`.
pub fn encode_block_with_flags(flags: u32, json: &[u8]) -> Result<Vec<u8>, BuildError> {
    if json.len() > MAX_JSON_LEN {
        return Err(BuildError::TooLong {
            field: "json block",
            max: MAX_JSON_LEN,
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + json.len());
    out.extend_from_slice(&flags.to_be_bytes());
    // Fits: at most MAX_JSON_LEN.
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json);
    Ok(out)
}

/// Every block in a channel-0 DRW payload (policy in the module docs).
pub fn decode_blocks(data: &[u8]) -> Result<Vec<JsonBlock>, WireError> {
    let mut r = Reader::new(data);
    let mut blocks = Vec::new();
    loop {
        let rest = r.clone().rest();
        if rest.iter().all(|&b| b == 0) {
            return Ok(blocks);
        }
        let start = r.take(2)?;
        if start != START {
            return Err(WireError::BadMagic {
                expected: "060a",
                got: LimitedHex::new(start, 2).to_string(),
            });
        }
        let low = r.u16_be()?;
        let flags = u32::from_be_bytes([START[0], START[1], 0, 0]) | u32::from(low);
        let len = r.u32_le()?;
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_JSON_LEN)
            .ok_or_else(|| WireError::Invalid {
                field: "json length",
                reason: format!("{len} bytes, at most {MAX_JSON_LEN}"),
            })?;
        let body = r.take(len)?;
        blocks.push(JsonBlock {
            flags,
            value: parse_json(body)?,
        });
    }
}

/// Every reply in a channel-0 DRW payload (the bridge's side).
pub fn decode_replies(data: &[u8]) -> Result<Vec<JsonReply>, WireError> {
    decode_blocks(data)?
        .into_iter()
        .map(|b| JsonReply::from_value(b.value))
        .collect()
}

/// Every request in a channel-0 DRW payload (the simulator's side).
pub fn decode_requests(data: &[u8]) -> Result<Vec<JsonRequest>, WireError> {
    decode_blocks(data)?
        .iter()
        .map(|b| JsonRequest::from_value(&b.value))
        .collect()
}

fn parse_json(body: &[u8]) -> Result<Value, WireError> {
    let end = body
        .iter()
        .rposition(|&b| b != 0 && !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    // The error names a position only: serde_json's message for a `Value`
    // never quotes input, but do not rely on it.
    serde_json::from_slice(body.get(..end).unwrap_or_default()).map_err(|e| WireError::Invalid {
        field: "json",
        reason: format!(
            "not JSON ({:?} at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

/// A copy of `v` with the values of credential keys replaced by [`REDACTED`].
fn redacted(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if is_sensitive_key(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redacted(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// Serializes `entries` as one JSON object, in this order.
fn write_object(entries: &[(&str, Value)]) -> Vec<u8> {
    let mut s = String::from("{");
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&Value::String((*k).to_owned()).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s.into_bytes()
}

/// An integer, also from a numeric string or an integral float (firmware is sloppy).
fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// Extra request keys, as received (values of credential keys hidden in `Debug`).
#[derive(Clone, Default, PartialEq)]
pub struct Args(pub Map<String, Value>);

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", redacted(&Value::Object(self.0.clone())))
    }
}

/// `dev_control` (102): exactly one of these keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevControl {
    /// `icut: 0/1`: IR-cut (night mode).
    Icut(bool),
    /// `lamp: 0/1`.
    Lamp(bool),
    /// `reboot: 1`.
    Reboot,
    /// `reset: 1`: factory reset (decoded for the simulator; the bridge has
    /// no reason to send it).
    Reset,
    /// `heart: 1`: heartbeat.
    Heart,
}

/// `stream` (111).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamControl {
    /// `video: n`.
    Video(VideoMode),
    /// `audio: 1` starts audio on channel 2 (`audio: 0` is a guess for stop).
    Audio(bool),
}

/// `video` values of `stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoMode {
    /// `0`: stop (aiopppp).
    Stop,
    /// `1`: 640x480.
    Vga,
    /// `2`: 320x240.
    Qvga,
}

impl VideoMode {
    /// The wire value.
    pub fn code(self) -> i64 {
        match self {
            Self::Stop => 0,
            Self::Vga => 1,
            Self::Qvga => 2,
        }
    }

    /// The mode for a wire value.
    pub fn from_code(code: i64) -> Option<Self> {
        [Self::Stop, Self::Vga, Self::Qvga]
            .into_iter()
            .find(|m| m.code() == code)
    }
}

/// Pan/tilt directions of `ptz_control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PtzDirection {
    /// Values 0 (start) / 1 (stop).
    Up,
    /// Values 2 / 3.
    Down,
    /// Values 4 / 5.
    Left,
    /// Values 6 / 7.
    Right,
}

/// `ptz_control` (128): `parms: 0, value: 0…7` moves (even = start, odd =
/// stop: up, down, left, right), `parms: 1, value: 132` goes home.
/// Other values are carried as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtzControl {
    /// `parms`.
    pub parms: i64,
    /// `value`.
    pub value: i64,
}

impl PtzControl {
    /// Return to the home position.
    pub const HOME: PtzControl = PtzControl {
        parms: 1,
        value: 132,
    };

    fn base(d: PtzDirection) -> i64 {
        match d {
            PtzDirection::Up => 0,
            PtzDirection::Down => 2,
            PtzDirection::Left => 4,
            PtzDirection::Right => 6,
        }
    }

    /// Start moving.
    pub fn start(d: PtzDirection) -> Self {
        Self {
            parms: 0,
            value: Self::base(d),
        }
    }

    /// Stop moving.
    pub fn stop(d: PtzDirection) -> Self {
        Self {
            parms: 0,
            value: Self::base(d) + 1,
        }
    }
}

/// What a request asks for. Known commands are typed; the rest keep their
/// keys in [`Args`].
#[derive(Debug, Clone, PartialEq)]
pub enum JsonCommand {
    /// check_user (100): login.
    CheckUser,
    /// get_parms (101).
    GetParms,
    /// dev_control (102).
    DevControl(DevControl),
    /// stream (111).
    Stream(StreamControl),
    /// set_wifi (114): `wifissid`, `wifipwd`, `encwifissid`, `encwifipwd` (the
    /// same values) and `encryption: 1`. The camera reboots into STA mode.
    SetWifi {
        /// Network name.
        ssid: String,
        /// Network password.
        password: Password,
    },
    /// set_datetime (126).
    SetDatetime {
        /// `tz`: offset in seconds; the camera adds it to `time` (magicus).
        tz: i64,
        /// `time`: seconds since the epoch.
        time: i64,
    },
    /// ptz_control (128).
    PtzControl(PtzControl),
    /// get_whiteLight (305).
    GetWhiteLight,
    /// set_whiteLight (304): `status: 0/1`.
    SetWhiteLight(bool),
    /// Any other command.
    Other {
        /// `cmd`.
        cmd: i64,
        /// `pro`.
        pro: String,
        /// Every other key except `user`, `pwd`, `devmac`.
        args: Args,
    },
}

impl JsonCommand {
    /// The `cmd` number.
    pub fn cmd(&self) -> i64 {
        match self {
            Self::CheckUser => cmd::CHECK_USER,
            Self::GetParms => cmd::GET_PARMS,
            Self::DevControl(_) => cmd::DEV_CONTROL,
            Self::Stream(_) => cmd::STREAM,
            Self::SetWifi { .. } => cmd::SET_WIFI,
            Self::SetDatetime { .. } => cmd::SET_DATETIME,
            Self::PtzControl(_) => cmd::PTZ_CONTROL,
            Self::GetWhiteLight => cmd::GET_WHITE_LIGHT,
            Self::SetWhiteLight(_) => cmd::SET_WHITE_LIGHT,
            Self::Other { cmd, .. } => *cmd,
        }
    }

    /// The `pro` name.
    pub fn pro(&self) -> &str {
        match self {
            Self::Other { pro, .. } => pro,
            known => pro_name(known.cmd()).unwrap_or_default(),
        }
    }

    fn args(&self) -> Vec<(&str, Value)> {
        let b = |v: bool| Value::from(i64::from(v));
        match self {
            Self::CheckUser | Self::GetParms | Self::GetWhiteLight => Vec::new(),
            Self::DevControl(c) => vec![match c {
                DevControl::Icut(on) => ("icut", b(*on)),
                DevControl::Lamp(on) => ("lamp", b(*on)),
                DevControl::Reboot => ("reboot", 1.into()),
                DevControl::Reset => ("reset", 1.into()),
                DevControl::Heart => ("heart", 1.into()),
            }],
            Self::Stream(StreamControl::Video(m)) => vec![("video", m.code().into())],
            Self::Stream(StreamControl::Audio(on)) => vec![("audio", b(*on))],
            Self::SetWifi { ssid, password } => vec![
                ("wifissid", ssid.as_str().into()),
                ("wifipwd", password.expose().into()),
                ("encwifissid", ssid.as_str().into()),
                ("encwifipwd", password.expose().into()),
                ("encryption", 1.into()),
            ],
            Self::SetDatetime { tz, time } => vec![("tz", (*tz).into()), ("time", (*time).into())],
            Self::PtzControl(p) => vec![("parms", p.parms.into()), ("value", p.value.into())],
            Self::SetWhiteLight(on) => vec![("status", b(*on))],
            Self::Other { args, .. } => args
                .0
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect(),
        }
    }

    fn from_args(cmd: i64, pro: &str, args: &Map<String, Value>) -> Result<Self, WireError> {
        let int = |key: &'static str| -> Result<i64, WireError> {
            args.get(key).and_then(int_of).ok_or(WireError::Invalid {
                field: key,
                reason: "missing or not an integer".into(),
            })
        };
        let string = |key: &'static str| -> Result<String, WireError> {
            args.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(WireError::Invalid {
                    field: key,
                    reason: "missing or not a string".into(),
                })
        };
        Ok(match cmd {
            cmd::CHECK_USER => Self::CheckUser,
            cmd::GET_PARMS => Self::GetParms,
            cmd::GET_WHITE_LIGHT => Self::GetWhiteLight,
            cmd::DEV_CONTROL => {
                let c = if args.contains_key("icut") {
                    DevControl::Icut(int("icut")? != 0)
                } else if args.contains_key("lamp") {
                    DevControl::Lamp(int("lamp")? != 0)
                } else if args.contains_key("reboot") {
                    DevControl::Reboot
                } else if args.contains_key("reset") {
                    DevControl::Reset
                } else if args.contains_key("heart") {
                    DevControl::Heart
                } else {
                    return Err(WireError::Invalid {
                        field: "dev_control",
                        reason: "none of icut, lamp, reboot, reset, heart".into(),
                    });
                };
                Self::DevControl(c)
            }
            cmd::STREAM => {
                if args.contains_key("video") {
                    let v = int("video")?;
                    Self::Stream(StreamControl::Video(VideoMode::from_code(v).ok_or(
                        WireError::Invalid {
                            field: "video",
                            reason: format!("{v}, expected 0, 1 or 2"),
                        },
                    )?))
                } else {
                    Self::Stream(StreamControl::Audio(int("audio")? != 0))
                }
            }
            cmd::SET_WIFI => Self::SetWifi {
                ssid: string("wifissid")?,
                password: Password::new(string("wifipwd")?),
            },
            cmd::SET_DATETIME => Self::SetDatetime {
                tz: int("tz")?,
                time: int("time")?,
            },
            cmd::PTZ_CONTROL => Self::PtzControl(PtzControl {
                parms: int("parms")?,
                value: int("value")?,
            }),
            cmd::SET_WHITE_LIGHT => Self::SetWhiteLight(int("status")? != 0),
            other => Self::Other {
                cmd: other,
                pro: pro.to_owned(),
                args: Args(args.clone()),
            },
        })
    }
}

/// A request: credentials plus a [`JsonCommand`]. `Debug` hides passwords.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonRequest {
    /// `user`.
    pub user: String,
    /// `pwd`, clear text on the wire.
    pub pwd: Password,
    /// `devmac` (`"0000"`).
    pub devmac: String,
    /// What is asked.
    pub command: JsonCommand,
}

impl JsonRequest {
    /// A request with `devmac` `"0000"`.
    pub fn new(user: &str, pwd: &str, command: JsonCommand) -> Self {
        Self {
            user: user.to_owned(),
            pwd: Password::new(pwd),
            devmac: DEFAULT_DEVMAC.to_owned(),
            command,
        }
    }

    /// The JSON text: `pro`, `cmd`, the command's keys, `user`, `pwd`,
    /// `devmac`, in that order (as A9_PPPP and magicus/PPPP send them).
    /// Contains the password.
    pub fn to_json(&self) -> Vec<u8> {
        let mut e: Vec<(&str, Value)> = vec![
            ("pro", self.command.pro().into()),
            ("cmd", self.command.cmd().into()),
        ];
        e.extend(self.command.args());
        e.push(("user", self.user.as_str().into()));
        e.push(("pwd", self.pwd.expose().into()));
        e.push(("devmac", self.devmac.as_str().into()));
        write_object(&e)
    }

    /// The whole block (channel-0 DRW data).
    pub fn encode(&self) -> Result<Vec<u8>, BuildError> {
        encode_block(&self.to_json())
    }

    /// Interprets a request object. `cmd` and `pro` are required and must
    /// agree for known commands; a missing `user`/`pwd` reads as empty (the
    /// camera answers -1 to that); `devmac` defaults to `"0000"`.
    pub fn from_value(v: &Value) -> Result<Self, WireError> {
        let obj = v.as_object().ok_or(WireError::Invalid {
            field: "json request",
            reason: "not an object".into(),
        })?;
        let cmd = obj.get("cmd").and_then(int_of).ok_or(WireError::Invalid {
            field: "cmd",
            reason: "missing or not an integer".into(),
        })?;
        let pro = obj
            .get("pro")
            .and_then(Value::as_str)
            .ok_or(WireError::Invalid {
                field: "pro",
                reason: "missing or not a string".into(),
            })?;
        if let Some(expected) = pro_name(cmd) {
            if pro != expected {
                return Err(WireError::Invalid {
                    field: "pro",
                    reason: format!("does not match cmd {cmd} (expected {expected})"),
                });
            }
        }
        let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
        let args: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "pro" | "cmd" | "user" | "pwd" | "devmac"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Self {
            user: text("user").to_owned(),
            pwd: Password::new(text("pwd")),
            devmac: obj
                .get("devmac")
                .and_then(Value::as_str)
                .unwrap_or(DEFAULT_DEVMAC)
                .to_owned(),
            command: JsonCommand::from_args(cmd, pro, &args)?,
        })
    }
}

/// The `result` of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonResult {
    /// 0.
    Ok,
    /// -1: bad or missing user name (or missing password field).
    BadUser,
    /// -3: bad password.
    BadPassword,
    /// Anything else (magicus: -1 is "failure" in general).
    Other(i64),
}

impl JsonResult {
    /// The wire code.
    pub fn code(self) -> i64 {
        match self {
            Self::Ok => 0,
            Self::BadUser => -1,
            Self::BadPassword => -3,
            Self::Other(c) => c,
        }
    }

    /// The result for a wire code.
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Ok,
            -1 => Self::BadUser,
            -3 => Self::BadPassword,
            c => Self::Other(c),
        }
    }
}

/// A reply object with typed accessors. `Debug` hides credential-like
/// values (`cloud_key`, Wi-Fi passwords…).
#[derive(Clone, PartialEq)]
pub struct JsonReply {
    fields: Map<String, Value>,
}

impl fmt::Debug for JsonReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "JsonReply {}",
            redacted(&Value::Object(self.fields.clone()))
        )
    }
}

impl JsonReply {
    /// A reply with `cmd` and `result` (the simulator's side).
    pub fn new(cmd: i64, result: JsonResult) -> Self {
        let mut fields = Map::new();
        fields.insert("cmd".into(), cmd.into());
        fields.insert("result".into(), result.code().into());
        Self { fields }
    }

    /// Adds or replaces a field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }

    /// Interprets a reply object; `cmd` must be an integer.
    pub fn from_value(v: Value) -> Result<Self, WireError> {
        let Value::Object(fields) = v else {
            return Err(WireError::Invalid {
                field: "json reply",
                reason: "not an object".into(),
            });
        };
        if fields.get("cmd").and_then(int_of).is_none() {
            return Err(WireError::Invalid {
                field: "cmd",
                reason: "missing or not an integer".into(),
            });
        }
        Ok(Self { fields })
    }

    /// Every field.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// `cmd` (checked present by every constructor).
    pub fn cmd(&self) -> i64 {
        self.int("cmd").unwrap_or_default()
    }

    /// `result`, if present and an integer.
    pub fn result(&self) -> Option<JsonResult> {
        self.int("result").map(JsonResult::from_code)
    }

    /// A field.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// An integer field (numbers, numeric strings and booleans accepted).
    pub fn int(&self, key: &str) -> Option<i64> {
        self.fields.get(key).and_then(int_of)
    }

    /// A string field.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// A 0/1 field as a flag.
    pub fn flag(&self, key: &str) -> Option<bool> {
        self.int(key).map(|v| v != 0)
    }

    /// get_parms `icut`: night mode on.
    pub fn icut(&self) -> Option<bool> {
        self.flag("icut")
    }

    /// get_parms `lamp`.
    pub fn lamp(&self) -> Option<bool> {
        self.flag("lamp")
    }

    /// get_parms `sysver`, e.g. `"HQLS_HK66_DP_20230802 20:08:13"`.
    pub fn sysver(&self) -> Option<&str> {
        self.str("sysver")
    }

    /// get_parms `mcuver`.
    pub fn mcuver(&self) -> Option<&str> {
        self.str("mcuver")
    }

    /// get_parms `signal` (0–100).
    pub fn signal(&self) -> Option<i64> {
        self.int("signal")
    }

    /// get_parms `batValue` (percent).
    pub fn battery_percent(&self) -> Option<i64> {
        self.int("batValue")
    }

    /// get_parms `batStatus` (1 seen while charging? meaning unconfirmed).
    pub fn battery_status(&self) -> Option<i64> {
        self.int("batStatus")
    }

    /// get_parms `tz` (a sample shows -8: hours, unlike set_datetime's seconds).
    pub fn tz(&self) -> Option<i64> {
        self.int("tz")
    }

    /// get_parms `time` (seconds since the epoch).
    pub fn time(&self) -> Option<i64> {
        self.int("time")
    }

    /// get_whiteLight `status`.
    pub fn white_light(&self) -> Option<bool> {
        self.flag("status")
    }

    /// The JSON text: `cmd`, `result`, then the other fields (sorted).
    pub fn to_json(&self) -> Vec<u8> {
        let mut e: Vec<(&str, Value)> = Vec::with_capacity(self.fields.len());
        for k in ["cmd", "result"] {
            if let Some(v) = self.fields.get(k) {
                e.push((k, v.clone()));
            }
        }
        e.extend(
            self.fields
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "cmd" | "result"))
                .map(|(k, v)| (k.as_str(), v.clone())),
        );
        write_object(&e)
    }

    /// The whole block; a successful check_user reply gets [`ADMIN_FLAG`].
    pub fn encode(&self) -> Result<Vec<u8>, BuildError> {
        let admin = self.cmd() == cmd::CHECK_USER && self.result() == Some(JsonResult::Ok);
        let flags = if admin {
            REQUEST_FLAGS | ADMIN_FLAG
        } else {
            REQUEST_FLAGS
        };
        encode_block_with_flags(flags, &self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = "admin";
    const PWD: &str = "6666";

    fn req(command: JsonCommand) -> JsonRequest {
        JsonRequest::new(USER, PWD, command)
    }

    #[test]
    fn check_user_is_what_a9_pppp_sends() {
        let r = req(JsonCommand::CheckUser);
        let json = r#"{"pro":"check_user","cmd":100,"user":"admin","pwd":"6666","devmac":"0000"}"#;
        assert_eq!(String::from_utf8(r.to_json()).unwrap(), json);
        let block = r.encode().unwrap();
        assert_eq!(block[..4], [0x06, 0x0A, 0xA0, 0x80]);
        assert_eq!(block[4..8], (json.len() as u32).to_le_bytes());
        assert_eq!(&block[8..], json.as_bytes());
    }

    #[test]
    fn set_wifi_carries_both_key_pairs_and_encryption() {
        let r = req(JsonCommand::SetWifi {
            ssid: "home".into(),
            password: Password::new("pa\"ss"),
        });
        assert_eq!(
            String::from_utf8(r.to_json()).unwrap(),
            r#"{"pro":"set_wifi","cmd":114,"wifissid":"home","wifipwd":"pa\"ss","encwifissid":"home","encwifipwd":"pa\"ss","encryption":1,"user":"admin","pwd":"6666","devmac":"0000"}"#
        );
    }

    #[test]
    fn every_request_round_trips_through_the_wire() {
        let commands = [
            JsonCommand::CheckUser,
            JsonCommand::GetParms,
            JsonCommand::DevControl(DevControl::Icut(true)),
            JsonCommand::DevControl(DevControl::Icut(false)),
            JsonCommand::DevControl(DevControl::Lamp(true)),
            JsonCommand::DevControl(DevControl::Reboot),
            JsonCommand::DevControl(DevControl::Reset),
            JsonCommand::DevControl(DevControl::Heart),
            JsonCommand::Stream(StreamControl::Video(VideoMode::Vga)),
            JsonCommand::Stream(StreamControl::Video(VideoMode::Qvga)),
            JsonCommand::Stream(StreamControl::Video(VideoMode::Stop)),
            JsonCommand::Stream(StreamControl::Audio(true)),
            JsonCommand::SetWifi {
                ssid: "Café ☕".into(),
                password: Password::new("correct horse"),
            },
            JsonCommand::SetDatetime {
                tz: -3600,
                time: 1_699_397_280,
            },
            JsonCommand::PtzControl(PtzControl::start(PtzDirection::Left)),
            JsonCommand::PtzControl(PtzControl::stop(PtzDirection::Right)),
            JsonCommand::PtzControl(PtzControl::HOME),
            JsonCommand::GetWhiteLight,
            JsonCommand::SetWhiteLight(true),
            JsonCommand::Other {
                cmd: cmd::TALK_SEND,
                pro: "talk_send".into(),
                args: Args(
                    [("isSend".to_owned(), Value::from(1))]
                        .into_iter()
                        .collect(),
                ),
            },
        ];
        for c in commands {
            let r = req(c);
            let back = decode_requests(&r.encode().unwrap()).unwrap();
            assert_eq!(back, vec![r.clone()], "{r:?}");
        }
        assert_eq!(PtzControl::start(PtzDirection::Up).value, 0);
        assert_eq!(PtzControl::stop(PtzDirection::Down).value, 3);
    }

    /// magicus/PPPP `pppp.js`: the sample get_parms reply.
    #[test]
    fn a_get_parms_reply_reads_through_the_accessors() {
        let json = r#"{
            "cmd": 101, "result": 0, "tz": -8, "time": 1699397280, "icut": 0,
            "batValue": 90, "batStatus": 1, "sysver": "HQLS_HK66_DP_20230802 20:08:13",
            "mcuver": "1.1.1.1", "isShow4KMenu": 0, "isShowIcutAuto": 1, "rotmir": 0,
            "signal": 100, "lamp": 0
        }"#;
        let block = encode_block_with_flags(REQUEST_FLAGS, json.as_bytes()).unwrap();
        let replies = decode_replies(&block).unwrap();
        let [r] = replies.as_slice() else {
            panic!("{replies:?}")
        };
        assert_eq!(r.cmd(), 101);
        assert_eq!(r.result(), Some(JsonResult::Ok));
        assert_eq!(r.icut(), Some(false));
        assert_eq!(r.lamp(), Some(false));
        assert_eq!(r.sysver(), Some("HQLS_HK66_DP_20230802 20:08:13"));
        assert_eq!(r.mcuver(), Some("1.1.1.1"));
        assert_eq!(r.signal(), Some(100));
        assert_eq!(r.battery_percent(), Some(90));
        assert_eq!(r.battery_status(), Some(1));
        assert_eq!((r.tz(), r.time()), (Some(-8), Some(1_699_397_280)));
        assert_eq!(r.int("isShowIcutAuto"), Some(1));
    }

    #[test]
    fn result_codes_map_to_the_enum() {
        for (code, r) in [
            (0, JsonResult::Ok),
            (-1, JsonResult::BadUser),
            (-3, JsonResult::BadPassword),
            (-2, JsonResult::Other(-2)),
        ] {
            assert_eq!(JsonResult::from_code(code), r);
            assert_eq!(r.code(), code);
            let block = JsonReply::new(cmd::CHECK_USER, r).encode().unwrap();
            assert_eq!(decode_replies(&block).unwrap()[0].result(), Some(r));
        }
        // Sloppy firmware: a numeric string.
        let r = JsonReply::from_value(serde_json::json!({"cmd": "100", "result": " -3"})).unwrap();
        assert_eq!((r.cmd(), r.result()), (100, Some(JsonResult::BadPassword)));
    }

    #[test]
    fn every_reply_round_trips_through_the_wire() {
        let replies = [
            JsonReply::new(cmd::CHECK_USER, JsonResult::Ok)
                .with("admin", 1)
                .with("restrict", 0)
                .with("mode", 110)
                .with("type", 600)
                .with("checkstr", "SHIX"),
            JsonReply::new(cmd::CHECK_USER, JsonResult::BadPassword),
            JsonReply::new(cmd::GET_PARMS, JsonResult::Ok)
                .with("icut", 1)
                .with("lamp", 0)
                .with("sysver", "SIM_1.0")
                .with("signal", 80),
            JsonReply::new(cmd::DEV_CONTROL, JsonResult::Ok),
            JsonReply::new(cmd::STREAM, JsonResult::Ok),
            JsonReply::new(cmd::SET_WIFI, JsonResult::Ok),
            JsonReply::new(cmd::PTZ_CONTROL, JsonResult::Ok),
            JsonReply::new(cmd::GET_WHITE_LIGHT, JsonResult::Ok).with("status", 1),
            JsonReply::new(cmd::SET_WHITE_LIGHT, JsonResult::Ok),
        ];
        for r in replies {
            let block = r.encode().unwrap();
            let blocks = decode_blocks(&block).unwrap();
            let admin = r.cmd() == cmd::CHECK_USER && r.result() == Some(JsonResult::Ok);
            assert_eq!(blocks[0].flags & ADMIN_FLAG != 0, admin);
            assert_eq!(decode_replies(&block).unwrap(), vec![r]);
        }
        let light = JsonReply::new(cmd::GET_WHITE_LIGHT, JsonResult::Ok).with("status", 1);
        assert_eq!(light.white_light(), Some(true));
    }

    #[test]
    fn several_blocks_and_zero_padding_are_read() {
        let mut data = req(JsonCommand::CheckUser).encode().unwrap();
        data.extend(req(JsonCommand::GetParms).encode().unwrap());
        data.extend([0; 5]);
        let back = decode_requests(&data).unwrap();
        assert_eq!(
            back.iter().map(|r| r.command.cmd()).collect::<Vec<_>>(),
            [100, 101]
        );
        assert_eq!(decode_blocks(&[]).unwrap(), vec![]);
        // A NUL-terminated JSON body.
        let block = encode_block(b"{\"cmd\":101,\"result\":0}\0").unwrap();
        assert_eq!(decode_replies(&block).unwrap()[0].cmd(), 101);
    }

    #[test]
    fn truncated_and_garbage_inputs_are_errors() {
        let block = req(JsonCommand::GetParms).encode().unwrap();
        for n in 1..block.len() {
            assert!(decode_blocks(&block[..n]).is_err(), "prefix {n}");
        }
        let mut trailing = block.clone();
        trailing.extend(b"xyz");
        assert!(matches!(
            decode_blocks(&trailing),
            Err(WireError::BadMagic { .. })
        ));
        let mut huge = vec![0x06, 0x0A, 0xA0, 0x80];
        huge.extend(((MAX_JSON_LEN + 1) as u32).to_le_bytes());
        assert!(matches!(
            decode_blocks(&huge),
            Err(WireError::Invalid {
                field: "json length",
                ..
            })
        ));
        assert!(matches!(
            decode_blocks(&encode_block(b"{not json").unwrap()),
            Err(WireError::Invalid { field: "json", .. })
        ));
        assert!(encode_block(" ".repeat(MAX_JSON_LEN + 1).as_bytes()).is_err());
        assert!(decode_replies(&encode_block(b"[1]").unwrap()).is_err());
        assert!(decode_replies(&encode_block(b"{\"result\":0}").unwrap()).is_err());
        // pro and cmd must agree; typed commands need their keys.
        for bad in [
            r#"{"pro":"get_parms","cmd":100}"#,
            r#"{"cmd":100}"#,
            r#"{"pro":"stream","cmd":111,"video":7}"#,
            r#"{"pro":"stream","cmd":111}"#,
            r#"{"pro":"dev_control","cmd":102}"#,
            r#"{"pro":"set_wifi","cmd":114,"wifissid":"x"}"#,
        ] {
            assert!(
                decode_requests(&encode_block(bad.as_bytes()).unwrap()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn no_password_shows_in_debug_or_errors() {
        let secret = "hunter2-secret";
        let r = JsonRequest::new(
            USER,
            secret,
            JsonCommand::SetWifi {
                ssid: "home".into(),
                password: Password::new(secret),
            },
        );
        let other = JsonRequest::new(
            USER,
            secret,
            JsonCommand::Other {
                cmd: cmd::EDIT_USER,
                pro: "edit_user".into(),
                args: Args(
                    [("newpwd".to_owned(), Value::from(secret))]
                        .into_iter()
                        .collect(),
                ),
            },
        );
        let reply = JsonReply::new(cmd::GET_WIFI, JsonResult::Ok)
            .with("wifipwd", secret)
            .with("cloud_key", secret)
            .with("nested", serde_json::json!({"pwd": secret}));
        let blocks = decode_blocks(&r.encode().unwrap()).unwrap();
        // A body that is not JSON, with the password in it.
        let bad = encode_block(format!("{{\"pwd\":\"{secret}\" oops").as_bytes()).unwrap();
        let texts = [
            format!("{r:?}"),
            format!("{other:?}"),
            format!("{reply:?}"),
            format!("{blocks:?}"),
            format!("{:?}", decode_requests(&other.encode().unwrap()).unwrap()),
            decode_blocks(&bad).unwrap_err().to_string(),
            format!("{:?}", decode_blocks(&bad).unwrap_err()),
        ];
        for t in texts {
            assert!(!t.contains(secret), "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = decode_blocks(&bytes);
            let _ = decode_replies(&bytes);
            let _ = decode_requests(&bytes);
        }

        #[test]
        fn framed_garbage_never_panics(
            flags in proptest::num::u16::ANY,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            declared in proptest::option::of(0u32..400),
        ) {
            let mut data = vec![0x06, 0x0A];
            data.extend(flags.to_be_bytes());
            data.extend(declared.unwrap_or(body.len() as u32).to_le_bytes());
            data.extend(&body);
            let _ = decode_blocks(&data);
            let _ = decode_replies(&data);
            let _ = decode_requests(&data);
        }

        #[test]
        fn json_objects_never_panic_the_request_parser(
            cmd in proptest::sample::select(vec![100i64, 101, 102, 111, 114, 126, 128, 304, 305, 7]),
            key in "[a-z]{1,8}",
            val in proptest::prop_oneof![
                proptest::strategy::Strategy::prop_map(proptest::num::i64::ANY, Value::from),
                proptest::strategy::Strategy::prop_map("[ -~]{0,12}", Value::from),
                proptest::strategy::Strategy::prop_map(proptest::bool::ANY, Value::from),
                proptest::strategy::Just(Value::Null),
            ],
        ) {
            let mut m = Map::new();
            m.insert("cmd".into(), cmd.into());
            m.insert("pro".into(), pro_name(cmd).unwrap_or("x").into());
            for k in [key.as_str(), "icut", "video", "wifissid", "tz", "parms", "status"] {
                m.insert(k.into(), val.clone());
            }
            let _ = JsonRequest::from_value(&Value::Object(m.clone()));
            let _ = JsonReply::from_value(Value::Object(m));
        }
    }
}
