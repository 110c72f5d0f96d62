//! An audio file, given as bytes, to mono PCM: WAV (PCM, float, A-law,
//! μ-law, ADPCM), MP3, Ogg Vorbis, FLAC, AAC (ADTS and MP4/M4A), through
//! symphonia. All channels are averaged into one.
//!
//! This file owns recognising the file, the limits and the error rules; it
//! does not resample or encode. It never panics on input: symphonia is
//! called behind `catch_unwind` in case one of its decoders has a bug.
//!
//! # Rules
//! * **Size.** Over [`MAX_INPUT_BYTES`]: [`AudioError::TooBig`], before
//!   anything is parsed.
//! * **Recognition.** The file must *start* (after an ID3v2 tag) like one of
//!   the formats above; anything else is [`AudioError::NotAudio`]. symphonia
//!   alone would scan up to 1 MB for a marker and could "find" MP3 frame
//!   sync bytes inside a JPEG.
//! * **Length.** Over [`MAX_DURATION`]: [`AudioError::TooLong`], as soon as
//!   the decoded samples pass it (a huge stream stops early). The length a
//!   header states is not trusted for this: a damaged header can claim hours.
//! * **Damage.** A packet that fails to decode (or, after the first, needs a
//!   feature the decoder lacks) is skipped, as players do; if more than 10%
//!   of the packets fail the file is [`AudioError::Corrupt`].
//! * **Truncation.** A file whose header states its length (WAV, FLAC, MP4,
//!   most Ogg and MP3) plays what decodes if that is at least 90% of the
//!   stated length. Less is [`AudioError::Truncated`] if the data ran out
//!   (or the stream just ended), `Corrupt` if the container broke or packets
//!   were lost on the way. Without a stated length (ADTS AAC, MP3 without a
//!   Xing/Info header) a cut file cannot be told from a short one: what
//!   decodes plays.
//! * **Nothing.** A file that parses but yields no samples is
//!   [`AudioError::NoSound`]; `Corrupt` if errors were the reason or its
//!   header promised samples.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use symphonia::core::codecs::audio::{AudioDecoderOptions, CODEC_ID_NULL_AUDIO};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::{AudioError, MAX_DURATION, MAX_INPUT_BYTES};

/// A decoded file: mono PCM at the file's own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    /// Mono samples (the channels' average), full scale ±1.0.
    pub samples: Vec<f32>,
    /// The file's sample rate in Hz.
    pub sample_rate: u32,
    /// The file format, for messages ("WAV", "MP3", …).
    pub format: &'static str,
}

impl DecodedAudio {
    /// The samples as 16-bit PCM (rounded, clipped).
    pub fn to_i16(&self) -> Vec<i16> {
        self.samples.iter().map(|&s| f32_to_i16(s)).collect()
    }

    /// How long it plays.
    pub fn duration(&self) -> Duration {
        frames_to_duration(self.samples.len() as u64, self.sample_rate)
    }
}

