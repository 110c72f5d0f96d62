//! The camera's IOTC link, in either transport (`wyze.md` §1.2): what a
//! received datagram means ([`Heard`]), and how the camera frames what it
//! sends (channel data, Disco answers, keepalives).
//!
//! * TransCode: Disco stage 1 (UID and AuthKey checked) → `0x0602`; stage 2
//!   is taken silently; Session `0x0402` → `0x0404`; data `0x0407` in,
//!   `0x0408` out; the camera sends keepalives `0x0428`, the client answers
//!   `0x0427`.
//! * CC51: every packet's HMAC tag must verify with `uid ‖ authkey` (that is
//!   the AuthKey check); Disco seq 0 → seq 1 with a ticket and a sid the
//!   camera picks; seq 2 with the ticket → seq 3 with direction `0xFFFF`;
//!   data `0x1502` both ways; the camera sends keepalives `0x1202`, the
//!   client answers with the counter + 2.
//!
//! A datagram of the other transport is ignored without an answer.

use crate::proto::tutk::cc51::{self, Cc51Key};
use crate::proto::tutk::iotc::{self, Sid, WireUid};
use crate::proto::tutk::transcode::TailPolicy;

use super::config::Transport;

/// Zero bytes after a TransCode keepalive's 8 echo bytes (a 40-byte packet).
const KEEPALIVE_PADDING: usize = 16;

/// Which session a packet names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    /// TransCode: the client's sid.
    Sid(Sid),
    /// CC51: the ticket the camera handed out.
    Ticket(u16),
}

/// What a datagram from a client means to the camera.
#[derive(Debug)]
pub(super) enum Heard {
    /// A first contact: TransCode Disco stage 1 with the right UID and
    /// AuthKey, or CC51 Disco seq 0. `sid` is the client's.
    Hello { sid: Sid },
    /// TransCode Disco stage 2 (taken silently).
    Stage2 { sid: Sid },
    /// TransCode Session request.
    SessionRequest { sid: Sid },
    /// CC51 Disco seq 2, echoing the ticket.
    Confirm { ticket: u16 },
    /// Channel data.
    Data {
        tag: Tag,
        channel: u8,
        payload: Vec<u8>,
    },
    /// The client's answer to a keepalive.
    KeepaliveReply,
    /// Not for this camera (other transport, bad AuthKey or tag, garbage).
    Ignored,
}

/// The camera's transport state for one session.
#[derive(Debug)]
pub(super) enum Link {
    /// TransCode, keyed by the client's sid.
    TransCode {
        /// The client's session id.
        sid: Sid,
        /// Sequence number of our DATA packets.
        tx_seq: u16,
        /// Counter in our keepalives.
        keepalive: u32,
    },
    /// CC51, keyed by our ticket.
    Cc51 {
        /// The client's sid from its seq-0 Disco (tells a resend from a new client).
        client_sid: Sid,
        /// The sid we chose and the client adopts.
        sid: Sid,
        /// The ticket we handed out.
        ticket: u16,
        /// Counter in our keepalives.
        keepalive: u32,
    },
}

/// The fixed keys of a camera's link.
pub(super) struct Keys {
    pub transport: Transport,
    pub uid: WireUid,
    pub authkey: [u8; 8],
    pub cc51: Cc51Key,
}

impl Keys {
    /// Decodes a datagram in the camera's transport.
    pub fn hear(&self, p: &[u8]) -> Heard {
        match self.transport {
            Transport::TransCode if !cc51::is_cc51(p) => self.hear_transcode(p),
            Transport::Cc51 if cc51::is_cc51(p) => self.hear_cc51(p),
            _ => Heard::Ignored,
        }
    }

    fn hear_transcode(&self, p: &[u8]) -> Heard {
        let Ok(packet) = iotc::Packet::decode(p, TailPolicy::default()) else {
            return Heard::Ignored;
        };
        match packet {
            iotc::Packet::Disco(d) if d.uid != self.uid => Heard::Ignored,
            iotc::Packet::Disco(d) if d.stage == 1 => {
                if d.authkey == self.authkey {
                    Heard::Hello { sid: d.sid }
                } else {
                    Heard::Ignored
                }
            }
            iotc::Packet::Disco(d) => Heard::Stage2 { sid: d.sid },
            iotc::Packet::Session(s) if s.uid == self.uid => Heard::SessionRequest { sid: s.sid },
            iotc::Packet::DataTx(d) => Heard::Data {
                tag: Tag::Sid(d.sid),
                channel: d.channel,
                payload: d.payload,
            },
            iotc::Packet::KeepaliveReply { .. } => Heard::KeepaliveReply,
            _ => Heard::Ignored,
        }
    }

