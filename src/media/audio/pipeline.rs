//! The intercom pipeline: what a session calls to turn a user's audio into
//! the camera's frames. [`prepare`] takes a whole file (decode → mono →
//! resample → volume → encode and frame); [`StreamEncoder`] does the same for
//! push-to-talk PCM arriving in chunks.
//!
//! The session decides the [`TalkFormat`] (codec, rate, samples per frame);
//! this file owns only the chain and the framing rules: every frame holds
//! exactly `samples_per_frame` samples (the last padded with silence), and
//! ADPCM frames each start from a fresh state (one frame = one packet).

use std::time::Duration;

use bytes::Bytes;

use super::codec::{self, AudioCodec};
use super::decode::{self, f32_to_i16};
use super::resample::Resampler;
use super::{volume, AudioError};

/// What the camera takes, decided by the session (the model's type: the
/// sessions, which may not depend on `media`, name it too).
pub use crate::model::TalkFormat;

/// The most samples one frame may hold (a second at 64 kHz); a guard
/// against a nonsense format allocating a huge frame.
const MAX_SAMPLES_PER_FRAME: usize = 65_536;

impl TalkFormat {
    /// Checks that frames in this format can be made.
    pub fn validate(&self) -> Result<(), AudioError> {
        if self.codec == AudioCodec::Aac {
            return Err(AudioError::Unsupported(self.codec));
        }
        if !(1_000..=192_000).contains(&self.sample_rate) {
            return Err(AudioError::BadFormat(format!(
                "camera sample rate {} Hz",
                self.sample_rate
            )));
        }
        if !(1..=MAX_SAMPLES_PER_FRAME).contains(&self.samples_per_frame) {
            return Err(AudioError::BadFormat(format!(
                "{} samples per frame",
                self.samples_per_frame
            )));
        }
        Ok(())
    }
}

/// A file made ready for the camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// One encoded frame per entry, each exactly `samples_per_frame`
    /// samples (the last padded with silence).
    pub frames: Vec<Bytes>,
    /// How long the frames play (frames × samples per frame ÷ rate): what
    /// to pace sending by.
    pub duration: Duration,
}

/// Decodes `file` (see [`decode`] for formats, limits and errors), mixes it
/// to mono, resamples it to the camera's rate, applies `volume` (0.0–2.0,
/// soft-limited) and encodes it into frames. CPU-bound: run it on a
/// blocking thread.
pub fn prepare(file: &[u8], volume: f32, format: &TalkFormat) -> Result<Prepared, AudioError> {
    format.validate()?;
    let decoded = decode::decode(file)?;
    let mut encoder = StreamEncoder::new(decoded.sample_rate, volume, format)?;
    let mut frames = encoder.push_f32(&decoded.samples);
    frames.extend(encoder.finish());
    let duration = format.frame_duration() * u32::try_from(frames.len()).unwrap_or(u32::MAX);
    Ok(Prepared { frames, duration })
}

/// Push-to-talk: PCM chunks of any size in, whole encoded frames out as
/// soon as they are ready; [`StreamEncoder::finish`] flushes the rest.
#[derive(Debug)]
pub struct StreamEncoder {
    /// From the talker's rate to the camera's.
    resampler: Resampler,
    /// Gain, already sanitized.
    volume: f32,
    /// The camera's format.
    format: TalkFormat,
    /// Resampled, level-adjusted samples not yet filling a frame.
    pending: Vec<f32>,
    /// Resampler output, reused between pushes.
    scratch: Vec<f32>,
}

impl StreamEncoder {
    /// An encoder for mono PCM at `input_rate` Hz into `format`.
    pub fn new(input_rate: u32, volume: f32, format: &TalkFormat) -> Result<Self, AudioError> {
        format.validate()?;
        Ok(Self {
            resampler: Resampler::new(input_rate, format.sample_rate)?,
            volume: volume::sanitize(volume),
            format: *format,
            pending: Vec::with_capacity(format.samples_per_frame),
            scratch: Vec::new(),
        })
    }

    /// Adds 16-bit mono samples; returns the frames completed by them.
    pub fn push(&mut self, pcm: &[i16]) -> Vec<Bytes> {
        let samples: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
        self.push_f32(&samples)
    }

    /// Adds mono samples at full scale ±1.0; returns the frames completed.
    pub fn push_f32(&mut self, samples: &[f32]) -> Vec<Bytes> {
        let mut resampled = std::mem::take(&mut self.scratch);
        resampled.clear();
        self.resampler.push(samples, &mut resampled);
        let frames = take_frames(&mut self.pending, &mut resampled, self.volume, &self.format);
        self.scratch = resampled;
        frames
    }

    /// Flushes the resampler and returns the last frames, the final one
    /// padded with silence (nothing if no sample is left).
    pub fn finish(self) -> Vec<Bytes> {
        let Self {
            resampler,
            volume,
            format,
            mut pending,
            ..
        } = self;
        let mut tail = Vec::new();
        resampler.finish(&mut tail);
        let mut frames = take_frames(&mut pending, &mut tail, volume, &format);
        if !pending.is_empty() {
            pending.resize(format.samples_per_frame, 0.0);
            frames.push(encode_frame(&format, &pending));
        }
        frames
    }
}

/// Levels `resampled`, appends it to `pending` and cuts off whole frames.
fn take_frames(
    pending: &mut Vec<f32>,
    resampled: &mut [f32],
    volume: f32,
    format: &TalkFormat,
) -> Vec<Bytes> {
    volume::apply(resampled, volume);
    pending.extend_from_slice(resampled);
    let n = format.samples_per_frame.max(1);
    let whole = pending.len() / n * n;
    let frames = pending
        .get(..whole)
        .unwrap_or_default()
        .chunks_exact(n)
        .map(|frame| encode_frame(format, frame))
        .collect();
    pending.drain(..whole);
    frames
}

/// One frame to bytes (ADPCM from a fresh state: one frame, one packet).
fn encode_frame(format: &TalkFormat, frame: &[f32]) -> Bytes {
    let pcm: Vec<i16> = frame.iter().map(|&s| f32_to_i16(s)).collect();
    // `validate` refused AAC, the only codec without an encoder.
    codec::encode(format.codec, &pcm)
        .map(Bytes::from)
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
