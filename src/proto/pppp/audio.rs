//! PPPP audio packets (`pppp.md` §3.5): the JSON cameras' channel-2 packet
//! format and the sample rates. This module only cuts packets; it does not
//! decode audio (protocol cores pass encoded bytes on, and
//! `media::audio::codec` owns every codec).
//!
//! * **JSON cameras** (DGOx, PIXA) send audio on DRW channel 2 after
//!   `stream{audio:1}`. Each packet is a 32-byte [`FrameHeader`] (bytes
//!   `55 AA 15 A8 AA 01`) followed by 4-bit IMA ADPCM, high nibble first
//!   ([`parse_audio_frame`]).
//! * **Binary cameras** interleave G.711 A-law frames (type 0x06) with the
//!   video on channel 1; [`super::media::MjpegAssembler`] cuts them out.
//!
//! # Choices where the reference is unsure
//! * **ADPCM state per packet.** A9_PPPP starts every packet from a fresh
//!   decoder state because carrying the state across packets gave an 80 ms
//!   rattle, so each packet's bytes go out as one chunk that decodes from a
//!   fresh state (`AudioCodec::ImaAdpcm`). A9_PPPP's fresh state is index 0
//!   with a predicted value of 7 (its `stepsizeTable[0]`, which looks like an
//!   accident); `media::audio` starts from the IMA standard's index 0, value 0.
//!   The difference is a DC offset of 7/32768, inaudible. The header's
//!   `sample`/`index` fields (offsets 28 and 30 of `stream_head_t`) are named
//!   like an ADPCM block state; they are exposed in [`FrameHeader`] but not
//!   used until a capture shows what they hold.
//! * **Sample rate.** A9_PPPP plays ADPCM at 8 kHz, magicus claims 11.025 kHz;
//!   [`ADPCM_SAMPLE_RATE`] is 8 kHz until checked on hardware. A-law is 8 kHz
//!   (cam-reverse).
//! * **Packet length.** The ADPCM bytes are everything after the 32-byte
//!   header (what A9_PPPP decodes); the header's `len` field is not used to cut
//!   them.

use super::media::{frame_type, FrameHeader, FRAME_HEADER_LEN};
use crate::proto::codec::WireError;

/// Sample rate of JSON-camera ADPCM audio in Hz (A9_PPPP; magicus says 11 025).
pub const ADPCM_SAMPLE_RATE: u32 = 8_000;
/// Sample rate of binary-camera A-law audio in Hz (cam-reverse).
pub const ALAW_SAMPLE_RATE: u32 = 8_000;

/// A JSON-camera audio packet from DRW channel 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFrame<'a> {
    /// Its 32-byte header.
    pub header: FrameHeader,
    /// The IMA ADPCM bytes: everything after the header (one chunk that
    /// decodes from a fresh state, [`ADPCM_SAMPLE_RATE`], mono).
    pub data: &'a [u8],
}

/// Parses a JSON-camera audio packet: the frame magic `55 AA 15 A8`, an ADPCM
/// frame type (0xAA, or 0x08 which the reference also lists for JSON cameras)
/// and any stream id (a fixed `… AA 01` match would repeat A9_PPPP's DGOK
/// mistake on video), then ADPCM to the end of the packet.
pub fn parse_audio_frame(packet: &[u8]) -> Result<AudioFrame<'_>, WireError> {
    let header = FrameHeader::parse(packet)?;
    if !matches!(header.frame_type, frame_type::ADPCM | frame_type::ADPCM_ALT) {
        return Err(WireError::UnknownType(u16::from(header.frame_type)));
    }
    Ok(AudioFrame {
        header,
        data: packet.get(FRAME_HEADER_LEN..).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- JSON-camera audio packets ----------------------------------------

    fn audio_packet(kind: u8, stream: u8, adpcm: &[u8]) -> Vec<u8> {
        let mut h = FrameHeader::new(kind, adpcm.len() as u32);
        h.stream_id = stream;
        h.frame_no = 7;
        let mut p = h.to_bytes().to_vec();
        p.extend_from_slice(adpcm);
        p
    }

    #[test]
    fn parses_a_json_camera_audio_packet() {
        let p = audio_packet(0xAA, 0x01, &[0x70, 0x9F]);
        assert_eq!(&p[..6], &[0x55, 0xAA, 0x15, 0xA8, 0xAA, 0x01]);
        let f = parse_audio_frame(&p).unwrap();
        assert_eq!(f.header.frame_type, 0xAA);
        assert_eq!(f.header.frame_no, 7);
        assert_eq!(f.data, &[0x70, 0x9F]);
    }

    #[test]
    fn audio_packets_with_another_stream_id_or_type_0x08_are_accepted() {
        assert!(parse_audio_frame(&audio_packet(0xAA, 0x03, &[1])).is_ok());
        assert!(parse_audio_frame(&audio_packet(0x08, 0x01, &[1])).is_ok());
        // A header alone is a valid, empty packet.
        assert_eq!(
            parse_audio_frame(&audio_packet(0xAA, 0x01, &[]))
                .unwrap()
                .data,
            &[] as &[u8]
        );
    }

    #[test]
    fn non_audio_packets_are_rejected() {
        assert_eq!(
            parse_audio_frame(&audio_packet(0x03, 0x00, &[1])),
            Err(WireError::UnknownType(0x03))
        );
        assert!(matches!(
            parse_audio_frame(&[0x55, 0xAA, 0x15, 0xA9, 0xAA, 0x01]),
            Err(WireError::BadMagic { .. })
        ));
        assert!(matches!(
            parse_audio_frame(&[0x55, 0xAA, 0x15, 0xA8, 0xAA, 0x01]),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            parse_audio_frame(&[]),
            Err(WireError::Truncated { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn the_audio_parser_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            if let Ok(f) = parse_audio_frame(&bytes) {
                proptest::prop_assert_eq!(f.data.len(), bytes.len() - FRAME_HEADER_LEN);
            }
            // Also with a valid header in front of the random bytes.
            let mut p = FrameHeader::new(0xAA, 0).to_bytes().to_vec();
            p.extend_from_slice(&bytes);
            let f = parse_audio_frame(&p).unwrap();
            proptest::prop_assert_eq!(f.data, &bytes[..]);
        }
    }
}
