//! The node's bounded output queues and the buffer pool behind them.
//!
//! Every outgoing PDU and every delivery sits in a pooled `Vec<u8>`. A buffer handed out by
//! [`crate::Node::poll_output`] is *lent*: it returns to the pool on the next poll.
//!
//! Little is allocated up front: the queues start with room for `INITIAL_QUEUE` items and
//! grow (doubling) to the longest they have been, never holding more than their caps; the
//! pool grows to the most buffers ever in use at once. After warm-up the queues and the pool have the room the traffic needs and none is
//! allocated again.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::error::Queue;
use crate::{Destination, DropReason, Event, LinkId, Metrics, NodeId, Priority};

/// Capacity of a buffer the pool allocates before any link is up: a link PDU at BLE's
/// largest usual MTU (247) or a typical game delivery fits without the buffer growing later
/// (which would allocate again). Once links are up, buffers are the size of the largest PDU
/// they carry ([`Outbox::fit_to_mtu`]).
const NEW_BUFFER_BYTES: usize = 256;

/// Smallest buffer the pool allocates once sized to links (a heartbeat with its neighbour
/// list, a link acknowledgement).
const MIN_BUFFER_BYTES: usize = 64;

/// Items each queue has room for from the start (they double on demand; the node's outputs
/// are drained after every input, so a few items are usually all a queue ever holds).
const INITIAL_QUEUE: usize = 8;

/// Buffers the pool allocates when first needed: the working set of a node relaying game
/// traffic between a few neighbours (heartbeats, relays, ARQ copies and election traffic
/// in flight at once) measured at 12 to 16 in the allocation test.
const FIRST_BUFFERS: usize = 16;

/// Fewest buffers the pool adds when it runs dry after the first time.
const GROW_BUFFERS: usize = 8;

