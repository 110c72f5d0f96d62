//! PPPP messages a LAN client needs (`pppp.md` §1): `F1 <type> <len u16 BE>`
//! then `len` bytes of payload. Decoding is strict about truncation and
//! tolerant of trailing padding (real cameras pad datagrams, e.g. a P2P_RDY of
//! length 20 followed by 8 zero bytes), which is ignored. Obfuscation is
//! applied to whole datagrams outside this module ([`super::obfuscate`]).

use super::uid::{Uid, UID_WIRE_LEN};
use crate::proto::codec::{Reader, WireError};

/// The first byte of every PPPP datagram (before obfuscation).
pub const MAGIC: u8 = 0xF1;
/// UDP port cameras listen on for LAN searches.
pub const LAN_SEARCH_PORT: u16 = 32108;
/// The marker byte every DRW payload starts with.
pub const DRW_MARKER: u8 = 0xD1;
/// Largest DRW data a sender puts in one datagram (cameras send ≤ 1024).
pub const MAX_DRW_DATA: usize = 1024;

/// Message types (byte 1).
pub mod kind {
    /// LAN_SEARCH.
    pub const LAN_SEARCH: u8 = 0x30;
    /// PUNCH_TO.
    pub const PUNCH_TO: u8 = 0x40;
    /// PUNCH_PKT.
    pub const PUNCH_PKT: u8 = 0x41;
    /// P2P_RDY.
    pub const P2P_RDY: u8 = 0x42;
    /// DRW: reliable data.
    pub const DRW: u8 = 0xD0;
    /// DRW_ACK.
    pub const DRW_ACK: u8 = 0xD1;
    /// ALIVE.
    pub const ALIVE: u8 = 0xE0;
    /// ALIVE_ACK.
    pub const ALIVE_ACK: u8 = 0xE1;
    /// CLOSE.
    pub const CLOSE: u8 = 0xF0;
}

/// One PPPP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// `F1 30 00 00`: who is there?
    LanSearch,
    /// The camera's answer to a LAN search (from its session port), or the
    /// client echoing it back.
    PunchPkt(Uid),
    /// Ready for a session.
    P2pRdy(Uid),
    /// Reliable data on a channel.
    Drw {
        /// Channel: 0 commands, 1 video, 2 audio, 3 talk.
        channel: u8,
        /// Per-channel index (wraps).
        index: u16,
        /// The data.
        data: &'a [u8],
    },
    /// Acknowledges DRW indices of one channel.
    DrwAck {
        /// Marker byte: `D1` (open clients) or `D2` (the official app).
        marker: u8,
        /// Channel.
        channel: u8,
        /// The indices acknowledged.
        indices: Vec<u16>,
    },
    /// Keep-alive.
    Alive,
    /// Answer to a keep-alive.
    AliveAck,
    /// End of session.
    Close,
    /// Any other type (ignored by a LAN client, but parsed so it can be logged).
    Other {
        /// Type byte.
        kind: u8,
        /// Payload.
        payload: &'a [u8],
    },
}

impl<'a> Message<'a> {
    /// Decodes one datagram (plaintext). Bytes after the declared length are padding.
    pub fn decode(datagram: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(datagram);
        let magic = r.u8()?;
        if magic != MAGIC {
            return Err(WireError::BadMagic {
                expected: "f1",
                got: format!("{magic:02x}"),
            });
        }
        let kind = r.u8()?;
        let len = usize::from(r.u16_be()?);
        let payload = r.take(len)?;
        let mut p = Reader::new(payload);
        let msg = match kind {
            kind::LAN_SEARCH => Self::LanSearch,
            kind::PUNCH_PKT | kind::P2P_RDY => {
                // 20 bytes, or 24 for the _EX variant (API version + reserved).
                if len != UID_WIRE_LEN && len != UID_WIRE_LEN + 4 {
                    return Err(WireError::Invalid {
                        field: "uid message length",
                        reason: format!("{len}, expected 20 or 24"),
                    });
                }
                let uid = Uid::decode(&mut p)?;
                if kind == kind::PUNCH_PKT {
                    Self::PunchPkt(uid)
                } else {
                    Self::P2pRdy(uid)
                }
            }
            kind::DRW => {
                let marker = p.u8()?;
                if marker != DRW_MARKER {
                    return Err(WireError::BadMagic {
                        expected: "d1",
                        got: format!("{marker:02x}"),
                    });
                }
                let channel = p.u8()?;
                let index = p.u16_be()?;
                Self::Drw {
                    channel,
                    index,
                    data: p.rest(),
                }
            }
            kind::DRW_ACK => {
                let marker = p.u8()?;
                let channel = p.u8()?;
                let count = usize::from(p.u16_be()?);
                let mut indices = Vec::with_capacity(count.min(p.remaining() / 2));
                for _ in 0..count {
                    indices.push(p.u16_be()?);
                }
                Self::DrwAck {
                    marker,
                    channel,
                    indices,
                }
            }
            // Some cameras put bytes in their ALIVE (aiopppp `parse_packet`): ignored.
            kind::ALIVE => Self::Alive,
            kind::ALIVE_ACK => Self::AliveAck,
            kind::CLOSE => Self::Close,
            other => Self::Other {
                kind: other,
                payload,
            },
        };
        Ok(msg)
    }

