//! Handshake messages (RFC 6347 §4.2, RFC 5246 §7.4, RFC 4279, RFC 5489): the
//! 12-byte DTLS handshake header, the codecs of the seven messages a PSK
//! handshake uses, fragmentation to a size, and reassembly of fragments that
//! arrive in any order, overlapping, duplicated or ahead of their turn.
//!
//! Pure codecs and buffers: what a message means in a given state is decided
//! by `client.rs`/`server.rs`. Every decoder is total over hostile bytes.

use std::collections::BTreeMap;

use crate::proto::codec::{Reader, WireError};

/// Handshake message types.
pub mod msg_type {
    /// hello_request (renegotiation; refused)
    pub const HELLO_REQUEST: u8 = 0;
    /// client_hello
    pub const CLIENT_HELLO: u8 = 1;
    /// server_hello
    pub const SERVER_HELLO: u8 = 2;
    /// hello_verify_request
    pub const HELLO_VERIFY_REQUEST: u8 = 3;
    /// server_key_exchange
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    /// server_hello_done
    pub const SERVER_HELLO_DONE: u8 = 14;
    /// client_key_exchange
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
    /// finished
    pub const FINISHED: u8 = 20;
}

/// Extension numbers we send or look at.
pub mod ext {
    /// supported_groups (RFC 8422)
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats (RFC 8422)
    pub const EC_POINT_FORMATS: u16 = 11;
    /// renegotiation_info (RFC 5746)
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

/// The signalling suite value TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746).
pub const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00FF;
/// X25519's NamedGroup number.
pub const X25519: u16 = 0x001d;
/// Length of the handshake header.
pub const HEADER_LEN: usize = 12;
/// Largest handshake message we reassemble (ours are a few hundred bytes).
pub const MAX_MESSAGE: usize = 16 * 1024;

/// One handshake fragment as carried in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// Message type.
    pub msg_type: u8,
    /// Length of the whole message body.
    pub length: usize,
    /// message_seq.
    pub seq: u16,
    /// Where this piece starts in the body.
    pub offset: usize,
    /// The piece.
    pub body: &'a [u8],
}

fn u24(r: &mut Reader<'_>) -> Result<usize, WireError> {
    let b = r.take(3)?;
    Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
}

fn put_u24(out: &mut Vec<u8>, v: usize) {
    // Callers pass lengths below MAX_MESSAGE.
    out.extend_from_slice(&u32::try_from(v).unwrap_or(0).to_be_bytes()[1..]);
}

impl<'a> Fragment<'a> {
    /// Every fragment in a handshake record's plaintext.
    pub fn decode_all(plain: &'a [u8]) -> Result<Vec<Self>, WireError> {
        let mut r = Reader::new(plain);
        let mut out = Vec::new();
        while r.remaining() > 0 {
            let msg_type = r.u8()?;
            let length = u24(&mut r)?;
            let seq = r.u16_be()?;
            let offset = u24(&mut r)?;
            let frag_len = u24(&mut r)?;
            let body = r.take(frag_len)?;
            if offset.checked_add(frag_len).is_none_or(|end| end > length) {
                return Err(WireError::Invalid {
                    field: "fragment",
                    reason: format!("{offset}+{frag_len} > {length}"),
                });
            }
            out.push(Self {
                msg_type,
                length,
                seq,
                offset,
                body,
            });
        }
        Ok(out)
    }
}

/// Header + body with offset 0 and full length: how a message enters the transcript.
pub fn full_message(msg_type: u8, seq: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    push_header(&mut out, msg_type, body.len(), seq, 0, body.len());
    out.extend_from_slice(body);
    out
}

fn push_header(
    out: &mut Vec<u8>,
    msg_type: u8,
    length: usize,
    seq: u16,
    offset: usize,
    frag_len: usize,
) {
    out.push(msg_type);
    put_u24(out, length);
    out.extend_from_slice(&seq.to_be_bytes());
    put_u24(out, offset);
    put_u24(out, frag_len);
}

/// The message cut into fragments (header included) of at most
/// `max_body` body bytes each (at least 1). An empty body gives one fragment.
pub fn fragments(msg_type: u8, seq: u16, body: &[u8], max_body: usize) -> Vec<Vec<u8>> {
    let max_body = max_body.max(1);
    if body.is_empty() {
        return vec![full_message(msg_type, seq, body)];
    }
    body.chunks(max_body)
        .enumerate()
        .map(|(i, chunk)| {
            let mut out = Vec::with_capacity(HEADER_LEN + chunk.len());
            push_header(
                &mut out,
                msg_type,
                body.len(),
                seq,
                i * max_body,
                chunk.len(),
            );
            out.extend_from_slice(chunk);
            out
        })
        .collect()
}

