use std::future::Future;
use std::task::{Context, Waker};

use bytes::Bytes;
use proptest::prelude::*;
use rumqttc::{AsyncClient, QoS, Request};

use super::*;

fn event(n: usize) -> OutboundMessage {
    OutboundMessage {
        topic: format!("cam2mqtt/cam/event/{n}"),
        payload: Bytes::from(format!("{{\"n\":{n}}}")),
        retain: false,
        qos: Qos::AtLeastOnce,
    }
}

fn retained(topic: &str, payload: &'static str) -> OutboundMessage {
    OutboundMessage {
        topic: topic.into(),
        payload: Bytes::from_static(payload.as_bytes()),
        retain: true,
        qos: Qos::AtLeastOnce,
    }
}

/// A rumqttc client whose request channel holds `cap` requests, and the
/// channel's other end (where the event loop would read).
fn client(cap: usize) -> (AsyncClient, flume::Receiver<Request>) {
    let (tx, rx) = flume::bounded(cap);
    (AsyncClient::from_senders(tx), rx)
}

/// Takes what the "event loop" can read now: the topics, in order.
fn take(rx: &flume::Receiver<Request>, max: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < max {
        match rx.try_recv() {
            Ok(Request::Publish(p)) => got.push(p.topic),
            Ok(other) => panic!("unexpected request {other:?}"),
            Err(_) => break,
        }
    }
    got
}

#[test]
fn an_awaited_publish_dropped_while_pending_can_still_reach_the_broker() {
    // The root cause of the duplicate events: the old glue awaited
    // `publish` inside a `select!`. When the request channel is full, the
    // message waits in the sender's slot; the event loop may move it into the
    // channel before the future is polled again. Dropping the future then
    // does not take it back, so the caller, which never saw `Ok`, queued it
    // again and it went out twice.
    let (client, rx) = client(1);
    client
        .try_publish("a", QoS::AtLeastOnce, false, b"1".to_vec())
        .unwrap();
    let mut publish =
        Box::pin(client.publish_bytes("b", QoS::AtLeastOnce, false, Bytes::from_static(b"2")));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(publish.as_mut().poll(&mut cx).is_pending(), "channel full");
    // The event loop reads "a" and, with it, pulls the waiting "b" in.
    assert_eq!(take(&rx, 1), ["a"]);
    // The select! picks another branch: the publish future is dropped
    // without having returned Ok...
    drop(publish);
    // ...yet "b" was handed over and will be sent.
    assert_eq!(take(&rx, 10), ["b"], "the cancelled publish was delivered");
}

#[test]
fn a_message_the_client_cannot_take_now_is_handed_over_once_later() {
    let (client, rx) = client(1);
    let mut outbox = Outbox::default();
    let mut acks = Acks::default();
    outbox.push(event(0));
    outbox.push(event(1));
    assert_eq!(outbox.pump(&client, &mut acks), Pumped::Blocked);
    assert_eq!(
        outbox.len(),
        1,
        "event 1 waits in the outbox, not in the client"
    );
    // Whatever the loop does meanwhile (another select! branch wins), no
    // hand-off is in flight: the next pump hands event 1 over once.
    assert_eq!(take(&rx, 10), ["cam2mqtt/cam/event/0"]);
    assert_eq!(outbox.pump(&client, &mut acks), Pumped::Drained);
    assert_eq!(outbox.pump(&client, &mut acks), Pumped::Drained);
    assert_eq!(take(&rx, 10), ["cam2mqtt/cam/event/1"]);
    assert!(rx.is_empty());
}