/// One ±1.0 sample as 16-bit PCM, rounded and clipped (NaN is 0).
pub fn f32_to_i16(s: f32) -> i16 {
    // `as` saturates and maps NaN to 0.
    (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// `frames` at `rate` Hz as a duration (zero for rate 0).
pub(crate) fn frames_to_duration(frames: u64, rate: u32) -> Duration {
    if rate == 0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(frames as f64 / f64::from(rate))
}

/// Decodes a whole audio file to mono within the module's limits (see the
/// rules above).
pub fn decode(file: &[u8]) -> Result<DecodedAudio, AudioError> {
    decode_with_limit(file, MAX_DURATION)
}

/// [`decode`] with another duration limit (tests use a short one to reach
/// the while-decoding check with small files).
pub(crate) fn decode_with_limit(file: &[u8], max: Duration) -> Result<DecodedAudio, AudioError> {
    if file.len() > MAX_INPUT_BYTES {
        return Err(AudioError::TooBig { size: file.len() });
    }
    let format = sniff(file).ok_or(AudioError::NotAudio)?;
    match catch_unwind(AssertUnwindSafe(|| decode_inner(file, format, max))) {
        Ok(result) => result,
        Err(_) => Err(AudioError::Corrupt {
            format,
            detail: "the decoder failed".into(),
        }),
    }
}

/// The highest sample rate accepted (what 768 kHz DACs play; far above
/// anything a user sends, far below what a damaged header may claim).
const MAX_RATE: u32 = 768_000;

/// The most samples at `rate` that fit in `max`.
fn max_frames(rate: u32, max: Duration) -> u64 {
    (max.as_secs_f64() * f64::from(rate)) as u64
}

fn decode_inner(
    file: &[u8],
    format: &'static str,
    max: Duration,
) -> Result<DecodedAudio, AudioError> {
    let corrupt = |detail: &str| AudioError::Corrupt {
        format,
        detail: detail.to_owned(),
    };
    let mss = MediaSourceStream::new(Box::new(Cursor::new(file)), Default::default());
    let mut reader = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymError::Unsupported(_) => {
                AudioError::UnsupportedCodec(unsupported_name(file, format))
            }
            _ => corrupt("its container does not parse"),
        })?;
    let Some(track) = reader.first_track(TrackType::Audio) else {
        return Err(AudioError::NoSound { format });
    };
    let Some(CodecParameters::Audio(params)) = track.codec_params.clone() else {
        return Err(AudioError::NoSound { format });
    };
    // The stated length is not trusted for `TooLong` (a damaged header can
    // claim hours); the count while decoding is, and it is cheap.
    let (track_id, stated_frames) = (track.id, track.num_frames);
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| match e {
            SymError::Unsupported(_) if format == "WAV" || params.codec == CODEC_ID_NULL_AUDIO => {
                AudioError::UnsupportedCodec(unsupported_name(file, format))
            }
            SymError::Unsupported(_) => {
                AudioError::UnsupportedCodec(format!("{format} with codec {}", params.codec))
            }
            _ => corrupt("its codec setup does not parse"),
        })?;

    let mut samples: Vec<f32> = Vec::new();
    let mut scratch: Vec<f32> = Vec::new();
    let mut rate: Option<u32> = None;
    let (mut packets, mut bad_packets) = (0u64, 0u64);
    let mut end = End::Clean;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            // A chained stream (a new Ogg logical stream…): play the first.
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                end = End::from_error(&e);
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        packets += 1;
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            // A feature the decoder lacks: the codec is unsupported if the
            // first packet needs it, a damaged packet if a later one does.
            Err(SymError::Unsupported(what)) if samples.is_empty() => {
                let what = what.rsplit(": ").next().unwrap_or(what);
                return Err(AudioError::UnsupportedCodec(format!(
                    "{format} using {what}"
                )));
            }
            Err(SymError::DecodeError(_) | SymError::Unsupported(_)) => {
                bad_packets += 1;
                continue;
            }
            Err(e) => {
                end = End::from_error(&e);
                break;
            }
        };
        let this_rate = buf.spec().rate();
        if !(1..=MAX_RATE).contains(&this_rate) {
            return Err(corrupt(&format!(
                "its sample rate of {this_rate} Hz is not usable"
            )));
        }
        match rate {
            None => rate = Some(this_rate),
            Some(r) if r != this_rate => return Err(corrupt("its sample rate changes midway")),
            Some(_) => {}
        }
        let channels = buf.num_planes().max(1);
        buf.copy_to_vec_interleaved::<f32>(&mut scratch);
        let scale = 1.0 / channels as f32;
        samples.extend(
            scratch
                .chunks_exact(channels)
                .map(|frame| frame.iter().sum::<f32>() * scale),
        );
        if samples.len() as u64 > max_frames(this_rate, max) {
            return Err(AudioError::TooLong { format });
        }
    }

    if bad_packets.saturating_mul(10) > packets {
        return Err(corrupt("too much of its audio does not decode"));
    }
    let stated = stated_frames.filter(|&n| n > 0);
    let Some(sample_rate) = rate.filter(|_| !samples.is_empty()) else {
        return Err(
            if end != End::Clean || bad_packets > 0 || stated.is_some() {
                corrupt("none of its audio decodes")
            } else {
                AudioError::NoSound { format }
            },
        );
    };
    if let Some(stated) = stated {
        let decoded = samples.len() as u64;
        if decoded.saturating_mul(10) < stated.saturating_mul(9) {
            // Short of the stated length: cut off if the data ran out (or
            // simply ended), damaged if something broke on the way.
            match end {
                End::Broken => return Err(corrupt("part of it does not parse")),
                End::Clean if bad_packets > 0 => {
                    return Err(corrupt("too much of its audio does not decode"))
                }
                End::Clean | End::OutOfData => {}
            }
            let percent = decoded.saturating_mul(100) / stated;
            return Err(AudioError::Truncated {
                format,
                decoded_percent: u8::try_from(percent).unwrap_or(100),
            });
        }
    }
    Ok(DecodedAudio {
        samples,
        sample_rate,
        format,
    })
}