fn vec8<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], WireError> {
    let n = usize::from(r.u8()?);
    r.take(n)
}

fn vec16<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], WireError> {
    let n = usize::from(r.u16_be()?);
    r.take(n)
}

fn put8(out: &mut Vec<u8>, b: &[u8]) {
    out.push(u8::try_from(b.len()).unwrap_or(0));
    out.extend_from_slice(&b[..b.len().min(255)]);
}

fn put16(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&u16::try_from(b.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(&b[..b.len().min(0xFFFF)]);
}

fn random(r: &mut Reader<'_>) -> Result<[u8; 32], WireError> {
    let mut a = [0u8; 32];
    a.copy_from_slice(r.take(32)?);
    Ok(a)
}

/// Extensions as (type, data) pairs; absent and empty lists are the same.
pub type Extensions = Vec<(u16, Vec<u8>)>;

fn read_extensions(r: &mut Reader<'_>) -> Result<Extensions, WireError> {
    let mut out = Vec::new();
    if r.remaining() == 0 {
        return Ok(out);
    }
    let mut list = Reader::new(vec16(r)?);
    while list.remaining() > 0 {
        let t = list.u16_be()?;
        out.push((t, vec16(&mut list)?.to_vec()));
    }
    Ok(out)
}

fn put_extensions(out: &mut Vec<u8>, exts: &Extensions) {
    if exts.is_empty() {
        return;
    }
    let mut list = Vec::new();
    for (t, data) in exts {
        list.extend_from_slice(&t.to_be_bytes());
        put16(&mut list, data);
    }
    put16(out, &list);
}

/// ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// client_version.
    pub version: u16,
    /// client random.
    pub random: [u8; 32],
    /// session_id (we never resume: empty when we send it).
    pub session_id: Vec<u8>,
    /// The HelloVerifyRequest cookie, empty at first.
    pub cookie: Vec<u8>,
    /// Offered suites (may include SCSVs and suites we do not know).
    pub suites: Vec<u16>,
    /// Compression methods (must include null).
    pub compression: Vec<u8>,
    /// Extensions.
    pub extensions: Extensions,
}

impl ClientHello {
    /// Parses a ClientHello body.
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let version = r.u16_be()?;
        let random = random(&mut r)?;
        let session_id = vec8(&mut r)?.to_vec();
        let cookie = vec8(&mut r)?.to_vec();
        let mut s = Reader::new(vec16(&mut r)?);
        let mut suites = Vec::new();
        while s.remaining() > 0 {
            suites.push(s.u16_be()?);
        }
        let compression = vec8(&mut r)?.to_vec();
        let extensions = read_extensions(&mut r)?;
        r.finish()?;
        Ok(Self {
            version,
            random,
            session_id,
            cookie,
            suites,
            compression,
            extensions,
        })
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.random);
        put8(&mut out, &self.session_id);
        put8(&mut out, &self.cookie);
        let suites: Vec<u8> = self.suites.iter().flat_map(|s| s.to_be_bytes()).collect();
        put16(&mut out, &suites);
        put8(&mut out, &self.compression);
        put_extensions(&mut out, &self.extensions);
        out
    }
}

/// HelloVerifyRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloVerifyRequest {
    /// server_version.
    pub version: u16,
    /// The cookie to echo.
    pub cookie: Vec<u8>,
}

impl HelloVerifyRequest {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let version = r.u16_be()?;
        let cookie = vec8(&mut r)?.to_vec();
        r.finish()?;
        Ok(Self { version, cookie })
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.version.to_be_bytes().to_vec();
        put8(&mut out, &self.cookie);
        out
    }
}

/// ServerHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// server_version.
    pub version: u16,
    /// server random.
    pub random: [u8; 32],
    /// session_id (ignored: no resumption).
    pub session_id: Vec<u8>,
    /// The chosen suite.
    pub suite: u16,
    /// The chosen compression (must be 0).
    pub compression: u8,
    /// Extensions.
    pub extensions: Extensions,
}

impl ServerHello {
    /// Parses the body.
    pub fn decode(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let version = r.u16_be()?;
        let random = random(&mut r)?;
        let session_id = vec8(&mut r)?.to_vec();
        let suite = r.u16_be()?;
        let compression = r.u8()?;
        let extensions = read_extensions(&mut r)?;
        r.finish()?;
        Ok(Self {
            version,
            random,
            session_id,
            suite,
            compression,
            extensions,
        })
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.version.to_be_bytes().to_vec();
        out.extend_from_slice(&self.random);
        put8(&mut out, &self.session_id);
        out.extend_from_slice(&self.suite.to_be_bytes());
        out.push(self.compression);
        put_extensions(&mut out, &self.extensions);
        out
    }
}

