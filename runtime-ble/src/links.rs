//! The link table every BLE back end shares: link ids, one bounded outbound queue per link,
//! the driver's inbound channel ([`LinkHost`]) and the outbound sink ([`BleSink`]).
//!
//! A BLE link is one GATT connection (central side: a peripheral we connected to;
//! peripheral side: a central that subscribed or wrote). Its back-end task owns the
//! connection and drains the link's queue; the driver's synchronous
//! [`LinkSink::transmit`] only copies the PDU into that queue. Queued PDUs are held inline
//! ([`Pdu`]), so handing a frame to a link allocates nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use blemesh_core::{LinkId, LinkReport};
use blemesh_runtime::{LinkEvent, LinkSink, TransmitError, Transport};
use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use crate::gatt::MAX_PDU;

/// One outbound link PDU, held inline.
#[derive(Clone)]
pub struct Pdu {
    len: u16,
    bytes: [u8; MAX_PDU],
}

impl Pdu {
    /// Copies `bytes`; `None` if longer than [`MAX_PDU`].
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let mut pdu = Pdu { len: u16::try_from(bytes.len()).ok()?, bytes: [0; MAX_PDU] };
        pdu.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(pdu)
    }

    /// The PDU's bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for Pdu {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pdu").field("len", &self.len).finish()
    }
}

#[derive(Debug)]
struct Entry {
    queue: mpsc::Sender<Pdu>,
    mtu: u16,
}

type Table = Arc<Mutex<HashMap<LinkId, Entry>>>;

fn lock(table: &Table) -> MutexGuard<'_, HashMap<LinkId, Entry>> {
    // Only plain inserts and removals happen under the lock: a poisoned map is consistent.
    table.lock().unwrap_or_else(|p| p.into_inner())
}

/// The back ends' side of the link table: opens and closes links and reports what they
/// carry to the driver. Cheap to clone.
#[derive(Clone, Debug)]
pub struct LinkHost {
    table: Table,
    next: Arc<AtomicU32>,
    events: mpsc::Sender<LinkEvent>,
    stop: watch::Receiver<bool>,
    outbound_capacity: usize,
}

/// A link a back end opened: its id and the queue of PDUs to write to it.
#[derive(Debug)]
pub struct OpenLink {
    /// The id the driver knows the link by.
    pub id: LinkId,
    /// PDUs the driver wrote to the link, in order.
    pub outbound: mpsc::Receiver<Pdu>,
}

impl LinkHost {
    /// A host and the transport to hand to a driver: its sink shares the link table, and
    /// closing or dropping it stops the back end ([`LinkHost::stopped`]).
    pub fn new(inbound_capacity: usize, outbound_capacity: usize) -> (LinkHost, Transport) {
        let (events, rx) = Transport::channel(inbound_capacity);
        let (stop_tx, stop) = watch::channel(false);
        let table = Table::default();
        let host = LinkHost {
            table: table.clone(),
            next: Arc::new(AtomicU32::new(0)),
            events,
            stop,
            outbound_capacity: outbound_capacity.max(1),
        };
        let sink = BleSink { table, stop: stop_tx };
        (host, Transport::new(rx, sink))
    }

    /// Opens a link with `report` and tells the driver. `None` when the driver is gone.
    pub async fn open(&self, report: LinkReport) -> Option<OpenLink> {
        let id = LinkId(self.next.fetch_add(1, Ordering::Relaxed));
        let (queue, outbound) = mpsc::channel(self.outbound_capacity);
        lock(&self.table).insert(id, Entry { queue, mtu: report.mtu });
        if self.events.send(LinkEvent::Up { link: id, report }).await.is_err() {
            lock(&self.table).remove(&id);
            return None;
        }
        Some(OpenLink { id, outbound })
    }

    /// Hands a received PDU to the driver; `false` when the driver is gone.
    pub async fn frame(&self, link: LinkId, bytes: Bytes) -> bool {
        self.events.send(LinkEvent::Frame { link, bytes }).await.is_ok()
    }

    /// Reports new radio properties of a link; `false` when the driver is gone.
    pub async fn report(&self, link: LinkId, report: LinkReport) -> bool {
        if let Some(entry) = lock(&self.table).get_mut(&link) {
            entry.mtu = report.mtu;
        }
        self.events.send(LinkEvent::Report { link, report }).await.is_ok()
    }

