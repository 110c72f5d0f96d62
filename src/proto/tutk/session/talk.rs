//! The session's side of an intercom playback: K10010 ReturnAudio on and
//! off on channel 0, and the [`BackChannel`] on channel 1 (see
//! [`crate::proto::tutk::talk`] for the channel itself).

use std::time::{Duration, Instant};

use rand::RngCore;

use super::super::kcmd::{self, id};
use super::super::talk::{BackChannel, BackEvent};
use super::{Purpose, State, Timer, TutkSession};
use crate::model::{AudioCodec, CommandError, TalkFormat};
use crate::proto::codec::LimitedHex;
use crate::proto::talk::{TalkEnd, TalkEvent, TalkId};
use crate::proto::{SessionEvent, SocketIx};

/// The intercom playback in progress.
pub(super) enum Talk {
    /// K10010 `[3, 1]` sent; the camera's K10011 is awaited.
    AwaitEnable { id: TalkId, format: TalkFormat },
    /// The camera accepted: the back channel on IOTC channel 1.
    Channel(Box<BackChannel>),
}

impl Talk {
    pub(super) fn id(&self) -> TalkId {
        match self {
            Self::AwaitEnable { id, .. } => *id,
            Self::Channel(bc) => bc.id,
        }
    }
}

impl TutkSession {
    /// The format the back channel sends: the codec and rate the camera
    /// streams to us (go2rtc's rule, `wyze.md` §1.6), if we can encode it;
    /// otherwise G.711 μ-law at 8 kHz, which every Wyze camera streams by
    /// default when asked for PCMU/PCMA/PCM in K10000.
    fn talk_format(&self) -> TalkFormat {
        use super::super::frame::codec;
        let (codec, rate) = match self.audio_seen {
            Some((codec::PCMU, r)) => (AudioCodec::Mulaw, r),
            Some((codec::PCMA, r)) => (AudioCodec::Alaw, r),
            Some((codec::PCM, r)) => (AudioCodec::PcmS16Le, r),
            _ => (AudioCodec::Mulaw, 8000),
        };
        let rate = if super::super::talk::rate_index(rate).is_some() {
            rate
        } else {
            8000
        };
        TalkFormat {
            codec,
            sample_rate: rate,
            samples_per_frame: super::super::talk::SAMPLES_PER_FRAME,
        }
    }

    pub(super) fn open_talk(&mut self, now: Instant, id: TalkId) {
        let refused = if !matches!(self.state, State::AwaitFirstFrame | State::Streaming) {
            Some(CommandError::Offline)
        } else if !self.two_way_audio {
            Some(CommandError::Lacks {
                command: "intercom",
                what: "speaker (the camera reports no two-way audio in its login answer)",
            })
        } else {
            self.talk.as_ref().map(|t| {
                CommandError::Busy(format!(
                    "playback {} is still running on this camera",
                    t.id().0
                ))
            })
        };
        if let Some(e) = refused {
            self.talk_ended(id, Duration::ZERO, Err(e));
            return;
        }
        let format = self.talk_format();
        tracing::debug!(?format, "intercom: K10010 ReturnAudio on");
        self.talk = Some(Talk::AwaitEnable { id, format });
        self.ioctrl(
            now,
            id::CHANNEL,
            kcmd::channel(kcmd::Channel::ReturnAudio, true),
            Purpose::TalkOn(id),
        );
    }

    pub(super) fn on_talk_enabled(&mut self, now: Instant, id: TalkId, answer: &[u8]) {
        let Some(Talk::AwaitEnable { id: t, format }) = &self.talk else {
            return;
        };
        if *t != id {
            return;
        }
        let format = *format;
        if !kcmd::reply_ok(answer) {
            self.talk = None;
            self.talk_ended(
                id,
                Duration::ZERO,
                Err(CommandError::Refused(format!(
                    "the camera refused intercom (K10011 {})",
                    LimitedHex::new(answer, 8)
                ))),
            );
            return;
        }
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let bc = BackChannel::new(id, format, self.psk.clone(), seed, now);
        self.talk = Some(Talk::Channel(Box::new(bc)));
        self.drive_talk(now);
    }

    /// Moves the back channel's datagrams onto channel 1 and acts on its
    /// events.
    pub(super) fn drive_talk(&mut self, now: Instant) {
        let Some(Talk::Channel(bc)) = &mut self.talk else {
            self.timers.stop(Timer::Talk);
            return;
        };
        while let Some(d) = bc.poll_transmit() {
            if let Some(wire) = self.link.wrap(1, d) {
                self.out.send(SocketIx(0), self.link.peer(), wire);
            }
        }
        let mut end = None;
        while let Some(ev) = bc.poll_event() {
            match ev {
                BackEvent::Ready => self.out.emit(SessionEvent::Talk(TalkEvent::Ready {
                    id: bc.id,
                    format: bc.format(),
                })),
                BackEvent::Drained => end = Some(Ok(TalkEnd::Finished)),
                BackEvent::Failed(why) => end = Some(Err(CommandError::Refused(why))),
            }
        }
        match bc.poll_timeout() {
            Some(t) => self.timers.set(Timer::Talk, t),
            None => self.timers.stop(Timer::Talk),
        }
        if let Some(result) = end {
            self.end_talk(now, result);
        }
    }

    /// Ends the playback: ReturnAudio off, goodbye on channel 1, one `Ended`.
    pub(super) fn end_talk(&mut self, now: Instant, result: Result<TalkEnd, CommandError>) {
        let Some(talk) = self.talk.take() else {
            return;
        };
        self.timers.stop(Timer::Talk);
        let id = talk.id();
        let played = match talk {
            Talk::Channel(mut bc) => {
                bc.close(now);
                while let Some(d) = bc.poll_transmit() {
                    if let Some(wire) = self.link.wrap(1, d) {
                        self.out.send(SocketIx(0), self.link.peer(), wire);
                    }
                }
                bc.played()
            }
            Talk::AwaitEnable { .. } => Duration::ZERO,
        };
        if self.state != State::Closed {
            self.ioctrl(
                now,
                id::CHANNEL,
                kcmd::channel(kcmd::Channel::ReturnAudio, false),
                Purpose::TalkOff,
            );
        }
        self.talk_ended(id, played, result);
    }

    pub(super) fn talk_ended(
        &mut self,
        id: TalkId,
        played: Duration,
        result: Result<TalkEnd, CommandError>,
    ) {
        tracing::debug!(talk = id.0, ?played, ?result, "intercom playback over");
        self.out
            .emit(SessionEvent::Talk(TalkEvent::Ended { id, played, result }));
    }
}
