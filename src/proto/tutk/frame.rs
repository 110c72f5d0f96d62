//! AV media packets and frame reassembly (`tutk-iotc-wyze-protocol.md` §9–13,
//! `wyze.md` §1.5).
//!
//! A media packet carries one piece of a frame: a 28- or 36-byte header
//! (frame types `0x08`, `0x09`, `0x0D` have the long one), the piece, and on a
//! frame's last packet a 40-byte FRAMEINFO (marker `0x0028` where the index
//! would be). With `resend = 1` in the AV login the camera wraps packets
//! (first byte `0x0C`, the frame type in byte 1, the short fields shifted)
//! and adds 1080-byte "frame index" packets, which carry no media.
//!
//! [`FrameAssembler`] does better than the clients that exist:
//! * pieces may arrive in any order within a frame (a slot per index);
//! * frames are delivered in frame-number order through a small reorder
//!   window, so a late last packet does not lose a frame;
//! * a frame that is incomplete when the window moves past it, or whose
//!   size disagrees with its FRAMEINFO, is **lost**: the assembler reports
//!   it once ([`AvEvent::VideoLost`]) and then drops every frame until the
//!   next keyframe, so a decoder never sees a frame whose reference is
//!   missing (never a corrupt picture);
//! * everything is bounded: pieces per frame, bytes per frame, frames in
//!   flight.
//!
//! Contract (retina's): after every [`FrameAssembler::push`], call
//! [`FrameAssembler::pull`] until it returns `None`.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;

use crate::proto::codec::WireError;

/// Length of a FRAMEINFO.
pub const FRAMEINFO_LEN: usize = 40;
/// The index value that means "FRAMEINFO at the end" on an end packet.
pub const FRAMEINFO_MARKER: u16 = 0x0028;
/// Most pieces one frame may have (a 2K keyframe is ~200 pieces of ~1 KB).
pub const MAX_PIECES: u16 = 2048;
/// Most bytes one frame may have.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// A frame number this far from the next expected one (ahead, or behind by
/// more than a late retransmission can be) means the camera numbers its
/// frames anew (it restarted its stream) or the packet is garbage: the
/// assembler starts over and waits for a keyframe rather than reject
/// everything as late, or wait for billions of frames. Found by fuzzing: a
/// pending frame 2³¹ numbers away made the window arithmetic loop forever.
pub const RESYNC_DISTANCE: u32 = 256;
/// Frames kept waiting for their missing pieces (the reorder window).
pub const REORDER_FRAMES: u32 = 4;

/// Media channel of a packet (its first byte in the direct format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaChannel {
    /// Audio (always one packet per frame).
    Audio,
    /// Keyframes.
    IVideo,
    /// Predicted frames.
    PVideo,
}

impl MediaChannel {
    /// From the channel byte.
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            0x03 => Some(Self::Audio),
            0x05 => Some(Self::IVideo),
            0x07 => Some(Self::PVideo),
            _ => None,
        }
    }

    /// The channel byte.
    pub fn byte(self) -> u8 {
        match self {
            Self::Audio => 0x03,
            Self::IVideo => 0x05,
            Self::PVideo => 0x07,
        }
    }
}

/// True if an AV message from the camera is media: a channel byte first
/// (`03`/`05`/`07`; no control message starts so), or the resend wrapper
/// `0C` with media version `0B 00` next (an IOCTRL answer is `0C 00 0C 00`).
pub fn is_media(p: &[u8]) -> bool {
    match p.first() {
        Some(0x03 | 0x05 | 0x07) => true,
        Some(0x0C) => p.get(2..4) == Some(&[0x0B, 0x00]),
        _ => false,
    }
}

/// Codec ids of FRAMEINFO (`tutk-iotc-wyze-protocol.md` §11).
pub mod codec {
    /// H.264.
    pub const H264: u16 = 0x4E;
    /// MJPEG.
    pub const MJPEG: u16 = 0x4F;
    /// H.265.
    pub const H265: u16 = 0x50;
    /// G.711 µ-law.
    pub const PCMU: u16 = 0x89;
    /// G.711 A-law.
    pub const PCMA: u16 = 0x8A;
    /// 16-bit little-endian PCM.
    pub const PCM: u16 = 0x8C;
    /// AAC as Wyze sends it.
    pub const AAC_WYZE: u16 = 0x90;

