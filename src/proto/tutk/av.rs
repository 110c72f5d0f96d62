//! The AV layer inside DTLS channel 0 (`wyze.md` §1.4, which corrects
//! `tutk-iotc-wyze-protocol.md` §6–7): the two AV logins and the camera's
//! answer, the ACK the client sends every 100 ms, and the IOCTRL frame that
//! carries K-commands in an "HL" block.
//!
//! Pure codecs. All fields little-endian. What the camera sends back is
//! parsed leniently where the sources are vague (the HL block is found by
//! scanning, as real clients do) and strictly where a length is given.

use crate::proto::codec::{Reader, WireError};
use crate::secret::Secret;

/// Length of AV login #1.
pub const LOGIN1_LEN: usize = 570;
/// Length of AV login #2.
pub const LOGIN2_LEN: usize = 572;
/// Capabilities we announce (`tutk-iotc-wyze-protocol.md` §6).
pub const CAPABILITIES: u32 = 0x001F_07FB;
/// Magic of the camera's login answer.
pub const MAGIC_LOGIN_REPLY: u16 = 0x2100;
/// Magic of an ACK.
pub const MAGIC_ACK: u16 = 0x0009;
/// Magic of an IOCTRL frame (and of most camera control messages).
pub const MAGIC_IOCTRL: u16 = 0x000C;
/// Magic of a channel message (its HL block starts later).
pub const MAGIC_CHANNEL: u16 = 0x1000;
/// Length of the IOCTRL header before the HL block.
pub const IOCTRL_HEADER: usize = 40;
/// Length of an HL header.
pub const HL_HEADER: usize = 16;
/// HL protocol version we send (the camera answers with its own).
pub const HL_VERSION: u16 = 5;
/// Longest K-command payload we accept or send (an HL length is a u16, but
/// nothing real comes close; bounds what a hostile camera can make us keep).
pub const MAX_HL_PAYLOAD: usize = 16 * 1024;
/// Longest user name / password field in a login.
const CRED_LEN: usize = 256;

/// What an AV login carries.
#[derive(Clone)]
pub struct Login {
    /// User name (`admin`).
    pub user: String,
    /// Password: the camera's ENR (the parent's for cameras behind a base station).
    pub password: Secret,
    /// 4 random bytes the camera echoes.
    pub nonce: [u8; 4],
    /// 0: media in the direct format; 1: the wrapped, resendable format.
    pub resend: u32,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &self.password)
            .field("resend", &self.resend)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// The two login packets: #1 (570 bytes, magic `0x0000`, flags 1) and
    /// #2 (572 bytes, magic `0x2000`, flags 0, first nonce byte + 1), sent
    /// about 10 ms apart.
    pub fn encode(&self) -> [Vec<u8>; 2] {
        let one = |magic: u16, len: usize, flags: u16, nonce: [u8; 4]| {
            let mut p = vec![0u8; len];
            p[0..2].copy_from_slice(&magic.to_le_bytes());
            p[2..4].copy_from_slice(&0x000Cu16.to_le_bytes());
            let size = u16::try_from(len - 24).expect("login lengths are constants");
            p[16..18].copy_from_slice(&size.to_le_bytes());
            p[18..20].copy_from_slice(&flags.to_le_bytes());
            p[20..24].copy_from_slice(&nonce);
            copy_cred(&mut p[24..24 + CRED_LEN], self.user.as_bytes());
            copy_cred(
                &mut p[280..280 + CRED_LEN],
                self.password.expose().as_bytes(),
            );
            p[536..540].copy_from_slice(&self.resend.to_le_bytes());
            // wyze.md §1.4: u32 4 at 540 (the older notes say 2, "security auto").
            p[540..544].copy_from_slice(&4u32.to_le_bytes());
            p[552..556].copy_from_slice(&CAPABILITIES.to_le_bytes());
            p
        };
        let mut n2 = self.nonce;
        n2[0] = n2[0].wrapping_add(1);
        [
            one(0x0000, LOGIN1_LEN, 1, self.nonce),
            one(0x2000, LOGIN2_LEN, 0, n2),
        ]
    }

    /// Reads a login as a camera does: user, password and nonce.
    pub fn decode(p: &[u8]) -> Result<Self, WireError> {
        if p.len() < LOGIN1_LEN {
            return Err(WireError::Truncated {
                need: LOGIN1_LEN,
                got: p.len(),
            });
        }
        let magic = u16::from_le_bytes([p[0], p[1]]);
        if magic != 0x0000 && magic != 0x2000 {
            return Err(WireError::BadMagic {
                expected: "0000 or 2000",
                got: format!("{magic:04x}"),
            });
        }
        let cred = |b: &[u8]| {
            String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(b)).into_owned()
        };
        Ok(Self {
            user: cred(&p[24..24 + CRED_LEN]),
            password: Secret::new(cred(&p[280..280 + CRED_LEN])),
            nonce: [p[20], p[21], p[22], p[23]],
            resend: u32::from_le_bytes([p[536], p[537], p[538], p[539]]),
        })
    }

    /// True if `p` looks like login #2 (magic `0x2000`).
    pub fn is_second(p: &[u8]) -> bool {
        p.starts_with(&[0x00, 0x20])
    }
}