#[tokio::test]
async fn a_glue_loop_cancelled_at_random_hands_every_message_over_once_in_order() {
    // The publisher loop's shape: pump, then select! between a retry pause
    // and other work that often wins (here: a timer standing in for MQTT
    // traffic). A slow event loop reads the client's 4-slot channel.
    const N: usize = 2000;
    let (client, rx) = client(4);
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Ok(r) = rx.recv_async().await {
            if let Request::Publish(p) = r {
                got.push(p.topic);
            }
            if got.len() % 7 == 0 {
                tokio::task::yield_now().await;
            }
            if got.len() == N {
                break;
            }
        }
        got
    });
    let mut outbox = Outbox::default();
    let mut acks = Acks::default();
    let mut next = 0;
    let mut round = 0u64;
    while next < N || !outbox.is_empty() {
        // Commands keep arriving in bursts.
        for _ in 0..(round % 5) {
            if next < N {
                outbox.push(event(next));
                next += 1;
            }
        }
        round += 1;
        let blocked = outbox.pump(&client, &mut acks) == Pumped::Blocked;
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_micros(200)), if blocked => {}
            () = tokio::task::yield_now() => {}
        }
    }
    let got = tokio::time::timeout(std::time::Duration::from_secs(20), reader)
        .await
        .expect("reader done")
        .unwrap();
    let want: Vec<String> = (0..N).map(|n| event(n).topic).collect();
    assert_eq!(got, want, "each message exactly once, in order");
    assert_eq!(acks.handed, N as u64);
}

#[derive(Debug, Clone)]
enum Op {
    Push(u8),
    /// A retained state for camera `0..3`.
    State(u8),
    Pump,
    Read(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u8..6).prop_map(Op::Push),
        (0u8..3).prop_map(Op::State),
        Just(Op::Pump),
        (1u8..6).prop_map(Op::Read),
    ]
}

proptest! {
    #[test]
    fn any_interleaving_hands_every_event_over_exactly_once_and_every_state_last(
        cap in 1usize..5,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let (client, rx) = client(cap);
        let mut outbox = Outbox::default();
        let mut acks = Acks::default();
        let mut pushed = 0;
        let mut states = 0u32;
        let mut last_state = std::collections::BTreeMap::new();
        let mut got = Vec::new();
        let read = |rx: &flume::Receiver<Request>, n: usize, got: &mut Vec<(String, Bytes)>| {
            for _ in 0..n {
                match rx.try_recv() {
                    Ok(Request::Publish(p)) => got.push((p.topic, p.payload)),
                    _ => break,
                }
            }
        };
        for op in ops {
            match op {
                Op::Push(n) => for _ in 0..n {
                    outbox.push(event(pushed));
                    pushed += 1;
                },
                Op::State(cam) => {
                    states += 1;
                    let topic = format!("cam2mqtt/c{cam}/state");
                    let payload = Bytes::from(states.to_string());
                    last_state.insert(topic.clone(), payload.clone());
                    outbox.push(OutboundMessage { topic, payload, retain: true, qos: Qos::AtLeastOnce });
                }
                Op::Pump => { let _ = outbox.pump(&client, &mut acks); }
                Op::Read(n) => read(&rx, usize::from(n), &mut got),
            }
        }
        while !outbox.is_empty() || !rx.is_empty() {
            let _ = outbox.pump(&client, &mut acks);
            read(&rx, cap, &mut got);
        }
        // Events: every one exactly once, in order.
        let events: Vec<String> = got.iter().filter(|(t, _)| t.contains("/event/")).map(|(t, _)| t.clone()).collect();
        let want: Vec<String> = (0..pushed).map(|n| event(n).topic).collect();
        prop_assert_eq!(events, want);
        // States: each camera's last one arrives last.
        for (topic, payload) in last_state {
            let last = got.iter().rev().find(|(t, _)| *t == topic).map(|(_, p)| p.clone());
            prop_assert_eq!(last, Some(payload));
        }
    }
}