/// How the packet stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The reader said so.
    Clean,
    /// The data ran out mid-stream: the file was cut.
    OutOfData,
    /// The container or the decoder failed otherwise: damage.
    Broken,
}

impl End {
    fn from_error(e: &SymError) -> Self {
        match e {
            SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                Self::OutOfData
            }
            _ => Self::Broken,
        }
    }
}

/// The format a file starts like, if any (after an ID3v2 tag for MP3/AAC).
pub fn sniff(file: &[u8]) -> Option<&'static str> {
    let at = |i: usize, n: usize| file.get(i..i.checked_add(n)?);
    if at(0, 4) == Some(b"RIFF") && at(8, 4) == Some(b"WAVE") {
        return Some("WAV");
    }
    if at(0, 4) == Some(b"OggS") {
        return Some("Ogg");
    }
    if at(0, 4) == Some(b"fLaC") {
        return Some("FLAC");
    }
    if at(4, 4) == Some(b"ftyp") {
        return Some("MP4");
    }
    let mut start = 0usize;
    if at(0, 3) == Some(b"ID3") {
        // Size: 4 bytes of 7 bits each; a footer (flag 0x10) adds 10 bytes.
        let size = at(6, 4)?
            .iter()
            .fold(0usize, |acc, &b| (acc << 7) | usize::from(b & 0x7F));
        let footer = if at(5, 1)?.first()? & 0x10 != 0 {
            10
        } else {
            0
        };
        start = 10 + size + footer;
    }
    let sync = at(start, 2)?;
    let (b0, b1) = (*sync.first()?, *sync.get(1)?);
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    match (b1 >> 1) & 0x03 {
        // Layer bits 00 with the 12-bit sync: an ADTS (AAC) header.
        0 if b1 & 0xF0 == 0xF0 => Some("AAC"),
        0 => None,
        _ => Some("MP3"),
    }
}

/// A user-facing name for the codec of a file symphonia refused: for WAV the
/// format tag from its `fmt ` chunk, otherwise just the container.
fn unsupported_name(file: &[u8], format: &'static str) -> String {
    let tag = (format == "WAV").then(|| wav_format_tag(file)).flatten();
    match tag {
        Some(tag) => {
            let name = match tag {
                0x0031 => "GSM 6.10",
                0x0022 => "TrueSpeech",
                0x0050 => "MPEG",
                0x0055 => "MP3",
                0x0161..=0x0163 => "WMA",
                0x0042 => "G.723.1",
                0x0064 | 0x0040 => "G.721",
                0x0014 => "G.723 ADPCM",
                _ => "an unknown codec",
            };
            format!("WAV with {name} (format {tag:#06x})")
        }
        None => format!("{format} with a codec this bridge cannot decode"),
    }
}

/// The `wFormatTag` of a WAV file's `fmt ` chunk (the sub-format for
/// WAVE_FORMAT_EXTENSIBLE), if the chunk is found.
fn wav_format_tag(file: &[u8]) -> Option<u16> {
    let mut pos = 12usize;
    while let Some(header) = file.get(pos..pos.checked_add(8)?) {
        let (id, len) = header.split_at(4);
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        let body = pos.checked_add(8)?;
        if id == b"fmt " {
            let tag = u16::from_le_bytes(file.get(body..body + 2)?.try_into().ok()?);
            if tag == 0xFFFE {
                // Extensible: the sub-format GUID's first two bytes.
                return Some(u16::from_le_bytes(
                    file.get(body + 24..body + 26)?.try_into().ok()?,
                ));
            }
            return Some(tag);
        }
        pos = body.checked_add(len)?.checked_add(len & 1)?;
    }
    None
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
