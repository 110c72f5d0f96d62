//! The PPPP session's side of an intercom playback (experimental, see
//! [`crate::proto::pppp::talk`]): the talk command on channel 0, then paced
//! packets on DRW channel 3, then the talk command off.

use std::time::{Duration, Instant};

use super::{PpppSession, State, Timer, CH_CMD};
use crate::model::{CommandError, Protocol, TalkFormat};
use crate::proto::pppp::client::Expect;
use crate::proto::pppp::talk::{packet, CH_TALK, START_TIMEOUT};
use crate::proto::talk::{Pacer, TalkEnd, TalkEvent, TalkId, TalkInput};
use crate::proto::SessionEvent;

/// Where a playback stands.
#[derive(Debug)]
enum Phase {
    /// The talk command is sent; its answer is awaited until `deadline`.
    AwaitStart { expect: Expect, deadline: Instant },
    /// The camera said yes: packets flow.
    Talking,
    /// Everything was sent; waiting (until `deadline`) for the camera to
    /// acknowledge the last packets before the talk command goes off, so it
    /// never hears "off" before the end of the audio.
    Draining { deadline: Instant },
}

/// How long the last packets may take to be acknowledged.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

/// The playback in progress.
#[derive(Debug)]
pub(super) struct Talk {
    id: TalkId,
    format: TalkFormat,
    phase: Phase,
    pacer: Pacer,
    /// Packets the DRW channel refused (its window was full).
    refused: u64,
}

impl PpppSession {
    pub(super) fn on_talk_input(&mut self, now: Instant, input: TalkInput) {
        match input {
            TalkInput::Open { id } => self.open_talk(now, id),
            TalkInput::Frames { id, frames } => {
                let Some(t) = self.talk.as_mut().filter(|t| t.id == id) else {
                    return;
                };
                if let Err(e) = t.pacer.push(now, frames) {
                    self.end_talk(
                        now,
                        Err(CommandError::BadValue {
                            command: "intercom",
                            reason: e.to_string(),
                        }),
                    );
                    return;
                }
                self.send_talk(now);
            }
            TalkInput::Finish { id } => {
                let Some(t) = self.talk.as_mut().filter(|t| t.id == id) else {
                    return;
                };
                t.pacer.finish();
                if matches!(t.phase, Phase::AwaitStart { .. }) {
                    // Nothing was queued before the camera said yes.
                    self.end_talk(now, Ok(TalkEnd::Finished));
                } else {
                    self.send_talk(now);
                }
            }
            TalkInput::Stop { id } => {
                if self.talk.as_ref().is_some_and(|t| t.id == id) {
                    self.end_talk(now, Ok(TalkEnd::Stopped));
                }
            }
        }
    }

    fn open_talk(&mut self, now: Instant, id: TalkId) {
        let dialect = self.client.as_ref().map(|c| c.dialect());
        let refused = if !matches!(self.state, State::Streaming { .. }) {
            Some(CommandError::Offline)
        } else if self.talk.is_some() {
            Some(CommandError::Busy(
                "a playback is still running on this camera".into(),
            ))
        } else {
            None
        };
        if let Some(e) = refused {
            self.talk_ended(id, Duration::ZERO, Err(e));
            return;
        }
        let Some(format) = dialect.and_then(|d| self.cfg.talk.format(d)) else {
            self.talk_ended(
                id,
                Duration::ZERO,
                Err(CommandError::Unsupported {
                    command: "intercom",
                    protocol: Protocol::Pppp,
                }),
            );
            return;
        };
        let step = match self.client.as_ref().map(|c| c.talk(true)) {
            Some(Ok(step)) => step,
            Some(Err(e)) => {
                self.talk_ended(id, Duration::ZERO, Err(e));
                return;
            }
            None => {
                self.talk_ended(id, Duration::ZERO, Err(CommandError::Offline));
                return;
            }
        };
        if self.send_drw(now, CH_CMD, &step.payload).is_none() {
            self.talk_ended(
                id,
                Duration::ZERO,
                Err(CommandError::Busy("too many commands in flight".into())),
            );
            return;
        }
        tracing::debug!(?format, "intercom (experimental): talk command sent");
        let deadline = now + START_TIMEOUT;
        self.talk = Some(Talk {
            id,
            format,
            phase: Phase::AwaitStart {
                expect: step.expect,
                deadline,
            },
            pacer: Pacer::new(&format),
            refused: 0,
        });
        self.timers.set(Timer::Talk, deadline);
    }

