//! The in-memory transport: a hub joining drivers of one process with configurable links.
//!
//! Each driver gets an [`Endpoint`] from [`MemoryHub::endpoint`]; [`MemoryHub::connect`]
//! opens a point-to-point link between two endpoints (both sides see [`LinkEvent::Up`]) and
//! [`MemoryHub::disconnect`] closes it. A frame written on a link is put straight into the
//! other side's inbound channel; when that channel is full the frame is dropped, as a
//! radio would. No task is involved, so the hub works under any executor.
//!
//! The hub has no radio, but it records the radio decisions each endpoint's driver applies
//! (connection parameters per link, channel map, advertising schedule), so tests can check
//! what a BLE transport would have been asked to do ([`MemoryHub::link_parameters`],
//! [`MemoryHub::channel_map`], [`MemoryHub::advertising`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use blemesh_core::ble::{AdvertisingSchedule, ChannelMap, LinkParameters};
use blemesh_core::{LinkId, LinkReport};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{ApplyError, LinkEvent, LinkSink, Transport, TransmitError};

/// Identifies one endpoint of a [`MemoryHub`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Endpoint(pub usize);

/// A set of in-memory links between drivers. Cheap to clone: clones share the hub.
#[derive(Clone, Debug, Default)]
pub struct MemoryHub {
    inner: Arc<Mutex<Hub>>,
}

#[derive(Debug, Default)]
struct Hub {
    /// Inbound channel of each endpoint.
    inboxes: Vec<mpsc::Sender<LinkEvent>>,
    /// `(endpoint, its link)` to `(peer endpoint, the peer's link)`.
    links: HashMap<(Endpoint, LinkId), (Endpoint, LinkId)>,
    /// Next link id of each endpoint.
    next_link: Vec<u32>,
    /// Connection parameters applied by each endpoint to its links.
    link_parameters: HashMap<(Endpoint, LinkId), LinkParameters>,
    /// Channel map and advertising schedule applied by each endpoint.
    channel_maps: HashMap<Endpoint, ChannelMap>,
    advertising: HashMap<Endpoint, AdvertisingSchedule>,
}

impl Hub {
    fn alloc_link(&mut self, ep: Endpoint) -> LinkId {
        let id = LinkId(self.next_link[ep.0]);
        self.next_link[ep.0] += 1;
        id
    }

    fn link_between(&self, a: Endpoint, b: Endpoint) -> Option<(LinkId, LinkId)> {
        self.links.iter().find(|((ep, _), (peer, _))| *ep == a && *peer == b).map(|((_, la), (_, lb))| (*la, *lb))
    }

    fn notify(&self, ep: Endpoint, event: LinkEvent) {
        if self.inboxes[ep.0].try_send(event).is_err() {
            tracing::warn!(endpoint = ep.0, "memory hub: link change lost, inbound channel full or closed");
        }
    }
}

