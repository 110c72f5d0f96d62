//! Audio: one place for every codec in both directions.
//!
//! * [`codec`]: the camera codecs (G.711 μ-law and A-law, IMA ADPCM, PCM)
//!   sample by sample and packet by packet. Used by the sessions' consumers
//!   to decode what cameras send and by the simulators to play a camera.
//! * [`decode`]: an audio file (WAV, MP3, Ogg Vorbis, FLAC, AAC) to mono PCM,
//!   within [`MAX_INPUT_BYTES`] and [`MAX_DURATION`].
//! * [`resample`]: band-limited sample-rate conversion, whole or streaming.
//! * [`volume`]: gain with clipping protection.
//! * [`pipeline`]: what the intercom calls: [`prepare`] a file into the
//!   camera's frames, or [`StreamEncoder`] for push-to-talk.
//!
//! Protocol cores (`proto/`) must not depend on this module: they pass the
//! encoded bytes on as [`crate::model::MediaFrame::Audio`] and whoever wants
//! PCM decodes them here. Nothing here does I/O or reads a clock; `prepare`
//! is CPU work for a blocking thread.

pub mod codec;
pub mod decode;
pub mod pipeline;
pub mod resample;
pub mod volume;

#[cfg(test)]
mod test_util;

use std::time::Duration;

use thiserror::Error;

pub use crate::model::AudioCodec;
pub use pipeline::{prepare, Prepared, StreamEncoder, TalkFormat};

/// The largest audio file accepted, in bytes (8 MiB).
pub const MAX_INPUT_BYTES: usize = 8 << 20;
/// The longest audio accepted (5 minutes).
pub const MAX_DURATION: Duration = Duration::from_secs(5 * 60);

/// Why audio could not be decoded, converted or encoded. The texts are
/// user-facing (they end up in MQTT events): short, plain, naming the format.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AudioError {
    /// The codec exists in the vocabulary but has no encoder/decoder here.
    #[error("{} audio is not supported here", codec::codec_name(*.0))]
    Unsupported(AudioCodec),
    /// The file is over [`MAX_INPUT_BYTES`].
    #[error("audio file too big: {} KiB, the limit is {} KiB", .size / 1024, MAX_INPUT_BYTES / 1024)]
    TooBig {
        /// Its size in bytes.
        size: usize,
    },
    /// The audio is over [`MAX_DURATION`] (by its header or while decoding).
    #[error("{format} file too long: the limit is {} minutes", MAX_DURATION.as_secs() / 60)]
    TooLong {
        /// The file format ("WAV", "MP3", …).
        format: &'static str,
    },
    /// Not a file format we read (a picture, text, raw bytes…).
    #[error("not an audio file: expected WAV, MP3, Ogg Vorbis, FLAC, AAC or M4A")]
    NotAudio,
    /// Less than 90% of the stated length decodes and the stream just ends
    /// (a cut file; the rule is in [`decode`]).
    #[error("{format} file is incomplete: only {decoded_percent}% of it could be decoded")]
    Truncated {
        /// The file format.
        format: &'static str,
        /// How much of the stated length decoded.
        decoded_percent: u8,
    },
    /// The container or the audio is malformed beyond what can be skipped.
    #[error("{format} file is damaged: {detail}")]
    Corrupt {
        /// The file format.
        format: &'static str,
        /// What went wrong, in a few words.
        detail: String,
    },
    /// The container is fine but holds a codec we cannot decode.
    #[error("unsupported audio codec: {0}")]
    UnsupportedCodec(String),
    /// The file parses but holds no audio samples.
    #[error("{format} file has no sound")]
    NoSound {
        /// The file format.
        format: &'static str,
    },
    /// A [`TalkFormat`] or input rate the pipeline cannot produce.
    #[error("invalid audio format: {0}")]
    BadFormat(String),
}
