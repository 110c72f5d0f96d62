//! [`Intercom`]: one camera's playbacks, as a sans-IO sub-machine of the
//! camera core.
//!
//! A playback goes: **fetch** (a job: download the URL, decode the file to
//! PCM; every bad input fails here, before the camera is bothered) →
//! **open** ([`TalkInput::Open`] to the session, which negotiates with the
//! camera and answers [`TalkEvent::Ready`] with the format it takes) →
//! **encode** (a job: resample, volume, encode into frames) → **play** (the
//! frames and [`TalkInput::Finish`]; the session paces them) → the session's
//! [`TalkEvent::Ended`] → one result, with a [`PlaybackReport`].
//!
//! One playback per camera at a time. While one runs, a new request is
//! refused as `busy`, waits behind it (`mode: queue`, a few at most) or
//! replaces it (`mode: replace`). `stop` ends the current one (reported as
//! stopped) and drops the waiting ones. The video never pauses: the session
//! carries the talk next to its stream.
//!
//! Inputs take `now`-free calls (nothing here waits on time: the session and
//! the jobs have their own deadlines); outputs are drained with `poll_*`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::bus::Reply;
use crate::model::{
    CommandError, CommandKind, IntercomRequest, IntercomSource, LiveAudio, PlaybackMode,
    PlaybackReport, TalkFormat,
};
use crate::proto::talk::{TalkEnd, TalkEvent, TalkId, TalkInput};

/// Playbacks that may wait behind the current one (`mode: queue`).
pub const MAX_WAITING: usize = 4;

/// Decoded audio: mono samples at their own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    /// Samples per second.
    pub rate: u32,
    /// Mono samples.
    pub samples: Vec<i16>,
}

impl Pcm {
    /// How long it plays.
    pub fn duration(&self) -> Duration {
        let n = u64::try_from(self.samples.len()).unwrap_or(u64::MAX);
        Duration::from_micros(n.saturating_mul(1_000_000) / u64::from(self.rate.max(1)))
    }
}

/// Outside work the glue runs for a playback.
#[derive(Debug)]
pub enum IntercomJob {
    /// Download (for a URL) and decode to PCM; answer with
    /// [`Intercom::handle_fetched`].
    Fetch {
        /// The playback.
        id: TalkId,
        /// The audio.
        source: IntercomSource,
    },
    /// Push-to-talk: encode the live audio as it comes and hand the frames
    /// to the session (then [`TalkInput::Finish`] when it ends); the
    /// session's `Ended` finishes it.
    Stream {
        /// The playback.
        id: TalkId,
        /// The audio.
        audio: LiveAudio,
        /// What the camera takes.
        format: TalkFormat,
    },
    /// Resample, apply the volume and encode into frames of `format`; answer
    /// with [`Intercom::handle_encoded`].
    Encode {
        /// The playback.
        id: TalkId,
        /// The decoded audio.
        pcm: Arc<Pcm>,
        /// Gain.
        volume: f32,
        /// What the camera takes.
        format: TalkFormat,
    },
}

/// What the camera's speaker is doing (the `intercom` field of its state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntercomStatus {
    /// Nothing.
    Idle,
    /// A file or URL plays (or is being prepared).
    Playing,
    /// Push-to-talk.
    Talking,
}

impl IntercomStatus {
    /// As the state shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Playing => "playing",
            Self::Talking => "talking",
        }
    }
}

/// A finished request: who waits, and the outcome for the event.
#[derive(Debug)]
pub struct Finished {
    /// `intercom` or `say`.
    pub kind: CommandKind,
    /// Whoever waits for it.
    pub reply: Option<Reply>,
    /// Its outcome.
    pub result: Result<(), CommandError>,
    /// What was played, for a playback that got as far as the camera.
    pub playback: Option<PlaybackReport>,
}

#[derive(Debug)]
enum Phase {
    /// The fetch job runs.
    Fetching,
    /// Decoded (or live); the session negotiates with the camera.
    Opening { pcm: Option<Arc<Pcm>> },
    /// The encode job runs.
    Encoding,
    /// Frames handed to the session.
    Playing,
}

#[derive(Debug)]
struct Current {
    id: TalkId,
    kind: CommandKind,
    reply: Option<Reply>,
    volume: f32,
    phase: Phase,
    /// Length of the decoded audio (zero until decoded).
    duration: Duration,
    /// A stop was asked for; the result says stopped.
    stopped: bool,
    /// Push-to-talk audio, for a live playback.
    live: Option<LiveAudio>,
}

#[derive(Debug)]
struct Waiting {
    request: IntercomRequest,
    reply: Option<Reply>,
}

