//! PPPP audio (`pppp.md` §3.5): IMA/DVI ADPCM and G.711 A-law decoders to
//! signed 16-bit PCM, and the JSON-camera audio packet.
//!
//! * **JSON cameras** (DGOx, PIXA) send audio on DRW channel 2 after
//!   `stream{audio:1}`. Each packet is a 32-byte [`FrameHeader`] (bytes
//!   `55 AA 15 A8 AA 01`) followed by 4-bit IMA ADPCM, high nibble first
//!   ([`parse_audio_frame`], [`AudioFrame::decode_pcm`]).
//! * **Binary cameras** interleave G.711 A-law frames (type 0x06) with the
//!   video on channel 1; [`super::media::MjpegAssembler`] cuts them out and
//!   [`alaw_decode`] turns them into PCM.
//!
//! # Choices where the reference is unsure
//! * **ADPCM state per packet.** A9_PPPP starts every packet from a fresh
//!   decoder state because carrying the state across packets gave an 80 ms
//!   rattle; [`AudioFrame::decode_pcm`] does the same. A9_PPPP's fresh state is
//!   index 0 with a predicted value of 7 (its `stepsizeTable[0]`, which looks
//!   like an accident); we start from the IMA standard's index 0, value 0
//!   ([`AdpcmState::reset`]). The difference is a DC offset of 7/32768,
//!   inaudible. Callers that want to carry state use [`ima_adpcm_decode`] with
//!   their own [`AdpcmState`]. The header's `sample`/`index` fields (offsets 28
//!   and 30 of `stream_head_t`) are named like an ADPCM block state; they are
//!   exposed in [`FrameHeader`] but not used until a capture shows what they hold.
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

/// IMA ADPCM quantiser step sizes (IMA Digital Audio Focus and Technical
/// Working Groups, "Recommended Practices for Enhancing Digital Audio
/// Compatibility in Multimedia Systems", 1992).
const STEP_TABLE: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
    73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449,
    494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272,
    2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493,
    10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
];

/// Largest step index.
const MAX_STEP_INDEX: u8 = 88;

/// Step-index change per 3-bit magnitude (the sign bit does not matter).
const INDEX_ADJUST: [i32; 8] = [-1, -1, -1, -1, 2, 4, 6, 8];

/// IMA ADPCM decoder state: carried from one nibble to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdpcmState {
    /// The predicted (last output) sample.
    pub predictor: i16,
    /// Index into the step table, 0–88 (larger values are treated as 88).
    pub step_index: u8,
}

impl AdpcmState {
    /// The IMA standard's starting state: predictor 0, step index 0.
    pub const fn new() -> Self {
        Self {
            predictor: 0,
            step_index: 0,
        }
    }

    /// Back to [`AdpcmState::new`] (what [`AudioFrame::decode_pcm`] does per packet).
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}

/// Decodes 4-bit IMA/DVI ADPCM, two samples per byte, **high nibble first**
/// (the classic `adpcm.c` order A9_PPPP uses), continuing from `state` and
/// leaving it where the data ends.
pub fn ima_adpcm_decode(data: &[u8], state: &mut AdpcmState) -> Vec<i16> {
    let mut predictor = i32::from(state.predictor);
    let mut index = state.step_index.min(MAX_STEP_INDEX);
    let mut out = Vec::with_capacity(data.len().saturating_mul(2));
    for &byte in data {
        for nibble in [byte >> 4, byte & 0x0F] {
            let step = STEP_TABLE.get(usize::from(index)).copied().unwrap_or(32767);
            // diff = (magnitude + 0.5) * step / 4, computed the standard's way.
            let mut diff = step >> 3;
            if nibble & 4 != 0 {
                diff += step;
            }
            if nibble & 2 != 0 {
                diff += step >> 1;
            }
            if nibble & 1 != 0 {
                diff += step >> 2;
            }
            if nibble & 8 != 0 {
                predictor -= diff;
            } else {
                predictor += diff;
            }
            predictor = predictor.clamp(i32::from(i16::MIN), i32::from(i16::MAX));
            let adjust = INDEX_ADJUST
                .get(usize::from(nibble & 7))
                .copied()
                .unwrap_or(0);
            index = (i32::from(index) + adjust).clamp(0, i32::from(MAX_STEP_INDEX)) as u8;
            out.push(predictor as i16);
        }
    }
    state.predictor = predictor as i16;
    state.step_index = index;
    out
}

