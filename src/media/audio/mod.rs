//! Audio: one place for every codec in both directions.
//!
//! * [`codec`]: the camera codecs (G.711 μ-law and A-law, IMA ADPCM, PCM)
//!   sample by sample and packet by packet. Used by the sessions' consumers
//!   to decode what cameras send and by the simulators to play a camera.
//!
//! Protocol cores (`proto/`) must not depend on this module: they pass the
//! encoded bytes on as [`crate::model::MediaFrame::Audio`] and whoever wants
//! PCM decodes them here.

pub mod codec;

use thiserror::Error;

use crate::model::AudioCodec;

/// Why audio could not be decoded, converted or encoded. The texts are
/// user-facing (they end up in MQTT events): short, plain, naming the format.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AudioError {
    /// The codec exists in the vocabulary but has no encoder/decoder here.
    #[error("{} audio is not supported here", codec::codec_name(*.0))]
    Unsupported(AudioCodec),
}
