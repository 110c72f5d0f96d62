//! K-commands: the payloads of the HL blocks (`wyze.md` §1.4, §1.7, §2.1;
//! `tutk-iotc-wyze-protocol.md` §7–8). A camera answers command `K` with
//! `K + 1` (K10000 → K10001, K10056 → K10057, …).
//!
//! Pure codecs; the session sequences them. Values the camera sends are
//! parsed leniently (JSON fields may be strings or numbers) and never panic.

use serde_json::Value;

use crate::proto::codec::WireError;

/// K-command ids.
pub mod id {
    /// Start authentication (JSON with the audio codecs we take).
    pub const AUTH: u16 = 10000;
    /// The camera's challenge.
    pub const CHALLENGE: u16 = 10001;
    /// Our answer.
    pub const CHALLENGE_RESPONSE: u16 = 10002;
    /// The camera's verdict and description (JSON).
    pub const AUTH_RESULT: u16 = 10003;
    /// Start/stop a media channel.
    pub const CHANNEL: u16 = 10010;
    /// Read the camera's parameters (status light, night vision, resolution, …).
    pub const PARAMS: u16 = 10020;
    /// Status light: read.
    pub const STATUS_LIGHT_GET: u16 = 10030;
    /// Status light: set (1 on, 2 off).
    pub const STATUS_LIGHT_SET: u16 = 10032;
    /// Night vision: read.
    pub const NIGHT_VISION_GET: u16 = 10040;
    /// Night vision: set (1 on, 2 off, 3 auto).
    pub const NIGHT_VISION_SET: u16 = 10042;
    /// IR LED: read.
    pub const IR_LED_GET: u16 = 10044;
    /// IR LED: set (1 on, 2 off).
    pub const IR_LED_SET: u16 = 10046;
    /// Resolution on doorbells and old models.
    pub const RESOLUTION_OLD: u16 = 10052;
    /// Resolution (frame size, bitrate, fps).
    pub const RESOLUTION: u16 = 10056;
}

/// The id of the answer to `command`.
pub fn reply_to(command: u16) -> u16 {
    command.wrapping_add(1)
}

/// Audio codecs we ask for in K10000 (PCMU, PCMA, PCM: what we can decode
/// without a licence question; go2rtc sends the same list).
pub const AUDIO_CODECS: [u16; 3] = [137, 138, 140];

/// K10000's payload. Battery cameras behind a base station (`WVOD1`,
/// `HL_WCO2`) need a wake flag (`wyze.md` §1.4).
pub fn auth_request(mac: &str, wake: bool) -> Vec<u8> {
    let v = if wake {
        serde_json::json!({"cameraInfo": {"mac": mac, "encFlag": 0, "wakeupFlag": 1,
                           "audioEncoderList": AUDIO_CODECS}})
    } else {
        serde_json::json!({"cameraInfo": {"audioEncoderList": AUDIO_CODECS}})
    };
    v.to_string().into_bytes()
}

/// K10001: `[status][16-byte challenge]`.
pub fn parse_challenge(p: &[u8]) -> Result<(u8, [u8; 16]), WireError> {
    let status = *p.first().ok_or(WireError::Truncated { need: 17, got: 0 })?;
    let c = p.get(1..17).ok_or(WireError::Truncated {
        need: 17,
        got: p.len(),
    })?;
    let mut challenge = [0; 16];
    challenge.copy_from_slice(c);
    Ok((status, challenge))
}

/// K10001 as a camera builds it.
pub fn challenge(status: u8, challenge: [u8; 16]) -> Vec<u8> {
    let mut p = vec![status];
    p.extend_from_slice(&challenge);
    p
}

/// K10002: the response, 4 bytes the camera does not check (go2rtc sends
/// random ones), and whether to start video and audio.
pub fn challenge_response(
    response: [u8; 16],
    filler: [u8; 4],
    video: bool,
    audio: bool,
) -> Vec<u8> {
    let mut p = response.to_vec();
    p.extend_from_slice(&filler);
    p.push(u8::from(video));
    p.push(u8::from(audio));
    p
}

/// K10002 as a camera reads it: the response and the two flags.
pub fn parse_challenge_response(p: &[u8]) -> Result<([u8; 16], bool, bool), WireError> {
    let r = p.get(..22).ok_or(WireError::Truncated {
        need: 22,
        got: p.len(),
    })?;
    let mut response = [0; 16];
    response.copy_from_slice(&r[..16]);
    Ok((response, r[20] != 0, r[21] != 0))
}

