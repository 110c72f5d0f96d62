//! The server over real loopback TCP with an in-process hub: what only the
//! glue decides (a camera's removal, the connection limit).

use super::*;
use crate::bus::BridgeEvent;
use crate::config::HttpConfig;
use crate::model::CameraInfo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const T: Duration = Duration::from_secs(5);

fn door() -> CameraInfo {
    CameraInfo::fixture("door")
}

/// A hub with camera `door` sending JPEGs, and the server on a free port.
async fn start() -> (Hub, SocketAddr, CancellationToken) {
    let (requests, _) = mpsc::channel(8);
    let hub = Hub::new(requests);
    hub.publish(BridgeEvent::Registered(door()));
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 9]));
    let jpeg = Bytes::from(crate::media::jpeg::encode_rgb(&img, 80).unwrap());
    let feed = hub.live().feed(&door().id);
    let stop = CancellationToken::new();
    {
        let (feed, stop) = (feed.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.is_cancelled() && !feed.removed().is_cancelled() {
                feed.push_jpeg(jpeg.clone(), false);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    let bound = bind("127.0.0.1:0").await.unwrap();
    let addr = bound.local_addr().unwrap();
    let settings = RtspSettings {
        access: Arc::new(Access::from_config(&HttpConfig::default(), [7; 16])),
    };
    tokio::spawn(serve(bound, hub.clone(), settings, stop.clone()));
    (hub, addr, stop)
}

/// Sends one request and reads its answer's head (and body, if any).
async fn request(s: &mut TcpStream, method: &str, url: &str, headers: &str, cseq: u32) -> String {
    let text = format!("{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\n{headers}\r\n");
    s.write_all(text.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(T, s.read(&mut byte))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(n, 1, "closed mid-answer: {}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    let head = String::from_utf8(got).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; len];
    s.read_exact(&mut body).await.unwrap();
    head + &String::from_utf8(body).unwrap()
}

/// Reads until the server closes the connection; false if it did not
/// within `limit`.
async fn closes_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = vec![0u8; 64 << 10];
    tokio::time::timeout(limit, async {
        while !matches!(s.read(&mut buf).await, Ok(0) | Err(_)) {}
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_cameras_clients_are_closed() {
    let (hub, addr, stop) = start().await;
    let url = format!("rtsp://{addr}/door");
    let mut s = TcpStream::connect(addr).await.unwrap();
    let d = request(&mut s, "DESCRIBE", &url, "", 1).await;
    assert!(d.starts_with("RTSP/1.0 200") && d.contains("JPEG"), "{d}");
    let setup = request(
        &mut s,
        "SETUP",
        &format!("{url}/trackID=0"),
        "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n",
        2,
    )
    .await;
    assert!(setup.starts_with("RTSP/1.0 200"), "{setup}");
    let session = setup
        .lines()
        .find_map(|l| l.strip_prefix("Session: "))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_string();
    let play = request(&mut s, "PLAY", &url, &format!("Session: {session}\r\n"), 3).await;
    assert!(play.starts_with("RTSP/1.0 200"), "{play}");
    let mut first = [0u8; 1];
    s.read_exact(&mut first).await.unwrap();
    assert_eq!(first[0], b'$', "interleaved media flows");
    assert_eq!(hub.live().get(&door().id).unwrap().viewer_count(), 1);

    hub.publish(BridgeEvent::Removed(door().id));
    assert!(
        closes_within(&mut s, T).await,
        "the client of a removed camera stays connected"
    );
    let deadline = clock::now() + T;
    while hub.status().rtsp().clients > 0 {
        assert!(clock::now() < deadline, "the connection is still counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_closed_and_a_freed_place_is_served() {
    let (hub, addr, stop) = start().await;
    let url = format!("rtsp://{addr}/door");
    let mut open = Vec::new();
    for i in 0..MAX_CONNECTIONS {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let a = request(&mut s, "OPTIONS", &url, "", 1).await;
        assert!(a.starts_with("RTSP/1.0 200"), "connection {i}: {a}");
        open.push(s);
    }
    assert_eq!(hub.status().rtsp().clients, MAX_CONNECTIONS);
    let mut extra = TcpStream::connect(addr).await.unwrap();
    assert!(
        closes_within(&mut extra, T).await,
        "connection {} is served",
        MAX_CONNECTIONS + 1
    );
    drop(open.pop());
    let deadline = clock::now() + T;
    while hub.status().rtsp().clients >= MAX_CONNECTIONS {
        assert!(
            clock::now() < deadline,
            "a closed connection is still counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut again = TcpStream::connect(addr).await.unwrap();
    let a = request(&mut again, "OPTIONS", &url, "", 1).await;
    assert!(a.starts_with("RTSP/1.0 200"), "{a}");
    stop.cancel();
}
