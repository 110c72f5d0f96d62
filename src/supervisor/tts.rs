//! Home Assistant's text-to-speech for `set/say` (the *Say* notify entity):
//! `POST <url>/api/tts_get_url` with the engine and the message, then the
//! audio from the path it answers, both with the token. In the add-on the
//! URL is the Supervisor's proxy to Home Assistant (`http://supervisor/core`,
//! `homeassistant_api: true`) and the token the Supervisor's; standalone,
//! `homeassistant.url` and a long-lived access token (`token_file`).
//!
//! The token goes only to the configured URL: the audio is fetched from the
//! answer's `path` on that same URL, never from a host the answer names.

use std::sync::Mutex;

use bytes::Bytes;
use serde_json::{json, Value};

use super::audio_job::{download, shown_url};
use crate::config::HomeAssistantConfig;
use crate::model::CommandError;
use crate::secret::Secret;

/// Home Assistant's TTS, as configured.
#[derive(Debug)]
pub struct Tts {
    /// Home Assistant's base URL, without a trailing slash.
    base: String,
    token: Secret,
    /// The configured engine (`tts.…`); empty: the first Home Assistant has.
    engine: String,
    language: String,
    /// The engine found when none was configured.
    found_engine: Mutex<Option<String>>,
}

fn failed(reason: impl Into<String>) -> CommandError {
    CommandError::BadValue {
        command: "say",
        reason: reason.into(),
    }
}

impl Tts {
    /// The TTS of `cfg`, if it names Home Assistant and a token.
    pub fn from_config(cfg: &HomeAssistantConfig) -> Option<Self> {
        if cfg.url.is_empty() || cfg.token.is_empty() {
            return None;
        }
        Some(Self {
            base: cfg.url.trim_end_matches('/').to_string(),
            token: cfg.token.clone(),
            engine: cfg.tts_engine.clone(),
            language: cfg.tts_language.clone(),
            found_engine: Mutex::new(None),
        })
    }

    /// The spoken `message` as an audio file.
    pub async fn speak(
        &self,
        client: &reqwest::Client,
        message: &str,
    ) -> Result<Bytes, CommandError> {
        let engine = self.engine(client).await?;
        let mut body = json!({ "engine_id": engine, "message": message, "cache": true });
        if !self.language.is_empty() {
            body["language"] = json!(self.language);
        }
        let url = format!("{}/api/tts_get_url", self.base);
        let answer = client
            .post(&url)
            .bearer_auth(self.token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(failed(format!(
                "Home Assistant ({}) answered HTTP {status} to the speech request{}",
                shown_url(&self.base),
                hint(status, &text)
            )));
        }
        let v: Value = serde_json::from_str(&text).unwrap_or_default();
        let Some(path) = v["path"].as_str().filter(|p| p.starts_with('/')) else {
            return Err(failed("Home Assistant's speech answer has no audio path"));
        };
        download(client, &format!("{}{path}", self.base), Some(&self.token))
            .await
            .map_err(|e| failed(format!("the speech audio: {e}")))
    }

    /// The engine to use: the configured one, else the first `tts.` entity
    /// Home Assistant has (asked once).
    async fn engine(&self, client: &reqwest::Client) -> Result<String, CommandError> {
        if !self.engine.is_empty() {
            return Ok(self.engine.clone());
        }
        if let Some(e) = self.found_engine.lock().ok().and_then(|g| g.clone()) {
            return Ok(e);
        }
        let url = format!("{}/api/states", self.base);
        let answer = client
            .get(&url)
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = answer.status();
        if !status.is_success() {
            return Err(failed(format!(
                "Home Assistant ({}) answered HTTP {status} when asked for its speech engines{}",
                shown_url(&self.base),
                hint(status, "")
            )));
        }
        let states: Value = answer.json().await.unwrap_or_default();
        let engine = states
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["entity_id"].as_str())
            .find(|id| id.starts_with("tts."))
            .map(str::to_string)
            .ok_or_else(|| {
                failed("Home Assistant has no text-to-speech engine; add one (e.g. Piper or Google Translate) or set homeassistant.tts_engine")
            })?;
        tracing::info!(engine, "text-to-speech engine found");
        if let Ok(mut g) = self.found_engine.lock() {
            *g = Some(engine.clone());
        }
        Ok(engine)
    }

    fn unreachable(&self, e: &reqwest::Error) -> CommandError {
        let what = if e.is_timeout() {
            "timed out"
        } else {
            "cannot connect"
        };
        failed(format!(
            "Home Assistant at {}: {what}",
            shown_url(&self.base)
        ))
    }
}

/// What to check after an error status.
fn hint(status: reqwest::StatusCode, body: &str) -> String {
    match status.as_u16() {
        401 | 403 => " (check homeassistant.token: a long-lived access token)".into(),
        404 => " (check homeassistant.url)".into(),
        _ => {
            // Home Assistant says what was wrong (an unknown engine, say).
            let said: Value = serde_json::from_str(body).unwrap_or_default();
            said["message"]
                .as_str()
                .map(|m| format!(": {}", m.chars().take(200).collect::<String>()))
                .unwrap_or_default()
        }
    }
}