    /// True for the video range `0x4C..=0x50`.
    pub fn is_video(c: u16) -> bool {
        (0x4C..=0x50).contains(&c)
    }

    /// True for the audio range `0x86..=0x92`.
    pub fn is_audio(c: u16) -> bool {
        (0x86..=0x92).contains(&c)
    }
}

/// The 40-byte FRAMEINFO a camera appends to a frame's last packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameInfo {
    /// Codec id (see [`codec`]).
    pub codec: u16,
    /// Video: bit 0 = keyframe. Audio: `(rate index << 2) | (16 bit << 1) | stereo`.
    pub flags: u8,
    /// Frames per second the camera streams at.
    pub fps: u8,
    /// Frame-size code (0 1080p, 1 360p, 2 720p, 3 2K).
    pub frame_size: u8,
    /// Bitrate setting.
    pub bitrate: u8,
    /// Microseconds within the second.
    pub timestamp_us: u32,
    /// Unix seconds.
    pub timestamp_s: u32,
    /// Bytes of the frame's media (for the size check).
    pub payload_size: u32,
    /// The camera's absolute frame counter.
    pub frame_no: u32,
}

impl FrameInfo {
    /// Decodes 40 bytes; a codec outside the video and audio ranges is refused.
    pub fn decode(p: &[u8]) -> Result<Self, WireError> {
        let b: &[u8; FRAMEINFO_LEN] = p
            .get(..FRAMEINFO_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(WireError::Truncated {
                need: FRAMEINFO_LEN,
                got: p.len(),
            })?;
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let info = Self {
            codec: u16::from_le_bytes([b[0], b[1]]),
            flags: b[2],
            fps: b[5],
            frame_size: b[6],
            bitrate: b[7],
            timestamp_us: u32_at(8),
            timestamp_s: u32_at(12),
            payload_size: u32_at(16),
            frame_no: u32_at(20),
        };
        if !codec::is_video(info.codec) && !codec::is_audio(info.codec) {
            return Err(WireError::Invalid {
                field: "FRAMEINFO codec",
                reason: format!("0x{:02x} is neither video nor audio", info.codec),
            });
        }
        Ok(info)
    }

    /// Encodes 40 bytes (for the simulator); `device` is written at 24..40.
    pub fn encode(&self, device: &[u8]) -> [u8; FRAMEINFO_LEN] {
        let mut b = [0u8; FRAMEINFO_LEN];
        b[0..2].copy_from_slice(&self.codec.to_le_bytes());
        b[2] = self.flags;
        b[4] = 1;
        b[5] = self.fps;
        b[6] = self.frame_size;
        b[7] = self.bitrate;
        b[8..12].copy_from_slice(&self.timestamp_us.to_le_bytes());
        b[12..16].copy_from_slice(&self.timestamp_s.to_le_bytes());
        b[16..20].copy_from_slice(&self.payload_size.to_le_bytes());
        b[20..24].copy_from_slice(&self.frame_no.to_le_bytes());
        let n = device.len().min(16);
        b[24..24 + n].copy_from_slice(&device[..n]);
        b
    }

    /// The camera's timestamp (seconds and microseconds, the latter capped below a second).
    pub fn timestamp(&self) -> Duration {
        Duration::from_secs(u64::from(self.timestamp_s))
            + Duration::from_micros(u64::from(self.timestamp_us.min(999_999)))
    }

    /// True on a video keyframe.
    pub fn keyframe(&self) -> bool {
        self.flags & 1 == 1
    }

    /// An audio frame's sample rate (from the rate index in the flags).
    pub fn sample_rate(&self) -> u32 {
        const RATES: [u32; 9] = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
        RATES
            .get(usize::from(self.flags >> 2))
            .copied()
            .unwrap_or(8000)
    }
}

/// One media packet, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece<'a> {
    /// Which channel.
    pub channel: MediaChannel,
    /// The frame type byte.
    pub frame_type: u8,
    /// The frame this piece belongs to.
    pub frame_no: u32,
    /// Pieces in the frame.
    pub total: u16,
    /// This piece's index.
    pub index: u16,
    /// The media bytes of this piece (without FRAMEINFO).
    pub data: &'a [u8],
    /// The FRAMEINFO, on the frame's last piece.
    pub info: Option<FrameInfo>,
}

