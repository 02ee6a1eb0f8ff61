//! Hop-by-hop reliability for multi-hop frames (link ARQ).
//!
//! Flooding over a lossy link has no second chance: a leaf with one neighbour misses a frame
//! whenever that one transmission is lost. So, as OSPF floods its link-state adverts
//! reliably (RFC 2328 §13.5), every multi-hop frame sent on a link is kept until the
//! neighbour acknowledges its `(origin, seq)`, and is sent again after a retransmission
//! timeout, doubling each time, at most `link_retries` times.
//!
//! The receiver acknowledges every multi-hop frame it gets on a confirmed link, new or
//! duplicate (the earlier acknowledgement may be what was lost), gathering them for
//! `link_ack_delay` into one [`crate::wire::Kind::LinkAck`] frame of at most
//! [`MAX_LINK_ACKS`] entries.
//!
//! The timeout is RFC 6298's `srtt + 4·rttvar` plus the acknowledgement delay, clamped to
//! [40 ms, 2 s]; 250 ms before the first round-trip sample.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use smallvec::SmallVec;

use crate::wire::messages::MAX_LINK_ACKS;
use crate::{Instant, MessageId};

const INITIAL_RTO: Duration = Duration::from_millis(250);
const MIN_RTO: Duration = Duration::from_millis(40);
const MAX_RTO: Duration = Duration::from_secs(2);

/// A frame waiting for its acknowledgement.
#[derive(Debug)]
pub(crate) struct Unacked {
    pub id: MessageId,
    pub frame: Vec<u8>,
    pub deadline: Instant,
    pub retries: u8,
}

/// ARQ state of one link.
#[derive(Debug, Default)]
pub(crate) struct LinkArq {
    pub unacked: VecDeque<Unacked>,
    pub pending_acks: SmallVec<[MessageId; MAX_LINK_ACKS]>,
    pub ack_due: Option<Instant>,
}

impl LinkArq {
    /// ARQ state whose window of `window` frames is allocated up front (grown on demand, a
    /// rare new peak of frames in flight allocated in steady state: `alloc_steady_state`).
    pub(crate) fn with_window(window: usize) -> Self {
        LinkArq { unacked: VecDeque::with_capacity(window), ..LinkArq::default() }
    }

    /// The retransmission timeout for a link with these RTT estimates.
    pub(crate) fn rto(rtt: Option<Duration>, rtt_var: Duration, ack_delay: Duration) -> Duration {
        match rtt {
            None => INITIAL_RTO,
            Some(srtt) => (srtt + rtt_var * 4 + ack_delay).clamp(MIN_RTO, MAX_RTO),
        }
    }

    /// Queues an acknowledgement for `id`. Returns true when the batch is full and should be
    /// sent now.
    pub(crate) fn acknowledge(&mut self, id: MessageId, due: Instant) -> bool {
        if !self.pending_acks.contains(&id) {
            self.pending_acks.push(id);
        }
        self.ack_due.get_or_insert(due);
        self.pending_acks.len() >= MAX_LINK_ACKS
    }

    /// Removes `id` from the frames waiting for acknowledgement; returns its buffer.
    pub(crate) fn acknowledged(&mut self, id: &MessageId) -> Option<Vec<u8>> {
        let i = self.unacked.iter().position(|u| u.id == *id)?;
        self.unacked.remove(i).map(|u| u.frame)
    }

    /// The earliest instant this link's ARQ has work.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let retransmit = self.unacked.iter().map(|u| u.deadline).min();
        match (retransmit, self.ack_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Drops everything (the link went down or the neighbour was lost); returns the buffers.
    pub(crate) fn clear(&mut self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.pending_acks.clear();
        self.ack_due = None;
        self.unacked.drain(..).map(|u| u.frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;

    fn id(seq: u32) -> MessageId {
        MessageId { origin: NodeId(3), seq }
    }

    #[test]
    fn rto_follows_the_rtt_estimate_within_bounds() {
        let d = Duration::from_millis(5);
        assert_eq!(LinkArq::rto(None, Duration::ZERO, d), INITIAL_RTO);
        let rto = LinkArq::rto(Some(Duration::from_millis(30)), Duration::from_millis(10), d);
        assert_eq!(rto, Duration::from_millis(75));
        assert_eq!(LinkArq::rto(Some(Duration::from_millis(1)), Duration::ZERO, d), MIN_RTO);
        assert_eq!(LinkArq::rto(Some(Duration::from_secs(5)), Duration::ZERO, d), MAX_RTO);
    }

    #[test]
    fn acknowledgements_batch_and_deduplicate() {
        let mut a = LinkArq::default();
        let due = Instant::from_millis(5);
        assert!(!a.acknowledge(id(1), due));
        assert!(!a.acknowledge(id(1), Instant::from_millis(9)));
        assert_eq!(a.ack_due, Some(due), "the first acknowledgement sets the deadline");
        for s in 2..MAX_LINK_ACKS as u32 {
            assert!(!a.acknowledge(id(s), due));
        }
        assert!(a.acknowledge(id(99), due), "full batch goes out at once");
    }

    #[test]
    fn acknowledged_frames_leave_the_window() {
        let mut a = LinkArq::default();
        for s in 0..3 {
            a.unacked.push_back(Unacked { id: id(s), frame: alloc::vec![s as u8], deadline: Instant::from_millis(u64::from(s) + 10), retries: 0 });
        }
        assert_eq!(a.next_deadline(), Some(Instant::from_millis(10)));
        assert_eq!(a.acknowledged(&id(0)), Some(alloc::vec![0]));
        assert_eq!(a.acknowledged(&id(0)), None);
        assert_eq!(a.next_deadline(), Some(Instant::from_millis(11)));
        assert_eq!(a.clear().count(), 2);
        assert_eq!(a.next_deadline(), None);
    }
}
