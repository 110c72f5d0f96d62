//! Cuts the demo-mode datagram stream into complete JPEG frames.
//!
//! Contract (retina's depacketizer): after each [`FrameAssembler::push`] the
//! caller calls [`FrameAssembler::pull`] until it returns `None`. A frame with a
//! missing part is never returned as `Ok`; it comes out as `Err(Dropped)` so it
//! can be counted. Memory is bounded: at most [`MAX_PARTIAL_FRAMES`] frames in
//! progress, each at most `max_frame_bytes`.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::wire::{VideoDatagram, EOI, SOI};
use crate::model::FrameValidator;

/// Frames in progress at once (reordering across more frames than this is loss).
pub const MAX_PARTIAL_FRAMES: usize = 4;

/// How the bridge decides that a demo-mode frame is complete.
///
/// The meaning of the 8-byte header is undocumented in the public captures
/// (`pppp.md` §5). Firmware built on Beken's SDK (the BK7252 in A9 cameras)
/// numbers frames and datagrams in it; if a camera does not, pick `markers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameCheck {
    /// Read header bytes 0–2 as frame id, end flag and datagram counter
    /// (Beken layout): datagrams are put back in order, and a frame with a
    /// missing counter is dropped. Survives reordering. The default.
    #[default]
    Header,
    /// Ignore the header; cut at `FF D8` … `FF D9` in arrival order and keep a
    /// frame only if it decodes completely. For cameras whose header is
    /// different; cannot see a loss the JPEG decoder tolerates.
    Markers,
}

impl fmt::Display for FrameCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header",
            Self::Markers => "markers",
        })
    }
}

impl FromStr for FrameCheck {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "header" => Ok(Self::Header),
            "markers" => Ok(Self::Markers),
            other => Err(format!(
                "unknown frame_check {other:?}; expected header or markers"
            )),
        }
    }
}

/// Why a frame was thrown away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    /// A datagram of the frame never arrived.
    #[error("frame {0} incomplete")]
    Incomplete(u8),
    /// Bigger than the configured maximum.
    #[error("frame larger than the limit")]
    TooLarge,
    /// Complete but not a JPEG (no SOI/EOI) or does not decode.
    #[error("frame is not a valid JPEG")]
    NotJpeg,
}

#[derive(Debug)]
struct Partial {
    frame_id: u8,
    /// Datagram payloads by counter.
    parts: Vec<Option<Bytes>>,
    /// Counter of the end-of-frame datagram, once seen.
    last: Option<u8>,
    bytes: usize,
}

impl Partial {
    fn new(frame_id: u8) -> Self {
        Self {
            frame_id,
            parts: Vec::new(),
            last: None,
            bytes: 0,
        }
    }

    /// The first counter of the frame: 0 if a datagram 0 arrived, else 1 (Beken counts from 1).
    fn first(&self) -> usize {
        usize::from(!matches!(self.parts.first(), Some(Some(_))))
    }

    fn is_complete(&self) -> bool {
        let Some(last) = self.last else { return false };
        let last = usize::from(last);
        let first = self.first();
        last >= first && (first..=last).all(|i| matches!(self.parts.get(i), Some(Some(_))))
    }

    fn assemble(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.bytes);
        for part in self.parts.iter().flatten() {
            out.extend_from_slice(part);
        }
        out.freeze()
    }
}

/// Reassembles frames under a [`FrameCheck`] policy.
#[derive(Debug)]
pub struct FrameAssembler {
    policy: FrameCheck,
    /// Markers mode's only integrity check: does the frame decode? Injected
    /// (the bridge passes a bounded JPEG decode) because `proto` must not
    /// depend on `media`.
    validate: FrameValidator,
    max_frame_bytes: usize,
    partial: VecDeque<Partial>,
    /// Frame id of the newest frame delivered; older ones are stale.
    last_delivered: Option<u8>,
    /// Markers mode: bytes since the last `FF D8`.
    stream: BytesMut,
    out: VecDeque<Result<Bytes, Dropped>>,
}

/// Serial-number comparison for u8 frame ids: true if `a` is after `b`.
fn is_after(a: u8, b: u8) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 128
}

/// Trims anything after the last `FF D9` and checks the frame starts with `FF D8`.
fn trim_jpeg(frame: Bytes) -> Result<Bytes, Dropped> {
    if !frame.starts_with(&SOI) {
        return Err(Dropped::NotJpeg);
    }
    let end = frame
        .windows(2)
        .rposition(|w| w == EOI)
        .ok_or(Dropped::NotJpeg)?;
    Ok(frame.slice(..end + 2))
}

