//! One link's state: the handshake, heartbeat schedule and failure detection.
//!
//! A link comes up (runtime report) in the *hello* phase: heartbeats go out addressed to
//! broadcast until the neighbour's id is heard, then to the neighbour. The link is
//! **confirmed** when a heartbeat arrives addressed to this node, i.e. the neighbour heard us
//! too. Hellos back off exponentially from `hello_interval` to `heartbeat_interval` while
//! nobody answers, each link on its own schedule. A confirmed link is served by the node's
//! heartbeat round (`node/heartbeats.rs`), which leaves the heartbeat out while other frames
//! keep the link busy (`LinkState::heartbeat_skippable`). A confirmed link stays silent for
//! `suspect_after_missed` intervals to become suspect and `lost_after_missed` intervals to be
//! lost; then the handshake starts again.

use core::time::Duration;

use smallvec::SmallVec;
use zerocopy::network_endian::U64;

use super::arq::LinkArq;
use super::estimator::LinkEstimator;
use crate::wire::FrameHeader;
use crate::wire::messages::{Heartbeat, MAX_HEARTBEAT_NEIGHBOURS};
use crate::{DropReason, Instant, LinkId, NodeId};

/// Liveness of a link's neighbour.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LinkStatus {
    /// Handshake in progress: not usable.
    Pending,
    /// Confirmed both ways and heard recently.
    Active,
    /// Confirmed, but heartbeats are being missed. Still usable.
    Suspect,
}

/// What a received heartbeat changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) struct HeartbeatOutcome {
    /// The neighbour confirmed the link just now.
    pub confirmed: bool,
    /// The neighbour was suspect and is heard again.
    pub recovered: bool,
}

/// State of one link.
#[derive(Debug)]
pub struct LinkState {
    /// The runtime's handle.
    pub link: LinkId,
    /// Largest PDU the link carries.
    pub mtu: u16,
    /// The neighbour heard on this link, or [`NodeId::NONE`].
    pub peer: NodeId,
    /// Liveness.
    pub status: LinkStatus,
    /// Quality estimates.
    pub estimator: LinkEstimator,
    /// The neighbour's last reported battery (0..=100, 255 unknown).
    pub peer_battery: u8,
    /// The neighbour's last reported number of confirmed links.
    pub peer_connections: u8,
    /// The neighbour's capability bits.
    pub peer_capabilities: u16,
    /// The neighbour's confirmed neighbours, from its last heartbeat (at most 8 kept; the
    /// rest are left out, which only makes relay suppression more cautious).
    pub peer_neighbours: SmallVec<[crate::NodeId; 8]>,
    /// When a heartbeat last added a node to [`LinkState::peer_neighbours`]. A frame this
    /// neighbour sent before confirming a link was not sent on it: only a frame received
    /// after this instant proves the neighbour sent it on every link it lists (links are
    /// FIFO, and the neighbour confirmed each listed link before sending that heartbeat).
    pub peer_neighbours_grew_at: Instant,
    pub(crate) arq: LinkArq,
    pub(crate) interval: Option<Duration>,
    pub(crate) degraded_quality: bool,
    /// When the next hello is due (hello phase only: a confirmed link is served by the
    /// node's heartbeat round).
    pub(crate) next_heartbeat: Instant,
    /// When this node last handed the runtime a PDU other than a heartbeat for this link.
    pub(crate) last_traffic_sent: Option<Instant>,
    /// When this node last sent a heartbeat on this link.
    pub(crate) last_heartbeat_sent: Instant,
    /// This node's neighbour information changed since the last heartbeat on this link: the
    /// next one must not be left out.
    pub(crate) heartbeat_forced: bool,
    /// This node confirmed the link since its last heartbeat on it: the neighbour may need
    /// one addressed to it to confirm too.
    pub(crate) answer_due: bool,
    /// The neighbour showed that it confirmed the link too (its heartbeat lists this node,
    /// or it sent a frame other than a heartbeat, which it only does on confirmed links).
    /// Until then every heartbeat goes out: the neighbour needs one to confirm.
    pub(crate) peer_confirmed: bool,
    pub(crate) hello_backoff: Duration,
    pub(crate) last_heard: Instant,
    pub(crate) silent_intervals: u32,
    pub(crate) hb_seq: u32,
    pub(crate) echo: Option<(u32, Instant)>,
    pub(crate) msg_id: u16,
    /// When this node last sent a [`crate::wire::Kind::Resume`] notice on this link.
    pub(crate) last_resume_sent: Option<Instant>,
}

