//! RTP packetisers, written here because the job is the protocol:
//! the fixed header (RFC 3550 §5.1), H.264 (RFC 6184: single NAL unit
//! packets and FU-A), H.265 (RFC 7798: single NAL unit packets and FUs) and
//! audio carried as is (G.711 μ-law/A-law, RFC 3551; L16). An access unit
//! arrives as Annex-B bytes (start codes), as the sessions deliver it; each
//! packet comes out whole (header + payload), the last one of an access unit
//! with the marker bit.
//!
//! Also the SDP parameters a client needs before the first keyframe:
//! H.264 `sprop-parameter-sets` and `profile-level-id`, H.265
//! `sprop-vps`/`sprop-sps`/`sprop-pps`.

use data_encoding::BASE64;

/// RTP version 2.
const VERSION: u8 = 2;
/// Fixed header length (no CSRC, no extension).
pub const HEADER_LEN: usize = 12;
/// Payload bytes per packet by default: 1400 keeps an RTP/UDP/IP packet
/// under a 1500-byte Ethernet MTU, also through a VPN or PPPoE.
pub const DEFAULT_PAYLOAD: usize = 1400;

/// One RTP stream's numbering: payload type, SSRC and the next sequence
/// number (random start, RFC 3550 §5.1).
#[derive(Debug, Clone)]
pub struct RtpStream {
    /// Payload type (96+ dynamic, 0 PCMU, 8 PCMA, 26 JPEG).
    pub payload_type: u8,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Next sequence number.
    pub seq: u16,
    /// Largest payload per packet.
    pub max_payload: usize,
}

impl RtpStream {
    /// A stream; `seq` should start random.
    pub fn new(payload_type: u8, ssrc: u32, seq: u16) -> Self {
        Self {
            payload_type,
            ssrc,
            seq,
            max_payload: DEFAULT_PAYLOAD,
        }
    }

    /// One packet: header then `parts` (concatenated), and the sequence
    /// number advances.
    fn packet(&mut self, timestamp: u32, marker: bool, parts: &[&[u8]]) -> Vec<u8> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut p = Vec::with_capacity(HEADER_LEN + len);
        p.push(VERSION << 6);
        p.push((u8::from(marker) << 7) | (self.payload_type & 0x7F));
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&timestamp.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        for part in parts {
            p.extend_from_slice(part);
        }
        self.seq = self.seq.wrapping_add(1);
        p
    }

    /// One packet from parts (for the payload formats in sibling modules).
    pub(crate) fn packet_parts(
        &mut self,
        timestamp: u32,
        marker: bool,
        parts: &[&[u8]],
    ) -> Vec<u8> {
        self.packet(timestamp, marker, parts)
    }

    /// Audio (G.711, L16): one packet per chunk, marker clear.
    pub fn audio(&mut self, timestamp: u32, payload: &[u8]) -> Vec<Vec<u8>> {
        payload
            .chunks(self.max_payload.max(1))
            .scan(timestamp, |ts, chunk| {
                let p = self.packet(*ts, false, &[chunk]);
                // G.711: one byte per sample; the next chunk starts later.
                *ts = ts.wrapping_add(u32::try_from(chunk.len()).unwrap_or(0));
                Some(p)
            })
            .collect()
    }

    /// An H.264 access unit (Annex-B) as RTP packets (RFC 6184,
    /// packetization-mode 1: single NAL unit packets and FU-A).
    pub fn h264(&mut self, timestamp: u32, access_unit: &[u8]) -> Vec<Vec<u8>> {
        let nals: Vec<&[u8]> = nal_units(access_unit).collect();
        let mut out = Vec::new();
        let room = self.max_payload.max(3);
        for (i, nal) in nals.iter().enumerate() {
            let last = i + 1 == nals.len();
            if nal.len() <= room {
                out.push(self.packet(timestamp, last, &[nal]));
                continue;
            }
            let header = nal[0];
            let indicator = (header & 0xE0) | 28;
            let kind = header & 0x1F;
            let body = &nal[1..];
            let chunks: Vec<&[u8]> = body.chunks(room - 2).collect();
            for (k, chunk) in chunks.iter().enumerate() {
                let start = if k == 0 { 0x80 } else { 0 };
                let end = if k + 1 == chunks.len() { 0x40 } else { 0 };
                let fu = [indicator, start | end | kind];
                out.push(self.packet(timestamp, last && end != 0, &[&fu, chunk]));
            }
        }
        out
    }

    /// An H.265 access unit (Annex-B) as RTP packets (RFC 7798: single NAL
    /// unit packets and fragmentation units, type 49).
    pub fn h265(&mut self, timestamp: u32, access_unit: &[u8]) -> Vec<Vec<u8>> {
        let nals: Vec<&[u8]> = nal_units(access_unit).filter(|n| n.len() >= 2).collect();
        let mut out = Vec::new();
        let room = self.max_payload.max(4);
        for (i, nal) in nals.iter().enumerate() {
            let last = i + 1 == nals.len();
            if nal.len() <= room {
                out.push(self.packet(timestamp, last, &[nal]));
                continue;
            }
            let kind = (nal[0] >> 1) & 0x3F;
            // PayloadHdr: the NAL header with the type replaced by 49.
            let payload_hdr = [(nal[0] & 0x81) | (49 << 1), nal[1]];
            let body = &nal[2..];
            let chunks: Vec<&[u8]> = body.chunks(room - 3).collect();
            for (k, chunk) in chunks.iter().enumerate() {
                let start = if k == 0 { 0x80 } else { 0 };
                let end = if k + 1 == chunks.len() { 0x40 } else { 0 };
                let fu = [payload_hdr[0], payload_hdr[1], start | end | kind];
                out.push(self.packet(timestamp, last && end != 0, &[&fu, chunk]));
            }
        }
        out
    }
}