#[test]
fn shutdown_messages_go_first_and_nothing_older_for_their_topics_follows() {
    let mut outbox = Outbox::default();
    outbox.push(retained("cam2mqtt/a/availability", "online"));
    outbox.push(event(1));
    outbox.push(retained("cam2mqtt/a/state", "{\"session\":\"streaming\"}"));
    outbox.push_final(vec![
        retained("cam2mqtt/a/availability", "offline"),
        retained("cam2mqtt/a/state", "{\"session\":\"stopped\"}"),
        retained("cam2mqtt/bridge/state", "offline"),
    ]);
    let (client, rx) = client(16);
    let mut acks = Acks::default();
    assert_eq!(outbox.pump(&client, &mut acks), Pumped::Drained);
    assert_eq!(
        take(&rx, 16),
        [
            "cam2mqtt/a/availability",
            "cam2mqtt/a/state",
            "cam2mqtt/bridge/state",
            "cam2mqtt/cam/event/1"
        ]
    );
}

#[test]
fn a_newer_snapshot_or_retained_state_replaces_an_unsent_one_and_events_never_do() {
    let mut outbox = Outbox::default();
    let snap = |p: &'static str| OutboundMessage {
        topic: "cam2mqtt/a/snapshot".into(),
        payload: Bytes::from_static(p.as_bytes()),
        retain: true,
        qos: Qos::AtMostOnce,
    };
    outbox.push(snap("old"));
    outbox.push(event(1));
    outbox.push(retained("cam2mqtt/a/state", "{\"fps\":1}"));
    outbox.push(snap("new"));
    outbox.push(event(1));
    outbox.push(retained("cam2mqtt/a/state", "{\"fps\":2}"));
    let (client, rx) = client(16);
    let mut acks = Acks::default();
    let _ = outbox.pump(&client, &mut acks);
    let got: Vec<(String, Bytes)> = std::iter::from_fn(|| match rx.try_recv() {
        Ok(Request::Publish(p)) => Some((p.topic, p.payload)),
        _ => None,
    })
    .collect();
    assert_eq!(
        got,
        [
            (
                "cam2mqtt/a/snapshot".to_string(),
                Bytes::from_static(b"new")
            ),
            (event(1).topic, event(1).payload),
            (
                "cam2mqtt/a/state".into(),
                Bytes::from_static(b"{\"fps\":2}")
            ),
            (event(1).topic, event(1).payload),
        ]
    );
}

#[test]
fn a_full_queue_drops_the_oldest_and_gives_its_memory_back_once_drained() {
    let mut outbox = Outbox::default();
    for n in 0..MAX_QUEUE + 3 {
        outbox.push(event(n));
    }
    assert_eq!(outbox.len(), MAX_QUEUE);
    assert_eq!(outbox.dropped(), 3);
    let (client, rx) = client(MAX_QUEUE);
    let mut acks = Acks::default();
    assert_eq!(outbox.pump(&client, &mut acks), Pumped::Drained);
    assert_eq!(take(&rx, 1), [event(3).topic], "the oldest went");
    assert!(
        outbox.queue.capacity() <= 1024,
        "{}",
        outbox.queue.capacity()
    );
    // Bytes bound too: big payloads push out old ones.
    let big = |n: usize| OutboundMessage {
        payload: Bytes::from(vec![0u8; 10 << 20]),
        ..event(n)
    };
    for n in 0..8 {
        outbox.push(big(n));
    }
    assert!(outbox.bytes <= MAX_QUEUE_BYTES);
    assert_eq!(outbox.len(), 3);
}

#[test]
fn shutdown_waits_until_every_handed_publish_is_written_and_acknowledged() {
    let mut acks = Acks::default();
    assert!(acks.settled());
    acks.handed = 2;
    assert!(!acks.settled(), "nothing written yet");
    acks.on_sent(7);
    acks.on_sent(0); // QoS 0: no ack expected
    acks.on_sent(8);
    assert!(!acks.settled());
    acks.on_acked(8); // brokers may ack out of order
    assert!(!acks.settled());
    acks.on_acked(7);
    assert!(acks.settled());
    acks.handed = 3;
    acks.reset();
    assert!(
        acks.settled(),
        "a lost connection acknowledges nothing more"
    );
}