/// One G.711 A-law code to linear PCM (ITU-T G.711 Table 1a, scaled from the
/// 13-bit decision values to 16 bits by ×8, as the Sun/ITU reference `alaw2linear` does).
pub const fn alaw_to_linear(code: u8) -> i16 {
    // Even bits are inverted on the line.
    let a = code ^ 0x55;
    let quant = (a & 0x0F) as i32;
    let segment = ((a >> 4) & 0x07) as i32;
    let magnitude = if segment == 0 {
        (quant << 4) + 8
    } else {
        ((quant << 4) + 0x108) << (segment - 1)
    };
    // Bit 7 set (after inversion) is positive.
    if a & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// Decodes G.711 A-law, one sample per byte.
pub fn alaw_decode(data: &[u8]) -> Vec<i16> {
    data.iter().map(|&b| alaw_to_linear(b)).collect()
}

/// A JSON-camera audio packet from DRW channel 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioFrame<'a> {
    /// Its 32-byte header.
    pub header: FrameHeader,
    /// The IMA ADPCM bytes: everything after the header.
    pub data: &'a [u8],
}

impl AudioFrame<'_> {
    /// The packet's PCM (mono, [`ADPCM_SAMPLE_RATE`]), decoded from a fresh
    /// [`AdpcmState`]: the per-packet reset A9_PPPP found necessary.
    pub fn decode_pcm(&self) -> Vec<i16> {
        let mut state = AdpcmState::new();
        ima_adpcm_decode(self.data, &mut state)
    }
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

    // ---- G.711 A-law ------------------------------------------------------

    /// The decoder output values of ITU-T G.711 Table 1a, written as the table
    /// is laid out rather than as the bit manipulation above: after inverting
    /// the even bits, bits 6–4 pick one of 8 segments and bits 3–0 one of 16
    /// equal intervals in it. On the 4096-unit (12-bit magnitude) scale the
    /// first two segments are 32 units wide with intervals of 2; every later
    /// segment doubles both. The decoder outputs the interval's midpoint, and
    /// the 16-bit PCM value is that ×8 (13-bit → 16-bit).
    fn g711_table_value(code: u8) -> i32 {
        let a = code ^ 0x55;
        let segment = u32::from((a >> 4) & 7);
        let interval = i32::from(a & 0x0F);
        let (start, width) = match segment {
            0 => (0, 2),
            s => (16 << s, 1 << s),
        };
        let midpoint = start + interval * width + width / 2;
        let sign = if a & 0x80 != 0 { 1 } else { -1 };
        sign * midpoint * 8
    }

    #[test]
    fn alaw_known_values_from_g711() {
        // 0xD5/0x55 are the codes nearest zero (the idle pattern on a line),
        // 0xAA/0x2A the extremes: ±4032 on the 4096 scale.
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        // First value of segment 2 (code 0x80 ^ 0x55 ^ 0x10 = 0xC5): 33 × 8.
        assert_eq!(alaw_to_linear(0xC5), 264);
    }

    #[test]
    fn alaw_matches_the_g711_table_for_all_256_codes() {
        for code in 0..=255u8 {
            assert_eq!(
                i32::from(alaw_to_linear(code)),
                g711_table_value(code),
                "code {code:#04x}"
            );
        }
    }

    #[test]
    fn alaw_is_symmetric_in_the_sign_bit() {
        for code in 0..=255u8 {
            assert_eq!(alaw_to_linear(code ^ 0x80), -alaw_to_linear(code));
        }
    }

    #[test]
    fn alaw_decode_gives_one_sample_per_byte() {
        assert_eq!(alaw_decode(&[0xD5, 0x55, 0xAA]), vec![8, -8, 32256]);
        assert!(alaw_decode(&[]).is_empty());
    }

    // ---- IMA ADPCM --------------------------------------------------------

    /// A small IMA ADPCM encoder written from the standard's description of
    /// the encoder (quantise the difference to the prediction in three binary
    /// steps, then update the prediction exactly as a decoder would). Returns
    /// the nibbles and the prediction after each one (what a correct decoder
    /// must output).
    fn ima_encode(samples: &[i16]) -> (Vec<u8>, Vec<i16>) {
        let mut predicted: i32 = 0;
        let mut index: i32 = 0;
        let mut nibbles = Vec::new();
        let mut reconstructed = Vec::new();
        for &s in samples {
            let step = STEP_TABLE[index as usize];
            let mut diff = i32::from(s) - predicted;
            let mut code = 0u8;
            if diff < 0 {
                code = 8;
                diff = -diff;
            }
            let mut delta = step >> 3;
            let mut part = step;
            for bit in [4u8, 2, 1] {
                if diff >= part {
                    code |= bit;
                    diff -= part;
                    delta += part;
                }
                part >>= 1;
            }
            predicted = if code & 8 != 0 {
                predicted - delta
            } else {
                predicted + delta
            }
            .clamp(-32768, 32767);
            index = (index + [-1, -1, -1, -1, 2, 4, 6, 8][usize::from(code & 7)]).clamp(0, 88);
            nibbles.push(code);
            reconstructed.push(predicted as i16);
        }
        (nibbles, reconstructed)
    }

    /// Packs nibbles high nibble first (an odd count is padded with 0).
    fn pack(nibbles: &[u8]) -> Vec<u8> {
        nibbles
            .chunks(2)
            .map(|c| (c[0] << 4) | c.get(1).copied().unwrap_or(0))
            .collect()
    }

    #[test]
    fn the_step_table_is_the_ima_table() {
        assert_eq!(STEP_TABLE.len(), 89);
        assert_eq!((STEP_TABLE[0], STEP_TABLE[88]), (7, 32767));
        // Each step is about 1.1 times the previous one.
        for w in STEP_TABLE.windows(2) {
            assert!(w[1] > w[0]);
            let ratio = f64::from(w[1]) / f64::from(w[0]);
            assert!((1.05..=1.15).contains(&ratio) || w[0] < 20, "{w:?}");
        }
    }

    #[test]
    fn adpcm_decodes_a_hand_computed_sequence_high_nibble_first() {
        // From (0, 0): nibble 7 → step 7: 7>>3 + 7 + 3 + 1 = 11, index 8 (step 16);
        // nibble 0 → 16>>3 = 2 → 13, index 7 (step 14);
        // nibble 8+1 → -(14>>3 + 14>>2) = -(1 + 3) → 9, index 6 (step 13);
        // nibble 0xF → -(13>>3 + 13 + 6 + 3) = -23 → -14, index 14.
        let mut state = AdpcmState::new();
        assert_eq!(
            ima_adpcm_decode(&[0x70, 0x9F], &mut state),
            vec![11, 13, 9, -14]
        );
        assert_eq!(
            state,
            AdpcmState {
                predictor: -14,
                step_index: 14
            }
        );
    }

    #[test]
    fn adpcm_reproduces_an_independently_encoded_sine_within_the_codec_error() {
        let samples: Vec<i16> = (0..4000)
            .map(|i| {
                let t = f64::from(i) / 8000.0;
                (9000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
            })
            .collect();
        let (nibbles, reconstructed) = ima_encode(&samples);
        let mut state = AdpcmState::new();
        let decoded = ima_adpcm_decode(&pack(&nibbles), &mut state);
        // Bit exact with the encoder's own reconstruction…
        assert_eq!(decoded, reconstructed);
        // …and close to the input once the step size has adapted (first ~5 ms).
        let (mut signal, mut noise) = (0f64, 0f64);
        for (&d, &s) in decoded.iter().zip(&samples).skip(40) {
            signal += f64::from(s).powi(2);
            noise += (f64::from(d) - f64::from(s)).powi(2);
        }
        let snr_db = 10.0 * (signal / noise).log10();
        assert!(snr_db > 20.0, "SNR {snr_db:.1} dB");
    }

    #[test]
    fn adpcm_state_carries_across_calls_and_reset_starts_over() {
        let (nibbles, _) = ima_encode(&[1000, 3000, 6000, 9000, 6000, 0, -6000, -9000]);
        let bytes = pack(&nibbles);
        let (a, b) = bytes.split_at(2);

        let mut whole = AdpcmState::new();
        let all = ima_adpcm_decode(&bytes, &mut whole);

        let mut carried = AdpcmState::new();
        let mut parts = ima_adpcm_decode(a, &mut carried);
        parts.extend(ima_adpcm_decode(b, &mut carried));
        assert_eq!(parts, all, "carrying the state equals one long decode");
        assert_eq!(carried, whole);

        carried.reset();
        assert_eq!(carried, AdpcmState::new());
        let mut fresh = AdpcmState::new();
        assert_eq!(
            ima_adpcm_decode(b, &mut carried),
            ima_adpcm_decode(b, &mut fresh)
        );
        assert_ne!(
            ima_adpcm_decode(b, &mut AdpcmState::new()),
            all[4..].to_vec(),
            "restarting mid-stream changes the output"
        );
    }

    #[test]
    fn adpcm_saturates_instead_of_overflowing() {
        let mut state = AdpcmState::new();
        let up = ima_adpcm_decode(&[0x77; 64], &mut state);
        assert_eq!(up.last(), Some(&i16::MAX));
        assert_eq!(state.step_index, 88);
        let down = ima_adpcm_decode(&[0xFF; 64], &mut state);
        assert_eq!(down.last(), Some(&i16::MIN));
        // An out-of-range index from a caller is clamped, not indexed.
        let mut odd = AdpcmState {
            predictor: 0,
            step_index: 200,
        };
        assert_eq!(ima_adpcm_decode(&[0x00], &mut odd).len(), 2);
    }

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
        assert_eq!(f.decode_pcm(), vec![11, 13, 9, -14]);
    }

    #[test]
    fn each_audio_packet_is_decoded_from_a_fresh_state() {
        let p = audio_packet(0xAA, 0x01, &[0x77, 0x77, 0x10]);
        let f = parse_audio_frame(&p).unwrap();
        assert_eq!(f.decode_pcm(), f.decode_pcm());
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
        fn audio_parsers_never_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            predictor in proptest::num::i16::ANY,
            step_index in proptest::num::u8::ANY,
        ) {
            let mut state = AdpcmState { predictor, step_index };
            let pcm = ima_adpcm_decode(&bytes, &mut state);
            proptest::prop_assert_eq!(pcm.len(), bytes.len() * 2);
            proptest::prop_assert!(state.step_index <= 88);
            proptest::prop_assert_eq!(alaw_decode(&bytes).len(), bytes.len());
            if let Ok(f) = parse_audio_frame(&bytes) {
                proptest::prop_assert_eq!(f.decode_pcm().len(), f.data.len() * 2);
            }
            // Also with a valid header in front of the random bytes.
            let mut p = FrameHeader::new(0xAA, 0).to_bytes().to_vec();
            p.extend_from_slice(&bytes);
            let f = parse_audio_frame(&p).unwrap();
            proptest::prop_assert_eq!(f.data, &bytes[..]);
        }
    }
}
