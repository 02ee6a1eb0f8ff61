//! The UDP transport's reader task for async-std. Links, beacons and the sink are in
//! [`blemesh_runtime::udp`], whose docs describe when a UDP link is up and down.

use std::net::SocketAddr;
use std::time::Instant;

use async_std::net::UdpSocket;
use async_std::task;
use blemesh_runtime::udp::{UdpConfig, UdpEndpoint};
use blemesh_runtime::{Error, Transport};
use futures_lite::FutureExt;
use tokio::sync::oneshot;
use tracing::Instrument;

/// Largest datagram read.
const RECV_BUFFER: usize = 65_536;

/// Binds a UDP transport on loopback and starts its reader task. Returns the transport to
/// give to [`crate::spawn`] and the bound address.
pub fn bind(config: UdpConfig) -> Result<(Transport, SocketAddr), Error> {
    let (endpoint, events) = UdpEndpoint::bind(config)?;
    let local = endpoint.local_addr();
    let socket = UdpSocket::from(endpoint.socket()?);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let sink = endpoint.sink(move || {
        let _ = stop_tx.send(());
    })?;
    let span = tracing::info_span!("udp", %local);
    task::spawn(read(endpoint, socket, stop_rx).instrument(span));
    Ok((Transport::new(events, sink), local))
}

enum Wake {
    Stop,
    Datagram(std::io::Result<(usize, SocketAddr)>),
    Tick,
}

async fn read(mut endpoint: UdpEndpoint, socket: UdpSocket, mut stop: oneshot::Receiver<()>) {
    let mut out = Vec::new();
    endpoint.start(Instant::now(), &mut out);
    let interval = endpoint.config().beacon_interval;
    let mut next_tick = Instant::now();
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        if !endpoint.forward(&mut out).await {
            break;
        }
        let stopped = async {
            let _ = (&mut stop).await;
            Wake::Stop
        };
        let datagram = async { Wake::Datagram(socket.recv_from(&mut buf).await) };
        let tick = async {
            task::sleep(next_tick.saturating_duration_since(Instant::now())).await;
            Wake::Tick
        };
        match stopped.or(datagram).or(tick).await {
            Wake::Stop => break,
            Wake::Datagram(Ok((len, from))) => endpoint.on_datagram(Instant::now(), from, &buf[..len], &mut out),
            Wake::Datagram(Err(e)) => tracing::trace!(error = %e, "udp receive error"),
            Wake::Tick => {
                endpoint.on_tick(Instant::now(), &mut out);
                next_tick = Instant::now() + interval;
            }
        }
    }
    tracing::debug!("udp reader stopped");
}
