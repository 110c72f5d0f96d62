//! The drain contract's invariants, checked on everything a session emits
//! (protocol-neutral): `Closed` at most once and nothing after it; `is_closed`
//! agrees; `Streaming` at most once and media only after it; every
//! `CommandDone` answers a command that was issued, exactly once; every talk
//! that was opened gets at most one `Ready` and exactly one `Ended` after it,
//! nothing after `Ended`; counters in `Stats` never go backwards. Used by every `Pair` test and by the fuzz targets.

use std::collections::HashSet;

use cam2mqtt::proto::talk::{TalkEvent, TalkId};
use cam2mqtt::proto::{CommandId, SessionEvent, SessionStats};

/// Watches one session's output.
#[derive(Debug, Default)]
pub struct ContractChecker {
    issued: HashSet<CommandId>,
    answered: HashSet<CommandId>,
    talks_opened: HashSet<TalkId>,
    talks_ready: HashSet<TalkId>,
    talks_ended: HashSet<TalkId>,
    closed: bool,
    streaming: bool,
    stats: SessionStats,
}

impl ContractChecker {
    /// A talk with this id was opened.
    pub fn talk_opened(&mut self, id: TalkId) {
        assert!(self.talks_opened.insert(id), "talk {id:?} opened twice");
    }

    /// Talks opened and not ended yet.
    pub fn talks_open(&self) -> usize {
        self.talks_opened.len() - self.talks_ended.len()
    }

    /// A command with this id was handed to the session.
    pub fn issued(&mut self, id: CommandId) {
        assert!(self.issued.insert(id), "command id {id:?} issued twice");
    }

    /// Checks one event as it is drained.
    pub fn observe(&mut self, event: &SessionEvent) {
        assert!(!self.closed, "event after Closed: {event:?}");
        match event {
            SessionEvent::Streaming(_) => {
                assert!(!self.streaming, "Streaming emitted twice");
                self.streaming = true;
            }
            SessionEvent::Media(_) => assert!(self.streaming, "media before Streaming"),
            SessionEvent::Details(_) => assert!(self.streaming, "details before Streaming"),
            SessionEvent::Stats(s) => {
                let old = &self.stats;
                assert!(
                    s.frames >= old.frames
                        && s.frames_dropped >= old.frames_dropped
                        && s.media_bytes >= old.media_bytes
                        && s.audio_packets >= old.audio_packets
                        && s.audio_bytes >= old.audio_bytes
                        && s.datagrams_rejected >= old.datagrams_rejected,
                    "stats went backwards: {old:?} -> {s:?}"
                );
                self.stats = s.clone();
            }
            SessionEvent::CommandDone { id, .. } => {
                assert!(
                    self.issued.contains(id),
                    "answer to command {id:?} never issued"
                );
                assert!(self.answered.insert(*id), "command {id:?} answered twice");
            }
            SessionEvent::Talk(TalkEvent::Ready { id, .. }) => {
                assert!(
                    self.talks_opened.contains(id),
                    "Ready for {id:?}, never opened"
                );
                assert!(
                    !self.talks_ended.contains(id),
                    "Ready for {id:?} after Ended"
                );
                assert!(self.talks_ready.insert(*id), "Ready for {id:?} twice");
            }
            SessionEvent::Talk(TalkEvent::Ended { id, .. }) => {
                assert!(
                    self.talks_opened.contains(id),
                    "Ended for {id:?}, never opened"
                );
                assert!(self.talks_ended.insert(*id), "Ended for {id:?} twice");
            }
            SessionEvent::Closed(_) => self.closed = true,
        }
    }

    /// Checks `is_closed()` against the events seen.
    pub fn check_is_closed(&self, is_closed: bool) {
        assert_eq!(
            is_closed, self.closed,
            "is_closed disagrees with Closed events"
        );
    }

    /// Commands issued but not answered yet.
    pub fn unanswered(&self) -> usize {
        self.issued.len() - self.answered.len()
    }

    /// The last counters seen.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }
}
