//! A small HTTP/1.1 server on 127.0.0.1 for tests: serves programmable JSON bodies per path and
//! counts the requests it receives. Stands in for price APIs and alert endpoints.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};

#[derive(Debug, Default)]
struct State {
    routes: HashMap<String, (u16, Vec<u8>)>,
    hits: HashMap<String, u64>,
    bodies: Vec<(String, Vec<u8>)>,
}

/// A running test server; stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(&mut socket, &state).await;
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves `body` with `status` at `path` from now on.
    pub fn set(&self, path: &str, status: u16, body: impl Into<Vec<u8>>) {
        self.state
            .lock()
            .expect("lock")
            .routes
            .insert(path.to_owned(), (status, body.into()));
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> u64 {
        self.state
            .lock()
            .expect("lock")
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// How many requests all paths received.
    pub fn total_hits(&self) -> u64 {
        self.state.lock().expect("lock").hits.values().sum()
    }

    /// Request bodies received so far (POSTs), with their paths.
    pub fn bodies(&self) -> Vec<(String, Vec<u8>)> {
        self.state.lock().expect("lock").bodies.clone()
    }
}

async fn serve(socket: &mut tokio::net::TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let header_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
        if let Some(end) = header_end {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let mut lines = head.lines();
            let request = lines.next().unwrap_or_default().to_owned();
            let len = lines
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = socket.read(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..(end + 4 + len).min(buf.len())].to_vec();
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let (status, payload) = {
                let mut s = state.lock().expect("lock");
                *s.hits.entry(path.clone()).or_default() += 1;
                if !body.is_empty() {
                    s.bodies.push((path.clone(), body));
                }
                s.routes
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, b"{\"error\":\"not found\"}".to_vec()))
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                payload.len()
            );
            socket.write_all(response.as_bytes()).await?;
            socket.write_all(&payload).await?;
            return socket.shutdown().await;
        }
        let n = socket.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