fn copy_cred(dst: &mut [u8], src: &[u8]) {
    // Leave at least one NUL: the camera reads a C string.
    let n = src.len().min(dst.len() - 1);
    dst[..n].copy_from_slice(&src[..n]);
}

/// The camera's answer to the login (magic `0x2100`, at least 32 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginReply {
    /// Byte 4: `0x10` is success.
    pub result: u8,
    /// Bytes 20..24: the nonce of our login, echoed.
    pub nonce: [u8; 4],
    /// Byte 31: the camera takes intercom audio (recorded for the intercom issue).
    pub two_way_audio: bool,
}

/// `result` value of a successful login.
pub const LOGIN_OK: u8 = 0x10;

impl LoginReply {
    /// Encodes a 60-byte answer as a camera sends it.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = vec![0u8; 60];
        p[0..2].copy_from_slice(&MAGIC_LOGIN_REPLY.to_le_bytes());
        p[2..4].copy_from_slice(&0x000Cu16.to_le_bytes());
        p[4] = self.result;
        p[16..20].copy_from_slice(&36u32.to_le_bytes());
        p[20..24].copy_from_slice(&self.nonce);
        p[29] = 1;
        p[31] = u8::from(self.two_way_audio);
        p[36..40].copy_from_slice(&4u32.to_le_bytes());
        p[40..44].copy_from_slice(&CAPABILITIES.to_le_bytes());
        p
    }

    /// Decodes an answer (trailing bytes tolerated).
    pub fn decode(p: &[u8]) -> Result<Self, WireError> {
        if p.len() < 32 {
            return Err(WireError::Truncated {
                need: 32,
                got: p.len(),
            });
        }
        if magic(p) != Some(MAGIC_LOGIN_REPLY) {
            return Err(WireError::BadMagic {
                expected: "2100",
                got: format!("{:04x}", magic(p).unwrap_or(0)),
            });
        }
        Ok(Self {
            result: p[4],
            nonce: [p[20], p[21], p[22], p[23]],
            two_way_audio: p[31] != 0,
        })
    }
}

/// The u16 magic at the start of an AV message, if there are two bytes.
pub fn magic(p: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([*p.first()?, *p.get(1)?]))
}

/// The ACK (`0x0009`, 24 bytes) the client sends after login and then every
/// 100 ms for the whole session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// The AV sequence counter (shared with IOCTRL).
    pub av_seq: u32,
    /// First camera sequence acknowledged.
    pub rx_start: u16,
    /// Highest sequence seen in the camera's `0x000C` messages.
    pub rx_end: u16,
    /// Incremented with every ACK.
    pub count: u32,
    /// Low 16 bits of the sender's milliseconds clock.
    pub time_ms: u16,
}

impl Ack {
    /// Encodes the 24 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = vec![0u8; 24];
        p[0..2].copy_from_slice(&MAGIC_ACK.to_le_bytes());
        p[2..4].copy_from_slice(&0x000Cu16.to_le_bytes());
        p[4..8].copy_from_slice(&self.av_seq.to_le_bytes());
        p[8..10].copy_from_slice(&self.rx_start.to_le_bytes());
        p[10..12].copy_from_slice(&self.rx_end.to_le_bytes());
        p[12..16].copy_from_slice(&self.count.to_le_bytes());
        p[16..20].copy_from_slice(&(self.count << 16).to_le_bytes());
        p[20..22].copy_from_slice(&self.time_ms.to_le_bytes());
        p
    }

    /// Decodes an ACK.
    pub fn decode(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p);
        if r.u16_le()? != MAGIC_ACK {
            return Err(WireError::BadMagic {
                expected: "0900",
                got: format!("{:04x}", magic(p).unwrap_or(0)),
            });
        }
        r.take(2)?;
        let av_seq = r.u32_le()?;
        let rx_start = r.u16_le()?;
        let rx_end = r.u16_le()?;
        let count = r.u32_le()?;
        r.take(4)?;
        let time_ms = r.u16_le()?;
        Ok(Self {
            av_seq,
            rx_start,
            rx_end,
            count,
            time_ms,
        })
    }
}

