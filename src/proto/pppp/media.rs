//! MJPEG reassembly from the PPPP video channel (`pppp.md` §3.4).
//!
//! The reliable layer hands [`MjpegAssembler`] the DRW channel-1 payloads in
//! index order, one at a time ([`MjpegAssembler::push`]), and says when it had
//! to skip indices ([`MjpegAssembler::gap`]). Contract (as for the demo
//! assembler): after each `push` or `gap` the caller calls
//! [`MjpegAssembler::pull`] until it returns `None`. A frame with a missing
//! piece is never returned as `Ok`; it comes out as `Err(Dropped)` so it can be
//! counted.
//!
//! # Framing, detected per stream
//! * **Header mode.** Most cameras put a 32-byte [`FrameHeader`] (magic
//!   `55 AA 15 A8`, type, …, `len` at offset 16) before each frame. The frame
//!   is the next `len` bytes, across as many DRW payloads as it takes (the
//!   header may come alone in its own payload). It is emitted **as soon as the
//!   `len` bytes are in** (hyc's approach; no frame of latency waiting for the
//!   next header). A header that arrives earlier drops the unfinished frame
//!   ([`DropReason::Interrupted`]); a `len` over the limit drops the frame
//!   ([`DropReason::TooLarge`]) and the assembler waits for the next header.
//!   Type 0x03 is JPEG; type 0x06 is G.711 A-law audio interleaved on the video
//!   channel by binary cameras, whose data length is the u16 at offset 16;
//!   other types are skipped by their length ([`DropReason::UnknownType`]).
//! * **Boundary fallback.** Some binary cameras send bare JPEG
//!   (`FF D8 FF DB …`). Until a header is seen, frames are cut from
//!   `FF D8 FF` to the first `FF D9` and kept only if the injected
//!   [`FrameValidator`] accepts them (the bridge passes a bounded decode);
//!   bytes between frames are ignored, and a new `FF D8 FF` before `FF D9`
//!   drops the unfinished frame.
//! * **Detection.** An assembler starts in [`Framing::Boundary`] and switches
//!   for good to [`Framing::Header`] at the first header (magic and type 0x03
//!   or 0x06) found *between* JPEG frames, so JPEG bytes that happen to look
//!   like a header cannot flip a bare-JPEG stream. A session builds a new
//!   assembler per connection.
//!
//! # Choices where the reference is unsure
//! * **Bytes after `FF D9` inside `len`.** No source mentions padding. A frame
//!   must start with `FF D8`. If it ends with `FF D9` it is emitted as is
//!   (header mode trusts `len` plus the gap notices, like the demo assembler's
//!   header mode, and does not decode). If bytes follow the last `FF D9`, they
//!   are trimmed and the trimmed frame is emitted only if the validator accepts
//!   it, because the layout is not the one we expect; no `FF D9` at all →
//!   [`DropReason::NotJpeg`].
//! * **Headers inside a frame.** In header mode a header is recognised
//!   anywhere in a payload (not only at its start), so a camera whose `len`
//!   is too large cannot swallow the next frame. Random JPEG bytes match the
//!   4-byte magic with probability 2⁻³² per byte; that costs one frame and the
//!   stream resynchronises at the next real header. A header split across two
//!   payloads is found between frames, not inside one.
//! * **Zero `len`** drops the (empty) frame ([`DropReason::Empty`]).
//!
//! Memory is bounded: one frame in progress of at most `max_frame_bytes`,
//! fewer than [`FRAME_HEADER_LEN`] bytes carried between payloads while
//! looking for a header, and the output queue the caller drains after each call.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::audio::ALAW_SAMPLE_RATE;
use crate::model::{AudioCodec, FrameValidator, MediaFrame};
use crate::proto::codec::{LimitedHex, Reader, WireError};

/// The first four bytes of every frame header (`0xA815AA55` little-endian).
pub const FRAME_MAGIC: [u8; 4] = [0x55, 0xAA, 0x15, 0xA8];
/// Length of a frame header (`stream_head_t`).
pub const FRAME_HEADER_LEN: usize = 32;
/// Default limit on one frame: 640x480 JPEGs from these cameras are far smaller.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 1 << 20;

/// Frame header type bytes (offset 4).
pub mod frame_type {
    /// A JPEG picture.
    pub const JPEG: u8 = 0x03;
    /// G.711 A-law audio interleaved with video (binary cameras).
    pub const ALAW: u8 = 0x06;
    /// IMA ADPCM audio on channel 2 (JSON cameras).
    pub const ADPCM: u8 = 0xAA;
    /// Also listed for JSON-camera audio.
    pub const ADPCM_ALT: u8 = 0x08;
}

/// Start of a JPEG as the fallback looks for it: SOI and the next marker's `FF`.
const JPEG_START: [u8; 3] = [0xFF, 0xD8, 0xFF];
/// SOI.
const SOI: [u8; 2] = [0xFF, 0xD8];
/// EOI.
const EOI: [u8; 2] = [0xFF, 0xD9];

/// The 32-byte frame header (`stream_head_t` in cam-reverse), little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Offset 4: [`frame_type`] (0x03 JPEG, 0x06 A-law, 0xAA/0x08 ADPCM).
    pub frame_type: u8,
    /// Offset 5: stream id (00 on DGOA, 03 on DGOK, 01 for audio).
    pub stream_id: u8,
    /// Offset 6: milliseconds part of the timestamp.
    pub millis: u16,
    /// Offset 8: seconds since the epoch, camera clock.
    pub epoch: u32,
    /// Offset 12: frame number.
    pub frame_no: u32,
    /// Offset 16: bytes of frame data after the header. For A-law frames
    /// (type 0x06) only the low u16 is read, as cam-reverse does.
    pub len: u32,
    /// Offsets 20–27: version, resolution, session id, currsit, end flag,
    /// zone, channel and type1 (uninterpreted).
    pub info: [u8; 8],
    /// Offset 28: `sample` (an ADPCM predictor by its name; unused).
    pub sample: i16,
    /// Offset 30: `index` (an ADPCM step index by its name; unused).
    pub index: i16,
}

