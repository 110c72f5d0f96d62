//! The DTLS 1.2 record layer's pure parts (RFC 6347 §4.1): the 13-byte header
//! codec, splitting a datagram into records, and the 64-record anti-replay
//! window (§4.1.2.6).
//!
//! Protection itself is in [`super::suites`]; which epoch's keys apply and what
//! to do with a record is the endpoint's business. Nothing here panics on
//! peer bytes: every read goes through [`Reader`].

use crate::proto::codec::{Reader, WireError};

/// Length of a record header.
pub const HEADER_LEN: usize = 13;
/// DTLS 1.2 on the wire.
pub const DTLS12: u16 = 0xFEFD;
/// DTLS 1.0 (OpenSSL may put it on a first ClientHello or a HelloVerifyRequest).
pub const DTLS10: u16 = 0xFEFF;
/// Largest 48-bit sequence number.
pub const MAX_SEQ: u64 = (1 << 48) - 1;

/// Record content types (RFC 5246 §6.2.1).
pub mod content {
    /// change_cipher_spec
    pub const CCS: u8 = 20;
    /// alert
    pub const ALERT: u8 = 21;
    /// handshake
    pub const HANDSHAKE: u8 = 22;
    /// application_data
    pub const APPLICATION_DATA: u8 = 23;
}

/// One record as it sits in a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Content type.
    pub content_type: u8,
    /// Version field.
    pub version: u16,
    /// Epoch.
    pub epoch: u16,
    /// 48-bit sequence number.
    pub seq: u64,
    /// The (possibly protected) fragment.
    pub fragment: &'a [u8],
}

impl<'a> Record<'a> {
    /// Reads one record from `r`.
    pub fn decode(r: &mut Reader<'a>) -> Result<Self, WireError> {
        let content_type = r.u8()?;
        if !(content::CCS..=content::APPLICATION_DATA).contains(&content_type) {
            return Err(WireError::UnknownType(content_type.into()));
        }
        let version = r.u16_be()?;
        if version != DTLS12 && version != DTLS10 {
            return Err(WireError::BadMagic {
                expected: "fefd",
                got: format!("{version:04x}"),
            });
        }
        let epoch = r.u16_be()?;
        let hi = u64::from(r.u16_be()?);
        let lo = u64::from(r.u32_be()?);
        let len = usize::from(r.u16_be()?);
        let fragment = r.take(len)?;
        Ok(Self {
            content_type,
            version,
            epoch,
            seq: (hi << 32) | lo,
            fragment,
        })
    }

    /// Every record of a datagram, in order, stopping at the first malformed
    /// one (whatever follows it cannot be framed).
    pub fn split(datagram: &'a [u8]) -> (Vec<Record<'a>>, Option<WireError>) {
        let mut r = Reader::new(datagram);
        let mut out = Vec::new();
        while r.remaining() > 0 {
            match Self::decode(&mut r) {
                Ok(rec) => out.push(rec),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }
}

/// Appends a record header plus `fragment` to `out`.
pub fn encode(out: &mut Vec<u8>, content_type: u8, epoch: u16, seq: u64, fragment: &[u8]) {
    out.push(content_type);
    out.extend_from_slice(&DTLS12.to_be_bytes());
    out.extend_from_slice(&epoch.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes()[2..]);
    // Our fragments are bounded by the MTU.
    out.extend_from_slice(
        &u16::try_from(fragment.len())
            .unwrap_or(u16::MAX)
            .to_be_bytes(),
    );
    out.extend_from_slice(fragment);
}

/// The sliding anti-replay window for one epoch: the highest sequence number
/// accepted and a bitmap of the 64 below it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayWindow {
    /// Highest accepted sequence number, `None` before the first record.
    top: Option<u64>,
    /// Bit `i` set: `top - i` was accepted (bit 0 is `top` itself).
    bits: u64,
}

impl ReplayWindow {
    /// Width of the window.
    pub const WIDTH: u64 = 64;

    /// Whether `seq` is new and inside the window (check before authenticating).
    pub fn is_fresh(&self, seq: u64) -> bool {
        match self.top {
            None => true,
            Some(top) if seq > top => true,
            Some(top) => {
                let back = top - seq;
                back < Self::WIDTH && self.bits & (1 << back) == 0
            }
        }
    }

    /// Records `seq` as seen (call only after the record authenticated).
    pub fn mark(&mut self, seq: u64) {
        match self.top {
            None => {
                self.top = Some(seq);
                self.bits = 1;
            }
            Some(top) if seq > top => {
                let shift = seq - top;
                self.bits = if shift >= Self::WIDTH {
                    0
                } else {
                    self.bits << shift
                };
                self.bits |= 1;
                self.top = Some(seq);
            }
            Some(top) => {
                let back = top - seq;
                if back < Self::WIDTH {
                    self.bits |= 1 << back;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_several_records_split() {
        let mut d = Vec::new();
        encode(&mut d, content::HANDSHAKE, 0, 7, b"abc");
        encode(&mut d, content::APPLICATION_DATA, 1, MAX_SEQ, b"");
        let (recs, err) = Record::split(&d);
        assert_eq!(err, None);
        assert_eq!(recs.len(), 2);
        assert_eq!(
            (
                recs[0].content_type,
                recs[0].epoch,
                recs[0].seq,
                recs[0].fragment
            ),
            (22, 0, 7, &b"abc"[..])
        );
        assert_eq!(
            (recs[1].epoch, recs[1].seq, recs[1].fragment.len()),
            (1, MAX_SEQ, 0)
        );
    }

    #[test]
    fn rejects_short_foreign_or_overlong_records() {
        let mut d = Vec::new();
        encode(&mut d, content::HANDSHAKE, 0, 1, b"abcd");
        let (recs, err) = Record::split(&d[..d.len() - 1]);
        assert!(recs.is_empty() && matches!(err, Some(WireError::Truncated { .. })));
        let mut bad = d.clone();
        bad[0] = 99;
        assert_eq!(Record::split(&bad).1, Some(WireError::UnknownType(99)));
        bad = d.clone();
        bad[1] = 0x03;
        assert!(matches!(
            Record::split(&bad).1,
            Some(WireError::BadMagic { .. })
        ));
        // A good record followed by garbage keeps the good one.
        let mut two = d.clone();
        two.extend_from_slice(&[22, 0xfe]);
        let (recs, err) = Record::split(&two);
        assert_eq!(recs.len(), 1);
        assert!(err.is_some());
    }

    #[test]
    fn replay_window_accepts_each_seq_once_and_forgets_beyond_64() {
        let mut w = ReplayWindow::default();
        for s in [5u64, 3, 4, 10, 6] {
            assert!(w.is_fresh(s), "{s} is new");
            w.mark(s);
            assert!(!w.is_fresh(s), "{s} is a replay");
        }
        assert!(w.is_fresh(9) && w.is_fresh(0));
        w.mark(100);
        assert!(!w.is_fresh(36), "100 - 64 is outside the window");
        assert!(w.is_fresh(37));
        assert!(!w.is_fresh(10));
        w.mark(100 + 1000);
        assert!(!w.is_fresh(100) && w.is_fresh(1099));
    }
}
