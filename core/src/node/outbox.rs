//! The node's bounded output queues and the buffer pool behind them.
//!
//! Every outgoing PDU and every delivery sits in a pooled `Vec<u8>`. A buffer handed out by
//! [`crate::Node::poll_output`] is *lent*: it returns to the pool on the next poll. After
//! warm-up the pool holds enough buffers and none is allocated again.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::error::Queue;
use crate::{Destination, DropReason, Event, LinkId, Metrics, NodeId, Priority};

/// Buffers allocated up front, and their size: the working set of a node relaying game
/// traffic. Beyond it the pool grows to the peak it meets and keeps what it grew.
const PREALLOCATED_BUFFERS: usize = 48;
const PREALLOCATED_BYTES: usize = 256;

#[derive(Debug)]
pub(crate) struct TxItem {
    pub link: LinkId,
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
    pub lent: Option<Vec<u8>>,
}

impl Outbox {
    /// Queues of the given capacities; the pool keeps up to `pool_cap` idle buffers.
    pub(crate) fn new(tx_cap: usize, delivery_cap: usize, event_cap: usize, pool_cap: usize) -> Self {
        Outbox {
            tx: VecDeque::with_capacity(tx_cap),
            tx_cap,
            deliveries: VecDeque::with_capacity(delivery_cap),
            delivery_cap,
            events: VecDeque::with_capacity(event_cap),
            event_cap,
            pool: {
                let mut pool = Vec::with_capacity(pool_cap);
                let n = PREALLOCATED_BUFFERS.min(pool_cap);
                pool.extend((0..n).map(|_| Vec::with_capacity(PREALLOCATED_BYTES)));
                pool
            },
            lent: None,
        }
    }

    pub(crate) fn take_buf(&mut self) -> Vec<u8> {
        let mut b = self.pool.pop().unwrap_or_default();
        b.clear();
        b
    }

    pub(crate) fn give_buf(&mut self, buf: Vec<u8>) {
        if self.pool.len() < self.pool.capacity() {
            self.pool.push(buf);
        }
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

    /// Bytes of buffer capacity held by queued, lent and pooled buffers.
    pub(crate) fn bytes_held(&self) -> usize {
        self.tx.iter().map(|t| t.buf.capacity()).sum::<usize>()
            + self.deliveries.iter().map(|d| d.buf.capacity()).sum::<usize>()
            + self.pool.iter().map(Vec::capacity).sum::<usize>()
            + self.lent.as_ref().map_or(0, Vec::capacity)
    }
}
