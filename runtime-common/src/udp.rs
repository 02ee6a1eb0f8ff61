//! The runtime-agnostic half of the UDP transport: configuration, socket, link table,
//! discovery beacons and the outbound sink. The runtime crates add the task that reads the
//! socket (`blemesh_tokio::udp`, `blemesh_async_std::udp`).
//!
//! # Links over UDP
//!
//! Each node binds one socket on a loopback address. A **link** is a peer address:
//!
//! * **configured** peers ([`UdpConfig::peers`]) are up from the start and never reported
//!   down: when such a peer goes silent the node's own heartbeat detection reports it lost
//!   ([`blemesh_core::LossReason::MissedHeartbeats`]), and because the link stays up, its
//!   hellos find the peer again when it comes back;
//! * any other address is up when its first datagram is seen (a frame or a discovery
//!   beacon) and reported down after [`UdpConfig::idle_timeout`] of silence.
//!
//! **Discovery** ([`UdpConfig::discovery`]): every [`UdpConfig::beacon_interval`] the node
//! sends a small beacon datagram to each port of a range on its own loopback address. A
//! beacon starts with the byte `0xBE`, which no link PDU uses (the core's control bytes are
//! `0x00` and `0x01`), so the transport consumes beacons and never hands them to the node.
//!
//! Only loopback addresses are accepted ([`Error::NotLoopback`]): this transport is for
//! development and tests on one machine; real radios are the BLE back end's.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use blemesh_core::{LinkId, LinkReport};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{Error, LinkEvent, LinkSink, Transport, TransmitError};

/// First bytes of a discovery beacon.
pub const BEACON: &[u8] = b"\xBEblemesh-beacon/1";

/// The default MTU of UDP links: well under any loopback or Ethernet datagram limit.
pub const DEFAULT_MTU: u16 = 1200;

/// Settings of a UDP transport.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UdpConfig {
    /// Address to bind, on loopback. Port 0 picks a free one.
    pub bind: SocketAddr,
    /// Peers linked from the start (see the module docs).
    pub peers: Vec<SocketAddr>,
    /// Ports on the bind address's IP to send discovery beacons to; `None` disables it.
    pub discovery: Option<RangeInclusive<u16>>,
    /// Interval of discovery beacons and of the idle check. Default 250 ms.
    pub beacon_interval: Duration,
    /// Silence after which a peer that was not configured is reported down. Default 3 s.
    pub idle_timeout: Duration,
    /// MTU reported for every link. Default [`DEFAULT_MTU`].
    pub mtu: u16,
    /// Capacity of the inbound event channel. Default 1024.
    pub inbound_capacity: usize,
}

impl UdpConfig {
    /// Defaults, bound to `bind`.
    pub fn new(bind: SocketAddr) -> Self {
        UdpConfig {
            bind,
            peers: Vec::new(),
            discovery: None,
            beacon_interval: Duration::from_millis(250),
            idle_timeout: Duration::from_secs(3),
            mtu: DEFAULT_MTU,
            inbound_capacity: 1024,
        }
    }

