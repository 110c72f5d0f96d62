//! The HTTP edge of [`WyzeClient`]: one POST with the rate limit respected
//! before it and read from its answer, status and error codes mapped to
//! [`WyzeError`]s. Request bodies are never logged or put into errors.

use std::time::Duration;

use serde_json::Value;

use super::{State, WyzeClient};
use crate::cloud::wyze::{api, ratelimit, WyzeError};

/// A transport error's text with its causes (reqwest's own text is terse);
/// URLs are left out, bodies are never part of it.
pub(super) fn transport_reason(e: reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let e = e.without_url();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl WyzeClient {
    /// Waits for the rate-limit reset when few calls remain (bounded);
    /// refuses the call when none remain and the reset is further away.
    async fn respect_rate_limit(&self, st: &mut State) -> Result<(), WyzeError> {
        let Some(rl) = st.rate else { return Ok(()) };
        if rl.remaining > self.opts.rate_limit_floor {
            return Ok(());
        }
        let now = self.now();
        let until = rl.reset_unix.map(Duration::from_secs);
        let wait = until.map_or(self.opts.max_rate_limit_wait, |u| u.saturating_sub(now));
        if rl.remaining == 0 && wait > self.opts.max_rate_limit_wait {
            return Err(WyzeError::RateLimited {
                until: until.unwrap_or(now + wait).as_secs(),
            });
        }
        let wait = wait.min(self.opts.max_rate_limit_wait);
        if !wait.is_zero() {
            tracing::info!(
                remaining = rl.remaining,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "Wyze rate limit nearly used up; waiting for its reset"
            );
            tokio::time::sleep(wait).await;
        }
        st.rate = None;
        Ok(())
    }

    /// POSTs `body` as JSON and returns the answer's JSON; answers with an
    /// error code become typed errors, other HTTP errors [`WyzeError::Http`].
    pub(super) async fn post(
        &self,
        st: &mut State,
        endpoint: &'static str,
        url: &str,
        with_key: bool,
        body: &Value,
    ) -> Result<Value, WyzeError> {
        self.respect_rate_limit(st).await?;
        let mut req = self.http.post(url).json(body);
        if with_key {
            req = req
                .header("apikey", self.api_key.expose())
                .header("keyid", &self.key_id);
        }
        let resp = req.send().await.map_err(|e| WyzeError::Http {
            endpoint,
            status: None,
            reason: transport_reason(e),
        })?;
        let status = resp.status();
        let headers = resp.headers();
        if let Some(rl) = ratelimit::parse_rate_limit(|name| headers.get(name)?.to_str().ok()) {
            st.rate = Some(rl);
        }
        tracing::debug!(endpoint, status = status.as_u16(), "Wyze answer");
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let until = st
                .rate
                .and_then(|r| r.reset_unix)
                .unwrap_or_else(|| (self.now() + self.opts.max_rate_limit_wait).as_secs());
            return Err(WyzeError::RateLimited { until });
        }
        let bytes = resp.bytes().await.map_err(|e| WyzeError::Http {
            endpoint,
            status: Some(status.as_u16()),
            reason: transport_reason(e),
        })?;
        let json: Option<Value> = serde_json::from_slice(&bytes).ok();
        if !status.is_success() {
            if let Some(Err(e)) = json.as_ref().map(|v| api::check_code(endpoint, v)) {
                return Err(e);
            }
            return Err(WyzeError::Http {
                endpoint,
                status: Some(status.as_u16()),
                reason: format!("HTTP {status}"),
            });
        }
        json.ok_or_else(|| WyzeError::Malformed {
            endpoint,
            reason: format!("not JSON ({} bytes)", bytes.len()),
        })
    }
}