    /// Closes a link: later transmits to it fail with [`TransmitError::UnknownLink`] and the
    /// driver sees it go down.
    pub async fn close(&self, link: LinkId) {
        let removed = lock(&self.table).remove(&link).is_some();
        if removed {
            let _ = self.events.send(LinkEvent::Down { link }).await;
        }
    }

    /// Whether the driver stopped the transport (closed its sink or dropped its events).
    pub fn is_stopped(&self) -> bool {
        *self.stop.borrow() || self.stop.has_changed().is_err() || self.events.is_closed()
    }

    /// Resolves when the driver stops the transport: its sink closed or dropped, or its
    /// inbound channel dropped.
    pub async fn stopped(&self) {
        let mut stop = self.stop.clone();
        tokio::select! {
            // An error means the sink was dropped: stopped too.
            _ = stop.wait_for(|s| *s) => {}
            _ = self.events.closed() => {}
        }
    }

    /// How many links are up.
    pub fn len(&self) -> usize {
        lock(&self.table).len()
    }

    /// Whether no link is up.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The outbound half of a BLE transport: copies each PDU into its link's bounded queue.
#[derive(Debug)]
pub(crate) struct BleSink {
    table: Table,
    stop: watch::Sender<bool>,
}

impl LinkSink for BleSink {
    fn transmit(&mut self, link: LinkId, bytes: &[u8]) -> Result<(), TransmitError> {
        let table = lock(&self.table);
        let entry = table.get(&link).ok_or(TransmitError::UnknownLink)?;
        if bytes.len() > usize::from(entry.mtu) {
            return Err(TransmitError::TooLarge);
        }
        let pdu = Pdu::new(bytes).ok_or(TransmitError::TooLarge)?;
        entry.queue.try_send(pdu).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => TransmitError::Full,
            mpsc::error::TrySendError::Closed(_) => TransmitError::UnknownLink,
        })
    }

    fn close(&mut self) {
        // Link tasks write what is queued, then disconnect.
        let _ = self.stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_open_carry_frames_and_close() {
        let (host, mut transport) = LinkHost::new(8, 2);
        let mut link = host.open(LinkReport::new(23)).await.expect("driver alive");
        assert_eq!(transport.events.recv().await, Some(LinkEvent::Up { link: link.id, report: LinkReport::new(23) }));

        transport.sink.transmit(link.id, b"hello").expect("queued");
        assert_eq!(link.outbound.recv().await.expect("pdu").as_slice(), b"hello");

        assert_eq!(transport.sink.transmit(link.id, &[0; 24]), Err(TransmitError::TooLarge), "over the link MTU");
        transport.sink.transmit(link.id, b"1").expect("queued");
        transport.sink.transmit(link.id, b"2").expect("queued");
        assert_eq!(transport.sink.transmit(link.id, b"3"), Err(TransmitError::Full), "queue of 2");

        assert!(host.frame(link.id, Bytes::from_static(b"in")).await);
        assert_eq!(
            transport.events.recv().await,
            Some(LinkEvent::Frame { link: link.id, bytes: Bytes::from_static(b"in") })
        );

        host.close(link.id).await;
        assert_eq!(transport.events.recv().await, Some(LinkEvent::Down { link: link.id }));
        assert_eq!(transport.sink.transmit(link.id, b"x"), Err(TransmitError::UnknownLink));
        assert!(host.is_empty());
    }

    #[tokio::test]
    async fn reports_update_the_mtu_the_sink_enforces() {
        let (host, mut transport) = LinkHost::new(8, 4);
        let link = host.open(LinkReport::new(20)).await.expect("driver alive");
        assert_eq!(transport.sink.transmit(link.id, &[0; 100]), Err(TransmitError::TooLarge));
        assert!(host.report(link.id, LinkReport::new(244).with_rssi(-60)).await);
        transport.sink.transmit(link.id, &[0; 100]).expect("fits the new MTU");
        let _ = transport.events.recv().await;
        assert_eq!(
            transport.events.recv().await,
            Some(LinkEvent::Report { link: link.id, report: LinkReport::new(244).with_rssi(-60) })
        );
    }

    #[tokio::test]
    async fn closing_the_sink_stops_the_host() {
        let (host, mut transport) = LinkHost::new(8, 4);
        assert!(!host.is_stopped());
        transport.sink.close();
        host.stopped().await;
        assert!(host.is_stopped());
    }

    #[test]
    fn pdus_longer_than_att_allows_are_refused() {
        assert!(Pdu::new(&[0; MAX_PDU]).is_some());
        assert!(Pdu::new(&[0; MAX_PDU + 1]).is_none());
    }
}