    /// Appends the plaintext datagram to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[MAGIC, self.kind(), 0, 0]);
        match self {
            Self::LanSearch | Self::Alive | Self::AliveAck | Self::Close => {}
            Self::PunchPkt(uid) | Self::P2pRdy(uid) => uid.encode(out),
            Self::Drw {
                channel,
                index,
                data,
            } => {
                out.extend_from_slice(&[DRW_MARKER, *channel]);
                out.extend_from_slice(&index.to_be_bytes());
                out.extend_from_slice(data);
            }
            Self::DrwAck {
                marker,
                channel,
                indices,
            } => {
                out.extend_from_slice(&[*marker, *channel]);
                let n = u16::try_from(indices.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&n.to_be_bytes());
                for i in indices.iter().take(usize::from(n)) {
                    out.extend_from_slice(&i.to_be_bytes());
                }
            }
            Self::Other { payload, .. } => out.extend_from_slice(payload),
        }
        let len = u16::try_from(out.len() - start - 4).unwrap_or(u16::MAX);
        out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// The plaintext datagram as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(&mut v);
        v
    }

    /// The type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Self::LanSearch => kind::LAN_SEARCH,
            Self::PunchPkt(_) => kind::PUNCH_PKT,
            Self::P2pRdy(_) => kind::P2P_RDY,
            Self::Drw { .. } => kind::DRW,
            Self::DrwAck { .. } => kind::DRW_ACK,
            Self::Alive => kind::ALIVE,
            Self::AliveAck => kind::ALIVE_ACK,
            Self::Close => kind::CLOSE,
            Self::Other { kind, .. } => *kind,
        }
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

    #[test]
    fn fixed_messages_are_four_bytes() {
        assert_eq!(Message::LanSearch.to_vec(), [0xF1, 0x30, 0, 0]);
        assert_eq!(Message::Alive.to_vec(), [0xF1, 0xE0, 0, 0]);
        assert_eq!(Message::AliveAck.to_vec(), [0xF1, 0xE1, 0, 0]);
        assert_eq!(Message::Close.to_vec(), [0xF1, 0xF0, 0, 0]);
    }

    /// cam-reverse `tests/fn.test.js` "parses PunchPkt".
    #[test]
    fn decodes_a_captured_punch_packet_and_encodes_it_back() {
        let bytes = hex("f14100144241544400000000000262ca574f4e4a4d000000");
        let m = Message::decode(&bytes).unwrap();
        let Message::PunchPkt(uid) = &m else {
            panic!("{m:?}")
        };
        assert_eq!(uid.to_string(), "BATD-156362-WONJM");
        assert_eq!(m.to_vec(), bytes);
    }

    /// aiopppp issue #3: a P2P_RDY of length 20 followed by 8 padding bytes.
    #[test]
    fn trailing_padding_is_ignored_but_truncation_is_an_error() {
        let mut bytes = Message::P2pRdy("BATE-692065-IURQM".parse().unwrap()).to_vec();
        bytes.extend_from_slice(&[0; 8]);
        assert!(matches!(Message::decode(&bytes), Ok(Message::P2pRdy(_))));
        let short = &bytes[..20];
        assert!(matches!(
            Message::decode(short),
            Err(WireError::Truncated { .. })
        ));
        assert!(Message::decode(&[0xF1, 0x41, 0x00]).is_err());
        assert!(matches!(
            Message::decode(&[0xF0, 0x30, 0, 0]),
            Err(WireError::BadMagic { .. })
        ));
    }

    /// cam-reverse `proto`: the official YsxLite app acks 7 indices with marker
    /// D2 and pads the datagram to 32 bytes.
    #[test]
    fn drw_acks_decode_with_either_marker_and_padding() {
        let bytes =
            hex("f1d10012 d2010007 0000 0001 0002 0003 0004 0005 0006 00000000000000000000");
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(
            m,
            Message::DrwAck {
                marker: 0xD2,
                channel: 1,
                indices: (0..7).collect()
            }
        );
        let ours = Message::DrwAck {
            marker: 0xD1,
            channel: 0,
            indices: vec![1],
        };
        assert_eq!(ours.to_vec(), hex("f1d10006 d1000001 0001"));
    }

    /// cam-reverse `tests/fn.test.js` "builds a good SendStartVideo": a DRW on
    /// channel 0, index 0, carrying a binary command.
    #[test]
    fn drw_frames_channel_index_and_data() {
        let bytes = hex("f1d00010d1000000110a10300400000001020304");
        let m = Message::decode(&bytes).unwrap();
        assert_eq!(
            m,
            Message::Drw {
                channel: 0,
                index: 0,
                data: &bytes[8..]
            }
        );
        assert_eq!(m.to_vec(), bytes);
        assert!(
            Message::decode(&hex("f1d00004d2000000")).is_err(),
            "bad marker"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn drw_round_trips(channel in 0u8..4, index in proptest::num::u16::ANY, data in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let m = Message::Drw { channel, index, data: &data };
            let v = m.to_vec();
            proptest::prop_assert_eq!(Message::decode(&v).unwrap(), m);
        }
    }
}
