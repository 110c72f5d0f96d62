//! The intercom's outside work ([`crate::supervisor::intercom::IntercomJob`]):
//! downloading a URL within limits, and the CPU work of decoding and
//! encoding (run on blocking threads by the camera glue), each failure
//! turned into the one-line error the user sees on the event topic.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::intercom::Pcm;
use super::tts::Tts;
use crate::media::audio::{self, AudioError};
use crate::model::{CommandError, IntercomSource, TalkFormat};

/// The longest a URL may take to download, from the request to the last byte.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

fn bad(reason: impl Into<String>) -> CommandError {
    CommandError::BadValue {
        command: "intercom",
        reason: reason.into(),
    }
}

/// The HTTP client for audio URLs: bounded time and redirects, rustls.
pub fn http_client() -> reqwest::Client {
    http_client_with(FETCH_TIMEOUT)
}

fn http_client_with(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("cam2mqtt/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            // Building fails only when the TLS backend cannot start; the
            // default client then reports the same failure per request.
            tracing::warn!(error = %e, "audio URL client: defaults used");
            reqwest::Client::new()
        })
}

/// The file's bytes: as given, downloaded (at most
/// [`audio::MAX_INPUT_BYTES`], within [`FETCH_TIMEOUT`]), or spoken by Home
/// Assistant's text-to-speech.
pub async fn fetch(
    client: &reqwest::Client,
    tts: Option<&Tts>,
    source: IntercomSource,
) -> Result<Bytes, CommandError> {
    match source {
        IntercomSource::File(bytes) if bytes.len() > audio::MAX_INPUT_BYTES => Err(bad(too_big())),
        IntercomSource::File(bytes) => Ok(bytes),
        IntercomSource::Url(url) => download(client, &url, None).await.map_err(bad),
        IntercomSource::Say(text) => match tts {
            Some(tts) => tts.speak(client, &text).await,
            None => Err(CommandError::BadValue {
                command: "say",
                reason: "text-to-speech needs Home Assistant: set homeassistant.url and homeassistant.token_file (the add-on does it by itself)".into(),
            }),
        },
        IntercomSource::Live(_) => Err(bad("live audio is not a file (a bug)")),
    }
}

/// Downloads `url` within the limits; `bearer` is sent as the
/// `Authorization` (only for Home Assistant's own URL). The error is a
/// reason in words, without the URL's query or credentials.
pub async fn download(
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&crate::secret::Secret>,
) -> Result<Bytes, String> {
    let shown = shown_url(url);
    let mut request = client.get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token.expose());
    }
    let mut response = request.send().await.map_err(|e| fetch_error(&shown, &e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{shown} answered HTTP {status}"));
    }
    if response
        .content_length()
        .is_some_and(|n| n > audio::MAX_INPUT_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fetch_error(&shown, &e))?
    {
        if body.len() + chunk.len() > audio::MAX_INPUT_BYTES {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn too_big() -> String {
    format!(
        "the audio is larger than {} MiB",
        audio::MAX_INPUT_BYTES >> 20
    )
}

/// A URL as logs and errors show it: without credentials or query (a TTS
/// URL's token lives there).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default(),
            u.path()
        ),
        Err(_) => "the URL".into(),
    }
}

fn fetch_error(shown: &str, e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_redirect() {
        format!("more than {MAX_REDIRECTS} redirects")
    } else if e.is_connect() {
        "cannot connect".into()
    } else {
        // reqwest's text may repeat the URL with its query: leave it out.
        "the download failed".into()
    };
    format!("{shown}: {what}")
}

/// Decodes a file to mono PCM (CPU work: a blocking thread).
pub fn decode(file: &[u8]) -> Result<Pcm, CommandError> {
    let decoded = audio::decode::decode(file).map_err(user_error)?;
    Ok(Pcm {
        rate: decoded.sample_rate,
        samples: decoded.to_i16(),
    })
}