/// ServerKeyExchange for PSK (hint only) or ECDHE_PSK (hint + X25519 share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// psk_identity_hint (ignored by our client).
    pub hint: Vec<u8>,
    /// The server's X25519 public key (ECDHE_PSK only).
    pub public: Option<[u8; 32]>,
}

fn x25519_share(r: &mut Reader<'_>) -> Result<[u8; 32], WireError> {
    let p = vec8(r)?;
    p.try_into().map_err(|_| WireError::Invalid {
        field: "x25519 share",
        reason: format!("{} bytes", p.len()),
    })
}

impl ServerKeyExchange {
    /// Parses the body; `ecdhe` says whether a share follows the hint.
    pub fn decode(body: &[u8], ecdhe: bool) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let hint = vec16(&mut r)?.to_vec();
        let public = if ecdhe {
            let curve_type = r.u8()?;
            let group = r.u16_be()?;
            if curve_type != 3 || group != X25519 {
                return Err(WireError::Invalid {
                    field: "named curve",
                    reason: format!("{curve_type}/{group:#06x}, want X25519"),
                });
            }
            Some(x25519_share(&mut r)?)
        } else {
            None
        };
        r.finish()?;
        Ok(Self { hint, public })
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put16(&mut out, &self.hint);
        if let Some(p) = &self.public {
            out.push(3);
            out.extend_from_slice(&X25519.to_be_bytes());
            put8(&mut out, p);
        }
        out
    }
}

/// ClientKeyExchange for PSK (identity) or ECDHE_PSK (identity + share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeyExchange {
    /// psk_identity.
    pub identity: Vec<u8>,
    /// The client's X25519 public key (ECDHE_PSK only).
    pub public: Option<[u8; 32]>,
}

impl ClientKeyExchange {
    /// Parses the body; `ecdhe` says whether a share follows the identity.
    pub fn decode(body: &[u8], ecdhe: bool) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let identity = vec16(&mut r)?.to_vec();
        let public = if ecdhe {
            Some(x25519_share(&mut r)?)
        } else {
            None
        };
        r.finish()?;
        Ok(Self { identity, public })
    }

    /// The body bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put16(&mut out, &self.identity);
        if let Some(p) = &self.public {
            put8(&mut out, p);
        }
        out
    }
}

/// A whole handshake message, reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Type.
    pub msg_type: u8,
    /// message_seq.
    pub seq: u16,
    /// Epoch its fragments came in (Finished must be 1, the rest 0).
    pub epoch: u16,
    /// Body.
    pub body: Vec<u8>,
}

/// What [`Reassembler::push`] did with a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Stored (or already had those bytes).
    Stored,
    /// Part of a message already delivered: the peer is retransmitting.
    Old(u16),
    /// Dropped: too far ahead, too large, or inconsistent with earlier fragments.
    Dropped,
}

#[derive(Debug)]
struct Partial {
    msg_type: u8,
    epoch: u16,
    body: Vec<u8>,
    have: Vec<bool>,
    missing: usize,
}

/// Collects fragments per message_seq and hands out whole messages in order.
#[derive(Debug, Default)]
pub struct Reassembler {
    /// The next message_seq to deliver.
    next: u16,
    /// Messages being collected, at most [`Reassembler::AHEAD`] past `next`.
    partial: BTreeMap<u16, Partial>,
}

impl Reassembler {
    /// How many messages ahead of `next` are buffered (a whole next flight).
    pub const AHEAD: u16 = 16;

    /// The next message_seq this expects.
    pub fn next_seq(&self) -> u16 {
        self.next
    }

    /// Adds one fragment received in `epoch`.
    pub fn push(&mut self, epoch: u16, f: &Fragment<'_>) -> Pushed {
        if f.seq < self.next {
            return Pushed::Old(f.seq);
        }
        if f.seq - self.next >= Self::AHEAD || f.length > MAX_MESSAGE {
            return Pushed::Dropped;
        }
        let p = self.partial.entry(f.seq).or_insert_with(|| Partial {
            msg_type: f.msg_type,
            epoch,
            body: vec![0; f.length],
            have: vec![false; f.length],
            missing: f.length,
        });
        if p.msg_type != f.msg_type || p.body.len() != f.length || p.epoch != epoch {
            return Pushed::Dropped;
        }
        // decode_all checked offset + len <= length.
        let range = f.offset..f.offset + f.body.len();
        for ((dst, have), src) in p.body[range.clone()]
            .iter_mut()
            .zip(&mut p.have[range])
            .zip(f.body)
        {
            if !*have {
                *have = true;
                *dst = *src;
                p.missing -= 1;
            }
        }
        Pushed::Stored
    }