impl FrameHeader {
    /// A header of type `frame_type` announcing `len` bytes, every other field zero.
    pub fn new(frame_type: u8, len: u32) -> Self {
        Self {
            frame_type,
            stream_id: 0,
            millis: 0,
            epoch: 0,
            frame_no: 0,
            len,
            info: [0; 8],
            sample: 0,
            index: 0,
        }
    }

    /// Parses the first [`FRAME_HEADER_LEN`] bytes of `buf` (the rest is ignored).
    pub fn parse(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        let magic = r.take(FRAME_MAGIC.len())?;
        if magic != FRAME_MAGIC {
            return Err(WireError::BadMagic {
                expected: "55aa15a8",
                got: LimitedHex::new(magic, 4).to_string(),
            });
        }
        let frame_type = r.u8()?;
        let stream_id = r.u8()?;
        let millis = r.u16_le()?;
        let epoch = r.u32_le()?;
        let frame_no = r.u32_le()?;
        let raw_len = r.u32_le()?;
        let len = if frame_type == frame_type::ALAW {
            raw_len & 0xFFFF
        } else {
            raw_len
        };
        let mut info = [0; 8];
        info.copy_from_slice(r.take(8)?);
        let sample = r.u16_le()? as i16;
        let index = r.u16_le()? as i16;
        Ok(Self {
            frame_type,
            stream_id,
            millis,
            epoch,
            frame_no,
            len,
            info,
            sample,
            index,
        })
    }

    /// The header's 32 wire bytes.
    pub fn to_bytes(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut b = [0u8; FRAME_HEADER_LEN];
        b[0..4].copy_from_slice(&FRAME_MAGIC);
        b[4] = self.frame_type;
        b[5] = self.stream_id;
        b[6..8].copy_from_slice(&self.millis.to_le_bytes());
        b[8..12].copy_from_slice(&self.epoch.to_le_bytes());
        b[12..16].copy_from_slice(&self.frame_no.to_le_bytes());
        b[16..20].copy_from_slice(&self.len.to_le_bytes());
        b[20..28].copy_from_slice(&self.info);
        b[28..30].copy_from_slice(&self.sample.to_le_bytes());
        b[30..32].copy_from_slice(&self.index.to_le_bytes());
        b
    }
}

/// What a frame was (or was announced to be).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A JPEG picture (type 0x03, or a bare JPEG in boundary mode).
    Jpeg,
    /// G.711 A-law audio (type 0x06).
    Audio,
    /// Any other header type; skipped.
    Other(u8),
}

impl FrameKind {
    fn from_type(t: u8) -> Self {
        match t {
            frame_type::JPEG => Self::Jpeg,
            frame_type::ALAW => Self::Audio,
            other => Self::Other(other),
        }
    }

    /// Whether the frame's bytes are kept (skipped types are only counted).
    fn keeps_bytes(self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

/// Why a frame was thrown away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The reliable layer skipped indices while the frame was in progress.
    Gap,
    /// A new header (or, in boundary mode, a new `FF D8 FF`) came before the
    /// frame was complete.
    Interrupted,
    /// Larger than the assembler's limit.
    TooLarge,
    /// Complete but not a JPEG: no `FF D8`/`FF D9`, or the validator refused it.
    NotJpeg,
    /// A header type this assembler does not route.
    UnknownType,
    /// A header announcing zero bytes.
    Empty,
}

/// A frame thrown away: what it was and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} frame dropped: {reason:?}")]
pub struct Dropped {
    /// What the frame was.
    pub kind: FrameKind,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// A complete unit out of the video channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaItem {
    /// A complete JPEG picture (starts with `FF D8`, ends with `FF D9`).
    Jpeg(Bytes),
    /// Audio interleaved on the video channel (binary cameras' type-0x06 frames).
    Audio {
        /// Encoding ([`AudioCodec::Alaw`]).
        codec: AudioCodec,
        /// Sample rate in Hz.
        sample_rate: u32,
        /// The encoded bytes.
        data: Bytes,
    },
}

impl MediaItem {
    /// As the session's media event.
    pub fn into_media_frame(self) -> MediaFrame {
        match self {
            Self::Jpeg(b) => MediaFrame::Jpeg(b),
            Self::Audio {
                codec,
                sample_rate,
                data,
            } => MediaFrame::Audio {
                codec,
                sample_rate,
                data,
            },
        }
    }
}

/// How the stream is being cut into frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No header seen yet: bare JPEG from `FF D8 FF` to `FF D9`, validated.
    Boundary,
    /// Frame headers with lengths (sticky once seen).
    Header,
}

/// Frames dropped, by reason (all kinds together; [`Dropped::kind`] tells them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCounts {
    /// [`DropReason::Gap`].
    pub gap: u64,
    /// [`DropReason::Interrupted`].
    pub interrupted: u64,
    /// [`DropReason::TooLarge`].
    pub too_large: u64,
    /// [`DropReason::NotJpeg`].
    pub not_jpeg: u64,
    /// [`DropReason::UnknownType`].
    pub unknown_type: u64,
    /// [`DropReason::Empty`].
    pub empty: u64,
}

impl DropCounts {
    /// All drops.
    pub fn total(&self) -> u64 {
        self.gap
            + self.interrupted
            + self.too_large
            + self.not_jpeg
            + self.unknown_type
            + self.empty
    }

    fn count(&mut self, reason: DropReason) {
        let c = match reason {
            DropReason::Gap => &mut self.gap,
            DropReason::Interrupted => &mut self.interrupted,
            DropReason::TooLarge => &mut self.too_large,
            DropReason::NotJpeg => &mut self.not_jpeg,
            DropReason::UnknownType => &mut self.unknown_type,
            DropReason::Empty => &mut self.empty,
        };
        *c += 1;
    }
}