impl MemoryHub {
    /// An empty hub.
    pub fn new() -> Self {
        MemoryHub::default()
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock leaves plain maps behind: still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new endpoint and the transport a driver uses for it. `capacity` bounds its inbound
    /// channel (frames beyond it are dropped).
    pub fn endpoint(&self, capacity: usize) -> (Endpoint, Transport) {
        let (tx, rx) = Transport::channel(capacity);
        let mut hub = self.lock();
        let ep = Endpoint(hub.inboxes.len());
        hub.inboxes.push(tx);
        hub.next_link.push(0);
        drop(hub);
        (ep, Transport::new(rx, MemorySink { hub: self.clone(), endpoint: ep }))
    }

    /// Opens a link of `mtu` bytes between `a` and `b`; both drivers see it come up. Does
    /// nothing if they are already linked.
    pub fn connect(&self, a: Endpoint, b: Endpoint, mtu: u16) {
        assert!(a != b, "an endpoint cannot link to itself");
        let mut hub = self.lock();
        assert!(a.0 < hub.inboxes.len() && b.0 < hub.inboxes.len(), "unknown endpoint");
        if hub.link_between(a, b).is_some() {
            return;
        }
        let (la, lb) = (hub.alloc_link(a), hub.alloc_link(b));
        hub.links.insert((a, la), (b, lb));
        hub.links.insert((b, lb), (a, la));
        tracing::debug!(a = a.0, b = b.0, mtu, "memory hub: connect");
        let report = LinkReport::new(mtu);
        hub.notify(a, LinkEvent::Up { link: la, report });
        hub.notify(b, LinkEvent::Up { link: lb, report });
    }

    /// Connects `endpoints` in a line: each to the next.
    pub fn connect_line(&self, endpoints: &[Endpoint], mtu: u16) {
        for pair in endpoints.windows(2) {
            self.connect(pair[0], pair[1], mtu);
        }
    }

    /// Closes the link between `a` and `b`, if any; both drivers see it go down.
    pub fn disconnect(&self, a: Endpoint, b: Endpoint) {
        let mut hub = self.lock();
        if let Some((la, lb)) = hub.link_between(a, b) {
            hub.links.remove(&(a, la));
            hub.links.remove(&(b, lb));
            hub.link_parameters.remove(&(a, la));
            hub.link_parameters.remove(&(b, lb));
            tracing::debug!(a = a.0, b = b.0, "memory hub: disconnect");
            hub.notify(a, LinkEvent::Down { link: la });
            hub.notify(b, LinkEvent::Down { link: lb });
        }
    }

    /// Silently stops carrying frames to and from `ep` without telling anyone, as when a
    /// device is switched off: its neighbours only notice by missed heartbeats.
    pub fn crash(&self, ep: Endpoint) {
        let mut hub = self.lock();
        hub.links.retain(|(from, _), (to, _)| *from != ep && *to != ep);
        let Hub { links, link_parameters, .. } = &mut *hub;
        link_parameters.retain(|key, _| links.contains_key(key));
    }

    /// Endpoints linked to `ep`.
    pub fn neighbours(&self, ep: Endpoint) -> Vec<Endpoint> {
        let hub = self.lock();
        hub.links.iter().filter(|((from, _), _)| *from == ep).map(|(_, (to, _))| *to).collect()
    }

    /// The connection parameters `ep`'s driver last applied to its link to `peer`.
    pub fn link_parameters(&self, ep: Endpoint, peer: Endpoint) -> Option<LinkParameters> {
        let hub = self.lock();
        let (link, _) = hub.link_between(ep, peer)?;
        hub.link_parameters.get(&(ep, link)).copied()
    }

    /// The channel map `ep`'s driver last applied.
    pub fn channel_map(&self, ep: Endpoint) -> Option<ChannelMap> {
        self.lock().channel_maps.get(&ep).copied()
    }

    /// The advertising schedule `ep`'s driver last applied.
    pub fn advertising(&self, ep: Endpoint) -> Option<AdvertisingSchedule> {
        self.lock().advertising.get(&ep).copied()
    }
}

/// The outbound half of an endpoint.
#[derive(Debug)]
struct MemorySink {
    hub: MemoryHub,
    endpoint: Endpoint,
}

impl LinkSink for MemorySink {
    fn transmit(&mut self, link: LinkId, bytes: &[u8]) -> Result<(), TransmitError> {
        let hub = self.hub.lock();
        let (peer, peer_link) = *hub.links.get(&(self.endpoint, link)).ok_or(TransmitError::UnknownLink)?;
        let event = LinkEvent::Frame { link: peer_link, bytes: Bytes::copy_from_slice(bytes) };
        hub.inboxes[peer.0].try_send(event).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TransmitError::Full,
            mpsc::error::TrySendError::Closed(_) => TransmitError::Closed,
        })
    }

    fn apply_link_parameters(&mut self, link: LinkId, params: &LinkParameters) -> Result<(), ApplyError> {
        let mut hub = self.hub.lock();
        if !hub.links.contains_key(&(self.endpoint, link)) {
            return Err(ApplyError::UnknownLink);
        }
        hub.link_parameters.insert((self.endpoint, link), *params);
        Ok(())
    }

    fn apply_channel_map(&mut self, map: ChannelMap) -> Result<(), ApplyError> {
        self.hub.lock().channel_maps.insert(self.endpoint, map);
        Ok(())
    }

    fn apply_advertising(&mut self, schedule: &AdvertisingSchedule) -> Result<(), ApplyError> {
        self.hub.lock().advertising.insert(self.endpoint, *schedule);
        Ok(())
    }

    fn close(&mut self) {
        // A stopped driver is a switched-off device: its links go silent, and the peers'
        // heartbeat detection reports them lost.
        self.hub.crash(self.endpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(t: &mut Transport) -> LinkEvent {
        t.events.try_recv().expect("an event")
    }

    #[test]
    fn frames_cross_links_and_stop_when_disconnected() {
        let hub = MemoryHub::new();
        let (a, mut ta) = hub.endpoint(4);
        let (b, mut tb) = hub.endpoint(4);
        hub.connect(a, b, 100);
        hub.connect(b, a, 100); // already linked: nothing new
        let up = LinkEvent::Up { link: LinkId(0), report: LinkReport::new(100) };
        assert_eq!((next(&mut ta), next(&mut tb)), (up.clone(), up));
        assert!(ta.events.try_recv().is_err());
        assert_eq!(hub.neighbours(a), vec![b]);

        ta.sink.transmit(LinkId(0), b"ping").expect("sent");
        assert_eq!(next(&mut tb), LinkEvent::Frame { link: LinkId(0), bytes: Bytes::from_static(b"ping") });
        assert_eq!(ta.sink.transmit(LinkId(7), b"?"), Err(TransmitError::UnknownLink));

        // The inbound channel holds 4 events: the fifth frame is dropped.
        for _ in 0..4 {
            ta.sink.transmit(LinkId(0), b"x").expect("fits");
        }
        assert_eq!(ta.sink.transmit(LinkId(0), b"x"), Err(TransmitError::Full));
        while tb.events.try_recv().is_ok() {}

        hub.disconnect(a, b);
        assert_eq!(next(&mut tb), LinkEvent::Down { link: LinkId(0) });
        assert_eq!(ta.sink.transmit(LinkId(0), b"x"), Err(TransmitError::UnknownLink));
    }

    #[test]
    fn applied_radio_decisions_are_recorded_per_endpoint_and_link() {
        use blemesh_core::ble::{
            AdvertisingMode, ConnectionInterval, MeshSituation, PeripheralLatency, PowerBudget, SupervisionTimeout,
        };
        let hub = MemoryHub::new();
        let (a, mut ta) = hub.endpoint(4);
        let (b, _tb) = hub.endpoint(4);
        hub.connect(a, b, 100);
        let params = LinkParameters::new(
            ConnectionInterval::from_units(12).unwrap(),
            PeripheralLatency::ZERO,
            SupervisionTimeout::from_units(200).unwrap(),
            -4,
        )
        .unwrap();
        assert_eq!(hub.link_parameters(a, b), None);
        ta.sink.apply_link_parameters(LinkId(0), &params).expect("applied");
        assert_eq!(hub.link_parameters(a, b), Some(params));
        assert_eq!(hub.link_parameters(b, a), None, "the other side applied nothing");
        assert_eq!(ta.sink.apply_link_parameters(LinkId(3), &params), Err(ApplyError::UnknownLink));
        let map = ChannelMap::from_bits(0b1111).unwrap();
        ta.sink.apply_channel_map(map).expect("applied");
        assert_eq!((hub.channel_map(a), hub.channel_map(b)), (Some(map), None));
        let cfg = blemesh_core::ble::BleConfig::default();
        let situation = MeshSituation { neighbours: 0, partitioned: false, since: core::time::Duration::ZERO, budget: PowerBudget::Balanced };
        let schedule = blemesh_core::ble::advertising_schedule(&cfg, &situation);
        ta.sink.apply_advertising(&schedule).expect("applied");
        assert_eq!(hub.advertising(a).map(|s| s.mode), Some(AdvertisingMode::Burst));
        hub.disconnect(a, b);
        hub.connect(a, b, 100);
        assert_eq!(hub.link_parameters(a, b), None, "a new link starts without parameters");
    }

    #[test]
    fn a_closed_endpoint_goes_silent() {
        let hub = MemoryHub::new();
        let (a, mut ta) = hub.endpoint(4);
        let (b, tb) = hub.endpoint(4);
        hub.connect_line(&[a, b], 50);
        let _ = next(&mut ta);
        drop(tb);
        assert_eq!(ta.sink.transmit(LinkId(0), b"x"), Err(TransmitError::Closed), "b's channel is gone");
        ta.sink.close();
        assert!(hub.neighbours(b).is_empty(), "a crashed: its links are gone");
    }
}