/// One ADTS header's fields (ISO/IEC 13818-7 §6.2): what the SDP needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adts {
    /// Audio object type (the ADTS profile + 1; 2 = AAC LC).
    pub object_type: u8,
    /// Sampling frequency index.
    pub frequency_index: u8,
    /// Channel configuration.
    pub channels: u8,
}

/// Sampling rates by ADTS frequency index.
const AAC_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

impl Adts {
    /// The sampling rate (`None`: a reserved index).
    pub fn sample_rate(&self) -> Option<u32> {
        AAC_RATES.get(usize::from(self.frequency_index)).copied()
    }

    /// The AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) as the SDP's
    /// `config=` hex: object type (5 bits), frequency index (4), channels
    /// (4), then three zero bits.
    pub fn config(&self) -> u16 {
        (u16::from(self.object_type & 0x1F) << 11)
            | (u16::from(self.frequency_index & 0x0F) << 7)
            | (u16::from(self.channels & 0x0F) << 3)
    }
}

/// The AAC frames of ADTS bytes (a camera packet may hold several), each
/// without its header; stops at the first thing that is not a whole ADTS
/// frame.
pub fn adts_frames(mut data: &[u8]) -> Vec<(Adts, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 7 && data[0] == 0xFF && data[1] & 0xF6 == 0xF0 {
        let protection_absent = data[1] & 1 == 1;
        let header = if protection_absent { 7 } else { 9 };
        let len = (usize::from(data[3] & 0x03) << 11)
            | (usize::from(data[4]) << 3)
            | usize::from(data[5] >> 5);
        if len < header || len > data.len() {
            break;
        }
        let adts = Adts {
            object_type: (data[2] >> 6) + 1,
            frequency_index: (data[2] >> 2) & 0x0F,
            channels: ((data[2] & 1) << 2) | (data[3] >> 6),
        };
        out.push((adts, &data[header..len]));
        data = &data[len..];
    }
    out
}

impl RtpStream {
    /// One AAC frame (no ADTS header) as an RFC 3640 AAC-hbr packet: a
    /// 16-bit AU-headers-length (16 bits of headers), one AU header (13-bit
    /// size, 3-bit index 0), the frame; marker set (the frame is whole).
    /// `None` if the frame is too big for one packet.
    pub fn aac(&mut self, timestamp: u32, frame: &[u8]) -> Option<Vec<u8>> {
        let size = u16::try_from(frame.len()).ok().filter(|s| *s < 1 << 13)?;
        if frame.len() + 4 > self.max_payload {
            return None;
        }
        let headers = [0, 16, (size >> 5) as u8, ((size & 0x1F) << 3) as u8];
        Some(self.packet(timestamp, true, &[&headers, frame]))
    }
}

/// The payload type and payload of an RTP packet from a client (header,
/// CSRCs, extension and padding skipped); `None` if it is not RTP version 2
/// or is cut short.
pub fn payload(packet: &[u8]) -> Option<(u8, &[u8])> {
    let first = *packet.first()?;
    if first >> 6 != VERSION {
        return None;
    }
    let csrcs = usize::from(first & 0x0F);
    let mut start = HEADER_LEN + 4 * csrcs;
    if first & 0x10 != 0 {
        let ext = packet.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let mut end = packet.len();
    if first & 0x20 != 0 {
        end = end.checked_sub(usize::from(*packet.last()?))?;
    }
    let pt = packet.get(1)? & 0x7F;
    Some((pt, packet.get(start..end)?))
}

/// The NAL units of Annex-B bytes (split at `00 00 01` / `00 00 00 01`;
/// empty units skipped, trailing zero bytes of a unit dropped).
pub fn nal_units(annexb: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annexb.len() {
        if annexb[i] == 0 && annexb[i + 1] == 0 && annexb[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| s - 3)
        .chain(std::iter::once(annexb.len()))
        .collect();
    starts.into_iter().zip(ends).filter_map(move |(s, e)| {
        let mut unit = annexb.get(s..e)?;
        while let [rest @ .., 0] = unit {
            unit = rest;
        }
        (!unit.is_empty()).then_some(unit)
    })
}

/// The H.264 SDP `fmtp` parameters from an access unit holding SPS and PPS
/// (a keyframe): `packetization-mode=1;profile-level-id=…;sprop-parameter-sets=…`.
pub fn h264_fmtp(keyframe: &[u8]) -> Option<String> {
    let sps = nal_units(keyframe).find(|n| n[0] & 0x1F == 7)?;
    let pps = nal_units(keyframe).find(|n| n[0] & 0x1F == 8)?;
    let profile = sps.get(1..4)?;
    Some(format!(
        "packetization-mode=1;profile-level-id={:02X}{:02X}{:02X};sprop-parameter-sets={},{}",
        profile[0],
        profile[1],
        profile[2],
        BASE64.encode(sps),
        BASE64.encode(pps)
    ))
}

/// The H.265 SDP `fmtp` parameters from a keyframe holding VPS, SPS and PPS.
pub fn h265_fmtp(keyframe: &[u8]) -> Option<String> {
    let find = |t: u8| nal_units(keyframe).find(|n| (n[0] >> 1) & 0x3F == t);
    let (vps, sps, pps) = (find(32)?, find(33)?, find(34)?);
    Some(format!(
        "sprop-vps={};sprop-sps={};sprop-pps={}",
        BASE64.encode(vps),
        BASE64.encode(sps),
        BASE64.encode(pps)
    ))
}

#[cfg(test)]
mod tests;
