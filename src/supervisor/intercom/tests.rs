//! Playbacks through the sub-machine, with the session and the jobs played
//! by the test.

use super::*;
use crate::model::AudioCodec;

fn url(u: &str, mode: PlaybackMode) -> IntercomRequest {
    IntercomRequest {
        source: IntercomSource::Url(u.into()),
        volume: 1.0,
        mode,
    }
}

fn pcm(secs: u32) -> Pcm {
    Pcm {
        rate: 8000,
        samples: vec![100; 8000 * secs as usize],
    }
}

fn format() -> TalkFormat {
    TalkFormat {
        codec: AudioCodec::Mulaw,
        sample_rate: 8000,
        samples_per_frame: 160,
    }
}

fn fetch_id(ic: &mut Intercom) -> TalkId {
    match ic.poll_job() {
        Some(IntercomJob::Fetch { id, .. }) => id,
        other => panic!("expected a fetch job, got {other:?}"),
    }
}

fn talk(ic: &mut Intercom) -> Vec<String> {
    std::iter::from_fn(|| ic.poll_talk())
        .map(|t| match t {
            TalkInput::Open { id } => format!("open {}", id.0),
            TalkInput::Frames { id, frames } => format!("frames {} x{}", id.0, frames.len()),
            TalkInput::Finish { id } => format!("finish {}", id.0),
            TalkInput::Stop { id } => format!("stop {}", id.0),
        })
        .collect()
}

fn finished(ic: &mut Intercom) -> Vec<(Result<(), CommandError>, Option<PlaybackReport>)> {
    std::iter::from_fn(|| ic.poll_finished())
        .map(|f| (f.result, f.playback))
        .collect()
}

/// Runs one playback from the fetch to the session's end.
fn play_through(ic: &mut Intercom, id: TalkId, secs: u32) {
    ic.handle_fetched(id, Ok(pcm(secs)));
    assert_eq!(talk(ic), [format!("open {}", id.0)]);
    ic.handle_talk_event(TalkEvent::Ready {
        id,
        format: format(),
    });
    let Some(IntercomJob::Encode { id: eid, pcm, .. }) = ic.poll_job() else {
        panic!("expected an encode job");
    };
    assert_eq!((eid, pcm.samples.len()), (id, 8000 * secs as usize));
    ic.handle_encoded(
        id,
        Ok(vec![Bytes::from_static(&[0xFF; 160]); 50 * secs as usize]),
    );
    assert_eq!(
        talk(ic),
        [
            format!("frames {} x{}", id.0, 50 * secs),
            format!("finish {}", id.0)
        ]
    );
}

#[test]
fn a_playback_goes_fetch_open_encode_play_and_reports_what_it_played() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/a.wav", PlaybackMode::Refuse), None);
    assert_eq!(ic.status(), IntercomStatus::Playing);
    let id = fetch_id(&mut ic);
    play_through(&mut ic, id, 2);
    assert!(
        finished(&mut ic).is_empty(),
        "nothing until the session ends it"
    );
    ic.handle_talk_event(TalkEvent::Ended {
        id,
        played: Duration::from_secs(2),
        result: Ok(TalkEnd::Finished),
    });
    let done = finished(&mut ic);
    assert_eq!(
        done,
        [(
            Ok(()),
            Some(PlaybackReport {
                played: Duration::from_secs(2),
                duration: Duration::from_secs(2),
                stopped: false
            })
        )]
    );
    assert_eq!(ic.status(), IntercomStatus::Idle);
}

#[test]
fn a_bad_file_fails_before_the_camera_is_asked() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/a.jpg", PlaybackMode::Refuse), None);
    let id = fetch_id(&mut ic);
    ic.handle_fetched(id, Err(bad("not an audio file")));
    assert!(talk(&mut ic).is_empty(), "the session never heard of it");
    let done = finished(&mut ic);
    assert!(
        matches!(
            done.as_slice(),
            [(Err(CommandError::BadValue { .. }), None)]
        ),
        "{done:?}"
    );
}

#[test]
fn a_second_request_is_busy_unless_it_queues_or_replaces() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/1", PlaybackMode::Refuse), None);
    let first = fetch_id(&mut ic);
    ic.handle_request(url("http://x/2", PlaybackMode::Refuse), None);
    let done = finished(&mut ic);
    assert!(
        matches!(done.as_slice(), [(Err(CommandError::Busy(t)), None)] if t.contains("already playing")),
        "{done:?}"
    );

    // Queued: starts when the first ends.
    ic.handle_request(url("http://x/3", PlaybackMode::Queue), None);
    assert!(ic.poll_job().is_none());
    play_through(&mut ic, first, 1);
    ic.handle_talk_event(TalkEvent::Ended {
        id: first,
        played: Duration::from_secs(1),
        result: Ok(TalkEnd::Finished),
    });
    assert_eq!(finished(&mut ic).len(), 1);
    let third = fetch_id(&mut ic);
    assert_ne!(third, first);

    // Replace: the running one is stopped, reported as stopped, then the new one starts.
    play_through(&mut ic, third, 1);
    ic.handle_request(url("http://x/4", PlaybackMode::Replace), None);
    assert_eq!(talk(&mut ic), [format!("stop {}", third.0)]);
    ic.handle_talk_event(TalkEvent::Ended {
        id: third,
        played: Duration::from_millis(400),
        result: Ok(TalkEnd::Stopped),
    });
    let done = finished(&mut ic);
    assert!(
        matches!(done.as_slice(), [(Ok(()), Some(r))] if r.stopped && r.played == Duration::from_millis(400)),
        "{done:?}"
    );
    let fourth = fetch_id(&mut ic);
    assert!(fourth.0 > third.0);
}