impl FrameAssembler {
    /// A new assembler; frames over `max_frame_bytes` are dropped.
    /// `validate` is markers mode's integrity check (header mode does not call it).
    pub fn new(policy: FrameCheck, max_frame_bytes: usize, validate: FrameValidator) -> Self {
        Self {
            policy,
            validate,
            max_frame_bytes,
            partial: VecDeque::new(),
            last_delivered: None,
            stream: BytesMut::new(),
            out: VecDeque::new(),
        }
    }

    /// Feeds one video datagram.
    pub fn push(&mut self, dgram: &VideoDatagram<'_>) {
        match self.policy {
            FrameCheck::Header => self.push_counted(dgram),
            FrameCheck::Markers => self.push_markers(dgram.payload),
        }
    }

    /// Next finished frame or drop notice.
    pub fn pull(&mut self) -> Option<Result<Bytes, Dropped>> {
        self.out.pop_front()
    }

    fn push_counted(&mut self, dgram: &VideoDatagram<'_>) {
        let h = dgram.header;
        if let Some(last) = self.last_delivered {
            if !is_after(h.frame_id, last) {
                return; // late duplicate or straggler of a frame already delivered or dropped
            }
        }
        let idx = match self.partial.iter().position(|p| p.frame_id == h.frame_id) {
            Some(i) => i,
            None => {
                if self.partial.len() >= MAX_PARTIAL_FRAMES {
                    if let Some(old) = self.partial.pop_front() {
                        self.out.push_back(Err(Dropped::Incomplete(old.frame_id)));
                    }
                }
                self.partial.push_back(Partial::new(h.frame_id));
                self.partial.len() - 1
            }
        };
        let Some(p) = self.partial.get_mut(idx) else {
            return;
        };
        let slot = usize::from(h.packet);
        if p.parts.len() <= slot {
            p.parts.resize(slot + 1, None);
        }
        if p.parts[slot].is_none() {
            p.bytes += dgram.payload.len();
            p.parts[slot] = Some(Bytes::copy_from_slice(dgram.payload));
        }
        if h.end_of_frame {
            p.last = Some(h.packet);
        }
        if p.bytes > self.max_frame_bytes {
            let id = p.frame_id;
            self.partial.remove(idx);
            self.mark_delivered(id);
            self.out.push_back(Err(Dropped::TooLarge));
            return;
        }
        if p.is_complete() {
            let frame = p.assemble();
            let id = p.frame_id;
            self.partial.remove(idx);
            self.mark_delivered(id);
            self.out.push_back(trim_jpeg(frame));
        }
    }

    /// Records `id` as the newest handled frame and drops any older partial frames.
    fn mark_delivered(&mut self, id: u8) {
        self.last_delivered = Some(id);
        let mut kept = VecDeque::with_capacity(self.partial.len());
        for p in self.partial.drain(..) {
            if is_after(p.frame_id, id) {
                kept.push_back(p);
            } else {
                self.out.push_back(Err(Dropped::Incomplete(p.frame_id)));
            }
        }
        self.partial = kept;
    }

    fn push_markers(&mut self, payload: &[u8]) {
        let mut rest = payload;
        while !rest.is_empty() {
            if self.stream.is_empty() {
                // Hunt for a start of image, also across a datagram boundary.
                match rest.windows(2).position(|w| w == SOI) {
                    Some(i) => rest = &rest[i..],
                    None => return,
                }
            }
            let search_from = self.stream.len().saturating_sub(1);
            self.stream.extend_from_slice(rest);
            rest = &[];
            if self.stream.len() > self.max_frame_bytes {
                self.stream.clear();
                self.out.push_back(Err(Dropped::TooLarge));
                return;
            }
            if let Some(i) = self.stream[search_from..].windows(2).position(|w| w == EOI) {
                let end = search_from + i + 2;
                let frame = self.stream.split_to(end).freeze();
                let tail = std::mem::take(&mut self.stream);
                self.out.push_back(if (self.validate)(&frame) {
                    Ok(frame)
                } else {
                    Err(Dropped::NotJpeg)
                });
                // Bytes after EOI may start the next frame.
                self.push_markers_tail(&tail);
            }
        }
    }