    fn hear_cc51(&self, p: &[u8]) -> Heard {
        let Ok(packet) = cc51::Packet::decode(p, &self.cc51) else {
            return Heard::Ignored;
        };
        match packet {
            cc51::Packet::Disco { seq: 0, sid, .. } => Heard::Hello { sid },
            cc51::Packet::Disco { seq: 2, ticket, .. } => Heard::Confirm { ticket },
            cc51::Packet::Data {
                channel,
                ticket,
                payload,
                ..
            } => Heard::Data {
                tag: Tag::Ticket(ticket),
                channel,
                payload,
            },
            cc51::Packet::Keepalive { .. } => Heard::KeepaliveReply,
            cc51::Packet::Disco { .. } => Heard::Ignored,
        }
    }
}

impl Link {
    /// A new link for a client whose first contact carried `client_sid`;
    /// for CC51 the camera's own sid and ticket come from `sid` and `ticket`.
    pub fn new(transport: Transport, client_sid: Sid, sid: Sid, ticket: u16) -> Self {
        match transport {
            Transport::TransCode => Self::TransCode {
                sid: client_sid,
                tx_seq: 0,
                keepalive: 0,
            },
            Transport::Cc51 => Self::Cc51 {
                client_sid,
                sid,
                ticket,
                keepalive: 0,
            },
        }
    }

    /// True if a first contact with `sid` is this session's (a resend).
    pub fn is_same_client(&self, client: &Sid) -> bool {
        match self {
            Self::TransCode { sid, .. } => sid == client,
            Self::Cc51 { client_sid, .. } => client_sid == client,
        }
    }

    /// True if a packet naming `tag` belongs to this session.
    pub fn owns(&self, tag: Tag) -> bool {
        match (self, tag) {
            (Self::TransCode { sid, .. }, Tag::Sid(s)) => *sid == s,
            (Self::Cc51 { ticket, .. }, Tag::Ticket(t)) => *ticket == t,
            _ => false,
        }
    }

    /// The answer to a first contact.
    pub fn hello_reply(&self, keys: &Keys) -> Vec<u8> {
        match self {
            Self::TransCode { sid, .. } => iotc::Packet::DiscoReply(iotc::Disco {
                uid: keys.uid,
                sid: *sid,
                stage: 1,
                authkey: [0; 8],
            })
            .encode(TailPolicy::default()),
            Self::Cc51 { sid, ticket, .. } => cc51::Packet::Disco {
                seq: 1,
                direction: 0,
                ticket: *ticket,
                sid: *sid,
            }
            .encode(&keys.cc51),
        }
    }

    /// TransCode: the answer to a Session request (`unix_time`: the camera's clock).
    pub fn session_reply(&self, keys: &Keys, unix_time: u32) -> Option<Vec<u8>> {
        match self {
            Self::TransCode { sid, .. } => Some(
                iotc::Packet::SessionReply(iotc::SessionReq {
                    uid: keys.uid,
                    sid: *sid,
                    unix_time,
                })
                .encode(TailPolicy::default()),
            ),
            Self::Cc51 { .. } => None,
        }
    }

    /// CC51: the final Disco answer (seq 3, direction `0xFFFF`).
    pub fn confirm_reply(&self, keys: &Keys) -> Option<Vec<u8>> {
        match self {
            Self::Cc51 { sid, ticket, .. } => Some(
                cc51::Packet::Disco {
                    seq: 3,
                    direction: cc51::DIR_FINAL,
                    ticket: *ticket,
                    sid: *sid,
                }
                .encode(&keys.cc51),
            ),
            Self::TransCode { .. } => None,
        }
    }

    /// Channel data to the client.
    pub fn data(&mut self, keys: &Keys, channel: u8, payload: Vec<u8>) -> Vec<u8> {
        match self {
            Self::TransCode { sid, tx_seq, .. } => {
                let seq = *tx_seq;
                *tx_seq = tx_seq.wrapping_add(1);
                iotc::Packet::DataRx(iotc::Data {
                    seq,
                    channel,
                    sid: *sid,
                    payload,
                })
                .encode(TailPolicy::default())
            }
            Self::Cc51 { sid, ticket, .. } => cc51::Packet::Data {
                channel,
                ticket: *ticket,
                sid: *sid,
                payload,
            }
            .encode(&keys.cc51),
        }
    }

    /// The camera's keepalive.
    pub fn keepalive(&mut self, keys: &Keys) -> Vec<u8> {
        match self {
            Self::TransCode { keepalive, .. } => {
                *keepalive = keepalive.wrapping_add(1);
                let mut echo = [0u8; 8];
                echo[..4].copy_from_slice(&keepalive.to_le_bytes());
                // Cameras send it longer than the 24-byte answer (wyze.md §1.2).
                iotc::Packet::Keepalive { echo }
                    .encode_padded(TailPolicy::default(), KEEPALIVE_PADDING)
            }
            Self::Cc51 { sid, keepalive, .. } => {
                *keepalive = keepalive.wrapping_add(2);
                cc51::Packet::Keepalive {
                    counter: *keepalive,
                    sid: *sid,
                }
                .encode(&keys.cc51)
            }
        }
    }
}
