//! IOTC packets of the TransCode transport (`wyze.md` §1.2, which corrects
//! `tutk-iotc-wyze-protocol.md` §4): the 16-byte header, Disco (`0x0601` /
//! `0x0602`), Session (`0x0402` / `0x0404`), DATA (`0x0407` out, `0x0408` in)
//! and the camera-driven keepalive (`0x0428` in, `0x0427` out), each obfuscated
//! with [`transcode`] the way real cameras accepted ("TransCodeBlob").
//!
//! Pure codecs: nothing here keeps state. The session decides what to send.
//!
//! Layout of the header, all little-endian:
//! `04 02 <version> <mode> <body size u16> <seq u16> <command u16> <flags u16> <4 bytes>`.
//! Byte 2 is the TUTK protocol version: we send `0x1A` and accept any.
//! Mode `0x02` is Disco, `0x0A` session and keepalive, `0x0B` data.

use super::transcode::{self, TailPolicy};
use crate::proto::codec::{Reader, WireError};

/// Length of the IOTC header.
pub const HEADER_LEN: usize = 16;
/// Length of a Disco packet (`wyze.md` §1.2: 88 bytes, not the 80 of the older notes).
pub const DISCO_LEN: usize = 88;
/// Length of a Session request.
pub const SESSION_LEN: usize = 52;
/// Offset of the payload (a DTLS record) in a DATA packet (28, not 32).
pub const DATA_OFFSET: usize = 28;
/// The protocol version byte we send.
pub const VERSION: u8 = 0x1A;
/// The default UDP port of a TUTK camera.
pub const DEFAULT_PORT: u16 = 32761;
/// Length of a camera UID on the wire (ASCII, NUL padded).
pub const UID_LEN: usize = 20;
/// Length of an AuthKey.
pub const AUTHKEY_LEN: usize = 8;
/// The SDK version a Disco announces (4.2.1.1, as go2rtc sends).
const SDK_VERSION: [u8; 4] = [0x01, 0x01, 0x02, 0x04];

/// Mode byte of Disco packets.
const MODE_DISCO: u8 = 0x02;
/// Mode byte of session and keepalive packets.
const MODE_SESSION: u8 = 0x0A;
/// Mode byte of data packets.
const MODE_DATA: u8 = 0x0B;

/// IOTC command codes.
mod cmd {
    pub const DISCO_REQ: u16 = 0x0601;
    pub const DISCO_RES: u16 = 0x0602;
    pub const SESSION_REQ: u16 = 0x0402;
    pub const SESSION_RES: u16 = 0x0404;
    pub const DATA_TX: u16 = 0x0407;
    pub const DATA_RX: u16 = 0x0408;
    pub const KEEPALIVE_REPLY: u16 = 0x0427;
    pub const KEEPALIVE: u16 = 0x0428;
}

/// The 8-byte session id the client picks (go2rtc: the time in nanoseconds, LE).
pub type Sid = [u8; 8];

/// A camera UID as it goes on the wire: 20 ASCII bytes, NUL padded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WireUid(pub [u8; UID_LEN]);

impl WireUid {
    /// From text; `None` if it is longer than 20 bytes or not printable ASCII.
    pub fn new(uid: &str) -> Option<Self> {
        let b = uid.as_bytes();
        if b.len() > UID_LEN || b.is_empty() || !b.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        let mut out = [0; UID_LEN];
        out[..b.len()].copy_from_slice(b);
        Some(Self(out))
    }

    /// The UID as text (up to the first NUL; non-ASCII shown as `?`).
    pub fn as_string(&self) -> String {
        self.0
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| if c.is_ascii_graphic() { c as char } else { '?' })
            .collect()
    }
}

impl std::fmt::Debug for WireUid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_string())
    }
}