/// An HL block: a K-command id and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hl {
    /// The K-command (10000, 10001, …).
    pub command: u16,
    /// HL protocol version (we send 5; cameras answer with their own, e.g. 36).
    pub version: u16,
    /// The payload after the 16-byte header.
    pub payload: Vec<u8>,
}

impl Hl {
    /// A block with our version.
    pub fn new(command: u16, payload: Vec<u8>) -> Self {
        Self {
            command,
            version: HL_VERSION,
            payload,
        }
    }

    /// Encodes header and payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(HL_HEADER + self.payload.len());
        p.extend_from_slice(b"HL");
        p.extend_from_slice(&self.version.to_le_bytes());
        p.extend_from_slice(&self.command.to_le_bytes());
        let len = u16::try_from(self.payload.len()).unwrap_or(u16::MAX);
        p.extend_from_slice(&len.to_le_bytes());
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&self.payload);
        p
    }

    /// Decodes an HL block at the start of `p`; its payload must be there in full.
    pub fn decode(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p);
        if r.take(2)? != b"HL" {
            return Err(WireError::BadMagic {
                expected: "HL",
                got: format!("{:02x?}", p.get(..2).unwrap_or(p)),
            });
        }
        let version = r.u16_le()?;
        let command = r.u16_le()?;
        let len = usize::from(r.u16_le()?);
        if len > MAX_HL_PAYLOAD {
            return Err(WireError::Invalid {
                field: "HL length",
                reason: format!("{len} bytes is over the {MAX_HL_PAYLOAD}-byte limit"),
            });
        }
        r.take(8)?;
        Ok(Self {
            command,
            version,
            payload: r.take(len)?.to_vec(),
        })
    }
}

/// An IOCTRL frame: the 40-byte header and an HL block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ioctrl {
    /// The AV sequence counter.
    pub av_seq: u32,
    /// Command sequence (one per K-command; a resend keeps it).
    pub cmd_seq: u16,
    /// The K-command.
    pub hl: Hl,
}

impl Ioctrl {
    /// Encodes the frame as the client sends it.
    pub fn encode(&self) -> Vec<u8> {
        let hl = self.hl.encode();
        let mut p = vec![0u8; IOCTRL_HEADER];
        p[0..2].copy_from_slice(&MAGIC_IOCTRL.to_le_bytes());
        p[2..4].copy_from_slice(&0x000Cu16.to_le_bytes());
        p[4..8].copy_from_slice(&self.av_seq.to_le_bytes());
        p[16..18].copy_from_slice(&0x7000u16.to_le_bytes());
        p[18..20].copy_from_slice(&self.cmd_seq.to_le_bytes());
        p[20..24].copy_from_slice(&1u32.to_le_bytes());
        let len = u32::try_from(hl.len() + 4).unwrap_or(u32::MAX);
        p[24..28].copy_from_slice(&len.to_le_bytes());
        p[28..32].copy_from_slice(&u32::from(self.cmd_seq).to_le_bytes());
        p[37] = 0x01;
        p.extend_from_slice(&hl);
        p
    }