/// One camera's playbacks (see the module docs).
#[derive(Debug, Default)]
pub struct Intercom {
    next_id: u64,
    current: Option<Current>,
    waiting: VecDeque<Waiting>,
    jobs: VecDeque<IntercomJob>,
    talk: VecDeque<TalkInput>,
    finished: VecDeque<Finished>,
}

impl Intercom {
    /// Nothing playing.
    pub fn new() -> Self {
        Self::default()
    }

    /// What the speaker does now.
    pub fn status(&self) -> IntercomStatus {
        match &self.current {
            Some(c) if c.live.is_some() => IntercomStatus::Talking,
            Some(_) => IntercomStatus::Playing,
            None => IntercomStatus::Idle,
        }
    }

    /// A playback request (the camera's session is running).
    pub fn handle_request(&mut self, request: IntercomRequest, reply: Option<Reply>) {
        if self.current.is_none() {
            self.start(request, reply);
            return;
        }
        let kind = request.source.kind();
        match request.mode {
            PlaybackMode::Refuse => self.finish_other(
                kind,
                reply,
                Err(CommandError::Busy(
                    "the camera is already playing; send stop, or use \"mode\": \"queue\" or \"replace\"".into(),
                )),
            ),
            PlaybackMode::Queue if self.waiting.len() >= MAX_WAITING => self.finish_other(
                kind,
                reply,
                Err(CommandError::Busy(format!(
                    "{MAX_WAITING} playbacks are already waiting"
                ))),
            ),
            PlaybackMode::Queue => self.waiting.push_back(Waiting { request, reply }),
            PlaybackMode::Replace => {
                self.drop_waiting("replaced by a newer playback");
                self.waiting.push_front(Waiting { request, reply });
                self.stop_current();
            }
        }
    }

    /// `stop`: ends the current playback and drops the waiting ones.
    pub fn handle_stop(&mut self) {
        self.drop_waiting("stopped before it played");
        self.stop_current();
    }

    /// The fetch job's answer.
    pub fn handle_fetched(&mut self, id: TalkId, result: Result<Pcm, CommandError>) {
        let Some(cur) = self.current.as_mut().filter(|c| c.id == id) else {
            return;
        };
        if !matches!(cur.phase, Phase::Fetching) {
            return;
        }
        match result {
            Err(e) => self.end_current(Err(e), Duration::ZERO),
            Ok(pcm) if pcm.samples.is_empty() => {
                self.end_current(Err(bad("the audio holds no samples")), Duration::ZERO)
            }
            Ok(_) if cur.stopped => self.end_current(Ok(()), Duration::ZERO),
            Ok(pcm) => {
                cur.duration = pcm.duration();
                cur.phase = Phase::Opening {
                    pcm: Some(Arc::new(pcm)),
                };
                self.talk.push_back(TalkInput::Open { id });
            }
        }
    }

    /// The encode job's answer.
    pub fn handle_encoded(&mut self, id: TalkId, result: Result<Vec<Bytes>, CommandError>) {
        let Some(cur) = self.current.as_mut().filter(|c| c.id == id) else {
            return;
        };
        if !matches!(cur.phase, Phase::Encoding) {
            return;
        }
        match result {
            Ok(frames) => {
                cur.phase = Phase::Playing;
                self.talk.push_back(TalkInput::Frames { id, frames });
                self.talk.push_back(TalkInput::Finish { id });
            }
            Err(e) => {
                // The session holds the talk open: close it; its Ended
                // carries no error of its own, so report this one now.
                self.talk.push_back(TalkInput::Stop { id });
                self.end_current(Err(e), Duration::ZERO);
            }
        }
    }

