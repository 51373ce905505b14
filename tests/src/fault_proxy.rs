//! A loopback TCP fault proxy: forwards every connection to a target address, byte for byte,
//! and cuts connections after a set number of bytes, a set number of times.
//!
//! It works below HTTP, so it shows what a real network fault does to a real server (the
//! `docker-registry` of [`crate::registry`], the emulator, or anything else on loopback): the
//! server sees a request body end early, the client sees its connection reset mid-request or
//! mid-response. Nothing is parsed or rewritten; with no cut planned it is a transparent relay.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use acr_tests::fault_proxy::{Cut, FaultProxy};
//! let target: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
//! // Cut each of the first three connections that carry 40 MiB from the client.
//! let proxy = FaultProxy::start(target, Cut::upstream_after(40 << 20).times(3)).await?;
//! println!("talk to {} instead", proxy.endpoint()); // http://127.0.0.1:PORT
//! // ... run the client against proxy.endpoint() ...
//! assert_eq!(proxy.cuts(), 3);
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! * **Counting.** Bytes are counted per connection in the [`Direction`] the [`Cut`] names
//!   (client → target, target → client, or both added up). When a connection has carried
//!   exactly [`Cut::after`] bytes and the plan still has cuts left, the proxy forwards those
//!   bytes, then closes both sockets of that connection at once (the target sees end of stream
//!   mid-request; the client, whose unread bytes the proxy discards, gets a reset or a broken
//!   pipe). A byte count of 0 cuts a connection as soon as it carries anything.
//! * **How many.** Cuts are shared among connections: the first [`Cut::times`] connections to
//!   reach the threshold are cut, later ones pass untouched. A cut connection is not counted
//!   again; a client that reconnects gets a fresh count.
//! * **Half-close** is relayed: when one side shuts its write half, the proxy shuts the other
//!   side's write half and keeps relaying the opposite direction.
//! * **Lifetime.** The proxy listens on `127.0.0.1:0` (a free port) and runs on the caller's
//!   tokio runtime; dropping the [`FaultProxy`] stops accepting and closes every connection it
//!   relays, so a test never leaves a task behind.
//! * **Counters** ([`FaultProxy::connections`], [`FaultProxy::cuts`],
//!   [`FaultProxy::bytes_upstream`], [`FaultProxy::bytes_downstream`]) are totals over all
//!   connections so far, for asserting what crossed the wire (for example how many bytes an
//!   upload really sent against the blob's size).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The size of one relay read.
const BUFFER: usize = 64 * 1024;

/// Which bytes of a connection count towards a [`Cut`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Bytes from the client to the target (request bodies: uploads).
    Upstream,
    /// Bytes from the target to the client (response bodies: downloads).
    Downstream,
    /// Both directions added up.
    Both,
}

/// The fault plan: cut a connection after `after` bytes in `direction`, `times` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Bytes a connection carries (in [`Cut::direction`]) before it is cut.
    pub after: u64,
    /// How many connections are cut in all.
    pub times: u32,
    /// Which bytes count.
    pub direction: Direction,
}

impl Cut {
    /// No cut at all: a transparent relay (useful to count bytes).
    pub fn never() -> Cut {
        Cut {
            after: u64::MAX,
            times: 0,
            direction: Direction::Both,
        }
    }

    /// Cut once, after `bytes` bytes from the client.
    pub fn upstream_after(bytes: u64) -> Cut {
        Cut {
            after: bytes,
            times: 1,
            direction: Direction::Upstream,
        }
    }

    /// Cut once, after `bytes` bytes from the target.
    pub fn downstream_after(bytes: u64) -> Cut {
        Cut {
            after: bytes,
            times: 1,
            direction: Direction::Downstream,
        }
    }

    /// Cut `n` connections instead of one.
    pub fn times(mut self, n: u32) -> Cut {
        self.times = n;
        self
    }
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU32,
    cuts_left: AtomicU32,
    cuts: AtomicU32,
    upstream: AtomicU64,
    downstream: AtomicU64,
}

impl Counters {
    /// Takes one cut from the plan; false when none is left.
    fn claim_cut(&self) -> bool {
        let claimed = self
            .cuts_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if claimed {
            self.cuts.fetch_add(1, Ordering::SeqCst);
        }
        claimed
    }
}