    fn push_markers_tail(&mut self, tail: &[u8]) {
        if !tail.is_empty() {
            self.push_markers(tail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::wire::VideoHeader;
    use super::*;

    fn accept_all(_: &[u8]) -> bool {
        true
    }

    fn decodes(jpeg: &[u8]) -> bool {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).is_ok()
    }

    fn dg(frame: u8, packet: u8, eof: bool, payload: &[u8]) -> (VideoHeader, Vec<u8>) {
        (VideoHeader::new(frame, packet, eof), payload.to_vec())
    }

    fn push_all(
        a: &mut FrameAssembler,
        dgs: &[(VideoHeader, Vec<u8>)],
    ) -> Vec<Result<Bytes, Dropped>> {
        let mut out = Vec::new();
        for (h, p) in dgs {
            a.push(&VideoDatagram {
                header: *h,
                payload: p,
            });
            while let Some(r) = a.pull() {
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn reorders_datagrams_within_a_frame() {
        let mut a = FrameAssembler::new(FrameCheck::Header, 1 << 20, accept_all);
        let out = push_all(
            &mut a,
            &[
                dg(1, 2, false, b"BB"),
                dg(1, 1, false, &[0xFF, 0xD8, b'A']),
                dg(1, 3, true, &[b'C', 0xFF, 0xD9, 0]),
            ],
        );
        assert_eq!(
            out,
            vec![Ok(Bytes::from_static(&[
                0xFF, 0xD8, b'A', b'B', b'B', b'C', 0xFF, 0xD9
            ]))]
        );
    }

    #[test]
    fn drops_a_frame_with_a_missing_datagram() {
        let mut a = FrameAssembler::new(FrameCheck::Header, 1 << 20, accept_all);
        let out = push_all(
            &mut a,
            &[
                dg(1, 1, false, &[0xFF, 0xD8]),
                dg(1, 3, true, &[0xFF, 0xD9]),
                dg(2, 1, true, &[0xFF, 0xD8, 0xFF, 0xD9]),
                dg(1, 2, false, b"late"),
            ],
        );
        assert_eq!(
            out,
            vec![
                Err(Dropped::Incomplete(1)),
                Ok(Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xD9]))
            ]
        );
    }

    #[test]
    fn frame_ids_wrap() {
        let mut a = FrameAssembler::new(FrameCheck::Header, 1 << 20, accept_all);
        let jpeg = [0xFF, 0xD8, 0xFF, 0xD9];
        let out = push_all(
            &mut a,
            &[
                dg(255, 1, true, &jpeg),
                dg(0, 1, true, &jpeg),
                dg(255, 1, true, &jpeg),
            ],
        );
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(Result::is_ok));
    }

    #[test]
    fn bounds_memory() {
        let mut a = FrameAssembler::new(FrameCheck::Header, 10, accept_all);
        let out = push_all(&mut a, &[dg(1, 1, false, &[0; 11])]);
        assert_eq!(out, vec![Err(Dropped::TooLarge)]);
        let out = push_all(
            &mut a,
            &(2..12)
                .map(|f| dg(f, 1, false, &[0xFF, 0xD8]))
                .collect::<Vec<_>>(),
        );
        assert_eq!(out.len(), 10 - MAX_PARTIAL_FRAMES);
    }

    #[test]
    fn markers_mode_keeps_only_decodable_frames() {
        let img = image::RgbImage::from_pixel(16, 16, image::Rgb([200, 10, 10]));
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
            .encode_image(&img)
            .unwrap();
        let mut a = FrameAssembler::new(FrameCheck::Markers, 1 << 20, decodes);
        let (head, tail) = jpeg.split_at(jpeg.len() / 2);
        let mut broken = jpeg.clone();
        broken.drain(jpeg.len() / 3..jpeg.len() / 2);
        let out = push_all(
            &mut a,
            &[
                dg(0, 0, false, b"junk"),
                dg(0, 0, false, head),
                dg(0, 0, false, tail),
                dg(0, 0, false, &broken),
            ],
        );
        assert_eq!(out[0].as_ref().unwrap().as_ref(), &jpeg[..]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1], Err(Dropped::NotJpeg));
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_never_yields_non_jpeg(
            dgs in proptest::collection::vec((0u8..4, 0u8..6, proptest::bool::ANY, proptest::collection::vec(proptest::num::u8::ANY, 0..40)), 0..60)
        ) {
            for policy in [FrameCheck::Header, FrameCheck::Markers] {
                let mut a = FrameAssembler::new(policy, 4096, accept_all);
                for (f, p, e, payload) in &dgs {
                    a.push(&VideoDatagram { header: VideoHeader::new(*f, *p, *e), payload });
                    while let Some(r) = a.pull() {
                        if let Ok(frame) = r {
                            proptest::prop_assert!(frame.starts_with(&SOI) && frame.ends_with(&EOI));
                        }
                    }
                }
            }
        }
    }
}