#[test]
fn a_full_queue_is_busy() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/0", PlaybackMode::Refuse), None);
    for i in 0..MAX_WAITING {
        ic.handle_request(url(&format!("http://x/{i}"), PlaybackMode::Queue), None);
    }
    assert!(finished(&mut ic).is_empty());
    ic.handle_request(url("http://x/more", PlaybackMode::Queue), None);
    assert!(matches!(
        finished(&mut ic).as_slice(),
        [(Err(CommandError::Busy(_)), None)]
    ));
}

#[test]
fn stop_ends_the_playback_and_drops_the_waiting_ones() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/1", PlaybackMode::Refuse), None);
    let id = fetch_id(&mut ic);
    ic.handle_request(url("http://x/2", PlaybackMode::Queue), None);
    play_through(&mut ic, id, 3);
    ic.handle_stop();
    let dropped = finished(&mut ic);
    assert!(
        matches!(dropped.as_slice(), [(Err(CommandError::Refused(t)), None)] if t.contains("stopped before it played")),
        "{dropped:?}"
    );
    assert_eq!(talk(&mut ic), [format!("stop {}", id.0)]);
    ic.handle_talk_event(TalkEvent::Ended {
        id,
        played: Duration::from_secs(1),
        result: Ok(TalkEnd::Stopped),
    });
    let done = finished(&mut ic);
    assert!(
        matches!(done.as_slice(), [(Ok(()), Some(r))] if r.stopped),
        "{done:?}"
    );
    assert!(ic.poll_job().is_none(), "nothing starts after a stop");
    assert_eq!(ic.status(), IntercomStatus::Idle);
}

#[test]
fn stop_while_fetching_ends_at_once_and_the_late_decode_is_ignored() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/1", PlaybackMode::Refuse), None);
    let id = fetch_id(&mut ic);
    ic.handle_stop();
    assert!(matches!(finished(&mut ic).as_slice(), [(Ok(()), Some(r))] if r.stopped));
    ic.handle_fetched(id, Ok(pcm(1)));
    assert!(talk(&mut ic).is_empty());
}

#[test]
fn a_camera_that_refuses_or_goes_offline_fails_the_playback_once() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/1", PlaybackMode::Refuse), None);
    let id = fetch_id(&mut ic);
    ic.handle_fetched(id, Ok(pcm(1)));
    let _ = talk(&mut ic);
    ic.handle_talk_event(TalkEvent::Ended {
        id,
        played: Duration::ZERO,
        result: Err(CommandError::Lacks {
            command: "intercom",
            what: "speaker",
        }),
    });
    assert!(matches!(
        finished(&mut ic).as_slice(),
        [(Err(CommandError::Lacks { .. }), Some(_))]
    ));

    ic.handle_request(url("http://x/2", PlaybackMode::Refuse), None);
    let id = fetch_id(&mut ic);
    ic.handle_request(url("http://x/3", PlaybackMode::Queue), None);
    play_through(&mut ic, id, 1);
    ic.handle_session_gone();
    let done = finished(&mut ic);
    assert_eq!(
        done.len(),
        2,
        "the waiting one and the current one: {done:?}"
    );
    assert!(done.iter().all(|(r, _)| *r == Err(CommandError::Offline)));
    // The session's own Ended after that changes nothing.
    ic.handle_talk_event(TalkEvent::Ended {
        id,
        played: Duration::ZERO,
        result: Err(CommandError::Offline),
    });
    assert!(finished(&mut ic).is_empty());
}

#[test]
fn an_encoding_failure_closes_the_talk_and_reports_the_error() {
    let mut ic = Intercom::new();
    ic.handle_request(url("http://x/1", PlaybackMode::Refuse), None);
    let id = fetch_id(&mut ic);
    ic.handle_fetched(id, Ok(pcm(1)));
    let _ = talk(&mut ic);
    ic.handle_talk_event(TalkEvent::Ready {
        id,
        format: format(),
    });
    let _ = ic.poll_job();
    ic.handle_encoded(id, Err(bad("cannot encode AAC")));
    assert_eq!(talk(&mut ic), [format!("stop {}", id.0)]);
    assert!(matches!(
        finished(&mut ic).as_slice(),
        [(Err(CommandError::BadValue { .. }), Some(_))]
    ));
    // A Ready for a playback that is over is closed.
    ic.handle_talk_event(TalkEvent::Ready {
        id,
        format: format(),
    });
    assert_eq!(talk(&mut ic), [format!("stop {}", id.0)]);
}
