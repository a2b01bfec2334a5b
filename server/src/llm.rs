//! "Split into micro-steps" through an OpenAI-compatible chat completions API
//! (`CALENTO_LLM_URL`, `CALENTO_LLM_MODEL`, `CALENTO_LLM_API_KEY`). Off by default; any
//! failure (no answer in 20 s, an error status, an unreadable reply) falls back to the
//! domain core's rule-based suggestions, with the reason shown.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, header};
use hyper::body::Bytes;

use app::ssr::StepSuggester;

use crate::Config;
use crate::outbound::{Limits, OutboundError};

const TIMEOUT: Duration = Duration::from_secs(20);
const MAX_REPLY_BYTES: usize = 256 * 1024;

const INSTRUCTIONS: &str = "You help someone with ADHD start a task by splitting it into small, concrete micro-steps. \
Reply with a numbered list only: 3 to 8 steps, one per line, each a short action that takes under 15 minutes, \
the first one taking two minutes.";

/// The suggester for the configured endpoint, if any.
pub fn suggester(config: &Config) -> Option<StepSuggester> {
    let base = config.llm_url.clone()?;
    let model = config.llm_model.clone();
    let key = config.llm_api_key.clone();
    let limits =
        Limits { connect_timeout: Duration::from_secs(5), timeout: TIMEOUT, max_bytes: MAX_REPLY_BYTES, redirects: 0 };
    let client = config.outbound().with_limits(limits);
    let url = format!("{base}/chat/completions");
    Some(StepSuggester(Arc::new(move |title: String, notes: String| {
        let (client, url, model, key) = (client.clone(), url.clone(), model.clone(), key.clone());
        Box::pin(async move {
            let task = if notes.trim().is_empty() { title } else { format!("{title}\n\nNotes: {notes}") };
            let body = serde_json::json!({
                "model": model,
                "temperature": 0,
                "messages": [
                    {"role": "system", "content": INSTRUCTIONS},
                    {"role": "user", "content": task},
                ],
            });
            let mut request = Request::builder()
                .method(Method::POST)
                .uri(&url)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/json");
            if let Some(key) = &key {
                request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
            }
            let request = request
                .body(Bytes::from(body.to_string()))
                .map_err(|_| "the model's address is not a valid URL".to_owned())?;
            let response = client.send(request).await.map_err(|error| match error {
                OutboundError::Timeout(_) => "the model did not answer in time".to_owned(),
                OutboundError::TooLarge(_) => "the model's reply was too long".to_owned(),
                OutboundError::Refused(refusal) => format!("the model's address is refused: {refusal}"),
                _ => "the model could not be reached".to_owned(),
            })?;
            let status = response.status();
            let bytes = response.into_body();
            if !status.is_success() {
                return Err(format!("the model answered {}", status.as_u16()));
            }
            let reply: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|_| "the model's reply was not JSON".to_owned())?;
            let content = reply["choices"][0]["message"]["content"]
                .as_str()
                .ok_or_else(|| "the model's reply had no message".to_owned())?;
            let steps = calento::breakdown::read_reply(content);
            if steps.is_empty() {
                return Err("the model suggested no steps".to_owned());
            }
            Ok(steps)
        })
    })))
}