/// What K10003 tells us.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthResult {
    /// `connectionRes` "1": accepted; "2": ENR rejected.
    pub accepted: bool,
    /// The raw `connectionRes` (for the error text).
    pub code: String,
    /// `basicInfo.model`.
    pub model: Option<String>,
    /// `basicInfo.firmware`.
    pub firmware: Option<String>,
    /// `basicInfo.mac`.
    pub mac: Option<String>,
    /// `videoParm.resolution` (the camera's frame-size code, as text).
    pub resolution: Option<String>,
    /// `videoParm.fps`.
    pub fps: Option<u32>,
    /// `videoParm.bitRate`.
    pub bitrate: Option<u32>,
    /// `basicInfo.wifidb` (signal strength, percent on Wyze).
    pub wifi_db: Option<i32>,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses K10003 (JSON). Unknown or missing fields are `None`.
pub fn parse_auth_result(p: &[u8]) -> Result<AuthResult, WireError> {
    // Some firmware pads the JSON with NULs.
    let end = p.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let v: Value = serde_json::from_slice(&p[..end]).map_err(|e| WireError::Invalid {
        field: "K10003",
        reason: format!("not JSON: {e}"),
    })?;
    let code = text(&v["connectionRes"]).unwrap_or_default();
    let info = &v["cameraInfo"];
    let basic = &info["basicInfo"];
    let video = &info["videoParm"];
    Ok(AuthResult {
        accepted: code == "1",
        code,
        model: text(&basic["model"]),
        firmware: text(&basic["firmware"]),
        mac: text(&basic["mac"]),
        resolution: text(&video["resolution"]),
        fps: number(&video["fps"]).and_then(|n| u32::try_from(n).ok()),
        bitrate: number(&video["bitRate"]).and_then(|n| u32::try_from(n).ok()),
        wifi_db: number(&basic["wifidb"]).and_then(|n| i32::try_from(n).ok()),
    })
}

/// Media types of K10010.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The main video stream.
    Video = 1,
    /// Audio from the camera.
    Audio = 2,
    /// Intercom audio to the camera.
    ReturnAudio = 3,
}

/// K10010 `[media][1 on | 2 off]`.
pub fn channel(media: Channel, on: bool) -> Vec<u8> {
    vec![media as u8, if on { 1 } else { 2 }]
}

/// A Wyze frame size (the code in K10056 is this + 1; FRAMEINFO byte 6 is this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSize {
    /// 1920x1080.
    Hd1080 = 0,
    /// 640x360.
    Sd360 = 1,
    /// 1280x720.
    Hd720 = 2,
    /// 2560x1440.
    Qhd2k = 3,
}

impl FrameSize {
    /// Every size, in the order users see them.
    pub const ALL: [FrameSize; 4] = [Self::Sd360, Self::Hd720, Self::Hd1080, Self::Qhd2k];

    /// Width and height.
    pub fn dimensions(self) -> (u32, u32) {
        match self {
            Self::Hd1080 => (1920, 1080),
            Self::Sd360 => (640, 360),
            Self::Hd720 => (1280, 720),
            Self::Qhd2k => (2560, 1440),
        }
    }

    /// The frame-size code (FRAMEINFO byte 6).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// From a frame-size code.
    pub fn from_code(c: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == c)
    }

    /// From `WIDTHxHEIGHT`.
    pub fn from_dimensions(w: u32, h: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.dimensions() == (w, h))
    }

    /// The bitrate go2rtc asks for with this size (240 for HD sizes, 60 for SD).
    pub fn bitrate(self) -> u16 {
        if self == Self::Sd360 {
            0x3C
        } else {
            0xF0
        }
    }
}

/// K10056 `[size + 1][u16 bitrate][u16 fps (0 = camera's choice)]`.
pub fn resolution(size: FrameSize, fps: u16) -> Vec<u8> {
    let mut p = vec![size.code() + 1];
    p.extend_from_slice(&size.bitrate().to_le_bytes());
    p.extend_from_slice(&fps.to_le_bytes());
    p
}

/// K10052 (doorbells and old models) `[u16 bitrate][size + 1][fps][0][0]`.
pub fn resolution_old(size: FrameSize, fps: u8) -> Vec<u8> {
    let mut p = size.bitrate().to_le_bytes().to_vec();
    p.extend_from_slice(&[size.code() + 1, fps, 0, 0]);
    p
}

/// Reads K10056 or K10052 as a camera does: the frame size asked for.
pub fn parse_resolution(command: u16, p: &[u8]) -> Result<FrameSize, WireError> {
    let code = match command {
        id::RESOLUTION => p.first(),
        _ => p.get(2),
    };
    let code = *code.ok_or(WireError::Truncated {
        need: 3,
        got: p.len(),
    })?;
    code.checked_sub(1)
        .and_then(FrameSize::from_code)
        .ok_or(WireError::Invalid {
            field: "frame size",
            reason: format!("code {code}"),
        })
}