impl LinkState {
    pub(crate) fn new(
        now: Instant,
        link: LinkId,
        mtu: u16,
        interval: Option<Duration>,
        hello: Duration,
        arq_window: usize,
    ) -> Self {
        LinkState {
            link,
            mtu,
            peer: NodeId::NONE,
            status: LinkStatus::Pending,
            estimator: LinkEstimator::new(mtu, interval),
            peer_battery: crate::wire::messages::BATTERY_UNKNOWN,
            peer_connections: 0,
            peer_capabilities: 0,
            peer_neighbours: SmallVec::new(),
            peer_neighbours_grew_at: now,
            arq: LinkArq::with_window(arq_window),
            interval,
            degraded_quality: false,
            next_heartbeat: now,
            last_traffic_sent: None,
            last_heartbeat_sent: now,
            heartbeat_forced: false,
            answer_due: false,
            last_resume_sent: None,
            peer_confirmed: false,
            hello_backoff: hello,
            last_heard: now,
            silent_intervals: 0,
            hb_seq: 0,
            echo: None,
            msg_id: 0,
        }
    }

    /// Whether both sides confirmed the link.
    pub fn is_confirmed(&self) -> bool {
        self.status != LinkStatus::Pending
    }

    /// Processes a heartbeat received on this link: `header` is its frame header (origin,
    /// destination, and the per-link sequence in `seq`).
    pub(crate) fn on_heartbeat(
        &mut self,
        now: Instant,
        me: NodeId,
        header: &FrameHeader,
        hb: &Heartbeat,
        neighbours: &[U64],
    ) -> Result<HeartbeatOutcome, DropReason> {
        let (origin, dst, seq) = (header.origin(), NodeId(header.destination.get()), header.seq.get());
        if dst != NodeId::BROADCAST && dst != me {
            return Err(DropReason::Misdirected);
        }
        if self.peer == NodeId::NONE {
            self.peer = origin;
            self.next_heartbeat = now; // answer at once so the neighbour can confirm
        } else if self.peer != origin {
            return Err(DropReason::NeighbourMismatch);
        }
        self.estimator.on_heartbeat(seq);
        let heard_us = dst == me;
        if heard_us {
            self.estimator.on_peer_quality(hb.rx_quality);
            let echo = hb.echo_time.get();
            if echo != 0 {
                let rtt = now.wire_micros().wrapping_sub(echo).wrapping_sub(hb.echo_delay.get());
                self.estimator.on_rtt_sample(rtt);
            }
        }
        self.echo = Some((hb.tx_time.get(), now));
        self.last_heard = now;
        self.silent_intervals = 0;
        self.peer_battery = hb.battery;
        self.peer_connections = hb.connections;
        self.peer_capabilities = hb.capabilities.get();
        let room = self.peer_neighbours.inline_size();
        let listed = neighbours.iter().take(room).map(|n| NodeId(n.get()));
        if listed.clone().any(|n| !self.peer_neighbours.contains(&n)) {
            self.peer_neighbours_grew_at = now;
        }
        self.peer_neighbours.clear();
        self.peer_neighbours.extend(listed);
        // A full list may have left this node out; a neighbour with that many links confirmed
        // this one in all likelihood, and its next frames will show it if not.
        self.peer_confirmed = heard_us
            && (neighbours.iter().any(|n| n.get() == me.0) || neighbours.len() >= MAX_HEARTBEAT_NEIGHBOURS);
        let mut outcome = HeartbeatOutcome::default();
        match self.status {
            LinkStatus::Pending if heard_us => {
                // The node's heartbeat round answers at once (its neighbour list changed),
                // so that the neighbour confirms too.
                self.status = LinkStatus::Active;
                self.answer_due = true;
                outcome.confirmed = true;
            }
            LinkStatus::Suspect => {
                self.status = LinkStatus::Active;
                outcome.recovered = true;
            }
            _ => {}
        }
        Ok(outcome)
    }

