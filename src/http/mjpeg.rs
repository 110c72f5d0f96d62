//! Live MJPEG and snapshots.
//!
//! `GET api/cameras/<cam>/stream.mjpeg` is `multipart/x-mixed-replace`, every
//! part with `Content-Type` and `Content-Length` (what Home Assistant's MJPEG
//! camera, go2rtc and Frigate read). Parts come from the camera's live feed:
//! an MJPEG camera's own JPEGs, forwarded as they arrived (no re-encode), or
//! the live decoder's for an H.264/H.265 camera, which runs while anyone
//! watches (the viewer count reaches the camera task through the feed).
//!
//! `GET api/cameras/<cam>/snapshot.jpg` is the last published snapshot.
//!
//! A viewer gets the newest picture whenever its connection can take one:
//! the body is polled only when the socket has room, and the feed keeps only
//! the newest picture, so a slow viewer skips pictures and never slows the
//! camera or another viewer.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};

use super::{error, find_camera, AppState};

/// The multipart boundary.
pub const BOUNDARY: &str = "cam2mqtt-frame";

/// One multipart part: boundary, headers, JPEG, CRLF.
pub fn part(jpeg: &[u8]) -> Bytes {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    );
    let mut b = BytesMut::with_capacity(head.len() + jpeg.len() + 2);
    b.put_slice(head.as_bytes());
    b.put_slice(jpeg);
    b.put_slice(b"\r\n");
    b.freeze()
}

/// `GET api/cameras/<cam>/stream.mjpeg`.
pub async fn stream(State(state): State<AppState>, Path(cam): Path<String>) -> Response {
    let id = match find_camera(&state.hub, &cam) {
        Ok(id) => id,
        Err(text) => return error(StatusCode::NOT_FOUND, text),
    };
    let feed = state.hub.live().feed(&id);
    let viewer = feed.watch();
    let mut pictures = feed.jpegs();
    // A picture already there goes out at once.
    if pictures.borrow().is_some() {
        pictures.mark_changed();
    }
    // The stream ends with the bridge or the camera.
    let ends = (state.shutdown.clone(), feed.removed());
    let body = futures_util::stream::unfold(
        (pictures, viewer, ends),
        |(mut pictures, viewer, ends)| async move {
            loop {
                tokio::select! {
                    () = ends.0.cancelled() => return None,
                    () = ends.1.cancelled() => return None,
                    changed = pictures.changed() => {
                        if changed.is_err() {
                            return None;
                        }
                    }
                }
                let picture = pictures.borrow_and_update().clone();
                if let Some(p) = picture {
                    let chunk = Ok::<_, std::convert::Infallible>(part(&p.jpeg));
                    return Some((chunk, (pictures, viewer, ends)));
                }
            }
        },
    );
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("multipart/x-mixed-replace; boundary=cam2mqtt-frame"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, must-revalidate"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // Tells a proxy (nginx, HA ingress) not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// `GET api/cameras/<cam>/snapshot.jpg`: the last published snapshot, the
/// same picture as the MQTT `snapshot` topic (`X-Taken-At` says when it was
/// taken); 404 before the first.
pub async fn snapshot(State(state): State<AppState>, Path(cam): Path<String>) -> Response {
    let id = match find_camera(&state.hub, &cam) {
        Ok(id) => id,
        Err(text) => return error(StatusCode::NOT_FOUND, text),
    };
    let snapshot = state
        .hub
        .read(|v| v.get(&id).and_then(|c| c.snapshot.clone()));
    match snapshot {
        Some(s) => {
            let mut response = (
                [
                    (header::CONTENT_TYPE, "image/jpeg"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                s.jpeg,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&s.taken_at) {
                response.headers_mut().insert("x-taken-at", v);
            }
            response
        }
        None => error(
            StatusCode::NOT_FOUND,
            format!("no snapshot of camera {} yet", id.as_str()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_carries_its_type_and_exact_length_and_ends_with_crlf() {
        let p = part(b"\xff\xd8abc\xff\xd9");
        let text = String::from_utf8_lossy(&p);
        assert!(text.starts_with(
            "--cam2mqtt-frame\r\nContent-Type: image/jpeg\r\nContent-Length: 7\r\n\r\n"
        ));
        assert!(p.ends_with(b"\xff\xd9\r\n"));
    }

    #[tokio::test]
    async fn a_stream_ends_when_its_camera_is_removed() {
        use crate::bus::{BridgeEvent, Hub};
        use crate::model::CameraInfo;
        use futures_util::StreamExt;
        use std::sync::Arc;
        use tokio_util::sync::CancellationToken;

        let (requests, _) = tokio::sync::mpsc::channel(1);
        let hub = Hub::new(requests);
        let info = CameraInfo::fixture("door");
        hub.publish(BridgeEvent::Registered(info.clone()));
        hub.live()
            .feed(&info.id)
            .push_jpeg(Bytes::from_static(b"\xff\xd8jpeg\xff\xd9"), false);
        let state = AppState {
            hub: hub.clone(),
            settings: Arc::new(super::super::HttpSettings::from_config(
                &crate::config::HttpConfig::default(),
            )),
            shutdown: CancellationToken::new(),
            metrics: Arc::new(super::super::metrics::Metrics::new(hub.clone())),
        };
        let response = stream(State(state), Path("door".into())).await;
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body().into_data_stream();
        let first = body.next().await.unwrap().unwrap();
        assert!(first.ends_with(b"jpeg\xff\xd9\r\n"));
        hub.publish(BridgeEvent::Removed(info.id));
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), body.next()).await;
        assert!(matches!(end, Ok(None)), "the stream goes on: {end:?}");
    }
}