    /// Defaults, bound to a free port of 127.0.0.1.
    pub fn localhost() -> Self {
        UdpConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Adds a configured peer.
    pub fn with_peer(mut self, peer: SocketAddr) -> Self {
        self.peers.push(peer);
        self
    }

    /// Enables discovery beacons to `ports`.
    pub fn with_discovery(mut self, ports: RangeInclusive<u16>) -> Self {
        self.discovery = Some(ports);
        self
    }

    /// Rejects any non-loopback address.
    pub fn validate(&self) -> Result<(), Error> {
        for addr in core::iter::once(&self.bind).chain(&self.peers) {
            if !addr.ip().is_loopback() {
                return Err(Error::NotLoopback(*addr));
            }
        }
        Ok(())
    }
}

/// Link id → peer address, shared by the reader and the sink.
type Table = Arc<RwLock<HashMap<LinkId, SocketAddr>>>;

#[derive(Debug)]
struct Peer {
    link: LinkId,
    last_seen: Instant,
    configured: bool,
}

/// A bound UDP endpoint before its reader task starts: the socket, the link table and the
/// sender of the inbound channel. The runtime's reader owns it.
#[derive(Debug)]
pub struct UdpEndpoint {
    config: UdpConfig,
    socket: UdpSocket,
    local: SocketAddr,
    peers: HashMap<SocketAddr, Peer>,
    table: Table,
    next_link: u32,
    events: mpsc::Sender<LinkEvent>,
}

impl UdpEndpoint {
    /// Binds the socket (non-blocking) and makes the inbound channel.
    pub fn bind(config: UdpConfig) -> Result<(UdpEndpoint, mpsc::Receiver<LinkEvent>), Error> {
        config.validate()?;
        let socket = UdpSocket::bind(config.bind)?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let (events, rx) = Transport::channel(config.inbound_capacity);
        tracing::info!(%local, peers = config.peers.len(), discovery = ?config.discovery, "udp transport bound");
        let endpoint = UdpEndpoint {
            config,
            socket,
            local,
            peers: HashMap::new(),
            table: Table::default(),
            next_link: 0,
            events,
        };
        Ok((endpoint, rx))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The settings.
    pub fn config(&self) -> &UdpConfig {
        &self.config
    }

    /// A clone of the socket, for the runtime to wrap in its async socket type.
    pub fn socket(&self) -> Result<UdpSocket, Error> {
        Ok(self.socket.try_clone()?)
    }

    /// The sender the reader puts events into.
    /// Hands the gathered events to the driver (waiting while its queue is full); `false`
    /// once the driver is gone. Runtime-neutral: both runtimes' readers use it.
    pub async fn forward(&self, out: &mut Vec<LinkEvent>) -> bool {
        for event in out.drain(..) {
            if self.events().send(event).await.is_err() {
                return false;
            }
        }
        true
    }

    /// The channel to the driver.
    pub fn events(&self) -> &mpsc::Sender<LinkEvent> {
        &self.events
    }

    /// The outbound half; `on_close` stops the runtime's reader task.
    pub fn sink(&self, on_close: impl FnOnce() + Send + 'static) -> Result<UdpSink, Error> {
        Ok(UdpSink { socket: self.socket.try_clone()?, table: self.table.clone(), on_close: Some(Box::new(on_close)) })
    }

    /// Links to the configured peers. Call once when the reader starts.
    pub fn start(&mut self, now: Instant, out: &mut Vec<LinkEvent>) {
        for addr in self.config.peers.clone() {
            if addr != self.local {
                self.link_up(now, addr, true, out);
            }
        }
    }

    /// One datagram from `from`: a new link if the address is new, then the frame (beacons
    /// only refresh the link).
    pub fn on_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8], out: &mut Vec<LinkEvent>) {
        if from == self.local || !from.ip().is_loopback() {
            return;
        }
        let link = match self.peers.get_mut(&from) {
            Some(p) => {
                p.last_seen = now;
                p.link
            }
            None => self.link_up(now, from, false, out),
        };
        if !bytes.starts_with(BEACON) {
            out.push(LinkEvent::Frame { link, bytes: Bytes::copy_from_slice(bytes) });
        }
    }

    /// The periodic work: discovery beacons and idle links. Call every
    /// [`UdpConfig::beacon_interval`].
    pub fn on_tick(&mut self, now: Instant, out: &mut Vec<LinkEvent>) {
        if let Some(ports) = self.config.discovery.clone() {
            for port in ports {
                let to = SocketAddr::new(self.local.ip(), port);
                if to != self.local {
                    // Nobody may listen there: errors are expected and ignored.
                    let _ = self.socket.send_to(BEACON, to);
                }
            }
        }
        let idle = self.config.idle_timeout;
        let gone: Vec<SocketAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| !p.configured && now.duration_since(p.last_seen) > idle)
            .map(|(a, _)| *a)
            .collect();
        for addr in gone {
            if let Some(p) = self.peers.remove(&addr) {
                tracing::info!(peer = %addr, link = p.link.0, "udp peer silent: link down");
                self.table.write().unwrap_or_else(|e| e.into_inner()).remove(&p.link);
                out.push(LinkEvent::Down { link: p.link });
            }
        }
    }

    fn link_up(&mut self, now: Instant, addr: SocketAddr, configured: bool, out: &mut Vec<LinkEvent>) -> LinkId {
        let link = LinkId(self.next_link);
        self.next_link = self.next_link.wrapping_add(1);
        tracing::info!(peer = %addr, link = link.0, configured, "udp link up");
        self.peers.insert(addr, Peer { link, last_seen: now, configured });
        self.table.write().unwrap_or_else(|e| e.into_inner()).insert(link, addr);
        out.push(LinkEvent::Up { link, report: LinkReport::new(self.config.mtu) });
        link
    }
}