/// Where a header's fields sit.
struct Layout {
    header: usize,
    channel: usize,
    total: usize,
    frame_no: usize,
}

const SHORT: Layout = Layout {
    header: 28,
    channel: 0,
    total: 12,
    frame_no: 24,
};
const LONG: Layout = Layout {
    header: 36,
    channel: 0,
    total: 20,
    frame_no: 32,
};
const WRAPPED: Layout = Layout {
    header: 36,
    channel: 16,
    total: 20,
    frame_no: 32,
};
const WRAPPED_LONG: Layout = Layout {
    header: 44,
    channel: 24,
    total: 28,
    frame_no: 40,
};

fn u16_at(p: &[u8], i: usize) -> Result<u16, WireError> {
    p.get(i..i + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .ok_or(WireError::Truncated {
            need: i + 2,
            got: p.len(),
        })
}

fn u32_at(p: &[u8], i: usize) -> Result<u32, WireError> {
    p.get(i..i + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(WireError::Truncated {
            need: i + 4,
            got: p.len(),
        })
}

impl<'a> Piece<'a> {
    /// Parses a media packet. `Ok(None)` for a resend-mode frame-index packet
    /// (no media in it).
    pub fn decode(p: &'a [u8]) -> Result<Option<Self>, WireError> {
        let first = *p.first().ok_or(WireError::Truncated { need: 1, got: 0 })?;
        let frame_type = *p.get(1).ok_or(WireError::Truncated { need: 2, got: 1 })?;
        let layout = if first == 0x0C {
            if p.get(16) == Some(&0x0C) {
                return Ok(None); // frame index / resend buffer status
            }
            if frame_type < 0x08 {
                &WRAPPED
            } else {
                &WRAPPED_LONG
            }
        } else if matches!(frame_type, 0x08 | 0x09 | 0x0D) {
            &LONG
        } else {
            &SHORT
        };
        let ch = *p.get(layout.channel).ok_or(WireError::Truncated {
            need: layout.channel + 1,
            got: p.len(),
        })?;
        let channel = MediaChannel::from_byte(ch).ok_or(WireError::Invalid {
            field: "media channel",
            reason: format!("0x{ch:02x}"),
        })?;
        let total = u16_at(p, layout.total)?;
        let index_or_marker = u16_at(p, layout.total + 2)?;
        let size = usize::from(u16_at(p, layout.total + 4)?);
        let frame_no = u32_at(p, layout.frame_no)?;
        let payload = p
            .get(layout.header..layout.header + size)
            .ok_or(WireError::Truncated {
                need: layout.header + size,
                got: p.len(),
            })?;
        if total == 0 || total > MAX_PIECES {
            return Err(WireError::Invalid {
                field: "pkt_total",
                reason: format!("{total}"),
            });
        }
        let end = matches!(frame_type, 0x01 | 0x05 | 0x0D) || total == 1;
        let (index, data, info) = if end && index_or_marker == FRAMEINFO_MARKER {
            let split = payload
                .len()
                .checked_sub(FRAMEINFO_LEN)
                .ok_or(WireError::Truncated {
                    need: FRAMEINFO_LEN,
                    got: payload.len(),
                })?;
            let info = FrameInfo::decode(&payload[split..])?;
            (total - 1, &payload[..split], Some(info))
        } else {
            (index_or_marker, payload, None)
        };
        if index >= total {
            return Err(WireError::Invalid {
                field: "pkt_idx",
                reason: format!("{index} of {total}"),
            });
        }
        Ok(Some(Self {
            channel,
            frame_type,
            frame_no,
            total,
            index,
            data,
            info,
        }))
    }

    /// Encodes a piece in the direct format (the simulator's side). The
    /// first piece of a multi-piece frame gets the long header (type `0x08`),
    /// the last one type `0x05` (or `0x01` when it is the only piece).
    pub fn encode(&self, tx_seq: u16) -> Vec<u8> {
        let last = self.index + 1 == self.total;
        let frame_type = if self.total == 1 {
            0x01
        } else if last {
            0x05
        } else if self.index == 0 {
            0x08
        } else {
            0x00
        };
        let layout = if frame_type == 0x08 { &LONG } else { &SHORT };
        let info = self.info.filter(|_| last).map(|i| i.encode(b""));
        let size = self.data.len() + info.map_or(0, |_| FRAMEINFO_LEN);
        let mut p = vec![0u8; layout.header];
        p[0] = self.channel.byte();
        p[1] = frame_type;
        p[2..4].copy_from_slice(&0x000Bu16.to_le_bytes());
        p[4..6].copy_from_slice(&tx_seq.to_le_bytes());
        p[6..8].copy_from_slice(&0x507Eu16.to_le_bytes());
        let ch = if layout.header == 36 { 16 } else { 8 };
        p[ch] = self.channel.byte();
        let t = layout.total;
        p[t..t + 2].copy_from_slice(&self.total.to_le_bytes());
        let idx = if info.is_some() {
            FRAMEINFO_MARKER
        } else {
            self.index
        };
        p[t + 2..t + 4].copy_from_slice(&idx.to_le_bytes());
        let size16 = u16::try_from(size).expect("a piece fits a datagram");
        p[t + 4..t + 6].copy_from_slice(&size16.to_le_bytes());
        let f = layout.frame_no;
        p[f - 4..f].copy_from_slice(&self.frame_no.wrapping_sub(1).to_le_bytes());
        p[f..f + 4].copy_from_slice(&self.frame_no.to_le_bytes());
        p.extend_from_slice(self.data);
        if let Some(info) = info {
            p.extend_from_slice(&info);
        }
        p
    }
}

/// What the assembler hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvEvent {
    /// A complete video frame (in frame order, never after a gap unless a keyframe).
    Video {
        /// Codec id.
        codec: u16,
        /// Keyframe flag (from FRAMEINFO).
        keyframe: bool,
        /// The camera's frame number.
        frame_no: u32,
        /// The frame's FRAMEINFO.
        info: FrameInfo,
        /// The media bytes.
        data: Bytes,
    },
    /// A complete audio frame.
    Audio {
        /// The frame's FRAMEINFO (codec, sample rate).
        info: FrameInfo,
        /// The bytes.
        data: Bytes,
    },
    /// Video frames were lost; frames are dropped until the next keyframe.
    VideoLost {
        /// How many frames were skipped.
        frames: u32,
    },
}

#[derive(Debug, Default)]
struct Partial {
    total: u16,
    pieces: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
    info: Option<FrameInfo>,
}

impl Partial {
    fn complete(&self) -> bool {
        self.info.is_some() && self.pieces.len() == usize::from(self.total)
    }
}

/// Counters of the assembler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblerStats {
    /// Video frames delivered.
    pub frames: u64,
    /// Video frames lost or dropped while waiting for a keyframe.
    pub dropped: u64,
    /// Pieces that were duplicates, late or inconsistent.
    pub pieces_rejected: u64,
}

