//! The source of `wire-support`, the loopback server the drivers of `codegen-sample` use.
//! It lives in the sample's work folder as its own small crate (std only, plus serde_json),
//! compiled once and shared by every driver.

/// `Cargo.toml` of the crate.
pub const MANIFEST: &str = r#"[package]
name = "wire-support"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
serde_json = "1"
"#;

/// `src/lib.rs` of the crate.
pub const LIB: &str = r#"//! A loopback HTTP/1.1 server that records every request and answers `200 {}`.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The server; requests are recorded until [`Server::report`] takes them.
pub struct Server {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Recorded>>>,
}

impl Server {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(stream, s));
            }
        });
        Self { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Prints one JSON line for operation `op`: its requests and what the call returned.
    pub fn report(&self, op: &str, outcome: Result<Option<String>, String>) {
        let requests: Vec<Recorded> = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|p| p.into_inner()));
        let (driver_error, client_error) = match outcome {
            Ok(e) => (None, e),
            Err(e) => (Some(e), None),
        };
        let reqs: Vec<serde_json::Value> = requests
            .iter()
            .map(|r| {
                serde_json::json!({
                    "method": r.method,
                    "target": r.target,
                    "headers": r.headers,
                    "body_hex": r.body.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                })
            })
            .collect();
        let line = serde_json::json!({
            "op": op,
            "driver_error": driver_error,
            "client_error": client_error,
            "requests": reqs,
        });
        println!("{line}");
    }
}

fn serve(stream: TcpStream, seen: Arc<Mutex<Vec<Recorded>>>) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            match reader.read_line(&mut h) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let get = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut body = Vec::new();
        if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size = String::new();
                if reader.read_line(&mut size).is_err() {
                    return;
                }
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                if reader.read_exact(&mut chunk).is_err() {
                    return;
                }
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body = vec![0; n];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
        }
        let head = method.eq_ignore_ascii_case("HEAD");
        seen.lock().unwrap_or_else(|p| p.into_inner()).push(Recorded { method, target, headers, body });
        let answer = if head {
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n".to_owned()
        } else {
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}".to_owned()
        };
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
"#;