/// The outbound half of a UDP transport: one non-blocking `send_to` per frame.
pub struct UdpSink {
    socket: UdpSocket,
    table: Table,
    on_close: Option<Box<dyn FnOnce() + Send>>,
}

impl core::fmt::Debug for UdpSink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UdpSink").field("socket", &self.socket).finish_non_exhaustive()
    }
}

impl LinkSink for UdpSink {
    fn transmit(&mut self, link: LinkId, bytes: &[u8]) -> Result<(), TransmitError> {
        let addr = *self.table.read().unwrap_or_else(|e| e.into_inner()).get(&link).ok_or(TransmitError::UnknownLink)?;
        match self.socket.send_to(bytes, addr) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Err(TransmitError::Full),
            Err(e) => {
                tracing::debug!(peer = %addr, error = %e, "udp send failed");
                Err(TransmitError::Io)
            }
        }
    }

    fn close(&mut self) {
        if let Some(f) = self.on_close.take() {
            f();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn only_loopback_is_accepted() {
        let lan = SocketAddr::from(([192, 0, 2, 1], 9000)); // TEST-NET-1, never contacted
        assert!(matches!(UdpConfig::localhost().with_peer(lan).validate(), Err(Error::NotLoopback(a)) if a == lan));
        assert!(matches!(UdpEndpoint::bind(UdpConfig::new(lan)), Err(Error::NotLoopback(_))));
        UdpConfig::localhost().with_peer(addr(9000)).validate().expect("loopback is fine");
    }

    #[test]
    fn links_follow_configuration_datagrams_and_silence() {
        let mut config = UdpConfig::localhost().with_peer(addr(9));
        config.idle_timeout = Duration::from_secs(1);
        let (mut ep, _rx) = UdpEndpoint::bind(config).expect("bind");
        let t0 = Instant::now();
        let mut out = Vec::new();
        ep.start(t0, &mut out);
        assert_eq!(out, vec![LinkEvent::Up { link: LinkId(0), report: LinkReport::new(DEFAULT_MTU) }]);
        out.clear();

        // A beacon from a new address opens a link but is not a frame.
        ep.on_datagram(t0, addr(10), BEACON, &mut out);
        assert_eq!(out, vec![LinkEvent::Up { link: LinkId(1), report: LinkReport::new(DEFAULT_MTU) }]);
        out.clear();
        ep.on_datagram(t0, addr(10), b"\x00frame", &mut out);
        assert_eq!(out, vec![LinkEvent::Frame { link: LinkId(1), bytes: Bytes::from_static(b"\x00frame") }]);
        out.clear();

        // Silence: the discovered link goes down, the configured one stays.
        ep.on_tick(t0 + Duration::from_millis(500), &mut out);
        assert!(out.is_empty());
        ep.on_tick(t0 + Duration::from_secs(2), &mut out);
        assert_eq!(out, vec![LinkEvent::Down { link: LinkId(1) }]);
        out.clear();
        ep.on_tick(t0 + Duration::from_secs(60), &mut out);
        assert!(out.is_empty(), "configured peers are never reported down");

        // The sink knows the configured link and has forgotten the silent one.
        let mut sink = ep.sink(|| {}).expect("sink");
        assert_eq!(sink.transmit(LinkId(1), b"x"), Err(TransmitError::UnknownLink));
        sink.transmit(LinkId(0), b"x").expect("configured link");
    }

    #[test]
    fn discovery_beacons_link_two_endpoints() {
        let (mut a, _ra) = UdpEndpoint::bind(UdpConfig::localhost()).expect("bind a");
        let (b, _rb) = UdpEndpoint::bind(UdpConfig::localhost()).expect("bind b");
        let port = b.local_addr().port();
        a.config.discovery = Some(port..=port);
        let mut out = Vec::new();
        a.on_tick(Instant::now(), &mut out);
        let mut buf = [0u8; 64];
        let sock = b.socket().expect("socket");
        sock.set_nonblocking(false).expect("blocking");
        sock.set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
        let (len, from) = sock.recv_from(&mut buf).expect("beacon arrives");
        assert_eq!((&buf[..len], from), (BEACON, a.local_addr()));
    }
}