/// Reassembles video and audio frames from media packets (see the module docs).
#[derive(Debug, Default)]
pub struct FrameAssembler {
    /// Incomplete and waiting video frames, by frame number.
    pending: BTreeMap<u32, Partial>,
    /// The next frame number to deliver (`None` before the first frame).
    next: Option<u32>,
    /// After a loss (and at the start), frames are dropped until a keyframe.
    need_keyframe: bool,
    /// Ready events.
    out: VecDeque<AvEvent>,
    stats: AssemblerStats,
}

impl FrameAssembler {
    /// A new assembler, waiting for the first keyframe.
    pub fn new() -> Self {
        Self {
            need_keyframe: true,
            ..Self::default()
        }
    }

    /// Counters.
    pub fn stats(&self) -> AssemblerStats {
        self.stats
    }

    /// True while frames are dropped until the next keyframe.
    pub fn waiting_for_keyframe(&self) -> bool {
        self.need_keyframe
    }

    /// Feeds one media packet.
    pub fn push(&mut self, packet: &[u8]) -> Result<(), WireError> {
        let Some(piece) = Piece::decode(packet)? else {
            return Ok(());
        };
        if piece.channel == MediaChannel::Audio {
            if let (Some(info), true) = (piece.info, piece.total == 1) {
                self.out.push_back(AvEvent::Audio {
                    info,
                    data: Bytes::copy_from_slice(piece.data),
                });
            }
            return Ok(());
        }
        if let Some(next) = self.next {
            let ahead = piece.frame_no.wrapping_sub(next);
            let behind = next.wrapping_sub(piece.frame_no);
            if ahead >= RESYNC_DISTANCE && behind > RESYNC_DISTANCE {
                self.resync();
            } else if before(piece.frame_no, next) {
                // Already delivered or given up: a late or duplicate piece.
                self.stats.pieces_rejected += 1;
                return Ok(());
            }
        }
        let entry = self.pending.entry(piece.frame_no).or_default();
        if entry.total == 0 {
            entry.total = piece.total;
        }
        if entry.total != piece.total
            || entry.pieces.contains_key(&piece.index)
            || entry.bytes + piece.data.len() > MAX_FRAME_BYTES
        {
            self.stats.pieces_rejected += 1;
            return Ok(());
        }
        entry.bytes += piece.data.len();
        entry.pieces.insert(piece.index, piece.data.to_vec());
        if piece.info.is_some() {
            entry.info = piece.info;
        }
        self.advance();
        Ok(())
    }