    /// The next whole message in sequence, if it is complete.
    pub fn pop(&mut self) -> Option<Message> {
        if self.partial.get(&self.next)?.missing != 0 {
            return None;
        }
        let p = self.partial.remove(&self.next)?;
        let seq = self.next;
        self.next = self.next.wrapping_add(1);
        Some(Message {
            msg_type: p.msg_type,
            seq,
            epoch: p.epoch,
            body: p.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> ClientHello {
        ClientHello {
            version: 0xFEFD,
            random: [9; 32],
            session_id: vec![],
            cookie: vec![1, 2, 3],
            suites: vec![0xCCAC, 0x00AE, EMPTY_RENEGOTIATION_INFO_SCSV],
            compression: vec![0],
            extensions: vec![(ext::SUPPORTED_GROUPS, vec![0, 2, 0, 0x1d])],
        }
    }

    #[test]
    fn messages_round_trip() {
        let ch = hello();
        assert_eq!(ClientHello::decode(&ch.encode()), Ok(ch));
        let sh = ServerHello {
            version: 0xFEFD,
            random: [3; 32],
            session_id: vec![5; 32],
            suite: 0xCCAC,
            compression: 0,
            extensions: vec![],
        };
        assert_eq!(ServerHello::decode(&sh.encode()), Ok(sh));
        let hvr = HelloVerifyRequest {
            version: 0xFEFF,
            cookie: vec![7; 20],
        };
        assert_eq!(HelloVerifyRequest::decode(&hvr.encode()), Ok(hvr));
        let ske = ServerKeyExchange {
            hint: b"AUTHPWD_admin".to_vec(),
            public: Some([4; 32]),
        };
        assert_eq!(ServerKeyExchange::decode(&ske.encode(), true), Ok(ske));
        let cke = ClientKeyExchange {
            identity: b"AUTHPWD_admin".to_vec(),
            public: None,
        };
        assert_eq!(ClientKeyExchange::decode(&cke.encode(), false), Ok(cke));
        assert!(ClientKeyExchange::decode(&[0, 1, b'a', 5, 1, 2, 3, 4, 5], true).is_err());
    }

    #[test]
    fn fragments_reassemble_in_any_order_with_overlap_and_duplicates() {
        let body: Vec<u8> = (0..250u8).collect();
        let frags = fragments(msg_type::CLIENT_HELLO, 0, &body, 40);
        assert_eq!(frags.len(), 7);
        // An overlapping piece, as another stack (or a changed MTU) may cut it.
        let mut overlap = Vec::new();
        push_header(&mut overlap, msg_type::CLIENT_HELLO, 250, 0, 30, 60);
        overlap.extend_from_slice(&body[30..90]);
        let mut order: Vec<&Vec<u8>> = frags.iter().rev().collect();
        order.insert(3, &overlap);
        order.push(&frags[2]);
        let mut re = Reassembler::default();
        for (i, f) in order.iter().enumerate() {
            let parsed = Fragment::decode_all(f).unwrap();
            assert_eq!(re.push(0, &parsed[0]), Pushed::Stored);
            if i + 1 < order.len() - 1 {
                assert_eq!(re.pop(), None, "incomplete after {i}");
            }
        }
        let m = re.pop().expect("complete");
        assert_eq!(
            (m.msg_type, m.seq, m.body),
            (msg_type::CLIENT_HELLO, 0, body)
        );
        // Retransmitted pieces are now "old".
        assert_eq!(
            re.push(0, &Fragment::decode_all(&frags[0]).unwrap()[0]),
            Pushed::Old(0)
        );
    }

    #[test]
    fn later_messages_wait_for_earlier_ones_and_far_ones_are_dropped() {
        let mut re = Reassembler::default();
        let m1 = full_message(msg_type::SERVER_HELLO_DONE, 1, &[]);
        let m0 = full_message(msg_type::SERVER_HELLO, 0, &[1, 2]);
        assert_eq!(
            re.push(0, &Fragment::decode_all(&m1).unwrap()[0]),
            Pushed::Stored
        );
        assert_eq!(re.pop(), None);
        assert_eq!(
            re.push(0, &Fragment::decode_all(&m0).unwrap()[0]),
            Pushed::Stored
        );
        assert_eq!(re.pop().map(|m| m.seq), Some(0));
        assert_eq!(re.pop().map(|m| m.seq), Some(1));
        let far = full_message(msg_type::FINISHED, 99, &[0; 12]);
        assert_eq!(
            re.push(1, &Fragment::decode_all(&far).unwrap()[0]),
            Pushed::Dropped
        );
    }

    #[test]
    fn fragments_beyond_their_message_are_malformed() {
        let mut f = Vec::new();
        push_header(&mut f, 1, 10, 0, 8, 4);
        f.extend_from_slice(&[0; 4]);
        assert!(Fragment::decode_all(&f).is_err());
        assert!(Fragment::decode_all(&f[..5]).is_err());
    }
}
