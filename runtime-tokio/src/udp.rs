//! The UDP transport's reader task for tokio. Links, beacons and the sink are in
//! [`blemesh_runtime::udp`], whose docs describe when a UDP link is up and down.

use std::net::SocketAddr;
use std::time::Instant as StdInstant;

use blemesh_runtime::udp::{UdpConfig, UdpEndpoint};
use blemesh_runtime::{Error, Transport};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;
use tracing::Instrument;

/// Largest datagram read; longer ones are truncated by the OS and dropped by the node.
const RECV_BUFFER: usize = 65_536;

/// Binds a UDP transport on loopback and starts its reader task. Returns the transport to
/// give to [`crate::spawn`] and the bound address. Must be called inside a tokio runtime.
pub fn bind(config: UdpConfig) -> Result<(Transport, SocketAddr), Error> {
    let (endpoint, events) = UdpEndpoint::bind(config)?;
    let local = endpoint.local_addr();
    let socket = UdpSocket::from_std(endpoint.socket()?)?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let sink = endpoint.sink(move || {
        let _ = stop_tx.send(());
    })?;
    let span = tracing::info_span!("udp", %local);
    tokio::spawn(read(endpoint, socket, stop_rx).instrument(span));
    Ok((Transport::new(events, sink), local))
}

async fn read(mut endpoint: UdpEndpoint, socket: UdpSocket, mut stop: oneshot::Receiver<()>) {
    let mut out = Vec::new();
    endpoint.start(StdInstant::now(), &mut out);
    if !endpoint.forward(&mut out).await {
        return;
    }
    let mut tick = tokio::time::interval(endpoint.config().beacon_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        tokio::select! {
            _ = &mut stop => break,
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, from)) => endpoint.on_datagram(StdInstant::now(), from, &buf[..len], &mut out),
                // ICMP errors for peers not (yet) listening surface here: not fatal.
                Err(e) => tracing::trace!(error = %e, "udp receive error"),
            },
            _ = tick.tick() => endpoint.on_tick(StdInstant::now(), &mut out),
        }
        if !endpoint.forward(&mut out).await {
            break;
        }
    }
    tracing::debug!("udp reader stopped");
}