/// One IOTC packet of the TransCode transport, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// Disco request (`0x0601`): stage 1 carries the AuthKey, stage 2 does not.
    Disco(Disco),
    /// Disco answer (`0x0602`).
    DiscoReply(Disco),
    /// Session request (`0x0402`).
    Session(SessionReq),
    /// Session answer (`0x0404`).
    SessionReply(SessionReq),
    /// Data from the client (`0x0407`).
    DataTx(Data),
    /// Data from the camera (`0x0408`).
    DataRx(Data),
    /// The camera's keepalive (`0x0428`): answer with [`Packet::KeepaliveReply`] echoing `echo`.
    Keepalive {
        /// The 8 bytes at offset 16, to echo.
        echo: [u8; 8],
    },
    /// Our answer to a keepalive (`0x0427`).
    KeepaliveReply {
        /// The camera's 8 bytes.
        echo: [u8; 8],
    },
}

/// A Disco packet's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disco {
    /// The camera's UID.
    pub uid: WireUid,
    /// The session id.
    pub sid: Sid,
    /// 1 (first contact, with AuthKey) or 2 (after the camera answered).
    pub stage: u8,
    /// The AuthKey (stage 1 only; zeros otherwise).
    pub authkey: [u8; AUTHKEY_LEN],
}

/// A Session request's (or answer's) fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionReq {
    /// The camera's UID.
    pub uid: WireUid,
    /// The session id from the Disco.
    pub sid: Sid,
    /// Unix time in seconds (the client's clock).
    pub unix_time: u32,
}

/// A DATA packet's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// Sequence number from the header.
    pub seq: u16,
    /// IOTC channel: 0 main (we are the DTLS client), 1 back channel (we are the server).
    pub channel: u8,
    /// The session id.
    pub sid: Sid,
    /// The payload (one or more DTLS records).
    pub payload: Vec<u8>,
}

fn header(
    out: &mut Vec<u8>,
    mode: u8,
    body: usize,
    seq: u16,
    command: u16,
    flags: u16,
    meta: [u8; 4],
) {
    out.extend_from_slice(&[0x04, 0x02, VERSION, mode]);
    // Bodies are bounded by the UDP datagram size the caller builds; a DTLS
    // record never exceeds the MTU, so this conversion cannot saturate in practice.
    out.extend_from_slice(&u16::try_from(body).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&command.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&meta);
}

impl Packet {
    /// Encodes the packet in clear (before TransCode); see [`Packet::encode`].
    pub fn encode_plain(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(DISCO_LEN);
        match self {
            Self::Disco(d) | Self::DiscoReply(d) => {
                let command = if matches!(self, Self::Disco(_)) {
                    cmd::DISCO_REQ
                } else {
                    cmd::DISCO_RES
                };
                header(
                    &mut out,
                    MODE_DISCO,
                    DISCO_LEN - HEADER_LEN,
                    0,
                    command,
                    0x0021,
                    [0; 4],
                );
                out.extend_from_slice(&d.uid.0); // 16..36
                out.resize(52, 0);
                out.extend_from_slice(&SDK_VERSION); // 52..56
                out.extend_from_slice(&d.sid); // 56..64
                out.push(d.stage); // 64
                out.resize(74, 0);
                out.extend_from_slice(&d.authkey); // 74..82
                out.resize(DISCO_LEN, 0);
            }
            Self::Session(s) | Self::SessionReply(s) => {
                let command = if matches!(self, Self::Session(_)) {
                    cmd::SESSION_REQ
                } else {
                    cmd::SESSION_RES
                };
                header(
                    &mut out,
                    MODE_SESSION,
                    SESSION_LEN - HEADER_LEN,
                    0,
                    command,
                    0x0033,
                    [0; 4],
                );
                out.extend_from_slice(&s.uid.0); // 16..36
                out.extend_from_slice(&s.sid); // 36..44
                out.resize(48, 0);
                out.extend_from_slice(&s.unix_time.to_le_bytes()); // 48..52
            }
            Self::DataTx(d) | Self::DataRx(d) => {
                let command = if matches!(self, Self::DataTx(_)) {
                    cmd::DATA_TX
                } else {
                    cmd::DATA_RX
                };
                let meta = [d.sid[0], d.sid[1], d.channel, 0x01];
                header(
                    &mut out,
                    MODE_DATA,
                    DATA_OFFSET - HEADER_LEN + d.payload.len(),
                    d.seq,
                    command,
                    0x0021,
                    meta,
                );
                out.extend_from_slice(&0x0Cu32.to_le_bytes()); // 16..20
                out.extend_from_slice(&d.sid); // 20..28
                out.extend_from_slice(&d.payload);
            }
            Self::Keepalive { echo } | Self::KeepaliveReply { echo } => {
                let command = if matches!(self, Self::Keepalive { .. }) {
                    cmd::KEEPALIVE
                } else {
                    cmd::KEEPALIVE_REPLY
                };
                header(&mut out, MODE_SESSION, 8, 0, command, 0, [0; 4]);
                out.extend_from_slice(echo);
            }
        }
        out
    }

