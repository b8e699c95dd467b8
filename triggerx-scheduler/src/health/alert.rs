//! Alert sinks: where the health service sends "keeper offline" and "keeper recovered" notices.
//! Webhook (a JSON POST) and the Telegram Bot API (with a configurable base URL, so tests and
//! self-hosted bot API servers can stand in for `https://api.telegram.org`).

use std::time::Duration;

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use triggerx_core::Timestamp;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The keeper has been offline for the alert threshold.
    Offline,
    /// The keeper checked in again after an offline alert.
    Recovered,
}

/// One notice about one keeper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// What happened.
    pub kind: AlertKind,
    /// The keeper.
    pub keeper: Address,
    /// Its display name.
    pub name: String,
    /// Its last check-in.
    pub last_checkin: Option<Timestamp>,
    /// When the notice was raised.
    pub at: Timestamp,
    /// The notice in words.
    pub message: String,
}

/// Why a notice was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{sink}: {message}")]
pub struct AlertError {
    /// The sink.
    pub sink: &'static str,
    /// What failed.
    pub message: String,
}

/// A destination for alerts. Object-safe through `async_trait`.
#[async_trait::async_trait]
pub trait AlertSink: Send + Sync + std::fmt::Debug {
    /// The sink's name, for logs and metrics.
    fn name(&self) -> &'static str;

    /// Delivers one alert.
    async fn send(&self, alert: &Alert) -> Result<(), AlertError>;
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

async fn post_json(
    sink: &'static str,
    client: &reqwest::Client,
    url: &str,
    body: &impl Serialize,
) -> Result<(), AlertError> {
    let body = serde_json::to_vec(body).map_err(|e| AlertError {
        sink,
        message: e.to_string(),
    })?;
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| AlertError {
            sink,
            message: format!("POST failed: {e}"),
        })?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(AlertError {
            sink,
            message: format!("HTTP {}", resp.status()),
        })
    }
}

/// POSTs each [`Alert`] as JSON to a URL.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    url: String,
    client: reqwest::Client,
}

impl WebhookSink {
    /// A webhook at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            client: client(Duration::from_secs(10)),
        }
    }
}

#[async_trait::async_trait]
impl AlertSink for WebhookSink {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        post_json("webhook", &self.client, &self.url, alert).await
    }
}

/// Sends each alert's message to a Telegram chat through the Bot API
/// (`POST {base_url}/bot{token}/sendMessage {chat_id, text}`).
#[derive(Clone)]
pub struct TelegramSink {
    base_url: String,
    token: String,
    chat_id: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for TelegramSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSink")
            .field("base_url", &self.base_url)
            .field("token", &"<redacted>")
            .field("chat_id", &self.chat_id)
            .finish()
    }
}

impl TelegramSink {
    /// The public Bot API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.telegram.org";

    /// A sink posting to `chat_id` with the bot `token` at `base_url`.
    pub fn new(
        base_url: impl Into<String>,
        token: impl Into<String>,
        chat_id: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            token: token.into(),
            chat_id: chat_id.into(),
            client: client(Duration::from_secs(10)),
        }
    }
}

#[async_trait::async_trait]
impl AlertSink for TelegramSink {
    fn name(&self) -> &'static str {
        "telegram"
    }

    async fn send(&self, alert: &Alert) -> Result<(), AlertError> {
        let url = format!("{}/bot{}/sendMessage", self.base_url, self.token);
        let body = serde_json::json!({ "chat_id": self.chat_id, "text": alert.message });
        post_json("telegram", &self.client, &url, &body).await
    }
}
