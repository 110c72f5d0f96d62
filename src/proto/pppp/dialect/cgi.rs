//! **EXPERIMENTAL**: VStarcam-style CGI requests tunnelled over PPPP, as the
//! Little Stars (ACCQ/BCCQ) cameras seem to speak (`pppp.md` §3.3). Only a
//! login has ever been seen on the wire; nothing here is confirmed on
//! hardware beyond that one exchange.
//!
//! # Framing
//! What was captured (aiopppp branch `little-stars`, comments in
//! `aiopppp/session.py`, <https://github.com/devbis/aiopppp/blob/little-stars/aiopppp/session.py>):
//!
//! ```text
//! request  01 0A 00 00  47 00  00 00  "GET /check_user.cgi?loginuse=admin&loginpas=admin&user=admin&pwd=admin&"
//! reply    01 0A A0 60  0C 00  00 01  "result= 0;\r\n"
//! ```
//!
//! So: `01 0A`, two bytes (`00 00` in the request, `A0 60` in the reply),
//! a u16 LE text length (0x47 = 71 and 0x0C = 12 match the texts), two more
//! bytes (`00 00`, then `00 01`), the text. Uncertain: whether bytes 4..8 are
//! really a u16 length plus a u16 of something else (the reply's
//! `0C 00 00 01` is no sensible u32 LE length, so they are read that way),
//! and what bytes 2..4 and 6..8 mean (they echo the JSON dialect's
//! `06 0A A0 80` header word and its reply "admin" flag, which suggests
//! direction and privilege). Encoders write the captured values; decoders
//! check `01 0A` and the length and accept any value in the other four bytes.
//! A frame must be exactly header + text ([`WireError::TrailingData`]
//! otherwise); NULs at the end of a reply's text are trimmed.
//!
//! # CGI parameters
//! From VStarcam's "IP/WIRELESS CAMERA CGI Command Manual" (2016), a copy of
//! which is in cam-reverse:
//! <https://github.com/DavidVentura/cam-reverse/blob/master/data/cgi_ip_cam.pdf>,
//! cross-checked against a Chinese summary of the same CGI set:
//! <https://blog.csdn.net/weixin_53228432/article/details/130975351>.
//!
//! * Every CGI takes credentials as `user=&pwd=` and/or `loginuse=&loginpas=`;
//!   the captured login sends both pairs, so every builder here does, after
//!   the command's own parameters, with the captured trailing `&`.
//! * `check_user.cgi`: the captured request. (The manual documents a `name=`
//!   parameter for an "Eye4 account" check; not used.)
//! * `livestream.cgi?streamid=`: `10` (0x0a) requests real-time video, `16`
//!   (0x10) stops it (the manual's example is
//!   `livestream.cgi?streamid=10&substream=1&user=admin&pwd=…`). Optional
//!   `audio=0/1`, `res=`, `substream=`. Whether the tunnelled firmware then
//!   streams on DRW channel 1 is **not known** (no Little Stars video command
//!   over PPPP has been seen, `pppp.md` §3.3).
//! * `set_wifi.cgi`: `enable=1&ssid=&channel=&mode=0&authtype=&wpa_psk=`
//!   (plus WEP-only `encrypt`, `defkey`, `key1..4`, `keyformat`,
//!   `key1..4_bits`, not sent). `authtype`: 0 none, 1 WEP, 2 WPA-PSK/AES,
//!   3 WPA-PSK/TKIP, 4 WPA2-PSK/AES, 5 WPA2-PSK/TKIP; `mode` 0 = infrastructure;
//!   SSID at most 40 bytes. Whether a camera accepts a request that leaves
//!   out the WEP parameters is not known.
//! * `camera_control.cgi?param=14&value=`: IR-cut. The manual says 0 disable,
//!   1 enable; the CSDN summary says 0 off, 1 auto, 2 night view. 0 and 1 are
//!   what [`ir_cut`] sends. (The manual also has `set_ir_gpio.cgi?val=0/1` for
//!   the IR LEDs and `decoder_control.cgi?command=96/97` for IR-cut on/off.)
//! * `reboot.cgi`: no parameters besides the credentials.
//!
//! Replies are `key=value;` statements, one per line (`result= 0;\r\n`);
//! [`CgiReply`] also strips a leading `var ` and quotes around values, which
//! VStarcam's HTTP CGIs use. Values containing `;` are not supported.