/// Running counters of an [`MjpegAssembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaStats {
    /// JPEG frames emitted.
    pub frames: u64,
    /// Bytes of the JPEG frames emitted.
    pub frame_bytes: u64,
    /// Audio frames emitted.
    pub audio_frames: u64,
    /// Bytes of the audio frames emitted.
    pub audio_bytes: u64,
    /// Bytes pushed.
    pub bytes: u64,
    /// Bytes outside any frame (skipped while looking for the next one).
    pub stray_bytes: u64,
    /// Gap notices received.
    pub gaps: u64,
    /// Frames dropped, by reason.
    pub dropped: DropCounts,
}

/// A header-mode frame in progress.
#[derive(Debug)]
struct Collect {
    kind: FrameKind,
    /// Bytes announced.
    want: usize,
    /// Bytes received so far.
    got: usize,
    /// The bytes (empty for skipped kinds).
    buf: BytesMut,
}

#[derive(Debug, Default)]
enum State {
    /// Between frames: looking for a header (or, in boundary mode, a JPEG start).
    #[default]
    Hunting,
    /// Header mode: collecting the announced bytes.
    Frame(Collect),
    /// Boundary mode: a JPEG from its `FF D8 FF` on.
    Bare(BytesMut),
}

/// Cuts the in-order channel-1 byte stream into JPEG frames and audio chunks.
#[derive(Debug)]
pub struct MjpegAssembler {
    framing: Framing,
    /// Boundary mode's integrity check (and header mode's, for trimmed frames).
    validate: FrameValidator,
    max_frame_bytes: usize,
    state: State,
    /// While hunting: the end of the last payload, if it may begin a header or
    /// a JPEG start (fewer than [`FRAME_HEADER_LEN`] bytes).
    carry: Vec<u8>,
    out: VecDeque<Result<MediaItem, Dropped>>,
    stats: MediaStats,
}

/// What [`MjpegAssembler::hunt`] found first.
enum Next {
    /// Frame magic at this position.
    Header(usize),
    /// `FF D8 FF` at this position (boundary mode only).
    Jpeg(usize),
    /// Neither.
    Nothing,
}

/// First position of `pat` in `hay`.
fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    let first = *pat.first()?;
    let mut from = 0;
    loop {
        let at = from + hay.get(from..)?.iter().position(|&b| b == first)?;
        if hay.get(at..at + pat.len())? == pat {
            return Some(at);
        }
        from = at + 1;
    }
}

/// Earliest start of `pat` in the stream `prev ++ rest`, as an offset from the
/// start of `rest` (negative: it starts in `prev`).
fn find_across(prev: &[u8], rest: &[u8], pat: &[u8]) -> Option<isize> {
    for k in (1..pat.len()).rev() {
        let (head, tail) = pat.split_at(k);
        if prev.ends_with(head) && rest.starts_with(tail) {
            return Some(-(k as isize));
        }
    }
    find(rest, pat).map(|p| p as isize)
}

/// Length of the longest end of `data` that is a proper beginning of `pat`.
fn prefix_at_end(data: &[u8], pat: &[u8]) -> usize {
    (1..pat.len())
        .rev()
        .find(|&k| pat.get(..k).is_some_and(|head| data.ends_with(head)))
        .unwrap_or(0)
}

impl MjpegAssembler {
    /// A new assembler in [`Framing::Boundary`]. Frames (and header `len`s)
    /// over `max_frame_bytes` are dropped; `validate` decides whether a bare
    /// JPEG is complete.
    pub fn new(max_frame_bytes: usize, validate: FrameValidator) -> Self {
        Self {
            framing: Framing::Boundary,
            validate,
            max_frame_bytes,
            state: State::Hunting,
            carry: Vec::new(),
            out: VecDeque::new(),
            stats: MediaStats::default(),
        }
    }

    /// How the stream is being cut.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The counters so far.
    pub fn stats(&self) -> &MediaStats {
        &self.stats
    }

    /// Feeds the data of the next DRW packet of channel 1.
    pub fn push(&mut self, data: &[u8]) {
        self.stats.bytes += data.len() as u64;
        if self.carry.is_empty() {
            self.feed(data);
        } else {
            let mut joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(data);
            self.feed(&joined);
        }
    }

    /// The reliable layer skipped indices: the frame in progress is broken.
    pub fn gap(&mut self) {
        self.stats.gaps += 1;
        self.stats.stray_bytes += self.carry.len() as u64;
        self.carry.clear();
        match std::mem::take(&mut self.state) {
            State::Hunting => {}
            State::Frame(c) => self.drop_frame(c.kind, DropReason::Gap),
            State::Bare(_) => self.drop_frame(FrameKind::Jpeg, DropReason::Gap),
        }
    }

    /// Next finished frame or drop notice.
    pub fn pull(&mut self) -> Option<Result<MediaItem, Dropped>> {
        self.out.pop_front()
    }

    fn feed(&mut self, mut rest: &[u8]) {
        while !rest.is_empty() {
            rest = match std::mem::take(&mut self.state) {
                State::Hunting => self.hunt(rest),
                State::Frame(c) => self.collect(c, rest),
                State::Bare(buf) => self.collect_bare(buf, rest),
            };
        }
    }

    fn drop_frame(&mut self, kind: FrameKind, reason: DropReason) {
        self.stats.dropped.count(reason);
        self.out.push_back(Err(Dropped { kind, reason }));
    }

    fn emit(&mut self, item: MediaItem) {
        match &item {
            MediaItem::Jpeg(b) => {
                self.stats.frames += 1;
                self.stats.frame_bytes += b.len() as u64;
            }
            MediaItem::Audio { data, .. } => {
                self.stats.audio_frames += 1;
                self.stats.audio_bytes += data.len() as u64;
            }
        }
        self.out.push_back(Ok(item));
    }

