//! Outgoing media: the session's *media-in* verb for intercom audio, and the
//! [`Pacer`] every protocol uses to send it in real time.
//!
//! The shape follows str0m's `writer()` and quinn's send streams: the caller
//! opens a talk ([`TalkInput::Open`]); the session negotiates with the camera
//! (Wyze: K10010 and a DTLS back channel; PPPP: a talk command) and answers
//! [`TalkEvent::Ready`] with the [`TalkFormat`] the camera takes. The caller
//! encodes its audio in that format, one frame per [`Bytes`], and writes the
//! frames ([`TalkInput::Frames`], as many times as it likes: a whole file at
//! once or push-to-talk as it comes), then [`TalkInput::Finish`] (play what
//! is queued, then end) or [`TalkInput::Stop`] (end now). The session sends
//! each frame when it is due — one frame duration after the previous one, a
//! small [`LEAD`] early — from its own timer, never as fast as possible, and
//! reports [`TalkEvent::Ended`] once with how much it played. Video keeps
//! flowing throughout: a talk is a sub-machine next to the stream.
//!
//! Nothing here reads a clock: the pacer is given `now`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::model::{CommandError, TalkFormat};

/// Identifies one playback; chosen by the caller, echoed in events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TalkId(pub u64);

/// Outgoing audio for a session.
#[derive(Debug, Clone)]
pub enum TalkInput {
    /// Start talking: negotiate with the camera, then [`TalkEvent::Ready`].
    Open {
        /// This playback.
        id: TalkId,
    },
    /// Encoded frames in the [`TalkFormat`] of [`TalkEvent::Ready`], one
    /// frame each, in order.
    Frames {
        /// This playback.
        id: TalkId,
        /// The frames.
        frames: Vec<Bytes>,
    },
    /// No more frames: play what is queued, then end.
    Finish {
        /// This playback.
        id: TalkId,
    },
    /// End now; frames still queued are dropped.
    Stop {
        /// This playback.
        id: TalkId,
    },
}

impl TalkInput {
    /// The playback this input is for.
    pub fn id(&self) -> TalkId {
        match self {
            Self::Open { id }
            | Self::Frames { id, .. }
            | Self::Finish { id }
            | Self::Stop { id } => *id,
        }
    }
}

/// How a playback ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TalkEnd {
    /// Every frame was sent.
    Finished,
    /// [`TalkInput::Stop`] ended it early.
    Stopped,
}

/// What a session reports about a playback.
#[derive(Debug, Clone, PartialEq)]
pub enum TalkEvent {
    /// The camera is ready for audio in this format.
    Ready {
        /// This playback.
        id: TalkId,
        /// What to encode.
        format: TalkFormat,
    },
    /// The playback is over (reported exactly once per [`TalkInput::Open`]).
    Ended {
        /// This playback.
        id: TalkId,
        /// Audio sent to the camera.
        played: Duration,
        /// How it ended, or why it failed.
        result: Result<TalkEnd, CommandError>,
    },
}

/// Frames may be sent this much before their real-time slot, so a little
/// scheduling jitter on our side never starves the camera's buffer.
pub const LEAD: Duration = Duration::from_millis(40);

/// The most audio a pacer holds: five minutes (the longest playback the
/// bridge accepts) plus slack. More is refused.
pub const MAX_QUEUED: Duration = Duration::from_secs(5 * 60 + 10);

/// Too much audio for the pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {max:?} of audio queued for the camera")]
pub struct QueueFull {
    /// The bound.
    pub max: Duration,
}

/// Sends frames in real time: frame *n* (counted from the last rebase) is due
/// at `anchor + n × frame duration − LEAD`.
///
/// When the queue runs dry (push-to-talk slower than real time) and frames
/// come again later, the schedule is rebased to `now`: the pacer never bursts
/// to catch up on time that passed without audio.
#[derive(Debug)]
pub struct Pacer {
    /// One frame's duration (from the format).
    frame: Duration,
    /// Frames written and not yet sent.
    queue: VecDeque<Bytes>,
    /// Bound of `queue`, in frames.
    max_frames: usize,
    /// When frame `base` was (or is) due, once the first frame was queued.
    anchor: Option<Instant>,
    /// The frame count `anchor` belongs to.
    base: u64,
    /// Frames sent so far.
    sent: u64,
    /// [`TalkInput::Finish`] arrived.
    finishing: bool,
}

impl Pacer {
    /// A pacer for frames of `format`.
    pub fn new(format: &TalkFormat) -> Self {
        let frame = format.frame_duration().max(Duration::from_millis(1));
        let max_frames = usize::try_from(MAX_QUEUED.as_micros() / frame.as_micros().max(1))
            .unwrap_or(usize::MAX);
        Self {
            frame,
            queue: VecDeque::new(),
            max_frames,
            anchor: None,
            base: 0,
            sent: 0,
            finishing: false,
        }
    }

    /// Queues frames. A queue that ran dry before `now` restarts its
    /// schedule at `now`.
    pub fn push(&mut self, now: Instant, frames: Vec<Bytes>) -> Result<(), QueueFull> {
        if frames.is_empty() {
            return Ok(());
        }
        if self.queue.len() + frames.len() > self.max_frames {
            return Err(QueueFull { max: MAX_QUEUED });
        }
        let late = self.due().is_none_or(|due| due + LEAD < now);
        if self.queue.is_empty() && late {
            self.anchor = Some(now);
            self.base = self.sent;
        }
        self.queue.extend(frames);
        Ok(())
    }