    /// Decodes a control message from either side: the AV sequence at 4,
    /// the command sequence at 18, and the HL block found by scanning for
    /// `"HL"` from offset 32 (36 for magic `0x1000`), as real clients do.
    pub fn decode(p: &[u8]) -> Result<Self, WireError> {
        let m = magic(p).ok_or(WireError::Truncated {
            need: 2,
            got: p.len(),
        })?;
        if m != MAGIC_IOCTRL && m != MAGIC_CHANNEL {
            return Err(WireError::BadMagic {
                expected: "0c00 or 0010",
                got: format!("{m:04x}"),
            });
        }
        let mut r = Reader::new(p);
        r.take(4)?;
        let av_seq = r.u32_le()?;
        r.take(10)?;
        let cmd_seq = r.u16_le()?;
        let from = if m == MAGIC_CHANNEL { 36 } else { 32 };
        let start = p
            .get(from..)
            .and_then(|tail| tail.windows(2).position(|w| w == b"HL"))
            .map(|i| i + from)
            .ok_or(WireError::Invalid {
                field: "IOCTRL",
                reason: "no HL block".into(),
            })?;
        Ok(Self {
            av_seq,
            cmd_seq,
            hl: Hl::decode(&p[start..])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> Login {
        Login {
            user: "admin".into(),
            password: Secret::new("aKzdqckqZ8HUHFe5"),
            nonce: [1, 2, 3, 4],
            resend: 0,
        }
    }

    #[test]
    fn logins_have_the_documented_layout() {
        let [one, two] = login().encode();
        assert_eq!((one.len(), two.len()), (570, 572));
        assert_eq!(&one[..4], &[0, 0, 0x0C, 0]);
        assert_eq!(&two[..4], &[0, 0x20, 0x0C, 0]);
        assert_eq!(u16::from_le_bytes([one[16], one[17]]), 546);
        assert_eq!(u16::from_le_bytes([two[16], two[17]]), 548);
        assert_eq!((one[18], two[18]), (1, 0));
        assert_eq!(&one[20..24], &[1, 2, 3, 4]);
        assert_eq!(&two[20..24], &[2, 2, 3, 4]);
        assert_eq!(&one[24..30], b"admin\0");
        assert_eq!(&one[280..296], b"aKzdqckqZ8HUHFe5");
        assert_eq!(&one[540..544], &[4, 0, 0, 0]);
        assert_eq!(&one[552..556], &[0xFB, 0x07, 0x1F, 0x00]);
        let back = Login::decode(&two).unwrap();
        assert_eq!(back.user, "admin");
        assert_eq!(back.password.expose(), "aKzdqckqZ8HUHFe5");
        assert!(Login::is_second(&two) && !Login::is_second(&one));
        assert!(!format!("{:?}", login()).contains("aKzd"));
    }

    #[test]
    fn login_reply_round_trips_and_carries_the_intercom_flag() {
        let r = LoginReply {
            result: LOGIN_OK,
            nonce: [9, 9, 9, 9],
            two_way_audio: true,
        };
        let wire = r.encode();
        assert_eq!(wire[31], 1);
        assert_eq!(LoginReply::decode(&wire).unwrap(), r);
        assert!(LoginReply::decode(&wire[..20]).is_err());
        assert!(LoginReply::decode(&[0u8; 40]).is_err());
    }

    #[test]
    fn ack_layout() {
        let a = Ack {
            av_seq: 7,
            rx_start: 0,
            rx_end: 3,
            count: 2,
            time_ms: 0xBEEF,
        };
        let p = a.encode();
        assert_eq!(p.len(), 24);
        assert_eq!(&p[..2], &[0x09, 0x00]);
        assert_eq!(&p[16..20], &[0, 0, 2, 0]);
        assert_eq!(Ack::decode(&p).unwrap(), a);
    }

    #[test]
    fn ioctrl_layout_and_round_trip() {
        let f = Ioctrl {
            av_seq: 5,
            cmd_seq: 3,
            hl: Hl::new(10000, br#"{"cameraInfo":{}}"#.to_vec()),
        };
        let p = f.encode();
        assert_eq!(&p[16..20], &[0x00, 0x70, 3, 0]);
        assert_eq!(
            u32::from_le_bytes([p[24], p[25], p[26], p[27]]) as usize,
            p.len() - 40 + 4
        );
        assert_eq!((p[36], p[37]), (0, 1));
        assert_eq!(&p[40..42], b"HL");
        assert_eq!(u16::from_le_bytes([p[44], p[45]]), 10000);
        assert_eq!(Ioctrl::decode(&p).unwrap(), f);
    }

    #[test]
    fn the_hl_block_is_found_by_scanning_and_bounded() {
        let hl = Hl {
            command: 10001,
            version: 36,
            payload: vec![3; 17],
        };
        let mut p = vec![0u8; 36];
        p[0..2].copy_from_slice(&MAGIC_CHANNEL.to_le_bytes());
        p.extend_from_slice(&hl.encode());
        assert_eq!(Ioctrl::decode(&p).unwrap().hl, hl);
        let mut huge = Hl::new(1, vec![]).encode();
        huge[6..8].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(Hl::decode(&huge), Err(WireError::Invalid { .. })));
        assert!(Ioctrl::decode(&[0x0C, 0, 0, 0]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn hostile_messages_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..700)) {
            let _ = Login::decode(&data);
            let _ = LoginReply::decode(&data);
            let _ = Ack::decode(&data);
            let _ = Ioctrl::decode(&data);
            let _ = Hl::decode(&data);
        }
    }
}
