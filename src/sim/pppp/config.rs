//! The simulated camera's settings: [`PpppCameraConfig`] with its defaults
//! per dialect, and the misbehaviours of real cameras it can copy
//! ([`PpppQuirks`]).

use super::*;

/// What a bad binary login gets. The references know no failure code
/// (`dialect::binary::LoginAck`): cam-reverse treats every USER_CHK ack as
/// success, aiopppp's emulator sends a payload for "incorrect user".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BinaryLoginFailure {
    /// An ack whose payload has status `0xFFFFFFFF` and a zero ticket, so a
    /// client can tell by either (the default).
    #[default]
    ErrorStatus,
    /// No ack at all (the client's login times out).
    NoAck,
}

/// A network the binary Wi-Fi scan lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanNetwork {
    /// Its name.
    pub ssid: String,
    /// Its channel.
    pub channel: u32,
    /// Its signal in dBm.
    pub dbm: i8,
}

/// Misbehaviours of real cameras, all off by default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PpppQuirks {
    /// Ignore the first `n` handshakes (punch echoes or `P2P_RDY`) received.
    pub drop_first_punches: u32,
    /// Send every DRW_ACK twice.
    pub duplicate_acks: bool,
    /// Probability (0–1) that a DRW is sent twice.
    pub duplicate_rate: f64,
    /// Probability (0–1), per DRW sent, of also resending an already-acked
    /// packet (same index, same data).
    pub late_resend: f64,
    /// Zero bytes appended to every datagram (inside the obfuscation), e.g. 8
    /// as aiopppp issue #3 shows.
    pub trailing_padding: usize,
    /// The camera closes each session this long after it began (3× `CLOSE`).
    pub close_after: Option<Duration>,
    /// Video frames without the 32-byte header (bare JPEG).
    pub headerless_video: bool,
    /// The 32-byte header in a DRW packet of its own.
    pub header_in_own_packet: bool,
    /// Handshake and login work, video start is acked, but no video is sent.
    pub no_video: bool,
    /// Every login is rejected (JSON -3, binary per [`BinaryLoginFailure`], CGI -1).
    pub reject_auth: bool,
    /// What a bad binary login gets.
    pub binary_login_failure: BinaryLoginFailure,
    /// A successful binary login gets ticket 0 (aiopppp: BATE keeps 0).
    pub zero_ticket: bool,
}

/// How a simulated PPPP camera behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct PpppCameraConfig {
    /// Its UID.
    pub uid: Uid,
    /// Obfuscation of every datagram.
    pub obfuscation: Obfuscation,
    /// The channel-0 dialect.
    pub dialect: Dialect,
    /// Login user.
    pub username: String,
    /// Login password.
    pub password: Password,
    /// Stamped into every frame ([`crate::sim::pattern::read_stamp`]).
    pub label: String,
    /// The 640x480 mode's picture.
    pub vga: PatternSpec,
    /// The 320x240 mode's picture.
    pub qvga: PatternSpec,
    /// The resolution before any client asks.
    pub resolution: Resolution,
    /// Distinct pictures per resolution ([`FrameCache`]).
    pub distinct_frames: usize,
    /// Frames per second (0 is treated as 1).
    pub fps: u32,
    /// Whether the camera has a microphone.
    pub audio: bool,
    /// Whether it has a speaker: it takes talk audio (JSON `talk_send`,
    /// binary `0x3002`) on DRW channel 3.
    pub speaker: bool,
    /// Index of the first DRW on each channel (tests of the u16 wrap use
    /// e.g. 0xFFF0).
    pub first_index: u16,
    /// Unacked packets kept per media channel (16 to 32 767).
    pub send_buffer: usize,
    /// Whether Wi-Fi setup makes the camera reboot (as real ones do).
    pub leave_after_wifi: bool,
    /// How long a reboot keeps the camera off the air.
    pub reboot_delay: Duration,
    /// How long the camera takes to carry out a command: the DRW ack of the
    /// command goes out at once, its answer this much later (real cameras
    /// ack before they answer; some clients depend on that order).
    pub answer_delay: Duration,
    /// Networks the binary Wi-Fi scan reports.
    pub scan: Vec<ScanNetwork>,
    /// `sysver` of the JSON get_parms reply.
    pub sysver: String,
    /// Camera clock at construction, seconds since the epoch (frame headers,
    /// get_parms `time`).
    pub epoch: u64,
    /// Seed of every random choice (ALIVE jitter, tickets, quirks).
    pub seed: u64,
    /// Misbehaviours.
    pub quirks: PpppQuirks,
}

fn sim_uid(prefix: &str) -> Uid {
    Uid::new(prefix, 424_242, "SIMCA").expect("a valid constant UID")
}

impl PpppCameraConfig {
    /// The defaults for `dialect`: JSON → PSK `camera`, UID `DGOA-424242-SIMCA`,
    /// admin/6666; binary → plaintext, `BATC-424242-SIMCA`, admin/admin; CGI →
    /// PSK `@@@@....`, `ACCQ-424242-SIMCA`, admin/admin. 640x480 at 10 fps,
    /// audio on, reboots after Wi-Fi setup for 3 s.
    pub fn new(dialect: Dialect) -> Self {
        let (user, pwd) = dialect.default_credentials();
        let (psk, prefix) = match dialect {
            Dialect::Json => (Some("camera"), "DGOA"),
            Dialect::Binary => (None, "BATC"),
            Dialect::Cgi => (Some(LITTLE_STARS_PSK), "ACCQ"),
        };
        Self {
            uid: sim_uid(prefix),
            obfuscation: psk.map_or(Obfuscation::None, |p| Obfuscation::Xor(Key::from_psk(p))),
            dialect,
            username: user.to_owned(),
            password: Password::new(pwd),
            label: format!("pppp-{dialect}"),
            vga: PatternSpec::default(),
            qvga: PatternSpec {
                width: 320,
                height: 240,
                ..PatternSpec::default()
            },
            resolution: Resolution::Vga,
            distinct_frames: DEFAULT_DISTINCT,
            fps: 10,
            audio: true,
            speaker: true,
            first_index: 0,
            send_buffer: DEFAULT_SEND_BUFFER,
            leave_after_wifi: true,
            reboot_delay: Duration::from_secs(3),
            answer_delay: Duration::from_millis(20),
            scan: vec![
                ScanNetwork {
                    ssid: "cam2mqtt-lab".into(),
                    channel: 6,
                    dbm: -52,
                },
                ScanNetwork {
                    ssid: "neighbours".into(),
                    channel: 11,
                    dbm: -80,
                },
            ],
            sysver: "HQLS_HK66_DP_20230802.sim".into(),
            epoch: 1_700_000_000,
            seed: 0,
            quirks: PpppQuirks::default(),
        }
    }
}

impl Default for PpppCameraConfig {
    /// [`PpppCameraConfig::new`] for the JSON dialect.
    fn default() -> Self {
        Self::new(Dialect::Json)
    }
}