/// Resamples, applies the volume and encodes into frames of `format` (CPU
/// work: a blocking thread). Fed a second at a time, so the float copy
/// stays small.
pub fn encode(pcm: &Pcm, volume: f32, format: &TalkFormat) -> Result<Vec<Bytes>, CommandError> {
    let mut encoder = audio::StreamEncoder::new(pcm.rate, volume, format).map_err(user_error)?;
    let second = usize::try_from(pcm.rate).unwrap_or(8000).max(1);
    let mut frames = Vec::new();
    for chunk in pcm.samples.chunks(second) {
        frames.extend(encoder.push(chunk));
    }
    frames.extend(encoder.finish());
    Ok(frames)
}

/// Push-to-talk: encodes the live audio as it comes and hands the frames to
/// the session, then `Finish` when the speaker lets go (the stream ends).
/// Frames are sent in chunks of what arrived, so the session's pacer sees
/// real time. Returns early if the session is gone.
pub async fn stream(
    id: crate::proto::talk::TalkId,
    audio: crate::model::LiveAudio,
    format: TalkFormat,
    session: tokio::sync::mpsc::Sender<crate::io::SessionCommand>,
) {
    use crate::io::SessionCommand;
    use crate::proto::talk::TalkInput;
    let Some(mut chunks) = audio.take() else {
        tracing::warn!("push-to-talk stream taken twice (a bug)");
        return;
    };
    let mut encoder = match audio::StreamEncoder::new(audio.rate, 1.0, &format) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "push-to-talk cannot be encoded for this camera");
            let _ = session
                .send(SessionCommand::Talk(TalkInput::Stop { id }))
                .await;
            return;
        }
    };
    while let Some(chunk) = chunks.recv().await {
        let frames = encoder.push(&chunk);
        if !frames.is_empty()
            && session
                .send(SessionCommand::Talk(TalkInput::Frames { id, frames }))
                .await
                .is_err()
        {
            return;
        }
    }
    let frames = encoder.finish();
    if !frames.is_empty() {
        let _ = session
            .send(SessionCommand::Talk(TalkInput::Frames { id, frames }))
            .await;
    }
    let _ = session
        .send(SessionCommand::Talk(TalkInput::Finish { id }))
        .await;
}

fn user_error(e: AudioError) -> CommandError {
    bad(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-connection HTTP server on loopback answering `reply` (or
    /// never, for `None`), and its URL.
    async fn server(reply: Option<Vec<u8>>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            match reply {
                Some(r) => {
                    let _ = s.write_all(&r).await;
                }
                None => tokio::time::sleep(Duration::from_secs(60)).await,
            }
        });
        format!("http://{addr}/tts/x.wav?token=secret")
    }

    fn response(status: &str, body: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    }

    #[tokio::test]
    async fn a_url_is_downloaded_and_a_404_or_a_silent_server_says_so_without_the_query() {
        let client = http_client_with(Duration::from_millis(500));
        let url = server(Some(response("200 OK", b"RIFF-audio"))).await;
        assert_eq!(
            &download(&client, &url, None).await.unwrap()[..],
            b"RIFF-audio"
        );

        let url = server(Some(response("404 Not Found", b"nope"))).await;
        let e = download(&client, &url, None).await.unwrap_err();
        assert!(e.contains("404") && e.contains("/tts/x.wav"), "{e}");
        assert!(!e.contains("secret"), "{e}");

        let url = server(None).await;
        let e = download(&client, &url, None).await.unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[tokio::test]
    async fn a_download_over_the_limit_is_refused() {
        let client = http_client_with(Duration::from_secs(5));
        // The length header gives it away before the body.
        let big = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
            audio::MAX_INPUT_BYTES + 1
        );
        let url = server(Some(big.into_bytes())).await;
        let e = download(&client, &url, None).await.unwrap_err();
        assert!(e.contains("larger than 8 MiB"), "{e}");
        let e = fetch(
            &client,
            None,
            IntercomSource::File(vec![0u8; audio::MAX_INPUT_BYTES + 1].into()),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("larger than 8 MiB"), "{e}");
        let e = fetch(&client, None, IntercomSource::Say("hello".into()))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("homeassistant.url"), "{e}");
    }

    #[test]
    fn shown_urls_leave_out_credentials_and_queries() {
        assert_eq!(
            shown_url("http://user:pw@ha.local:8123/api/tts_proxy/abc.mp3?token=secret"),
            "http://ha.local:8123/api/tts_proxy/abc.mp3"
        );
        assert_eq!(shown_url("not a url"), "the URL");
    }
}