    /// Encodes the packet for the wire (TransCodeBlob): the header as one
    /// block; then, for data (odd mode), only bytes 16..64 as a stream of
    /// their own, the rest in clear (DTLS ciphertext); for every other mode
    /// the whole body as one stream.
    pub fn encode(&self, tail: TailPolicy) -> Vec<u8> {
        let mut p = self.encode_plain();
        obfuscate(&mut p, tail, true);
        p
    }

    /// Like [`Packet::encode`], with `padding` zero bytes added to the body
    /// (and counted in its size), as cameras send their keepalives longer
    /// than the 24 bytes a client answers with (`wyze.md` §1.2). [`Packet::decode`]
    /// reads the same packet back; the padding is not part of it.
    pub fn encode_padded(&self, tail: TailPolicy, padding: usize) -> Vec<u8> {
        let mut p = self.encode_plain();
        p.resize(p.len() + padding, 0);
        let body = u16::try_from(p.len() - HEADER_LEN).unwrap_or(u16::MAX);
        p[4..6].copy_from_slice(&body.to_le_bytes());
        obfuscate(&mut p, tail, true);
        p
    }

    /// Decodes a datagram from the wire. Trailing bytes after a fixed-size
    /// message are tolerated (cameras pad); a short one is an error.
    pub fn decode(wire: &[u8], tail: TailPolicy) -> Result<Self, WireError> {
        if wire.len() < HEADER_LEN {
            return Err(WireError::Truncated {
                need: HEADER_LEN,
                got: wire.len(),
            });
        }
        let mut p = wire.to_vec();
        obfuscate(&mut p, tail, false);
        Self::decode_plain(&p)
    }

    /// Decodes a packet already taken out of TransCode.
    pub fn decode_plain(p: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(p);
        let magic = r.take(2)?;
        if magic != [0x04, 0x02] {
            return Err(WireError::BadMagic {
                expected: "0402",
                got: format!("{:02x}{:02x}", magic[0], magic[1]),
            });
        }
        let _version = r.u8()?;
        let _mode = r.u8()?;
        let body = usize::from(r.u16_le()?);
        let seq = r.u16_le()?;
        let command = r.u16_le()?;
        let _flags = r.u16_le()?;
        let meta = r.take(4)?;
        if r.remaining() < body {
            return Err(WireError::Truncated {
                need: HEADER_LEN + body,
                got: p.len(),
            });
        }
        let mut b = Reader::new(r.take(body)?);
        match command {
            cmd::DISCO_REQ | cmd::DISCO_RES => {
                let uid = uid(&mut b)?;
                b.take(16)?; // 36..52
                let _sdk = b.take(4)?;
                let sid = sid(&mut b)?;
                let stage = b.u8()?;
                // 65..74 reserved, then the AuthKey; short answers carry none.
                let mut authkey = [0; AUTHKEY_LEN];
                if b.remaining() >= 9 + AUTHKEY_LEN {
                    b.take(9)?;
                    authkey.copy_from_slice(b.take(AUTHKEY_LEN)?);
                }
                let d = Disco {
                    uid,
                    sid,
                    stage,
                    authkey,
                };
                Ok(if command == cmd::DISCO_REQ {
                    Self::Disco(d)
                } else {
                    Self::DiscoReply(d)
                })
            }
            cmd::SESSION_REQ | cmd::SESSION_RES => {
                let uid = uid(&mut b)?;
                let sid = sid(&mut b)?;
                let unix_time = if b.remaining() >= 8 {
                    b.take(4)?;
                    b.u32_le()?
                } else {
                    0
                };
                let s = SessionReq {
                    uid,
                    sid,
                    unix_time,
                };
                Ok(if command == cmd::SESSION_REQ {
                    Self::Session(s)
                } else {
                    Self::SessionReply(s)
                })
            }
            cmd::DATA_TX | cmd::DATA_RX => {
                let channel = meta[2];
                let _twelve = b.u32_le()?;
                let sid = sid(&mut b)?;
                let d = Data {
                    seq,
                    channel,
                    sid,
                    payload: b.rest().to_vec(),
                };
                Ok(if command == cmd::DATA_TX {
                    Self::DataTx(d)
                } else {
                    Self::DataRx(d)
                })
            }
            cmd::KEEPALIVE | cmd::KEEPALIVE_REPLY => {
                let mut echo = [0; 8];
                echo.copy_from_slice(b.take(8)?);
                Ok(if command == cmd::KEEPALIVE {
                    Self::Keepalive { echo }
                } else {
                    Self::KeepaliveReply { echo }
                })
            }
            other => Err(WireError::UnknownType(other)),
        }
    }
}