    /// Something the session said about a playback.
    pub fn handle_talk_event(&mut self, event: TalkEvent) {
        match event {
            TalkEvent::Ready { id, format } => {
                let Some(cur) = self.current.as_mut().filter(|c| c.id == id) else {
                    // Ready for a playback that is over: close it.
                    self.talk.push_back(TalkInput::Stop { id });
                    return;
                };
                let Phase::Opening { pcm } = std::mem::replace(&mut cur.phase, Phase::Encoding)
                else {
                    return;
                };
                if cur.stopped {
                    self.talk.push_back(TalkInput::Stop { id });
                    return;
                }
                match (pcm, &cur.live) {
                    (Some(pcm), _) => self.jobs.push_back(IntercomJob::Encode {
                        id,
                        pcm,
                        volume: cur.volume,
                        format,
                    }),
                    (None, Some(audio)) => {
                        cur.phase = Phase::Playing;
                        self.jobs.push_back(IntercomJob::Stream {
                            id,
                            audio: audio.clone(),
                            format,
                        });
                    }
                    (None, None) => {}
                }
            }
            TalkEvent::Ended { id, played, result } => {
                if self.current.as_ref().is_none_or(|c| c.id != id) {
                    return;
                }
                let result = match result {
                    Ok(TalkEnd::Finished | TalkEnd::Stopped) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Some(cur) = self.current.as_mut().filter(|c| c.live.is_some()) {
                    // What was spoken is what was played.
                    cur.duration = played;
                }
                self.end_current(result, played);
            }
        }
    }

    /// The session ended (or the camera went offline): everything fails
    /// offline.
    pub fn handle_session_gone(&mut self) {
        self.drop_waiting_with(CommandError::Offline);
        if self.current.is_some() {
            self.end_current(Err(CommandError::Offline), Duration::ZERO);
        }
    }

    /// Next job for the glue.
    pub fn poll_job(&mut self) -> Option<IntercomJob> {
        self.jobs.pop_front()
    }

    /// Next input for the session.
    pub fn poll_talk(&mut self) -> Option<TalkInput> {
        self.talk.pop_front()
    }

    /// Next finished request.
    pub fn poll_finished(&mut self) -> Option<Finished> {
        self.finished.pop_front()
    }

    fn start(&mut self, request: IntercomRequest, reply: Option<Reply>) {
        self.next_id += 1;
        let id = TalkId(self.next_id);
        tracing::info!(playback = id.0, "intercom playback requested");
        let live = match &request.source {
            IntercomSource::Live(audio) => Some(audio.clone()),
            _ => None,
        };
        self.current = Some(Current {
            id,
            kind: request.source.kind(),
            reply,
            volume: request.volume,
            phase: if live.is_some() {
                Phase::Opening { pcm: None }
            } else {
                Phase::Fetching
            },
            duration: Duration::ZERO,
            stopped: false,
            live: live.clone(),
        });
        if live.is_some() {
            // Nothing to fetch: the camera is asked at once.
            self.talk.push_back(TalkInput::Open { id });
        } else {
            self.jobs.push_back(IntercomJob::Fetch {
                id,
                source: request.source,
            });
        }
    }

    fn stop_current(&mut self) {
        let Some(cur) = self.current.as_mut() else {
            self.start_waiting();
            return;
        };
        cur.stopped = true;
        match cur.phase {
            // The job's answer is ignored; nothing reached the camera.
            Phase::Fetching => self.end_current(Ok(()), Duration::ZERO),
            // The session has the talk: it answers Ended (stopped).
            Phase::Opening { .. } | Phase::Encoding | Phase::Playing => {
                let id = cur.id;
                self.talk.push_back(TalkInput::Stop { id });
            }
        }
    }

    fn end_current(&mut self, result: Result<(), CommandError>, played: Duration) {
        let Some(cur) = self.current.take() else {
            return;
        };
        let reached_camera = !matches!(cur.phase, Phase::Fetching);
        let playback = (reached_camera || played > Duration::ZERO || result.is_ok()).then_some(
            PlaybackReport {
                played,
                duration: cur.duration,
                stopped: cur.stopped,
            },
        );
        match &result {
            Ok(()) => tracing::info!(
                playback = cur.id.0,
                ?played,
                stopped = cur.stopped,
                "intercom playback over"
            ),
            Err(e) => tracing::warn!(playback = cur.id.0, error = %e, "intercom playback failed"),
        }
        self.finished.push_back(Finished {
            kind: cur.kind,
            reply: cur.reply,
            result,
            playback,
        });
        self.start_waiting();
    }

    fn start_waiting(&mut self) {
        if self.current.is_none() {
            if let Some(w) = self.waiting.pop_front() {
                self.start(w.request, w.reply);
            }
        }
    }

    fn drop_waiting(&mut self, why: &str) {
        self.drop_waiting_with(CommandError::Refused(why.into()));
    }

    fn drop_waiting_with(&mut self, error: CommandError) {
        for w in std::mem::take(&mut self.waiting) {
            self.finish_other(w.request.source.kind(), w.reply, Err(error.clone()));
        }
    }

    fn finish_other(
        &mut self,
        kind: CommandKind,
        reply: Option<Reply>,
        result: Result<(), CommandError>,
    ) {
        self.finished.push_back(Finished {
            kind,
            reply,
            result,
            playback: None,
        });
    }
}

fn bad(reason: &str) -> CommandError {
    CommandError::BadValue {
        command: "intercom",
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests;