    /// Between frames: skips to the next header (or JPEG start in boundary mode).
    fn hunt<'a>(&mut self, rest: &'a [u8]) -> &'a [u8] {
        let header_at = find(rest, &FRAME_MAGIC);
        let jpeg_at = match self.framing {
            Framing::Boundary => find(rest, &JPEG_START),
            Framing::Header => None,
        };
        let next = match (header_at, jpeg_at) {
            (Some(h), Some(j)) if j < h => Next::Jpeg(j),
            (Some(h), _) => Next::Header(h),
            (None, Some(j)) => Next::Jpeg(j),
            (None, None) => Next::Nothing,
        };
        match next {
            Next::Nothing => {
                let mut keep = prefix_at_end(rest, &FRAME_MAGIC);
                if self.framing == Framing::Boundary {
                    keep = keep.max(prefix_at_end(rest, &JPEG_START));
                }
                let skip = rest.len() - keep;
                self.stats.stray_bytes += skip as u64;
                self.carry
                    .extend_from_slice(rest.get(skip..).unwrap_or_default());
                &[]
            }
            Next::Header(h) => {
                let at = rest.get(h..).unwrap_or_default();
                if at.len() < FRAME_HEADER_LEN {
                    // The header continues in the next payload.
                    self.stats.stray_bytes += h as u64;
                    self.carry.extend_from_slice(at);
                    return &[];
                }
                match FrameHeader::parse(at) {
                    Ok(header)
                        if self.framing == Framing::Header
                            || matches!(header.frame_type, frame_type::JPEG | frame_type::ALAW) =>
                    {
                        self.stats.stray_bytes += h as u64;
                        self.framing = Framing::Header;
                        self.start_frame(&header);
                        at.get(FRAME_HEADER_LEN..).unwrap_or_default()
                    }
                    // Not a header we trust to switch modes: an ordinary byte.
                    _ => {
                        self.stats.stray_bytes += h as u64 + 1;
                        rest.get(h + 1..).unwrap_or_default()
                    }
                }
            }
            Next::Jpeg(j) => {
                self.stats.stray_bytes += j as u64;
                self.state = State::Bare(BytesMut::from(&JPEG_START[..]));
                rest.get(j + JPEG_START.len()..).unwrap_or_default()
            }
        }
    }

    fn start_frame(&mut self, header: &FrameHeader) {
        let kind = FrameKind::from_type(header.frame_type);
        let want = usize::try_from(header.len).unwrap_or(usize::MAX);
        if want > self.max_frame_bytes {
            self.drop_frame(kind, DropReason::TooLarge);
        } else if want == 0 {
            self.drop_frame(kind, DropReason::Empty);
        } else {
            let buf = if kind.keeps_bytes() {
                BytesMut::with_capacity(want.min(64 * 1024))
            } else {
                BytesMut::new()
            };
            self.state = State::Frame(Collect {
                kind,
                want,
                got: 0,
                buf,
            });
        }
    }

    /// Header mode: takes bytes of the frame in progress from `rest`.
    fn collect<'a>(&mut self, mut c: Collect, rest: &'a [u8]) -> &'a [u8] {
        let need = c.want - c.got;
        // A header starting inside the bytes still needed means the frame is short.
        let probe = rest.get(..need.saturating_add(3)).unwrap_or(rest);
        if let Some(h) = find(probe, &FRAME_MAGIC) {
            self.drop_frame(c.kind, DropReason::Interrupted);
            return rest.get(h..).unwrap_or_default();
        }
        let n = need.min(rest.len());
        let (mine, after) = rest.split_at(n);
        if c.kind.keeps_bytes() {
            c.buf.extend_from_slice(mine);
        }
        c.got += n;
        if c.got == c.want {
            self.finish(c);
        } else {
            self.state = State::Frame(c);
        }
        after
    }

    fn finish(&mut self, c: Collect) {
        match c.kind {
            FrameKind::Jpeg => match self.check_jpeg(c.buf.freeze()) {
                Some(jpeg) => self.emit(MediaItem::Jpeg(jpeg)),
                None => self.drop_frame(FrameKind::Jpeg, DropReason::NotJpeg),
            },
            FrameKind::Audio => self.emit(MediaItem::Audio {
                codec: AudioCodec::Alaw,
                sample_rate: ALAW_SAMPLE_RATE,
                data: c.buf.freeze(),
            }),
            kind @ FrameKind::Other(_) => self.drop_frame(kind, DropReason::UnknownType),
        }
    }

    /// Header mode's check: `FF D8` … `FF D9`; bytes after the last `FF D9`
    /// are trimmed, and then the validator must accept the result.
    fn check_jpeg(&self, frame: Bytes) -> Option<Bytes> {
        if !frame.starts_with(&SOI) {
            return None;
        }
        if frame.ends_with(&EOI) {
            return Some(frame);
        }
        let end = frame.windows(2).rposition(|w| w == EOI)? + EOI.len();
        let trimmed = frame.slice(..end);
        (self.validate)(&trimmed).then_some(trimmed)
    }

    /// Boundary mode: extends the bare JPEG in progress up to `FF D9`.
    fn collect_bare<'a>(&mut self, mut buf: BytesMut, rest: &'a [u8]) -> &'a [u8] {
        let tail = |n: usize| buf.get(buf.len().saturating_sub(n)..).unwrap_or_default();
        let end = find_across(tail(EOI.len() - 1), rest, &EOI);
        let restart = find_across(tail(JPEG_START.len() - 1), rest, &JPEG_START);
        match (end, restart) {
            (Some(e), r) if r.is_none_or(|r| e < r) => {
                // e ≥ -1, so the end is inside `rest`.
                let end = usize::try_from(e + EOI.len() as isize).unwrap_or(0);
                let (mine, after) = rest.split_at(end.min(rest.len()));
                if buf.len() + mine.len() > self.max_frame_bytes {
                    self.drop_frame(FrameKind::Jpeg, DropReason::TooLarge);
                } else {
                    buf.extend_from_slice(mine);
                    let frame = buf.freeze();
                    if (self.validate)(&frame) {
                        self.emit(MediaItem::Jpeg(frame));
                    } else {
                        self.drop_frame(FrameKind::Jpeg, DropReason::NotJpeg);
                    }
                }
                after
            }
            (_, Some(r)) => {
                // A new JPEG starts before this one ended (r ≥ -2).
                self.drop_frame(FrameKind::Jpeg, DropReason::Interrupted);
                self.state = State::Bare(BytesMut::from(&JPEG_START[..]));
                let next = usize::try_from(r + JPEG_START.len() as isize).unwrap_or(0);
                rest.get(next..).unwrap_or_default()
            }
            (_, None) => {
                if buf.len() + rest.len() > self.max_frame_bytes {
                    self.drop_frame(FrameKind::Jpeg, DropReason::TooLarge);
                } else {
                    buf.extend_from_slice(rest);
                    self.state = State::Bare(buf);
                }
                &[]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decodes(jpeg: &[u8]) -> bool {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).is_ok()
    }

    /// A real JPEG (`FF D8 FF E0 …`) of a small gradient, different per `seed`.
    fn jpeg(seed: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(48, 32, |x, y| {
            image::Rgb([(x * 5) as u8 ^ seed, (y * 7) as u8, seed.wrapping_mul(31)])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        assert!(out.len() > 300, "big enough to split");
        out
    }

    fn header(kind: u8, stream: u8, len: usize) -> Vec<u8> {
        let mut h = FrameHeader::new(kind, len as u32);
        h.stream_id = stream;
        h.to_bytes().to_vec()
    }

    fn jpeg_header(len: usize) -> Vec<u8> {
        header(frame_type::JPEG, 0, len)
    }

    /// A header announcing all of `body`, then `body`.
    fn with_header(body: &[u8]) -> Vec<u8> {
        first_part(body, body.len())
    }

    /// A header announcing all of `jpeg`, then its first `n` bytes.
    fn first_part(jpeg: &[u8], n: usize) -> Vec<u8> {
        let mut p = jpeg_header(jpeg.len());
        p.extend_from_slice(&jpeg[..n]);
        p
    }

    fn drain(a: &mut MjpegAssembler) -> Vec<Result<MediaItem, Dropped>> {
        std::iter::from_fn(|| a.pull()).collect()
    }

    fn push_all(a: &mut MjpegAssembler, packets: &[&[u8]]) -> Vec<Result<MediaItem, Dropped>> {
        let mut out = Vec::new();
        for p in packets {
            a.push(p);
            out.extend(drain(a));
        }
        out
    }

    fn ok_jpeg(b: &[u8]) -> Result<MediaItem, Dropped> {
        Ok(MediaItem::Jpeg(Bytes::copy_from_slice(b)))
    }

    fn dropped(kind: FrameKind, reason: DropReason) -> Result<MediaItem, Dropped> {
        Err(Dropped { kind, reason })
    }

    fn assembler() -> MjpegAssembler {
        MjpegAssembler::new(DEFAULT_MAX_FRAME_BYTES, decodes)
    }

    // ---- header mode -------------------------------------------------------

    #[test]
    fn header_mode_reassembles_a_jpeg_split_over_three_packets_with_the_header_in_the_first() {
        let j = jpeg(1);
        let first = first_part(&j, 100);
        let mut a = assembler();
        let out = push_all(&mut a, &[&first, &j[100..200], &j[200..]]);
        assert_eq!(out, vec![ok_jpeg(&j)]);
        assert_eq!(a.framing(), Framing::Header);
        assert_eq!(a.stats().frames, 1);
        assert_eq!(a.stats().frame_bytes, j.len() as u64);
        assert_eq!(a.stats().bytes, (j.len() + FRAME_HEADER_LEN) as u64);
    }

    #[test]
    fn header_mode_accepts_a_header_alone_in_its_own_packet() {
        let j = jpeg(2);
        let h = jpeg_header(j.len());
        let mut a = assembler();
        let out = push_all(&mut a, &[&h, &j[..250], &j[250..]]);
        assert_eq!(out, vec![ok_jpeg(&j)]);
    }

    #[test]
    fn header_mode_emits_a_frame_as_soon_as_its_bytes_are_complete() {
        let j = jpeg(3);
        let mut a = assembler();
        a.push(&first_part(&j, 10));
        assert_eq!(a.pull(), None);
        a.push(&j[10..]);
        // No next header needed.
        assert_eq!(a.pull(), Some(ok_jpeg(&j)));
        assert_eq!(a.pull(), None);
    }

    #[test]
    fn header_mode_a_gap_in_the_middle_drops_the_frame_and_the_next_one_is_fine() {
        let (j1, j2) = (jpeg(4), jpeg(5));
        let mut a = assembler();
        a.push(&first_part(&j1, 100));
        a.gap();
        assert_eq!(
            drain(&mut a),
            vec![dropped(FrameKind::Jpeg, DropReason::Gap)]
        );
        // The rest of the broken frame is ignored, then the next frame is whole.
        let out = push_all(&mut a, &[&j1[300..], &first_part(&j2, 50), &j2[50..]]);
        assert_eq!(out, vec![ok_jpeg(&j2)]);
        assert_eq!(a.stats().dropped.gap, 1);
        assert_eq!(a.stats().gaps, 1);
        assert_eq!(a.stats().stray_bytes, (j1.len() - 300) as u64);
    }

    #[test]
    fn header_mode_a_gap_between_frames_drops_nothing() {
        let j = jpeg(6);
        let mut a = assembler();
        push_all(&mut a, &[&with_header(&j)]);
        a.gap();
        assert_eq!(a.pull(), None);
        assert_eq!(a.stats().dropped.total(), 0);
    }

    #[test]
    fn header_mode_a_header_arriving_before_the_previous_frame_is_complete_drops_it() {
        let (j1, j2) = (jpeg(7), jpeg(8));
        let mut a = assembler();
        let out = push_all(
            &mut a,
            &[
                &first_part(&j1, 100),
                &j1[100..200],
                &first_part(&j2, 100),
                &j2[100..],
            ],
        );
        assert_eq!(
            out,
            vec![
                dropped(FrameKind::Jpeg, DropReason::Interrupted),
                ok_jpeg(&j2)
            ]
        );
        assert_eq!(a.stats().dropped.interrupted, 1);
    }

    #[test]
    fn header_mode_a_header_in_the_middle_of_a_payload_ends_a_short_frame() {
        // The camera announced 10 bytes more than it sent; the next header
        // follows in the same payload.
        let (j1, j2) = (jpeg(9), jpeg(10));
        let mut p = jpeg_header(j1.len() + 10);
        p.extend_from_slice(&j1);
        p.extend_from_slice(&with_header(&j2));
        let mut a = assembler();
        assert_eq!(
            push_all(&mut a, &[&p]),
            vec![
                dropped(FrameKind::Jpeg, DropReason::Interrupted),
                ok_jpeg(&j2)
            ]
        );
    }

    #[test]
    fn header_mode_an_oversized_len_is_dropped_and_the_stream_resynchronises() {
        let j = jpeg(11);
        let mut a = MjpegAssembler::new(4096, decodes);
        let mut big = jpeg_header(5000);
        big.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xDB, 1, 2, 3]);
        let out = push_all(&mut a, &[&big, &[0x42; 500], &with_header(&j)]);
        assert_eq!(
            out,
            vec![dropped(FrameKind::Jpeg, DropReason::TooLarge), ok_jpeg(&j)]
        );
        assert_eq!(a.stats().dropped.too_large, 1);
        // A u32::MAX length must not allocate or overflow either.
        let mut huge = FrameHeader::new(frame_type::JPEG, u32::MAX)
            .to_bytes()
            .to_vec();
        huge.extend_from_slice(&j);
        assert_eq!(
            push_all(&mut a, &[&huge, &with_header(&j)]),
            vec![dropped(FrameKind::Jpeg, DropReason::TooLarge), ok_jpeg(&j)]
        );
    }

    #[test]
    fn header_mode_accepts_dgok_headers_with_stream_id_3() {
        // A9_PPPP matched `55 AA 15 A8 03 00` and missed DGOK's `… 03 03` (cam-reverse #51).
        let j = jpeg(12);
        let mut p = header(frame_type::JPEG, 0x03, j.len());
        assert_eq!(&p[..6], &[0x55, 0xAA, 0x15, 0xA8, 0x03, 0x03]);
        p.extend_from_slice(&j[..400]);
        let mut a = assembler();
        assert_eq!(push_all(&mut a, &[&p, &j[400..]]), vec![ok_jpeg(&j)]);
    }

    #[test]
    fn header_mode_finds_a_header_split_across_packets() {
        let j = jpeg(13);
        let p = with_header(&j);
        let mut a = assembler();
        // Some junk, then the header cut after 3 bytes and again after 20.
        let mut first = vec![0x11, 0x22];
        first.extend_from_slice(&p[..3]);
        assert_eq!(
            push_all(&mut a, &[&first, &p[3..20], &p[20..]]),
            vec![ok_jpeg(&j)]
        );
        assert_eq!(a.stats().stray_bytes, 2);
    }

    #[test]
    fn header_mode_cuts_several_frames_out_of_one_payload() {
        let (j1, j2) = (jpeg(14), jpeg(15));
        let mut p = with_header(&j1);
        p.extend_from_slice(&with_header(&j2));
        let mut a = assembler();
        assert_eq!(push_all(&mut a, &[&p]), vec![ok_jpeg(&j1), ok_jpeg(&j2)]);
    }

    #[test]
    fn header_mode_trims_padding_after_eoi_only_if_the_trimmed_frame_decodes() {
        let j = jpeg(16);
        let mut padded = j.clone();
        padded.extend_from_slice(&[0, 0, 0, 0]);
        let mut a = assembler();
        assert_eq!(
            push_all(&mut a, &[&with_header(&padded)]),
            vec![ok_jpeg(&j)]
        );

        // A frame cut short whose last FF D9 is not the end does not pass.
        let mut a = MjpegAssembler::new(DEFAULT_MAX_FRAME_BYTES, |_| false);
        assert_eq!(
            push_all(&mut a, &[&with_header(&padded)]),
            vec![dropped(FrameKind::Jpeg, DropReason::NotJpeg)]
        );
        // A frame that ends in FF D9 is not decoded in header mode.
        assert_eq!(push_all(&mut a, &[&with_header(&j)]), vec![ok_jpeg(&j)]);
    }

    #[test]
    fn header_mode_drops_frames_that_are_not_jpeg_or_empty() {
        let mut a = assembler();
        let out = push_all(
            &mut a,
            &[
                &with_header(b"not a jpeg at all"),
                &with_header(&[0xFF, 0xD8, 0xFF, 0xDB, 0, 0]),
                &jpeg_header(0),
            ],
        );
        assert_eq!(
            out,
            vec![
                dropped(FrameKind::Jpeg, DropReason::NotJpeg),
                dropped(FrameKind::Jpeg, DropReason::NotJpeg),
                dropped(FrameKind::Jpeg, DropReason::Empty),
            ]
        );
        assert_eq!(a.stats().dropped.not_jpeg, 2);
        assert_eq!(a.stats().dropped.empty, 1);
    }

    #[test]
    fn header_mode_skips_unknown_frame_types_by_their_length() {
        let j = jpeg(17);
        let mut p = header(0x42, 0, 20);
        p.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xD9]);
        p.extend_from_slice(&[7; 16]);
        let mut a = assembler();
        a.push(&with_header(&j));
        assert_eq!(
            push_all(&mut a, &[&p, &with_header(&j)]),
            vec![
                ok_jpeg(&j),
                dropped(FrameKind::Other(0x42), DropReason::UnknownType),
                ok_jpeg(&j)
            ]
        );
    }

    #[test]
    fn header_mode_ignores_bare_jpegs_once_headers_were_seen() {
        let j = jpeg(18);
        let mut a = assembler();
        assert_eq!(push_all(&mut a, &[&with_header(&j), &j]), vec![ok_jpeg(&j)]);
        assert_eq!(a.stats().stray_bytes, j.len() as u64);
    }

    // ---- audio on the video channel ------------------------------------------

    #[test]
    fn type_6_audio_frames_interleaved_with_video_are_routed_as_alaw_audio() {
        let j = jpeg(19);
        let alaw: Vec<u8> = (0..=255).collect();
        let mut audio = header(frame_type::ALAW, 0x01, alaw.len());
        // cam-reverse reads a u16: junk in the upper half of the u32 is ignored.
        audio[18] = 0xEE;
        audio.extend_from_slice(&alaw);
        let mut a = assembler();
        let out = push_all(
            &mut a,
            &[&first_part(&j, 200), &j[200..], &audio, &with_header(&j)],
        );
        let expected_audio = MediaItem::Audio {
            codec: AudioCodec::Alaw,
            sample_rate: 8000,
            data: Bytes::from(alaw.clone()),
        };
        assert_eq!(
            out,
            vec![ok_jpeg(&j), Ok(expected_audio.clone()), ok_jpeg(&j)]
        );
        assert_eq!(a.stats().audio_frames, 1);
        assert_eq!(a.stats().audio_bytes, 256);
        assert_eq!(a.stats().frames, 2);
        match expected_audio.into_media_frame() {
            MediaFrame::Audio {
                codec,
                sample_rate,
                data,
            } => {
                assert_eq!((codec, sample_rate), (AudioCodec::Alaw, 8000));
                assert_eq!(data.as_ref(), &alaw[..]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_audio_frame_can_start_a_header_mode_stream() {
        let mut p = header(frame_type::ALAW, 0x01, 4);
        p.extend_from_slice(&[0xD5; 4]);
        let mut a = assembler();
        let out = push_all(&mut a, &[&p]);
        assert!(matches!(out.as_slice(), [Ok(MediaItem::Audio { .. })]));
        assert_eq!(a.framing(), Framing::Header);
    }

    #[test]
    fn jpeg_items_convert_to_media_frames() {
        let j = Bytes::from(jpeg(20));
        assert!(matches!(
            MediaItem::Jpeg(j.clone()).into_media_frame(),
            MediaFrame::Jpeg(b) if b == j
        ));
    }

    // ---- boundary fallback ---------------------------------------------------

    #[test]
    fn boundary_mode_reassembles_bare_jpegs_across_packets() {
        let (j1, j2) = (jpeg(21), jpeg(22));
        let mut stream = j1.clone();
        stream.extend_from_slice(&j2);
        let mut a = assembler();
        let packets: Vec<&[u8]> = stream.chunks(97).collect();
        assert_eq!(push_all(&mut a, &packets), vec![ok_jpeg(&j1), ok_jpeg(&j2)]);
        assert_eq!(a.framing(), Framing::Boundary);
        assert_eq!(a.stats().frames, 2);
    }

    #[test]
    fn boundary_mode_finds_markers_split_across_packets() {
        let j = jpeg(23);
        let mut stream = b"xx".to_vec();
        stream.extend_from_slice(&j);
        let n = stream.len();
        // Cut inside FF D8 FF (after FF, after FF D8) and inside FF D9.
        for (cut1, cut2) in [(3, n - 1), (4, n - 1), (3, n - 2)] {
            let mut a = assembler();
            assert_eq!(
                push_all(
                    &mut a,
                    &[&stream[..cut1], &stream[cut1..cut2], &stream[cut2..]]
                ),
                vec![ok_jpeg(&j)],
                "cuts at {cut1} and {cut2}"
            );
        }
    }

    #[test]
    fn boundary_mode_ignores_garbage_between_frames() {
        let (j1, j2) = (jpeg(24), jpeg(25));
        let mut a = assembler();
        let out = push_all(
            &mut a,
            &[
                b"\x00\x01garbage\xFF",
                &j1,
                b"\xFF\xD9 more \x55\xAA",
                &j2[..5],
                &j2[5..],
            ],
        );
        assert_eq!(out, vec![ok_jpeg(&j1), ok_jpeg(&j2)]);
        assert_eq!(a.framing(), Framing::Boundary);
        assert!(a.stats().stray_bytes >= 13);
    }

    #[test]
    fn boundary_mode_drops_a_truncated_frame_the_validator_rejects() {
        let (j1, j2) = (jpeg(26), jpeg(27));
        // Bytes missing from the middle, but SOI and EOI intact.
        let mut broken = j1[..j1.len() / 3].to_vec();
        broken.extend_from_slice(&j1[j1.len() / 2..]);
        let mut a = assembler();
        let out = push_all(&mut a, &[&broken, &j2]);
        assert_eq!(
            out,
            vec![dropped(FrameKind::Jpeg, DropReason::NotJpeg), ok_jpeg(&j2)]
        );
        assert_eq!(a.stats().dropped.not_jpeg, 1);
    }

    #[test]
    fn boundary_mode_a_new_start_before_the_end_drops_the_unfinished_frame() {
        let (j1, j2) = (jpeg(28), jpeg(29));
        let mut a = assembler();
        let out = push_all(&mut a, &[&j1[..200], &j2]);
        assert_eq!(
            out,
            vec![
                dropped(FrameKind::Jpeg, DropReason::Interrupted),
                ok_jpeg(&j2)
            ]
        );
    }

    #[test]
    fn boundary_mode_a_gap_drops_the_frame_in_progress() {
        let j = jpeg(30);
        let mut a = assembler();
        a.push(&j[..100]);
        a.gap();
        assert_eq!(
            drain(&mut a),
            vec![dropped(FrameKind::Jpeg, DropReason::Gap)]
        );
        assert_eq!(push_all(&mut a, &[&j[200..], &j]), vec![ok_jpeg(&j)]);
    }

    #[test]
    fn boundary_mode_drops_a_frame_over_the_limit() {
        let j = jpeg(31);
        let mut a = MjpegAssembler::new(j.len() - 1, decodes);
        assert_eq!(
            push_all(&mut a, &[&j[..100], &j[100..]]),
            vec![dropped(FrameKind::Jpeg, DropReason::TooLarge)]
        );
        let mut a = MjpegAssembler::new(j.len() - 1, decodes);
        assert_eq!(
            push_all(&mut a, &[&j]),
            vec![dropped(FrameKind::Jpeg, DropReason::TooLarge)]
        );
    }

    #[test]
    fn boundary_mode_switches_to_header_mode_at_the_first_header() {
        let (j1, j2) = (jpeg(32), jpeg(33));
        let mut a = assembler();
        let out = push_all(&mut a, &[&j1, &first_part(&j2, 64), &j2[64..], &j1]);
        // The bare frame before the header counts; the one after does not.
        assert_eq!(out, vec![ok_jpeg(&j1), ok_jpeg(&j2)]);
        assert_eq!(a.framing(), Framing::Header);
    }

    #[test]
    fn boundary_mode_does_not_switch_on_a_header_lookalike_inside_a_jpeg() {
        // A bare JPEG whose bytes contain the magic and a JPEG type byte.
        let j = jpeg(34);
        let mut fake = j[..j.len() - 2].to_vec();
        fake.extend_from_slice(&jpeg_header(10));
        fake.extend_from_slice(&EOI);
        let mut a = MjpegAssembler::new(DEFAULT_MAX_FRAME_BYTES, |_| true);
        assert_eq!(push_all(&mut a, &[&fake]), vec![ok_jpeg(&fake)]);
        assert_eq!(a.framing(), Framing::Boundary);
        // Between frames, a header of an unknown type does not switch either.
        a.push(&header(0x42, 0, 10));
        assert_eq!(a.framing(), Framing::Boundary);
    }

    // ---- header codec ---------------------------------------------------------

    #[test]
    fn frame_header_round_trips_and_rejects_bad_magic() {
        let h = FrameHeader {
            frame_type: frame_type::JPEG,
            stream_id: 3,
            millis: 0x1234,
            epoch: 1_700_000_000,
            frame_no: 42,
            len: 0x0001_0203,
            info: [1, 2, 3, 4, 5, 6, 7, 8],
            sample: -5,
            index: 12,
        };
        let b = h.to_bytes();
        assert_eq!(&b[..4], &FRAME_MAGIC);
        assert_eq!(&b[16..20], &[0x03, 0x02, 0x01, 0x00]);
        assert_eq!(FrameHeader::parse(&b), Ok(h));
        let mut bad = b;
        bad[3] = 0;
        assert!(matches!(
            FrameHeader::parse(&bad),
            Err(WireError::BadMagic { .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&b[..31]),
            Err(WireError::Truncated { .. })
        ));
    }

    // ---- never panics -----------------------------------------------------------

    #[derive(Debug, Clone)]
    enum Op {
        Bytes(Vec<u8>),
        Header(u8, u16),
        Start,
        End,
        Gap,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(Op::Bytes),
            (
                prop_oneof![Just(0x03u8), Just(0x06), Just(0xAA), any::<u8>()],
                0u16..300
            )
                .prop_map(|(t, l)| Op::Header(t, l)),
            Just(Op::Start),
            Just(Op::End),
            Just(Op::Gap),
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_assembler_never_panics_and_only_emits_whole_jpegs(
            ops in proptest::collection::vec(op(), 0..80),
            chunk in 1usize..80,
        ) {
            let max = 512;
            let mut a = MjpegAssembler::new(max, |_| true);
            // Build a byte stream from the ops, then push it in `chunk`-sized
            // payloads, turning gap ops into gap notices at their position.
            let mut stream: Vec<Option<Vec<u8>>> = Vec::new();
            for op in &ops {
                match op {
                    Op::Bytes(b) => stream.push(Some(b.clone())),
                    Op::Header(t, l) => {
                        stream.push(Some(header(*t, 0, usize::from(*l))))
                    }
                    Op::Start => stream.push(Some(JPEG_START.to_vec())),
                    Op::End => stream.push(Some(EOI.to_vec())),
                    Op::Gap => stream.push(None),
                }
            }
            let mut pushed = 0u64;
            for piece in stream {
                match piece {
                    None => a.gap(),
                    Some(bytes) => {
                        for c in bytes.chunks(chunk) {
                            a.push(c);
                            pushed += c.len() as u64;
                            proptest::prop_assert!(a.carry.len() < FRAME_HEADER_LEN);
                            if let State::Bare(b) = &a.state {
                                proptest::prop_assert!(b.len() <= max);
                            }
                            if let State::Frame(c) = &a.state {
                                proptest::prop_assert!(c.buf.len() <= max && c.got < c.want);
                            }
                            while let Some(r) = a.pull() {
                                if let Ok(MediaItem::Jpeg(f)) = r {
                                    proptest::prop_assert!(f.starts_with(&SOI) && f.ends_with(&EOI));
                                    proptest::prop_assert!(f.len() <= max);
                                }
                            }
                        }
                    }
                }
                while a.pull().is_some() {}
            }
            proptest::prop_assert_eq!(a.stats().bytes, pushed);
            proptest::prop_assert!(a.stats().stray_bytes <= pushed);
        }
    }
}