fn uid(r: &mut Reader<'_>) -> Result<WireUid, WireError> {
    let mut u = [0; UID_LEN];
    u.copy_from_slice(r.take(UID_LEN)?);
    Ok(WireUid(u))
}

fn sid(r: &mut Reader<'_>) -> Result<Sid, WireError> {
    let mut s = [0; 8];
    s.copy_from_slice(r.take(8)?);
    Ok(s)
}

/// TransCode-encodes (`encoding`) or decodes a packet the way packets are
/// obfuscated. The mode is read from the clear header: before encoding it,
/// or after decoding it.
fn obfuscate(p: &mut [u8], tail: TailPolicy, encoding: bool) {
    let Some((head, body)) = p.split_at_mut_checked(HEADER_LEN) else {
        return;
    };
    let f = if encoding {
        transcode::encode
    } else {
        transcode::decode
    };
    let plain_mode = head[3];
    f(head, tail);
    let mode = if encoding { plain_mode } else { head[3] };
    if mode % 2 == 1 {
        let n = body.len().min(64 - HEADER_LEN);
        f(&mut body[..n], tail);
    } else {
        f(body, tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn disco_vector() -> Packet {
        Packet::Disco(Disco {
            uid: WireUid::new("HSBJYB5HSETGCDWD111A").unwrap(),
            sid: [1, 2, 3, 4, 5, 6, 7, 8],
            stage: 1,
            authkey: *b"Jd52xEZl",
        })
    }

    /// `wyze.md` §5.4: Disco stage 1 with uid `HSBJYB5HSETGCDWD111A`, sid
    /// `0102030405060708` and AuthKey `Jd52xEZl`, plain and on the wire
    /// (computed by the reference's author from go2rtc's algorithm).
    #[test]
    fn disco_stage_one_matches_the_reference_bytes() {
        let plain = disco_vector().encode_plain();
        assert_eq!(plain.len(), DISCO_LEN);
        assert_eq!(
            &plain[..16],
            &hex("04021a02 4800 0000 0106 2100 00000000")[..]
        );
        assert_eq!(&plain[16..36], b"HSBJYB5HSETGCDWD111A");
        assert_eq!(&plain[52..65], &hex("01010204 0102030405060708 01")[..]);
        assert_eq!(&plain[74..82], b"Jd52xEZl");
        let wire = disco_vector().encode(TailPolicy::default());
        assert_eq!(
            wire,
            hex(
                "6e4c9d8c40d140ca2d2d882dc0e6cadc3b7bc9a806a5758e68f81c28d4af48fc\
                 6e2e8d8c40d040ca3e6d3b1f40a4cbd84e0e9d8a44a1104a2d6f280c50e48ac8\
                 ce2aad9e2452159d2d6d280c40e4cbd8206c726104656919"
            )
        );
        assert_eq!(
            Packet::decode(&wire, TailPolicy::default()).unwrap(),
            disco_vector()
        );
    }

    #[test]
    fn every_packet_round_trips_under_every_tail_policy() {
        let uid = WireUid::new("ABCDEFGHIJKLMNOPQRST").unwrap();
        let sid = [9, 8, 7, 6, 5, 4, 3, 2];
        let data = |n: usize| Data {
            seq: 7,
            channel: 1,
            sid,
            payload: (0..n).map(|i| i as u8).collect(),
        };
        let packets = [
            disco_vector(),
            Packet::DiscoReply(Disco {
                uid,
                sid,
                stage: 2,
                authkey: [0; 8],
            }),
            Packet::Session(SessionReq {
                uid,
                sid,
                unix_time: 1_700_000_000,
            }),
            Packet::SessionReply(SessionReq {
                uid,
                sid,
                unix_time: 5,
            }),
            Packet::DataTx(data(0)),
            Packet::DataTx(data(13)),
            Packet::DataRx(data(36)),
            Packet::DataRx(data(1200)),
            Packet::Keepalive { echo: [1; 8] },
            Packet::KeepaliveReply { echo: [2; 8] },
        ];
        for tail in [
            TailPolicy::Permute248,
            TailPolicy::Permute8,
            TailPolicy::None,
        ] {
            for p in &packets {
                let wire = p.encode(tail);
                assert_eq!(&Packet::decode(&wire, tail).unwrap(), p, "{tail:?}");
            }
        }
    }

    /// The camera's longer keepalive reads back as the same packet.
    #[test]
    fn a_padded_keepalive_decodes_like_a_plain_one() {
        let k = Packet::Keepalive { echo: [7; 8] };
        let wire = k.encode_padded(TailPolicy::default(), 16);
        assert_eq!(wire.len(), 40);
        assert_eq!(Packet::decode(&wire, TailPolicy::default()).unwrap(), k);
        let mut plain = wire.clone();
        obfuscate(&mut plain, TailPolicy::default(), false);
        assert_eq!(u16::from_le_bytes([plain[4], plain[5]]), 24);
    }

    /// Data packets scramble only bytes 0..64; the DTLS record past that goes in clear.
    #[test]
    fn data_beyond_byte_64_is_sent_in_clear() {
        let payload: Vec<u8> = (0..100).map(|i| i as u8).collect();
        let wire = Packet::DataTx(Data {
            seq: 1,
            channel: 0,
            sid: [0; 8],
            payload: payload.clone(),
        })
        .encode(TailPolicy::default());
        assert_eq!(&wire[64..], &payload[64 - DATA_OFFSET..]);
        assert_ne!(&wire[28..64], &payload[..36]);
    }

    #[test]
    fn the_channel_and_payload_offset_follow_wyze_md() {
        let plain = Packet::DataTx(Data {
            seq: 3,
            channel: 1,
            sid: [0xAA, 0xBB, 3, 4, 5, 6, 7, 8],
            payload: vec![0x16, 0xFE, 0xFD],
        })
        .encode_plain();
        assert_eq!(plain[3], MODE_DATA);
        assert_eq!(&plain[12..16], &[0xAA, 0xBB, 1, 1]);
        assert_eq!(&plain[16..20], &[0x0C, 0, 0, 0]);
        assert_eq!(&plain[DATA_OFFSET..], &[0x16, 0xFE, 0xFD]);
    }

    #[test]
    fn short_or_foreign_datagrams_are_errors() {
        assert!(Packet::decode(&[0; 5], TailPolicy::default()).is_err());
        assert!(matches!(
            Packet::decode_plain(&[0; 16]),
            Err(WireError::BadMagic { .. })
        ));
        let mut p = disco_vector().encode_plain();
        p.truncate(60);
        assert!(matches!(
            Packet::decode_plain(&p),
            Err(WireError::Truncated { .. })
        ));
        let mut p = disco_vector().encode_plain();
        p[8] = 0x99;
        assert_eq!(
            Packet::decode_plain(&p),
            Err(WireError::UnknownType(0x0699))
        );
    }

    #[test]
    fn uids_longer_than_twenty_bytes_or_not_ascii_are_refused() {
        assert!(WireUid::new("ABCDEFGHIJKLMNOPQRSTU").is_none());
        assert!(WireUid::new("").is_none());
        assert!(WireUid::new("AB CD").is_none());
        assert_eq!(WireUid::new("SHORT").unwrap().as_string(), "SHORT");
    }

    proptest::proptest! {
        #[test]
        fn hostile_datagrams_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = Packet::decode(&data, TailPolicy::default());
            let _ = Packet::decode_plain(&data);
        }
    }
}
