//! The simulated Wyze camera's settings: [`TutkCameraConfig`], the transport
//! it speaks ([`Transport`]) and the misbehaviours of real cameras it can copy
//! ([`TutkQuirks`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::model::VideoCodec;
use crate::proto::tutk::auth::ChallengeStatus;
use crate::proto::tutk::kcmd::FrameSize;
use crate::secret::Secret;

/// Which IOTC transport the camera answers (`wyze.md` §1.2). The client
/// tries both at once, so the camera silently ignores the other one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// TransCode ("Charlie") obfuscated IOTC: V2/V3 and V4 firmware up to
    /// 4.52.9.4188.
    #[default]
    TransCode,
    /// The CC51 transport with HMAC-SHA1 tags: V4 firmware ≥ 4.52.9.5332,
    /// which answers nothing else (the SDK bridges time out on it).
    Cc51,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TransCode => "transcode",
            Self::Cc51 => "cc51",
        })
    }
}

impl FromStr for Transport {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "transcode" => Ok(Self::TransCode),
            "cc51" => Ok(Self::Cc51),
            other => Err(format!("unknown transport {other:?} (transcode or cc51)")),
        }
    }
}

/// Misbehaviours of real cameras, all off by default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TutkQuirks {
    /// Ignore the first `n` Disco requests (either transport), as a camera
    /// that is still waking its Wi-Fi does.
    pub drop_first_discos: u32,
    /// Probability (0–1) that a media packet is sent twice (the AV layer
    /// sees a duplicate piece; each copy is its own DTLS record).
    pub duplicate_media: f64,
    /// Probability (0–1) that the pieces of a multi-piece frame are sent in
    /// a shuffled order.
    pub reorder_within_frame: f64,
    /// The camera's ENR differs from the one the client has: the AuthKey
    /// still matches (it is in the cloud's device list) but the DTLS PSK
    /// does not, so the handshake fails. That is how a wrong ENR shows.
    pub wrong_enr: bool,
}

/// How a simulated Wyze camera behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct TutkCameraConfig {
    /// The 20-character TUTK UID (`p2p_id`).
    pub uid: String,
    /// The ENR: AuthKey input, DTLS PSK, AV password, K-auth key.
    pub enr: Secret,
    /// The MAC (AuthKey input; reported in K10003).
    pub mac: String,
    /// Which transport the camera answers.
    pub transport: Transport,
    /// The K10001 status byte: 1, 3 or 6 take a login; 2 (updating), 4
    /// (checking ENR) and 5 (off) let the client report that it cannot.
    pub auth_status: ChallengeStatus,
    /// K10003 `basicInfo.model`.
    pub model: String,
    /// K10003 `basicInfo.firmware`.
    pub firmware: String,
    /// K10003 `basicInfo.wifidb`.
    pub wifi_db: i32,
    /// Video codec streamed.
    pub codec: VideoCodec,
    /// Frame size before any K10056.
    pub resolution: FrameSize,
    /// Frames per second (0 is treated as 1).
    pub fps: u32,
    /// Bitrate reported in K10003 and FRAMEINFO.
    pub bitrate: u8,
    /// Whether the camera has a microphone (PCMU 8 kHz when audio is on).
    pub audio: bool,
    /// Byte 31 of the AV login answer: the camera takes intercom audio.
    pub two_way_audio: bool,
    /// Largest media piece (bytes of a frame per packet).
    pub max_piece: usize,
    /// A session with no datagram from the client for this long is forgotten.
    pub silence_limit: Duration,
    /// Camera clock at construction, seconds since the epoch (FRAMEINFO,
    /// Session answer).
    pub epoch: u64,
    /// Seed of every random choice (challenge, tickets, DTLS, quirks).
    pub seed: u64,
    /// Misbehaviours.
    pub quirks: TutkQuirks,
}

impl Default for TutkCameraConfig {
    /// A V3-like camera (`WYZE_CAKP2JFUS`) with made-up credentials,
    /// TransCode, status 3, H.264 640x360 at 10 fps with audio.
    fn default() -> Self {
        Self {
            uid: DEFAULT_UID.into(),
            enr: Secret::new(DEFAULT_ENR),
            mac: DEFAULT_MAC.into(),
            transport: Transport::TransCode,
            auth_status: ChallengeStatus::Enr16,
            model: "WYZE_CAKP2JFUS".into(),
            firmware: "4.36.11.sim".into(),
            wifi_db: 71,
            codec: VideoCodec::H264,
            resolution: FrameSize::Sd360,
            fps: 10,
            bitrate: 0x3C,
            audio: true,
            two_way_audio: true,
            max_piece: DEFAULT_MAX_PIECE,
            silence_limit: Duration::from_secs(8),
            epoch: 1_700_000_000,
            seed: 0,
            quirks: TutkQuirks::default(),
        }
    }
}

/// A made-up 20-character UID.
pub const DEFAULT_UID: &str = "SIMWYZE0000000000001";
/// A made-up 32-character ENR (status 6 needs 32 bytes).
pub const DEFAULT_ENR: &str = "SimEnr0123456789abcdefghijklmnop";
/// A made-up MAC.
pub const DEFAULT_MAC: &str = "2CAA8E000001";
/// Default largest media piece (real cameras cut about 1 KB).
pub const DEFAULT_MAX_PIECE: usize = 1000;

impl TutkCameraConfig {
    /// The ENR the camera actually uses for DTLS: its own, or a different
    /// one with [`TutkQuirks::wrong_enr`].
    pub(super) fn dtls_enr(&self) -> Vec<u8> {
        let mut e = self.enr.expose().as_bytes().to_vec();
        if self.quirks.wrong_enr {
            e.extend_from_slice(b"-not-the-same");
        }
        e
    }
}