/// A running proxy; stops (and closes every relayed connection) when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    target: SocketAddr,
    plan: Cut,
    counters: Arc<Counters>,
    stop: CancellationToken,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port that forwards to `target` and applies `plan`.
    ///
    /// Errors: binding the listening socket failed. A connection the target refuses is closed
    /// at once (the client sees the refusal as a closed connection).
    pub async fn start(target: SocketAddr, plan: Cut) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        counters.cuts_left.store(plan.times, Ordering::SeqCst);
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(
            listener,
            target,
            plan,
            counters.clone(),
            stop.clone(),
        ));
        tracing::debug!(%addr, %target, ?plan, "fault proxy listening");
        Ok(FaultProxy {
            addr,
            target,
            plan,
            counters,
            stop,
        })
    }

    /// The proxy's own address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for a client that should go through the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where connections are forwarded.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// The plan it was started with.
    pub fn plan(&self) -> Cut {
        self.plan
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u32 {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Connections cut so far (at most the plan's `times`).
    pub fn cuts(&self) -> u32 {
        self.counters.cuts.load(Ordering::SeqCst)
    }

    /// Bytes forwarded from clients to the target, over all connections.
    pub fn bytes_upstream(&self) -> u64 {
        self.counters.upstream.load(Ordering::SeqCst)
    }

    /// Bytes forwarded from the target to clients, over all connections.
    pub fn bytes_downstream(&self) -> u64 {
        self.counters.downstream.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    plan: Cut,
    counters: Arc<Counters>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let client = match accepted {
            Ok((client, _)) => client,
            Err(err) => {
                tracing::debug!(%err, "fault proxy: accept failed");
                continue;
            }
        };
        counters.connections.fetch_add(1, Ordering::SeqCst);
        let counters = counters.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = relay(client, target, plan, counters) => {}
            }
        });
    }
}

/// The byte budget of one connection, shared by its two pumps.
struct Budget {
    plan: Cut,
    /// Bytes counted on this connection so far.
    counted: AtomicU64,
    /// Whether this connection was chosen to be cut (claimed from the shared plan).
    doomed: std::sync::atomic::AtomicBool,
}

impl Budget {
    fn counts(&self, up: bool) -> bool {
        match self.plan.direction {
            Direction::Upstream => up,
            Direction::Downstream => !up,
            Direction::Both => true,
        }
    }

    /// How many of `n` bytes may pass before the cut; `None` = all of them, no cut now.
    fn allow(&self, up: bool, n: usize, counters: &Counters) -> Option<usize> {
        if !self.counts(up) || self.plan.times == 0 {
            return None;
        }
        let before = self.counted.fetch_add(n as u64, Ordering::SeqCst);
        if before.saturating_add(n as u64) < self.plan.after {
            return None;
        }
        // The threshold is reached within these bytes: cut if the plan has a cut left (or
        // this connection already holds one).
        if self.doomed.load(Ordering::SeqCst) || counters.claim_cut() {
            self.doomed.store(true, Ordering::SeqCst);
            let pass = self.plan.after.saturating_sub(before).min(n as u64) as usize;
            return Some(pass);
        }
        None
    }
}

enum PumpEnd {
    /// The source closed its write half; relayed as a shutdown.
    Eof,
    /// The plan cut the connection.
    Cut,
    /// A socket error: the connection is over.
    Failed,
}

async fn relay(client: TcpStream, target: SocketAddr, plan: Cut, counters: Arc<Counters>) {
    let upstream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(err) => {
            tracing::debug!(%err, %target, "fault proxy: target refused");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let budget = Budget {
        plan,
        counted: AtomicU64::new(0),
        doomed: std::sync::atomic::AtomicBool::new(false),
    };
    let (client_read, client_write) = client.into_split();
    let (target_read, target_write) = upstream.into_split();
    let up = pump(client_read, target_write, true, &budget, &counters);
    let down = pump(target_read, client_write, false, &budget, &counters);
    tokio::pin!(up, down);
    let (mut up_done, mut down_done) = (false, false);
    while !(up_done && down_done) {
        let end = tokio::select! {
            end = &mut up, if !up_done => { up_done = true; end }
            end = &mut down, if !down_done => { down_done = true; end }
        };
        match end {
            PumpEnd::Eof => {}
            PumpEnd::Cut => {
                tracing::debug!(%target, "fault proxy: connection cut");
                return; // dropping both pumps closes all four halves now
            }
            PumpEnd::Failed => return,
        }
    }
}

async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    up: bool,
    budget: &Budget,
    counters: &Counters,
) -> PumpEnd {
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => {
                let _ = to.shutdown().await;
                return PumpEnd::Eof;
            }
            Ok(n) => n,
            Err(_) => return PumpEnd::Failed,
        };
        let (pass, cut) = match budget.allow(up, n, counters) {
            None => (n, false),
            Some(pass) => (pass, true),
        };
        if pass > 0 {
            if to.write_all(&buf[..pass]).await.is_err() {
                return PumpEnd::Failed;
            }
            let total = if up {
                &counters.upstream
            } else {
                &counters.downstream
            };
            total.fetch_add(pass as u64, Ordering::SeqCst);
        }
        if cut {
            let _ = to.flush().await;
            return PumpEnd::Cut;
        }
    }
}