    /// Next event; call until `None` after every `push`.
    pub fn pull(&mut self) -> Option<AvEvent> {
        self.out.pop_front()
    }

    /// Starts over: the frames in flight are lost, the next frame number is
    /// taken from the next piece, and frames are dropped until a keyframe.
    fn resync(&mut self) {
        let lost = u32::try_from(self.pending.len()).unwrap_or(u32::MAX).max(1);
        self.pending.clear();
        self.next = None;
        self.lose(lost);
    }

    /// Delivers what is in order and gives up on frames the window has passed.
    ///
    /// Every pending frame number is within [`RESYNC_DISTANCE`] ahead of
    /// `next` (`push` sees to it), so "newest" and "first" are by distance
    /// from `next`, which is what serial-number order means here.
    fn advance(&mut self) {
        loop {
            let Some(next) = self.next.or_else(|| self.pending.keys().next().copied()) else {
                return;
            };
            self.next = Some(next);
            let dist = |k: u32| k.wrapping_sub(next);
            let Some(newest) = self.pending.keys().copied().max_by_key(|&k| dist(k)) else {
                return;
            };
            let ready = self.pending.get(&next).is_some_and(Partial::complete);
            if ready {
                let p = self.pending.remove(&next).expect("checked above");
                self.next = Some(next.wrapping_add(1));
                self.deliver(next, p);
                continue;
            }
            // Give up on `next` once a newer frame is complete and the window
            // is exhausted, or the buffer holds too many frames.
            let newer_complete = self.pending.iter().any(|(&k, p)| k != next && p.complete());
            if newer_complete && newest.wrapping_sub(next) >= REORDER_FRAMES
                || self.pending.len() > REORDER_FRAMES as usize * 2
            {
                let resume = self
                    .pending
                    .iter()
                    .filter(|(&k, p)| k != next && p.complete())
                    .map(|(&k, _)| k)
                    .min_by_key(|&k| dist(k))
                    .unwrap_or(newest);
                let skipped = dist(resume);
                if skipped == 0 {
                    // Only `next` itself is pending and it cannot complete
                    // within the bound: give it up too.
                    self.pending.remove(&next);
                    self.next = Some(next.wrapping_add(1));
                    self.lose(1);
                    continue;
                }
                self.pending.retain(|&k, _| dist(k) >= skipped);
                self.next = Some(resume);
                self.lose(skipped);
                continue;
            }
            return;
        }
    }

    fn lose(&mut self, frames: u32) {
        self.stats.dropped += u64::from(frames);
        if !self.need_keyframe {
            self.out.push_back(AvEvent::VideoLost { frames });
        }
        self.need_keyframe = true;
    }

    fn deliver(&mut self, frame_no: u32, p: Partial) {
        let info = p.info.expect("complete frames have a FRAMEINFO");
        let data: Vec<u8> = p.pieces.into_values().flatten().collect();
        if data.len() != info.payload_size as usize {
            // The camera's own size disagrees: the frame is corrupt.
            self.lose(1);
            return;
        }
        if self.need_keyframe && !info.keyframe() {
            self.stats.dropped += 1;
            return;
        }
        self.need_keyframe = false;
        self.stats.frames += 1;
        self.out.push_back(AvEvent::Video {
            codec: info.codec,
            keyframe: info.keyframe(),
            frame_no,
            info,
            data: Bytes::from(data),
        });
    }
}

/// Serial-number order on frame numbers: `a` comes before `b`.
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[cfg(test)]
mod tests;