/// True if an answer payload (K10057, K10043, …) says "ok": first byte 1.
/// An empty answer counts as ok (some firmware sends none).
pub fn reply_ok(p: &[u8]) -> bool {
    p.first().is_none_or(|&b| b == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_request_lists_our_audio_codecs_and_wakes_battery_cameras() {
        let v: Value = serde_json::from_slice(&auth_request("AABB", false)).unwrap();
        assert_eq!(
            v["cameraInfo"]["audioEncoderList"],
            serde_json::json!([137, 138, 140])
        );
        let v: Value = serde_json::from_slice(&auth_request("AABB", true)).unwrap();
        assert_eq!(v["cameraInfo"]["wakeupFlag"], 1);
        assert_eq!(v["cameraInfo"]["mac"], "AABB");
    }

    #[test]
    fn challenge_and_response_layouts() {
        let c = challenge(3, [7; 16]);
        assert_eq!(parse_challenge(&c).unwrap(), (3, [7; 16]));
        assert!(parse_challenge(&c[..10]).is_err());
        assert!(parse_challenge(&[]).is_err());
        let r = challenge_response([1; 16], [9, 9, 9, 9], true, false);
        assert_eq!(r.len(), 22);
        assert_eq!(&r[20..], &[1, 0]);
        assert_eq!(
            parse_challenge_response(&r).unwrap(),
            ([1; 16], true, false)
        );
    }

    /// The K10003 example of `tutk-iotc-wyze-protocol.md` §7, with numbers as
    /// numbers and as strings (firmware differs), and NUL padding.
    #[test]
    fn auth_result_parses_the_documented_example() {
        let ok = br#"{"connectionRes":"1","cameraInfo":{"basicInfo":{"firmware":"4.52.9.4188","mac":"AABBCCDDEEFF","model":"HL_CAM4","wifidb":"71"},"videoParm":{"resolution":"1","fps":20,"bitRate":"240"},"channelResquestResult":{"audio":"1","video":"1"}}}"#;
        let mut padded = ok.to_vec();
        padded.extend_from_slice(&[0, 0, 0]);
        let r = parse_auth_result(&padded).unwrap();
        assert!(r.accepted);
        assert_eq!(r.model.as_deref(), Some("HL_CAM4"));
        assert_eq!(r.firmware.as_deref(), Some("4.52.9.4188"));
        assert_eq!(
            (r.fps, r.bitrate, r.wifi_db),
            (Some(20), Some(240), Some(71))
        );
        let no = parse_auth_result(br#"{"connectionRes":"2"}"#).unwrap();
        assert!(!no.accepted);
        assert_eq!(no.code, "2");
        assert!(parse_auth_result(b"\xff garbage").is_err());
    }

    /// `wyze.md` §1.7: K10056 = `[frameSize+1][u16 bitrate][u16 fps]`,
    /// K10052 = `[u16 bitrate][frameSize+1][fps][0][0]`; HD at 240, SD at 60.
    #[test]
    fn resolution_payloads() {
        assert_eq!(resolution(FrameSize::Hd1080, 0), vec![1, 0xF0, 0, 0, 0]);
        assert_eq!(resolution(FrameSize::Sd360, 0), vec![2, 0x3C, 0, 0, 0]);
        assert_eq!(
            resolution_old(FrameSize::Hd720, 15),
            vec![0xF0, 0, 3, 15, 0, 0]
        );
        for s in FrameSize::ALL {
            assert_eq!(
                parse_resolution(id::RESOLUTION, &resolution(s, 0)).unwrap(),
                s
            );
            assert_eq!(
                parse_resolution(id::RESOLUTION_OLD, &resolution_old(s, 0)).unwrap(),
                s
            );
            let (w, h) = s.dimensions();
            assert_eq!(FrameSize::from_dimensions(w, h), Some(s));
        }
        assert!(parse_resolution(id::RESOLUTION, &[0]).is_err());
        assert!(parse_resolution(id::RESOLUTION, &[]).is_err());
    }

    #[test]
    fn replies_and_channels() {
        assert_eq!(reply_to(id::AUTH), id::CHALLENGE);
        assert_eq!(reply_to(id::CHALLENGE_RESPONSE), id::AUTH_RESULT);
        assert_eq!(channel(Channel::ReturnAudio, true), vec![3, 1]);
        assert_eq!(channel(Channel::Video, false), vec![1, 2]);
        assert!(reply_ok(&[1]) && reply_ok(&[]) && !reply_ok(&[0]));
    }

    proptest::proptest! {
        #[test]
        fn hostile_payloads_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..64), cmd in proptest::num::u16::ANY) {
            let _ = parse_challenge(&data);
            let _ = parse_challenge_response(&data);
            let _ = parse_auth_result(&data);
            let _ = parse_resolution(cmd, &data);
        }
    }
}
