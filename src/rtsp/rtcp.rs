//! RTCP sender reports (RFC 3550 §6.4.1), sent for every track a few
//! seconds apart: they tie each track's RTP clock to wall-clock time, which
//! is how a client lines the audio up with the video. Sent as a compound
//! packet (SR then SDES with a CNAME, §6.1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds from 1900 (NTP's epoch) to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// How often a track's sender report goes out.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// The 64-bit NTP timestamp of `t`.
pub fn ntp(t: SystemTime) -> u64 {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    let frac = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// What one sender report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport {
    /// The track's SSRC.
    pub ssrc: u32,
    /// Wall-clock time of the report.
    pub ntp: u64,
    /// The same instant on the track's RTP clock.
    pub rtp_timestamp: u32,
    /// Packets sent so far.
    pub packets: u32,
    /// Payload octets sent so far.
    pub octets: u32,
}

impl SenderReport {
    /// The compound packet: SR (no report blocks) and SDES with `cname`.
    pub fn to_bytes(&self, cname: &str) -> Vec<u8> {
        let mut p = Vec::with_capacity(28 + 12 + cname.len());
        // SR: V=2, P=0, RC=0, PT=200, length 6 (28 bytes / 4 - 1).
        p.extend_from_slice(&[0x80, 200, 0, 6]);
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        p.extend_from_slice(&self.ntp.to_be_bytes());
        p.extend_from_slice(&self.rtp_timestamp.to_be_bytes());
        p.extend_from_slice(&self.packets.to_be_bytes());
        p.extend_from_slice(&self.octets.to_be_bytes());
        // SDES: one chunk, CNAME item, END, padded to 32 bits.
        let name = &cname.as_bytes()[..cname.len().min(255)];
        let mut chunk = Vec::with_capacity(8 + name.len());
        chunk.extend_from_slice(&self.ssrc.to_be_bytes());
        chunk.push(1); // CNAME
        chunk.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        chunk.extend_from_slice(name);
        chunk.push(0); // END
        while chunk.len() % 4 != 0 {
            chunk.push(0);
        }
        let words = u16::try_from(chunk.len() / 4).unwrap_or(u16::MAX);
        p.extend_from_slice(&[0x81, 202]);
        p.extend_from_slice(&words.to_be_bytes());
        p.extend_from_slice(&chunk);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_of_a_known_instant() {
        // 2000-01-01T00:00:00.5Z is 946684800.5 s after 1970: NTP seconds
        // 946684800 + 2208988800 = 3155673600 (0xBC17C200), half a second
        // of fraction 0x80000000.
        let t = UNIX_EPOCH + Duration::from_millis(946_684_800_500);
        assert_eq!(ntp(t), 0xBC17_C200_8000_0000);
    }

    #[test]
    fn a_sender_report_with_its_cname_byte_by_byte() {
        let sr = SenderReport {
            ssrc: 0x0102_0304,
            ntp: 0x1122_3344_5566_7788,
            rtp_timestamp: 0xAABB_CCDD,
            packets: 10,
            octets: 1000,
        };
        let b = sr.to_bytes("cam");
        #[rustfmt::skip]
        let expected = [
            0x80, 200, 0, 6, 1, 2, 3, 4,
            0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
            0xAA, 0xBB, 0xCC, 0xDD, 0, 0, 0, 10, 0, 0, 0x03, 0xE8,
            // SDES: 1 chunk, 3 words: SSRC, CNAME "cam", END, pad.
            0x81, 202, 0, 3, 1, 2, 3, 4, 1, 3, b'c', b'a', b'm', 0, 0, 0,
        ];
        assert_eq!(b, expected);
    }
}