    /// Fields of the next heartbeat: (per-link sequence, destination, echo time, echo delay).
    pub(crate) fn next_heartbeat_fields(&mut self, now: Instant) -> (u32, NodeId, u32, u32) {
        self.hb_seq = self.hb_seq.wrapping_add(1);
        let dst = if self.peer == NodeId::NONE { NodeId::BROADCAST } else { self.peer };
        let (echo_time, echo_delay) = match self.echo {
            Some((t, at)) => (t, u32::try_from((now - at).as_micros()).unwrap_or(u32::MAX)),
            None => (0, 0),
        };
        (self.hb_seq, dst, echo_time, echo_delay)
    }

    /// A heartbeat went out on this link at `now`.
    pub(crate) fn heartbeat_sent(&mut self, now: Instant) {
        self.last_heartbeat_sent = now;
        self.heartbeat_forced = false;
        self.answer_due = false;
    }

    /// Schedules the hello after the one just sent; `jitter` is the random advance.
    pub(crate) fn schedule_hello(&mut self, now: Instant, heartbeat: Duration, jitter: Duration) {
        let interval = if self.peer != NodeId::NONE {
            self.hello_backoff
        } else {
            let current = self.hello_backoff;
            self.hello_backoff = (current * 2).min(heartbeat);
            current
        };
        self.next_heartbeat = now + interval.saturating_sub(jitter);
    }

    /// Any accepted frame from the neighbour shows that it is alive; a frame other than a
    /// heartbeat also shows that it confirmed the link.
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
        self.silent_intervals = 0;
        self.peer_confirmed = true;
    }

    /// Whether the heartbeat of the round at `now` may be left out: this node handed the
    /// runtime another frame for the link within the last `interval` (a keep-alive in all
    /// but name: any accepted frame restarts the neighbour's silence count), the neighbour
    /// confirmed the link, nothing forces a heartbeat, and the next round, at `next_round`,
    /// is still within `max_quiet` of the last heartbeat sent.
    ///
    /// The neighbour then hears from this node at least every two intervals (a frame within
    /// the interval before this round, at the latest a heartbeat at the next), and receives
    /// an explicit heartbeat at least every `max_quiet`.
    pub(crate) fn heartbeat_skippable(
        &self,
        now: Instant,
        next_round: Instant,
        interval: Duration,
        max_quiet: Duration,
    ) -> bool {
        !self.heartbeat_forced
            && self.peer_confirmed
            && self.last_traffic_sent.is_some_and(|t| now - t < interval)
            && next_round - self.last_heartbeat_sent <= max_quiet
    }

    /// Forgets the neighbour and restarts the handshake (after it was lost). The ARQ state is
    /// handed back to the caller, who recycles its buffers.
    pub(crate) fn reset(&mut self, now: Instant, hello: Duration) -> LinkArq {
        let window = self.arq.unacked.capacity();
        let fresh = LinkState::new(now, self.link, self.mtu, self.interval, hello, window);
        let old = core::mem::replace(self, fresh);
        old.arq
    }

    /// Heartbeat intervals missed since the neighbour was last heard. Half an interval of
    /// grace absorbs send jitter and connection-event latency: a heartbeat counts as missed
    /// once `k + ½` intervals passed without one.
    pub(crate) fn missed_intervals(&self, now: Instant, heartbeat: Duration) -> u32 {
        let interval = heartbeat.as_micros().max(1);
        let heard = now.as_micros().saturating_sub(self.last_heard.as_micros());
        // In `u64` when the interval fits (always, in practice): the same quotient without a
        // 128-bit division (this runs for every confirmed link on every timer tick).
        let missed = match u64::try_from(interval) {
            Ok(interval) => u128::from(heard.saturating_sub(interval / 2) / interval),
            Err(_) => u128::from(heard).saturating_sub(interval / 2) / interval,
        };
        u32::try_from(missed).unwrap_or(u32::MAX)
    }
}