    /// No more frames will come.
    pub fn finish(&mut self) {
        self.finishing = true;
    }

    /// When the next queued frame is due in real time (before the lead).
    fn due(&self) -> Option<Instant> {
        let anchor = self.anchor?;
        let n = u32::try_from(self.sent - self.base).unwrap_or(u32::MAX);
        Some(anchor + self.frame.saturating_mul(n))
    }

    /// The next frame, if it is due at `now`, with its number (0, 1, …
    /// across the whole playback, for the protocol's timestamps).
    pub fn poll(&mut self, now: Instant) -> Option<(u64, Bytes)> {
        let due = self.due()?;
        if now + LEAD < due {
            return None;
        }
        let frame = self.queue.pop_front()?;
        let n = self.sent;
        self.sent += 1;
        Some((n, frame))
    }

    /// When [`Pacer::poll`] has something to give: `None` while the queue is
    /// empty.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.queue.is_empty() {
            return None;
        }
        self.due().map(|d| d.checked_sub(LEAD).unwrap_or(d))
    }

    /// Finished and everything sent.
    pub fn is_done(&self) -> bool {
        self.finishing && self.queue.is_empty()
    }

    /// Audio sent so far.
    pub fn played(&self) -> Duration {
        self.frame
            .saturating_mul(u32::try_from(self.sent).unwrap_or(u32::MAX))
    }

    /// Frames sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AudioCodec;
    use crate::proto::testing::t0;

    fn pcmu() -> TalkFormat {
        TalkFormat {
            codec: AudioCodec::Mulaw,
            sample_rate: 8000,
            samples_per_frame: 160,
        }
    }

    fn frames(n: usize) -> Vec<Bytes> {
        (0..n).map(|i| Bytes::from(vec![i as u8; 160])).collect()
    }

    /// Drives the pacer with its own timeouts and returns when each frame left.
    fn run(p: &mut Pacer, start: Instant) -> Vec<(u64, Duration)> {
        let mut now = start;
        let mut out = Vec::new();
        while let Some(t) = p.poll_timeout() {
            now = now.max(t);
            while let Some((n, _)) = p.poll(now) {
                out.push((n, now - start));
            }
        }
        out
    }

    #[test]
    fn a_second_of_frames_takes_a_second_minus_the_lead() {
        let mut p = Pacer::new(&pcmu());
        let t = t0();
        p.push(t, frames(50)).unwrap();
        p.finish();
        let sent = run(&mut p, t);
        assert_eq!(sent.len(), 50);
        // The first frames go at once (within the lead), then one every 20 ms.
        assert_eq!(sent[0].1, Duration::ZERO);
        assert_eq!(sent[2].1, Duration::ZERO);
        assert_eq!(sent[3].1, Duration::from_millis(20));
        assert_eq!(sent[49].1, Duration::from_millis(49 * 20) - LEAD);
        assert!(p.is_done());
        assert_eq!(p.played(), Duration::from_secs(1));
    }

    #[test]
    fn nothing_leaves_before_it_is_due() {
        let mut p = Pacer::new(&pcmu());
        let t = t0();
        p.push(t, frames(10)).unwrap();
        let mut got = 0;
        while p.poll(t).is_some() {
            got += 1;
        }
        // Frames 0, 1 and 2 are within the 40 ms lead; frame 3 is due at 60 ms.
        assert_eq!(got, 3);
        assert_eq!(p.poll_timeout(), Some(t + Duration::from_millis(20)));
    }

    #[test]
    fn a_dry_queue_restarts_its_schedule_instead_of_bursting() {
        let mut p = Pacer::new(&pcmu());
        let t = t0();
        p.push(t, frames(5)).unwrap();
        let first = run(&mut p, t);
        assert_eq!(first.len(), 5);
        // Push-to-talk pauses for 2 s, then more frames come.
        let later = t + Duration::from_secs(2);
        p.push(later, frames(5)).unwrap();
        let mut now = later;
        let mut burst = 0;
        while p.poll(now).is_some() {
            burst += 1;
        }
        assert_eq!(
            burst, 3,
            "only the lead's worth at once, not a catch-up burst"
        );
        now += Duration::from_millis(20);
        assert!(p.poll(now).is_some());
        assert!(p.poll(now).is_none());
        assert_eq!(p.sent(), 9, "frame numbers keep counting across the pause");
    }

    #[test]
    fn frames_pushed_while_on_schedule_keep_the_schedule() {
        let mut p = Pacer::new(&pcmu());
        let t = t0();
        p.push(t, frames(3)).unwrap();
        while p.poll(t).is_some() {}
        // The next frame (3) is due at 60 ms; more arrive at 10 ms: no rebase.
        p.push(t + Duration::from_millis(10), frames(3)).unwrap();
        assert_eq!(p.poll_timeout(), Some(t + Duration::from_millis(20)));
    }

    #[test]
    fn more_than_five_minutes_is_refused() {
        let mut p = Pacer::new(&pcmu());
        let five_min = 5 * 60 * 50;
        p.push(t0(), frames(five_min)).unwrap();
        let e = p.push(t0(), frames(1000)).unwrap_err();
        assert_eq!(e.max, MAX_QUEUED);
    }

    #[test]
    fn an_unfinished_empty_pacer_waits_without_a_timer() {
        let mut p = Pacer::new(&pcmu());
        assert_eq!(p.poll_timeout(), None);
        assert!(!p.is_done());
        p.finish();
        assert!(p.is_done());
        assert_eq!(p.played(), Duration::ZERO);
    }
}
