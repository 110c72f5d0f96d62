//! Sample-rate conversion of mono audio, band-limited (anti-aliased), with
//! rubato: its synchronous FFT resampler for rates with a usable common
//! divisor (every standard rate to 8 or 16 kHz), its sinc resampler
//! otherwise (e.g. 44 101 Hz, where an FFT would need 44 101 points).
//!
//! [`Resampler`] is the streaming form: push chunks of any size, get the
//! samples that are ready, [`Resampler::finish`] flushes. Its output is
//! aligned with its input (the filter delay is trimmed) and has exactly
//! `ceil(input × to / from)` samples in total. [`resample`] is the same for
//! a whole buffer. Samples are `f32`, full scale ±1.0.
//!
//! This file owns only rate conversion: no gain, no framing.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use super::AudioError;

/// Input frames per resampler call.
const CHUNK: usize = 1024;
/// Above this many input frames per FFT block (`from / gcd(from, to)`), the
/// sinc resampler is used instead of the FFT one.
const MAX_FFT_BLOCK: u32 = 2048;

/// A streaming mono resampler from one fixed rate to another.
pub struct Resampler {
    /// `None` when both rates are equal: samples pass through.
    inner: Option<Box<dyn rubato::Resampler<f32>>>,
    /// Input rate in Hz.
    from: u32,
    /// Output rate in Hz.
    to: u32,
    /// Input not yet handed to rubato (less than one chunk).
    pending: Vec<f32>,
    /// Output frames still to drop: rubato's filter delay, so output sample
    /// 0 lines up with input sample 0.
    to_trim: usize,
    /// Input frames pushed so far (sets the total output length at `finish`).
    frames_in: u64,
    /// Output frames emitted so far.
    frames_out: u64,
    /// rubato's output buffer, reused.
    scratch: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("frames_in", &self.frames_in)
            .field("frames_out", &self.frames_out)
            .finish_non_exhaustive()
    }
}

const fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Resampler {
    /// A resampler from `from` Hz to `to` Hz (both 1 Hz – 1 MHz).
    pub fn new(from: u32, to: u32) -> Result<Self, AudioError> {
        let valid = 1..=1_000_000;
        if !valid.contains(&from) || !valid.contains(&to) {
            return Err(AudioError::BadFormat(format!(
                "cannot resample from {from} Hz to {to} Hz"
            )));
        }
        let inner: Option<Box<dyn rubato::Resampler<f32>>> = if from == to {
            None
        } else if from / gcd(from, to) <= MAX_FFT_BLOCK {
            let fft = Fft::<f32>::new(from as usize, to as usize, CHUNK, 1, FixedSync::Input);
            Some(Box::new(fft.map_err(construction)?))
        } else {
            let params = SincInterpolationParameters {
                sinc_len: 128,
                f_cutoff: None,
                interpolation: SincInterpolationType::Cubic,
                oversampling_factor: 128,
                window: WindowFunction::BlackmanHarris2,
            };
            let ratio = f64::from(to) / f64::from(from);
            let sinc = Async::<f32>::new_sinc(ratio, 1.0, &params, CHUNK, 1, FixedAsync::Input);
            Some(Box::new(sinc.map_err(construction)?))
        };
        let (to_trim, max_out) = inner
            .as_ref()
            .map_or((0, 0), |r| (r.output_delay(), r.output_frames_max()));
        Ok(Self {
            inner,
            from,
            to,
            pending: Vec::with_capacity(CHUNK),
            to_trim,
            frames_in: 0,
            frames_out: 0,
            scratch: vec![0.0; max_out],
        })
    }

    /// The input rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.from
    }

    /// The output rate in Hz.
    pub fn output_rate(&self) -> u32 {
        self.to
    }

    /// Resamples `input`, appending the output samples that are ready to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.frames_in += input.len() as u64;
        if self.inner.is_none() {
            self.emit(input, out);
            return;
        }
        let mut rest = input;
        while !rest.is_empty() {
            let need = self.need();
            let take = need.saturating_sub(self.pending.len()).min(rest.len());
            let (now, later) = rest.split_at(take);
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() >= need {
                self.run(out);
            }
        }
    }

    /// Flushes: feeds silence through the filter until the output has its
    /// full length (`ceil(input × to / from)` samples), appending it to `out`.
    pub fn finish(mut self, out: &mut Vec<f32>) {
        if self.inner.is_none() {
            return;
        }
        let total = (self.frames_in * u64::from(self.to)).div_ceil(u64::from(self.from));
        // Each call makes at least one output block, so this ends; the bound
        // is only a guard against a resampler that stops producing.
        for _ in 0..1000 {
            if self.frames_out >= total {
                break;
            }
            self.run(out);
        }
        let excess = self.frames_out.saturating_sub(total);
        out.truncate(out.len().saturating_sub(excess as usize));
    }

    /// Input frames rubato takes next.
    fn need(&self) -> usize {
        self.inner
            .as_ref()
            .map_or(1, |r| r.input_frames_next())
            .max(1)
    }

    /// One rubato call on the first chunk of `pending` (padded with silence
    /// if shorter, which only `finish` does), emitting what comes out.
    fn run(&mut self, out: &mut Vec<f32>) {
        let Some(inner) = self.inner.as_mut() else {
            return;
        };
        let need = inner.input_frames_next();
        if self.pending.len() < need {
            self.pending.resize(need, 0.0);
        }
        let max_out = inner.output_frames_max();
        if self.scratch.len() < max_out {
            self.scratch.resize(max_out, 0.0);
        }
        let input = self.pending.get(..need).unwrap_or_default();
        let output = self.scratch.get_mut(..max_out).unwrap_or_default();
        let result = InterleavedSlice::new(input, 1, need)
            .and_then(|i| Ok((i, InterleavedSlice::new_mut(output, 1, max_out)?)))
            .map_err(|e| e.to_string())
            .and_then(|(i, mut o)| {
                inner
                    .process_into_buffer(&i, &mut o, None)
                    .map_err(|e| e.to_string())
            });
        self.pending.drain(..need.min(self.pending.len()));
        match result {
            Ok((_, written)) => {
                let produced = std::mem::take(&mut self.scratch);
                self.emit(produced.get(..written).unwrap_or_default(), out);
                self.scratch = produced;
            }
            // The buffers are sized from rubato's own answers, so this is a bug.
            Err(e) => tracing::warn!(error = %e, "resampler refused a chunk; dropped"),
        }
    }

    /// Appends resampled frames after dropping what remains of the delay.
    fn emit(&mut self, frames: &[f32], out: &mut Vec<f32>) {
        let skip = self.to_trim.min(frames.len());
        self.to_trim -= skip;
        let frames = frames.get(skip..).unwrap_or_default();
        self.frames_out += frames.len() as u64;
        out.extend_from_slice(frames);
    }
}

fn construction(e: rubato::ResamplerConstructionError) -> AudioError {
    AudioError::BadFormat(format!("resampler: {e}"))
}

/// Resamples a whole buffer from `from` Hz to `to` Hz:
/// `ceil(len × to / from)` samples, aligned with the input.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    let mut r = Resampler::new(from, to)?;
    let mut out =
        Vec::with_capacity((input.len() as u64 * u64::from(to) / u64::from(from)) as usize + 16);
    r.push(input, &mut out);
    r.finish(&mut out);
    Ok(out)
}

#[cfg(test)]
#[path = "resample_tests.rs"]
mod tests;