#[derive(Debug)]
pub(crate) struct TxItem {
    pub link: LinkId,
    /// A heartbeat PDU: handing it out does not make the link busy (`heartbeats.rs`).
    pub heartbeat: bool,
    pub buf: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct DeliveryItem {
    pub origin: NodeId,
    pub destination: Destination,
    pub seq: u32,
    pub priority: Priority,
    pub hops: u8,
    pub buf: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Outbox {
    pub tx: VecDeque<TxItem>,
    tx_cap: usize,
    pub deliveries: VecDeque<DeliveryItem>,
    delivery_cap: usize,
    pub events: VecDeque<Event>,
    event_cap: usize,
    pool: Vec<Vec<u8>>,
    pool_cap: usize,
    /// Buffers the pool has allocated so far.
    allocated: usize,
    /// The largest MTU of the links seen, 0 before the first.
    link_mtu: u16,
    pub lent: Option<Vec<u8>>,
}

impl Outbox {
    /// Queues of the given capacities; the pool keeps up to `pool_cap` idle buffers.
    pub(crate) fn new(tx_cap: usize, delivery_cap: usize, event_cap: usize, pool_cap: usize) -> Self {
        Outbox {
            tx: VecDeque::with_capacity(tx_cap.min(INITIAL_QUEUE)),
            tx_cap,
            deliveries: VecDeque::with_capacity(delivery_cap.min(INITIAL_QUEUE)),
            delivery_cap,
            events: VecDeque::with_capacity(event_cap.min(INITIAL_QUEUE)),
            event_cap,
            pool: Vec::new(),
            pool_cap,
            allocated: 0,
            link_mtu: 0,
            lent: None,
        }
    }

    pub(crate) fn take_buf(&mut self) -> Vec<u8> {
        if self.pool.is_empty() {
            self.grow_pool();
        }
        let mut b = self.pool.pop().unwrap_or_else(|| Vec::with_capacity(self.buffer_bytes()));
        b.clear();
        b
    }

    /// The pool ran dry: adds a quarter of the buffers it allocated so far, at least
    /// `GROW_BUFFERS` (the first time `FIRST_BUFFERS`; within the cap), so a working set that
    /// creeps upwards allocates rarely and at most a quarter of the pool sits unused, and
    /// makes room in the pool to take every buffer back.
    fn grow_pool(&mut self) {
        let step = if self.allocated == 0 { FIRST_BUFFERS } else { (self.allocated / 4).max(GROW_BUFFERS) };
        let n = step.min(self.pool_cap.saturating_sub(self.allocated));
        self.allocated += n;
        self.pool.reserve_exact(self.allocated.min(self.pool_cap).saturating_sub(self.pool.len()));
        let bytes = self.buffer_bytes();
        self.pool.extend((0..n).map(|_| Vec::with_capacity(bytes)));
    }

    pub(crate) fn give_buf(&mut self, buf: Vec<u8>) {
        // Buffers smaller than the pool's own (an emptied `Vec`, say) would only grow
        // again when reused: they are dropped.
        if self.pool.len() < self.pool_cap && buf.capacity() >= self.buffer_bytes() {
            self.pool.push(buf);
        }
    }

    /// A link with PDUs of up to `mtu` bytes is up: the pool's new buffers are the size of
    /// the largest PDU of the links seen (most of what it holds is PDUs and frames that fit
    /// one), instead of a fixed 256 bytes. A larger frame grows its buffer once, and the
    /// buffer is kept.
    pub(crate) fn fit_to_mtu(&mut self, mtu: u16) {
        self.link_mtu = self.link_mtu.max(mtu);
    }

    /// Capacity of the buffers the pool allocates and keeps.
    fn buffer_bytes(&self) -> usize {
        if self.link_mtu == 0 { NEW_BUFFER_BYTES } else { usize::from(self.link_mtu).max(MIN_BUFFER_BYTES) }
    }

    /// Room for `n` more PDUs.
    pub(crate) fn tx_room(&self, n: usize) -> bool {
        self.tx.len() + n <= self.tx_cap
    }

    pub(crate) fn push_delivery(&mut self, item: DeliveryItem, metrics: &mut Metrics) -> Result<(), Queue> {
        if self.deliveries.len() >= self.delivery_cap {
            metrics.drop(DropReason::DeliveryQueueFull);
            self.give_buf(item.buf);
            return Err(Queue::Delivery);
        }
        metrics.delivered += 1;
        self.deliveries.push_back(item);
        Ok(())
    }

    pub(crate) fn push_event(&mut self, event: Event, metrics: &mut Metrics) {
        if self.events.len() >= self.event_cap {
            metrics.drop(DropReason::EventQueueFull);
            return;
        }
        metrics.events += 1;
        self.events.push_back(event);
    }

    /// Drops queued PDUs for a link that went down.
    pub(crate) fn forget_link(&mut self, link: LinkId) {
        let mut kept = 0;
        for _ in 0..self.tx.len() {
            let item = self.tx.pop_front().expect("counted");
            if item.link == link {
                self.give_buf(item.buf);
            } else {
                self.tx.push_back(item);
                kept += 1;
            }
        }
        debug_assert_eq!(kept, self.tx.len());
    }

    /// Drops the outbox part by part (see `Node::drop_by_part`).
    pub(crate) fn drop_by_part(self, measure: &mut crate::heap_parts::MeasurePart<'_>) {
        use crate::heap_parts::part;
        let Outbox { tx, deliveries, events, pool, lent, .. } = self;
        part(measure, "outbox: transmit queue", tx);
        part(measure, "outbox: delivery queue", deliveries);
        part(measure, "outbox: event queue", events);
        part(measure, "outbox: idle buffer pool", pool);
        part(measure, "outbox: lent buffer", lent);
    }

    /// Bytes of buffer capacity held by queued, lent and pooled buffers.
    pub(crate) fn bytes_held(&self) -> usize {
        self.tx.iter().map(|t| t.buf.capacity()).sum::<usize>()
            + self.deliveries.iter().map(|d| d.buf.capacity()).sum::<usize>()
            + self.pool.iter().map(Vec::capacity).sum::<usize>()
            + self.lent.as_ref().map_or(0, Vec::capacity)
    }
}
