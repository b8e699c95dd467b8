//! A local HTTP/1.1 JSON-RPC forwarder that injects faults, for tests (`test-utils`).
//!
//! Every request is forwarded to the upstream node, so a dropped response still has its
//! effect — the classic "did my transaction land?" case. Per response the proxy may, with
//! configured shares, close the connection instead of answering ([`FaultConfig::drop_share`])
//! or answer late ([`FaultConfig::delay_share`]). [`FaultProxy::set_down`] makes it refuse
//! requests without forwarding them, like an endpoint that is down. Faults are drawn from a
//! seeded generator, so a test run is reproducible. Listens on 127.0.0.1 only.

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// Which faults the proxy injects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultConfig {
    /// Share of responses (0.0–1.0) dropped after the request reached upstream.
    pub drop_share: f64,
    /// Share of responses (0.0–1.0) delayed by [`FaultConfig::delay`].
    pub delay_share: f64,
    /// How long a delayed response is held back.
    pub delay: Duration,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            drop_share: 0.0,
            delay_share: 0.0,
            delay: Duration::from_millis(500),
            seed: 1,
        }
    }
}

/// How many requests the proxy saw and what it did with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Requests forwarded upstream.
    pub forwarded: u64,
    /// Responses dropped.
    pub dropped: u64,
    /// Responses delayed.
    pub delayed: u64,
    /// Requests refused while down.
    pub refused: u64,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    config: Mutex<FaultConfig>,
    rng: Mutex<u64>,
    down: AtomicBool,
    forwarded: AtomicU64,
    dropped: AtomicU64,
    delayed: AtomicU64,
    refused: AtomicU64,
}

impl Shared {
    /// A uniform draw in [0, 1) from a xorshift64* generator.
    fn draw(&self) -> f64 {
        let mut state = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mut x = *state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        *state = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn config(&self) -> FaultConfig {
        *self.config.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running fault proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on a free 127.0.0.1 port forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr, config: FaultConfig) -> io::Result<Self> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            config: Mutex::new(config),
            rng: Mutex::new(config.seed.max(1)),
            down: AtomicBool::new(false),
            forwarded: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            delayed: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = Arc::clone(&accept_shared);
                tokio::spawn(async move {
                    // A failed connection only affects its own client.
                    let _ = serve(stream, shared).await;
                });
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the fault configuration (the generator keeps its state).
    pub fn set_config(&self, config: FaultConfig) {
        *self.shared.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// While down, requests are refused (connection closed) without being forwarded.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Counters so far.
    pub fn stats(&self) -> FaultStats {
        FaultStats {
            forwarded: self.shared.forwarded.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            delayed: self.shared.delayed.load(Ordering::Relaxed),
            refused: self.shared.refused.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(client: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let (client_read, mut client_write) = client.into_split();
    let mut client_read = BufReader::new(client_read);
    let mut upstream: Option<(BufReader<tokio::net::tcp::OwnedReadHalf>, _)> = None;
    loop {
        let Some(request) = read_message(&mut client_read).await? else {
            return Ok(());
        };
        if shared.down.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if upstream.is_none() {
            let (r, w) = TcpStream::connect(shared.upstream).await?.into_split();
            upstream = Some((BufReader::new(r), w));
        }
        let Some((up_read, up_write)) = upstream.as_mut() else {
            return Ok(());
        };
        up_write.write_all(&request).await?;
        shared.forwarded.fetch_add(1, Ordering::Relaxed);
        let Some(response) = read_message(up_read).await? else {
            return Ok(());
        };
        let config = shared.config();
        if shared.draw() < config.drop_share {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if shared.draw() < config.delay_share {
            shared.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(config.delay).await;
        }
        client_write.write_all(&response).await?;
    }
}

/// Reads one HTTP/1.1 message (head plus a `Content-Length` or chunked body) and returns its
/// bytes unchanged; `None` at a clean end of stream.
async fn read_message<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> io::Result<Option<Vec<u8>>> {
    let mut message = Vec::with_capacity(1024);
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        let line = read_line(r).await?;
        if line.is_empty() {
            return if message.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated head",
                ))
            };
        }
        message.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
        if text == "\r\n" || text == "\n" {
            break;
        }
        if let Some(v) = text.strip_prefix("content-length:") {
            content_length = v.trim().parse().map_err(|_| bad("content-length"))?;
        } else if let Some(v) = text.strip_prefix("transfer-encoding:") {
            chunked = v.contains("chunked");
        }
    }
    if chunked {
        loop {
            let size_line = read_line(r).await?;
            message.extend_from_slice(&size_line);
            let size_text = String::from_utf8_lossy(&size_line);
            let size_hex = size_text.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad("chunk size"))?;
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).await?;
            message.extend_from_slice(&chunk);
            if size == 0 {
                break;
            }
        }
    } else {
        let start = message.len();
        message.resize(start + content_length, 0);
        r.read_exact(&mut message[start..]).await?;
    }
    Ok(Some(message))
}

async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> io::Result<Vec<u8>> {
    use tokio::io::AsyncBufReadExt;
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).await?;
    Ok(line)
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_and_drops() {
        // A tiny upstream that answers every request with a fixed body.
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let up_addr = upstream.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = upstream.accept().await {
                tokio::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let mut r = BufReader::new(r);
                    while let Ok(Some(_)) = read_message(&mut r).await {
                        let body = "{\"ok\":true}";
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if w.write_all(resp.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = FaultProxy::start(up_addr, FaultConfig::default())
            .await
            .unwrap();
        let req = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(req).await.unwrap();
        let mut r = BufReader::new(&mut s);
        let resp = read_message(&mut r).await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&resp).ends_with("{\"ok\":true}"));

        proxy.set_config(FaultConfig {
            drop_share: 1.0,
            ..FaultConfig::default()
        });
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(req).await.unwrap();
        let mut r = BufReader::new(&mut s);
        assert!(read_message(&mut r).await.unwrap().is_none());
        let stats = proxy.stats();
        assert_eq!((stats.forwarded, stats.dropped), (2, 1));
    }
}