use std::fmt;

use super::{is_sensitive_key, BuildError, Password, REDACTED};
use crate::proto::codec::{LimitedHex, Reader, WireError};

/// The first two bytes of every frame.
pub const START: [u8; 2] = [0x01, 0x0A];
/// Bytes 2..4 of a request (captured).
pub const REQUEST_KIND: [u8; 2] = [0x00, 0x00];
/// Bytes 2..4 of a reply (captured).
pub const REPLY_KIND: [u8; 2] = [0xA0, 0x60];
/// Bytes 6..8 of a request (captured).
pub const REQUEST_TAIL: [u8; 2] = [0x00, 0x00];
/// Bytes 6..8 of a reply (captured).
pub const REPLY_TAIL: [u8; 2] = [0x00, 0x01];
/// Frame header length.
pub const HEADER_LEN: usize = 8;
/// Longest text the u16 length describes.
pub const MAX_TEXT: usize = u16::MAX as usize;
/// `livestream.cgi` `streamid` that starts real-time video.
pub const STREAM_START: u32 = 10;
/// `livestream.cgi` `streamid` that stops real-time video.
pub const STREAM_STOP: u32 = 16;
/// `camera_control.cgi` `param` for the IR-cut switch.
pub const PARAM_IRCUT: i64 = 14;

fn encode_frame(kind: [u8; 2], tail: [u8; 2], text: &[u8]) -> Result<Vec<u8>, BuildError> {
    let len = u16::try_from(text.len()).map_err(|_| BuildError::TooLong {
        field: "cgi text",
        max: MAX_TEXT,
    })?;
    let mut out = Vec::with_capacity(HEADER_LEN + text.len());
    out.extend_from_slice(&START);
    out.extend_from_slice(&kind);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&tail);
    out.extend_from_slice(text);
    Ok(out)
}

