//! The TCP fault proxy itself: exact cut points, the shared cut budget, transparent relaying
//! both ways, and counters.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::time::Duration;

use acr_tests::fault_proxy::{Cut, Direction, FaultProxy};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// A sink on loopback: reports how many bytes each connection delivered before it ended, and
/// answers every connection with `reply` once the client half-closes.
async fn sink(reply: &'static [u8]) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let _ = conn.read_to_end(&mut got).await;
                let _ = conn.write_all(reply).await;
                let _ = conn.shutdown().await;
                let _ = tx.send(got.len());
            });
        }
    });
    (addr, rx)
}

/// Sends `n` bytes through `proxy`, half-closes, reads the reply; `Err` when cut.
async fn exchange(proxy: &FaultProxy, n: usize) -> std::io::Result<Vec<u8>> {
    let mut conn = TcpStream::connect(proxy.addr()).await?;
    conn.write_all(&vec![7u8; n]).await?;
    conn.shutdown().await?;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).await?;
    Ok(reply)
}

#[tokio::test]
async fn cuts_each_of_the_first_n_connections_at_the_exact_byte_then_relays() {
    let (target, mut delivered) = sink(b"pong").await;
    let proxy = FaultProxy::start(target, Cut::upstream_after(300_000).times(2))
        .await
        .unwrap();
    for _ in 0..2 {
        let reply = tokio::time::timeout(Duration::from_secs(20), exchange(&proxy, 1_000_000))
            .await
            .unwrap();
        // the client either fails to write or reads an empty/reset reply: never "pong"
        assert!(reply.as_deref().map_or(true, |r| r.is_empty()), "{reply:?}");
        assert_eq!(
            delivered.recv().await,
            Some(300_000),
            "cut at the exact byte"
        );
    }
    let reply = tokio::time::timeout(Duration::from_secs(20), exchange(&proxy, 1_000_000))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply, b"pong", "the third connection passes untouched");
    assert_eq!(delivered.recv().await, Some(1_000_000));
    assert_eq!(proxy.cuts(), 2);
    assert_eq!(proxy.connections(), 3);
    assert_eq!(proxy.bytes_upstream(), 1_600_000);
    assert_eq!(proxy.bytes_downstream(), 4);
}

#[tokio::test]
async fn a_transparent_relay_counts_both_ways_and_a_downstream_cut_cuts_replies() {
    let (target, mut delivered) = sink(&[9u8; 5000]).await;
    let proxy = FaultProxy::start(target, Cut::never()).await.unwrap();
    let reply = exchange(&proxy, 1234).await.unwrap();
    assert_eq!(reply.len(), 5000);
    assert_eq!(delivered.recv().await, Some(1234));
    assert_eq!(
        (proxy.bytes_upstream(), proxy.bytes_downstream()),
        (1234, 5000)
    );
    assert_eq!(proxy.cuts(), 0);

    let cut = FaultProxy::start(target, Cut::downstream_after(1000))
        .await
        .unwrap();
    assert_eq!(cut.plan().direction, Direction::Downstream);
    let reply = exchange(&cut, 10).await;
    assert_eq!(
        delivered.recv().await,
        Some(10),
        "upstream bytes are not counted"
    );
    let got = reply.map(|r| r.len()).unwrap_or(0);
    assert!(
        got <= 1000,
        "at most the first 1000 reply bytes arrive, got {got}"
    );
    assert_eq!(cut.cuts(), 1);
    assert_eq!(cut.bytes_downstream(), 1000);
}