    /// A reply on channel 0: true if it answered the talk command.
    pub(super) fn talk_answer(
        &mut self,
        now: Instant,
        expect: Expect,
        result: &Result<(), String>,
    ) -> bool {
        let Some(t) = self.talk.as_mut() else {
            return false;
        };
        let Phase::AwaitStart { expect: e, .. } = t.phase else {
            return false;
        };
        if e != expect {
            return false;
        }
        match result {
            Ok(()) => {
                t.phase = Phase::Talking;
                let (id, format) = (t.id, t.format);
                self.out
                    .emit(SessionEvent::Talk(TalkEvent::Ready { id, format }));
                self.send_talk(now);
            }
            Err(why) => self.end_talk(
                now,
                Err(CommandError::Refused(format!(
                    "the camera refused to talk: {why}"
                ))),
            ),
        }
        true
    }

    pub(super) fn on_talk_timer(&mut self, now: Instant) {
        let Some(t) = self.talk.as_ref() else {
            return;
        };
        match t.phase {
            Phase::AwaitStart { deadline, .. } if now >= deadline => self.end_talk(
                now,
                Err(CommandError::TimedOut {
                    what: "no answer to the talk command".into(),
                    after: START_TIMEOUT,
                }),
            ),
            Phase::AwaitStart { deadline, .. } => self.timers.set(Timer::Talk, deadline),
            Phase::Talking => self.send_talk(now),
            Phase::Draining { deadline } => self.drain_talk(now, deadline),
        }
    }

    /// Sends the packets that are due and re-arms the timer.
    fn send_talk(&mut self, now: Instant) {
        let Some(t) = self.talk.as_mut() else {
            return;
        };
        if !matches!(t.phase, Phase::Talking) {
            return;
        }
        let mut packets = Vec::new();
        while let Some((n, frame)) = t.pacer.poll(now) {
            let at = t
                .format
                .frame_duration()
                .saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
            let frame_no = u32::try_from(n).unwrap_or(u32::MAX);
            if let Some(p) = packet(t.format.codec, frame_no, at, &frame) {
                packets.push(p);
            }
        }
        let done = t.pacer.is_done();
        let next = t.pacer.poll_timeout();
        for p in packets {
            if self.send_drw(now, CH_TALK, &p).is_none() {
                if let Some(t) = self.talk.as_mut() {
                    t.refused += 1;
                }
            }
        }
        if done {
            let deadline = now + DRAIN_TIMEOUT;
            if let Some(t) = self.talk.as_mut() {
                t.phase = Phase::Draining { deadline };
            }
            self.drain_talk(now, deadline);
            return;
        }
        match next {
            Some(at) => self.timers.set(Timer::Talk, at),
            None => self.timers.stop(Timer::Talk),
        }
    }

    /// Ends a drained playback once channel 3 has nothing unacknowledged
    /// (or at `deadline`); until then checks again every 20 ms.
    fn drain_talk(&mut self, now: Instant, deadline: Instant) {
        let in_flight = self
            .channels
            .iter()
            .find(|c| c.channel() == CH_TALK)
            .map_or(0, |c| c.send.in_flight());
        if in_flight == 0 || now >= deadline {
            self.end_talk(now, Ok(TalkEnd::Finished));
        } else {
            self.timers
                .set(Timer::Talk, (now + Duration::from_millis(20)).min(deadline));
        }
    }

    /// Ends the playback: the talk command off (unanswered is fine), one
    /// `Ended`.
    fn end_talk(&mut self, now: Instant, result: Result<TalkEnd, CommandError>) {
        let Some(t) = self.talk.take() else {
            return;
        };
        self.timers.stop(Timer::Talk);
        if t.refused > 0 {
            tracing::debug!(
                packets = t.refused,
                "intercom packets refused by a full DRW window"
            );
        }
        if matches!(self.state, State::Streaming { .. }) {
            if let Some(Ok(step)) = self.client.as_ref().map(|c| c.talk(false)) {
                let _ = self.send_drw(now, CH_CMD, &step.payload);
            }
        }
        self.talk_ended(t.id, t.pacer.played(), result);
    }

    /// The session closed under a playback.
    pub(super) fn talk_gone(&mut self) {
        if let Some(t) = self.talk.take() {
            self.talk_ended(t.id, t.pacer.played(), Err(CommandError::Offline));
        }
    }

    fn talk_ended(&mut self, id: TalkId, played: Duration, result: Result<TalkEnd, CommandError>) {
        tracing::debug!(talk = id.0, ?played, ?result, "intercom playback over");
        self.out
            .emit(SessionEvent::Talk(TalkEvent::Ended { id, played, result }));
    }
}