fn decode_frame(data: &[u8]) -> Result<&[u8], WireError> {
    let mut r = Reader::new(data);
    let start = r.take(2)?;
    if start != START {
        return Err(WireError::BadMagic {
            expected: "010a",
            got: LimitedHex::new(start, 2).to_string(),
        });
    }
    r.take(2)?;
    let len = usize::from(r.u16_le()?);
    r.take(2)?;
    let text = r.take(len)?;
    r.finish()?;
    Ok(text)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Percent-decodes; a `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Builds `path?k=v&k=v&…&` with the credentials last.
struct Query {
    text: String,
}

impl Query {
    fn new(path: &str) -> Self {
        Self {
            text: format!("{path}?"),
        }
    }

    fn param(mut self, field: &'static str, value: &str) -> Result<Self, BuildError> {
        if value.contains('\0') {
            return Err(BuildError::Forbidden {
                field,
                what: "a NUL byte",
            });
        }
        self.text.push_str(field);
        self.text.push('=');
        percent_encode(value, &mut self.text);
        self.text.push('&');
        Ok(self)
    }

    fn finish(self, user: &str, password: &str) -> Result<CgiRequest, BuildError> {
        let q = self
            .param("loginuse", user)?
            .param("loginpas", password)?
            .param("user", user)?
            .param("pwd", password)?;
        CgiRequest::get(&q.text)
    }
}

/// A `GET /….cgi?…` request. `Debug` shows the path and parameter names,
/// with credential values redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct CgiRequest {
    /// `GET ` + path and query.
    text: String,
}

impl fmt::Debug for CgiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgiRequest")
            .field("path", &self.path())
            .field("params", &Redacted(self.params()))
            .finish()
    }
}

/// Key/value pairs printed with credential values redacted.
struct Redacted(Vec<(String, String)>);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let v = if is_sensitive_key(k) && !v.is_empty() {
                    REDACTED
                } else {
                    v.as_str()
                };
                (k, v)
            }))
            .finish()
    }
}

impl CgiRequest {
    /// A request for `path_and_query` (already percent-encoded): it must start
    /// with `/` and hold only visible ASCII (no spaces, CR or LF).
    pub fn get(path_and_query: &str) -> Result<Self, BuildError> {
        if !path_and_query.starts_with('/') {
            return Err(BuildError::Forbidden {
                field: "cgi path",
                what: "anything but '/' first",
            });
        }
        if !path_and_query.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BuildError::Forbidden {
                field: "cgi path",
                what: "spaces, control or non-ASCII characters",
            });
        }
        let text = format!("GET {path_and_query}");
        if text.len() > MAX_TEXT {
            return Err(BuildError::TooLong {
                field: "cgi request",
                max: MAX_TEXT,
            });
        }
        Ok(Self { text })
    }

    /// The request text (`GET /…`). Contains the credentials.
    pub fn expose_text(&self) -> &str {
        &self.text
    }

    /// The path and query after `GET `.
    fn target(&self) -> &str {
        self.text.get(4..).unwrap_or_default()
    }

    /// The path, without the query (e.g. `/check_user.cgi`).
    pub fn path(&self) -> &str {
        let t = self.target();
        t.split_once('?').map_or(t, |(p, _)| p)
    }

    /// The query parameters, percent-decoded, in order (empty pieces
    /// skipped). Contains the credentials.
    pub fn params(&self) -> Vec<(String, String)> {
        let query = self.target().split_once('?').map_or("", |(_, q)| q);
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }

    /// The first value of parameter `key`, percent-decoded.
    pub fn param(&self, key: &str) -> Option<String> {
        self.params()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// The user and password: `loginuse`/`loginpas`, else `user`/`pwd`.
    pub fn credentials(&self) -> (Option<String>, Option<Password>) {
        let user = self.param("loginuse").or_else(|| self.param("user"));
        let pwd = self
            .param("loginpas")
            .or_else(|| self.param("pwd"))
            .map(Password::new);
        (user, pwd)
    }

    /// The channel-0 DRW data: `01 0A 00 00` + u16 LE length + `00 00` + text.
    pub fn encode(&self) -> Vec<u8> {
        // `get` bounded the text to MAX_TEXT, so this cannot fail.
        encode_frame(REQUEST_KIND, REQUEST_TAIL, self.text.as_bytes()).unwrap_or_default()
    }

    /// Parses a request frame (the simulator's side).
    pub fn decode(data: &[u8]) -> Result<Self, WireError> {
        let text = decode_frame(data)?;
        let target = text.strip_prefix(b"GET ").ok_or(WireError::Invalid {
            field: "cgi request",
            reason: "does not start with \"GET \"".into(),
        })?;
        let target = std::str::from_utf8(target).map_err(|_| WireError::Invalid {
            field: "cgi request",
            reason: "not ASCII".into(),
        })?;
        Self::get(target).map_err(|e| WireError::Invalid {
            field: "cgi request",
            reason: e.to_string(),
        })
    }
}

/// `check_user.cgi`: the login, byte for byte as captured for admin/admin.
pub fn check_user(user: &str, password: &str) -> Result<CgiRequest, BuildError> {
    Query::new("/check_user.cgi").finish(user, password)
}

/// What [`livestream`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveStream {
    /// `streamid=10`: start real-time video.
    Start,
    /// `streamid=16`: stop it.
    Stop,
}

/// `livestream.cgi?streamid=10|16` (untested over PPPP).
pub fn livestream(user: &str, password: &str, what: LiveStream) -> Result<CgiRequest, BuildError> {
    let id = match what {
        LiveStream::Start => STREAM_START,
        LiveStream::Stop => STREAM_STOP,
    };
    Query::new("/livestream.cgi")
        .param("streamid", &id.to_string())?
        .finish(user, password)
}

/// `set_wifi.cgi` `authtype` values (VStarcam manual).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WifiAuth {
    /// 0: open network.
    None,
    /// 1: WEP (not supported by [`set_wifi`]: it sends no WEP keys).
    Wep,
    /// 2: WPA-PSK/AES.
    WpaPskAes,
    /// 3: WPA-PSK/TKIP.
    WpaPskTkip,
    /// 4: WPA2-PSK/AES.
    Wpa2PskAes,
    /// 5: WPA2-PSK/TKIP.
    Wpa2PskTkip,
}

impl WifiAuth {
    /// The wire value.
    pub fn code(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Wep => 1,
            Self::WpaPskAes => 2,
            Self::WpaPskTkip => 3,
            Self::Wpa2PskAes => 4,
            Self::Wpa2PskTkip => 5,
        }
    }

    /// The auth type for a wire value.
    pub fn from_code(code: u32) -> Option<Self> {
        [
            Self::None,
            Self::Wep,
            Self::WpaPskAes,
            Self::WpaPskTkip,
            Self::Wpa2PskAes,
            Self::Wpa2PskTkip,
        ]
        .into_iter()
        .find(|a| a.code() == code)
    }
}

/// Longest SSID `set_wifi.cgi` takes (VStarcam manual: "length <= 40").
pub const MAX_SSID: usize = 40;

/// `set_wifi.cgi?enable=1&ssid=&channel=&mode=0&authtype=&wpa_psk=` (untested
/// over PPPP; WEP keys are not sent, so [`WifiAuth::Wep`] is refused).
pub fn set_wifi(
    user: &str,
    password: &str,
    ssid: &str,
    psk: &str,
    auth: WifiAuth,
    channel: u32,
) -> Result<CgiRequest, BuildError> {
    if ssid.len() > MAX_SSID {
        return Err(BuildError::TooLong {
            field: "ssid",
            max: MAX_SSID,
        });
    }
    if auth == WifiAuth::Wep {
        return Err(BuildError::Forbidden {
            field: "authtype",
            what: "WEP (no WEP keys are sent)",
        });
    }
    Query::new("/set_wifi.cgi")
        .param("enable", "1")?
        .param("ssid", ssid)?
        .param("channel", &channel.to_string())?
        .param("mode", "0")?
        .param("authtype", &auth.code().to_string())?
        .param("wpa_psk", psk)?
        .finish(user, password)
}

/// `camera_control.cgi?param=&value=`.
pub fn camera_control(
    user: &str,
    password: &str,
    param: i64,
    value: i64,
) -> Result<CgiRequest, BuildError> {
    Query::new("/camera_control.cgi")
        .param("param", &param.to_string())?
        .param("value", &value.to_string())?
        .finish(user, password)
}

/// IR-cut via `camera_control.cgi?param=14&value=1|0` (1 = enable/auto,
/// 0 = off; see the module docs for the two readings of the value).
pub fn ir_cut(user: &str, password: &str, on: bool) -> Result<CgiRequest, BuildError> {
    camera_control(user, password, PARAM_IRCUT, i64::from(on))
}

/// `reboot.cgi`.
pub fn reboot(user: &str, password: &str) -> Result<CgiRequest, BuildError> {
    Query::new("/reboot.cgi").finish(user, password)
}

/// A request as the simulator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgiCommand {
    /// `/check_user.cgi`.
    CheckUser,
    /// `/livestream.cgi`.
    LiveStream {
        /// `streamid` ([`STREAM_START`], [`STREAM_STOP`], …).
        streamid: u32,
    },
    /// `/set_wifi.cgi`.
    SetWifi {
        /// `ssid`.
        ssid: String,
        /// `wpa_psk`.
        psk: Password,
        /// `authtype`.
        authtype: u32,
        /// `channel`, when given.
        channel: Option<u32>,
    },
    /// `/camera_control.cgi`.
    CameraControl {
        /// `param`.
        param: i64,
        /// `value`.
        value: i64,
    },
    /// `/reboot.cgi`.
    Reboot,
    /// Anything else.
    Other {
        /// The path.
        path: String,
    },
}

impl CgiCommand {
    /// Interprets a request's path and parameters (credentials are read with
    /// [`CgiRequest::credentials`]).
    pub fn parse(req: &CgiRequest) -> Result<Self, WireError> {
        fn num<T: std::str::FromStr>(
            req: &CgiRequest,
            key: &'static str,
        ) -> Result<Option<T>, WireError> {
            req.param(key)
                .map(|v| {
                    v.trim().parse().map_err(|_| WireError::Invalid {
                        field: key,
                        reason: "not a number".into(),
                    })
                })
                .transpose()
        }
        fn need<T>(v: Option<T>, key: &'static str) -> Result<T, WireError> {
            v.ok_or(WireError::Invalid {
                field: key,
                reason: "missing".into(),
            })
        }
        Ok(match req.path() {
            "/check_user.cgi" => Self::CheckUser,
            "/livestream.cgi" => Self::LiveStream {
                streamid: need(num(req, "streamid")?, "streamid")?,
            },
            "/set_wifi.cgi" => Self::SetWifi {
                ssid: need(req.param("ssid"), "ssid")?,
                psk: Password::new(req.param("wpa_psk").unwrap_or_default()),
                authtype: num(req, "authtype")?.unwrap_or(0),
                channel: num(req, "channel")?,
            },
            "/camera_control.cgi" => Self::CameraControl {
                param: need(num(req, "param")?, "param")?,
                value: need(num(req, "value")?, "value")?,
            },
            "/reboot.cgi" => Self::Reboot,
            other => Self::Other {
                path: other.to_owned(),
            },
        })
    }
}

/// A reply: `key=value;` statements. `Debug` redacts credential values.
#[derive(Clone, PartialEq, Eq)]
pub struct CgiReply {
    text: String,
}

impl fmt::Debug for CgiReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CgiReply")
            .field("fields", &Redacted(self.fields()))
            .finish()
    }
}

impl CgiReply {
    /// `result= <code>;\r\n`, as captured for a successful login (`result= 0;`).
    pub fn with_result(code: i64) -> Self {
        Self {
            text: format!("result= {code};\r\n"),
        }
    }

    /// `key= value;\r\n` per field, in the captured style.
    pub fn from_fields(fields: &[(&str, &str)]) -> Result<Self, BuildError> {
        let mut text = String::new();
        for (k, v) in fields {
            if k.is_empty() || k.contains(['=', ';', '\r', '\n', '\0']) {
                return Err(BuildError::Forbidden {
                    field: "cgi reply key",
                    what: "'=', ';', CR, LF, NUL or nothing",
                });
            }
            if v.contains([';', '\r', '\n', '\0']) {
                return Err(BuildError::Forbidden {
                    field: "cgi reply value",
                    what: "';', CR, LF or NUL",
                });
            }
            text.push_str(&format!("{k}= {v};\r\n"));
        }
        if text.len() > MAX_TEXT {
            return Err(BuildError::TooLong {
                field: "cgi reply",
                max: MAX_TEXT,
            });
        }
        Ok(Self { text })
    }

    /// The reply text. May contain credentials.
    pub fn expose_text(&self) -> &str {
        &self.text
    }

    /// The `key=value` statements, in order: split at `;` and line ends,
    /// a leading `var ` dropped, key and value trimmed, quotes around the
    /// value removed. Pieces without `=` are skipped.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.text
            .split([';', '\n'])
            .filter_map(|stmt| {
                let stmt = stmt.trim();
                let stmt = stmt.strip_prefix("var ").unwrap_or(stmt);
                let (k, v) = stmt.split_once('=')?;
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                Some((k.trim().to_owned(), v.to_owned()))
            })
            .collect()
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.fields()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// `result` as a number (0 = success in the captured login).
    pub fn result(&self) -> Option<i64> {
        self.get("result").and_then(|v| v.trim().parse().ok())
    }

    /// The channel-0 DRW data: `01 0A A0 60` + u16 LE length + `00 01` + text.
    pub fn encode(&self) -> Vec<u8> {
        // Constructors bound the text to MAX_TEXT, so this cannot fail.
        encode_frame(REPLY_KIND, REPLY_TAIL, self.text.as_bytes()).unwrap_or_default()
    }

    /// Parses a reply frame (lossy UTF-8; trailing NULs trimmed).
    pub fn decode(data: &[u8]) -> Result<Self, WireError> {
        let text = decode_frame(data)?;
        let end = text.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        Ok(Self {
            text: String::from_utf8_lossy(text.get(..end).unwrap_or_default()).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The login request in aiopppp's `little-stars` branch
    /// (`aiopppp/session.py`, `LittleStarsSession.setup_device` comments):
    /// DRW data `01 0a 00 00 47 00 00 00` + the text.
    #[test]
    fn check_user_matches_the_captured_request() {
        let text = "GET /check_user.cgi?loginuse=admin&loginpas=admin&user=admin&pwd=admin&";
        let mut expected = vec![0x01, 0x0A, 0x00, 0x00, 0x47, 0x00, 0x00, 0x00];
        expected.extend_from_slice(text.as_bytes());
        let req = check_user("admin", "admin").unwrap();
        assert_eq!(req.expose_text(), text);
        assert_eq!(req.encode(), expected);
        let back = CgiRequest::decode(&expected).unwrap();
        assert_eq!(back, req);
        assert_eq!(CgiCommand::parse(&back).unwrap(), CgiCommand::CheckUser);
        let (user, pwd) = back.credentials();
        assert_eq!(user.as_deref(), Some("admin"));
        assert_eq!(pwd.unwrap().expose(), "admin");
    }

    /// The reply in the same comments: `01 0a a0 60 0c 00 00 01 "result= 0;\r\n"`.
    #[test]
    fn the_captured_login_reply_parses() {
        let mut bytes = vec![0x01, 0x0A, 0xA0, 0x60, 0x0C, 0x00, 0x00, 0x01];
        bytes.extend_from_slice(b"result= 0;\r\n");
        let r = CgiReply::decode(&bytes).unwrap();
        assert_eq!(r.result(), Some(0));
        assert_eq!(r.fields(), [("result".to_owned(), "0".to_owned())]);
        assert_eq!(CgiReply::with_result(0).encode(), bytes);
    }

    #[test]
    fn every_request_round_trips_through_the_wire() {
        let (u, p) = ("admin", "pa ss&=é");
        let cases = [
            (check_user(u, p).unwrap(), CgiCommand::CheckUser),
            (
                livestream(u, p, LiveStream::Start).unwrap(),
                CgiCommand::LiveStream { streamid: 10 },
            ),
            (
                livestream(u, p, LiveStream::Stop).unwrap(),
                CgiCommand::LiveStream { streamid: 16 },
            ),
            (
                set_wifi(u, p, "My Net;&", "correct horse", WifiAuth::Wpa2PskAes, 6).unwrap(),
                CgiCommand::SetWifi {
                    ssid: "My Net;&".into(),
                    psk: Password::new("correct horse"),
                    authtype: 4,
                    channel: Some(6),
                },
            ),
            (
                ir_cut(u, p, true).unwrap(),
                CgiCommand::CameraControl {
                    param: 14,
                    value: 1,
                },
            ),
            (
                ir_cut(u, p, false).unwrap(),
                CgiCommand::CameraControl {
                    param: 14,
                    value: 0,
                },
            ),
            (reboot(u, p).unwrap(), CgiCommand::Reboot),
            (
                CgiRequest::get("/get_status.cgi?").unwrap(),
                CgiCommand::Other {
                    path: "/get_status.cgi".into(),
                },
            ),
        ];
        for (req, cmd) in cases {
            let back = CgiRequest::decode(&req.encode()).unwrap();
            assert_eq!(back, req);
            assert_eq!(CgiCommand::parse(&back).unwrap(), cmd);
            if cmd
                != (CgiCommand::Other {
                    path: "/get_status.cgi".into(),
                })
            {
                let (user, pwd) = back.credentials();
                assert_eq!(user.as_deref(), Some(u));
                assert_eq!(pwd.unwrap().expose(), p);
            }
        }
        assert_eq!(
            livestream("admin", "admin", LiveStream::Start)
                .unwrap()
                .expose_text(),
            "GET /livestream.cgi?streamid=10&loginuse=admin&loginpas=admin&user=admin&pwd=admin&"
        );
        assert_eq!(
            set_wifi("a", "b", "home", "secret12", WifiAuth::WpaPskAes, 11)
                .unwrap()
                .path(),
            "/set_wifi.cgi"
        );
    }

    #[test]
    fn every_reply_round_trips_through_the_wire() {
        let replies = [
            CgiReply::with_result(0),
            CgiReply::with_result(-1),
            CgiReply::from_fields(&[("result", "0"), ("alias", "cam 1"), ("sys_ver", "1.2")])
                .unwrap(),
        ];
        for r in replies {
            assert_eq!(CgiReply::decode(&r.encode()).unwrap(), r);
        }
        let r = CgiReply::from_fields(&[("a", "1"), ("b", "x y")]).unwrap();
        assert_eq!(r.get("b").as_deref(), Some("x y"));
        assert!(CgiReply::from_fields(&[("a;", "1")]).is_err());
        assert!(CgiReply::from_fields(&[("a", "1\r\n")]).is_err());
    }

    #[test]
    fn vstarcam_style_statements_parse() {
        let r = CgiReply {
            text: "var result=\"ok\";\r\nvar alias='cam';\nvar x= 5 ;junk\n".into(),
        };
        assert_eq!(r.get("result").as_deref(), Some("ok"));
        assert_eq!(r.get("alias").as_deref(), Some("cam"));
        assert_eq!(r.get("x").as_deref(), Some("5"));
        assert_eq!(r.result(), None);
        let mut nul_padded = CgiReply::with_result(-3).encode();
        nul_padded[4] += 2;
        nul_padded.extend([0, 0]);
        assert_eq!(CgiReply::decode(&nul_padded).unwrap().result(), Some(-3));
    }

    #[test]
    fn truncated_and_garbage_inputs_are_errors() {
        let good = check_user("admin", "admin").unwrap().encode();
        for n in 0..good.len() {
            assert!(CgiRequest::decode(&good[..n]).is_err(), "prefix {n}");
            assert!(CgiReply::decode(&good[..n]).is_err(), "prefix {n}");
        }
        let mut long = good.clone();
        long.push(b'x');
        assert_eq!(CgiRequest::decode(&long), Err(WireError::TrailingData(1)));
        let mut bad = good.clone();
        bad[1] = 0x0B;
        assert!(matches!(
            CgiRequest::decode(&bad),
            Err(WireError::BadMagic { .. })
        ));
        let post = encode_frame(REQUEST_KIND, REQUEST_TAIL, b"POST /x.cgi").unwrap();
        assert!(CgiRequest::decode(&post).is_err());
        let space = encode_frame(REQUEST_KIND, REQUEST_TAIL, b"GET /a b.cgi").unwrap();
        assert!(CgiRequest::decode(&space).is_err());
        assert!(CgiRequest::get("check_user.cgi").is_err());
        assert!(CgiRequest::get("/x\r\n").is_err());
        assert!(CgiRequest::get(&format!("/{}", "a".repeat(MAX_TEXT))).is_err());
        assert!(check_user("admin", "a\0b").is_err());
        assert!(set_wifi("a", "b", &"s".repeat(41), "p", WifiAuth::None, 1).is_err());
        assert!(set_wifi("a", "b", "s", "p", WifiAuth::Wep, 1).is_err());
        let no_id = CgiRequest::get("/livestream.cgi?streamid=x&").unwrap();
        assert!(CgiCommand::parse(&no_id).is_err());
        let missing = CgiRequest::get("/camera_control.cgi?param=14").unwrap();
        assert!(CgiCommand::parse(&missing).is_err());
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("a%20b%C3%A9"), "a bé");
    }

    #[test]
    fn no_password_shows_in_debug_or_errors() {
        let secret = "hunter2-secret";
        let reqs = [
            check_user("admin", secret).unwrap(),
            set_wifi("admin", secret, "home", secret, WifiAuth::Wpa2PskAes, 1).unwrap(),
            reboot("admin", secret).unwrap(),
        ];
        let mut texts: Vec<String> = Vec::new();
        for r in &reqs {
            texts.push(format!("{r:?}"));
            texts.push(format!("{:?}", CgiCommand::parse(r).unwrap()));
            texts.push(format!("{:?}", r.credentials()));
        }
        let reply =
            CgiReply::from_fields(&[("wifi_wpa_psk", secret), ("loginpas", secret)]).unwrap();
        texts.push(format!("{reply:?}"));
        let with_secret = format!("/x.cgi?pwd={secret} &");
        texts.push(CgiRequest::get(&with_secret).unwrap_err().to_string());
        let frame = encode_frame(
            REQUEST_KIND,
            REQUEST_TAIL,
            format!("GET {with_secret}").as_bytes(),
        )
        .unwrap();
        texts.push(CgiRequest::decode(&frame).unwrap_err().to_string());
        texts.push(
            check_user("admin", &format!("{secret}\0"))
                .unwrap_err()
                .to_string(),
        );
        for t in texts {
            assert!(!t.contains(secret), "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            if let Ok(r) = CgiRequest::decode(&bytes) {
                let _ = CgiCommand::parse(&r);
                let _ = r.credentials();
            }
            if let Ok(r) = CgiReply::decode(&bytes) {
                let _ = r.fields();
                let _ = r.result();
            }
        }

        #[test]
        fn framed_text_never_panics(text in "[ -~\r\n%é]{0,80}", kind in proptest::array::uniform2(proptest::num::u8::ANY)) {
            let frame = encode_frame(kind, [0, 1], text.as_bytes()).unwrap();
            let _ = CgiReply::decode(&frame).map(|r| (r.fields(), r.result()));
            let req = encode_frame(kind, [0, 0], format!("GET {text}").as_bytes()).unwrap();
            if let Ok(r) = CgiRequest::decode(&req) {
                let _ = CgiCommand::parse(&r);
                proptest::prop_assert_eq!(CgiRequest::decode(&r.encode()).unwrap(), r);
            }
        }

        #[test]
        fn any_credentials_round_trip(user in "\\PC{0,20}", pwd in "\\PC{0,20}") {
            let req = check_user(&user, &pwd).unwrap();
            let back = CgiRequest::decode(&req.encode()).unwrap();
            let (u, p) = back.credentials();
            proptest::prop_assert_eq!(u.unwrap_or_default(), user);
            let p = p.unwrap_or_default();
            proptest::prop_assert_eq!(p.expose(), pwd.as_str());
        }
    }
}
