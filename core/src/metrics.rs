//! Counters kept by a node. Plain integers: updating them never allocates.

/// Why a frame (or a fragment, or a delivery) was dropped. Every drop is counted by reason.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Shorter than the header it claims to start with.
    Truncated,
    /// The frame's version is not one this node speaks.
    UnsupportedVersion,
    /// The message kind is unknown.
    UnknownKind,
    /// A reserved flag bit is set.
    ReservedBits,
    /// The lengths declared in the header do not add up to the frame's length.
    LengthMismatch,
    /// The message body has the wrong size or an invalid field for its kind.
    MalformedBody,
    /// Larger than [`crate::Config::max_message_size`].
    Oversized,
    /// The origin is a reserved id (none or broadcast).
    InvalidOrigin,
    /// The destination is a reserved id (none).
    InvalidDestination,
    /// One of this node's own frames came back.
    OwnFrame,
    /// A TTL of zero.
    ZeroTtl,
    /// Already seen (duplicate cache or sequence window).
    Duplicate,
    /// Sequence number behind the origin's sliding window: too old to judge, treated as replay.
    Stale,
    /// The link-layer control byte is unknown.
    UnknownLinkPdu,
    /// A fragment header is invalid (index out of range, wrong size, count below 2).
    MalformedFragment,
    /// A fragment disagrees with earlier fragments of the same message.
    InconsistentFragment,
    /// A partly reassembled message timed out.
    ReassemblyTimeout,
    /// A partly reassembled message was evicted to make room for a newer one.
    ReassemblyEvicted,
    /// A data frame arrived on a link whose neighbour has not confirmed it yet.
    LinkNotConfirmed,
    /// A heartbeat claimed an origin other than the neighbour already known on that link.
    NeighbourMismatch,
    /// A link-local message addressed to another node.
    Misdirected,
    /// The transmit queue was full.
    TransmitQueueFull,
    /// The application did not drain deliveries fast enough.
    DeliveryQueueFull,
    /// The event queue was full (the event was lost, not a frame).
    EventQueueFull,
    /// The pending-relay table was full, so a frame could not be relayed.
    RelayTableFull,
    /// A frame of a kind this node cannot act on yet (kept for metrics, relayed if flooded).
    Unhandled,
    /// A reservation message whose path does not name this node at its `hop`, or that did
    /// not come from the neighbour the path puts before (or after) it.
    ReservationMisrouted,
    /// A `Confirm`, `Refuse` or `Teardown` for a reservation this node does not hold.
    UnknownReservation,
    /// Flow traffic beyond its reservation's rate and burst at a forwarding hop (policing).
    Policed,
    /// A player's request for a session this node would sequence, with
    /// [`crate::Config::max_sessions`] sessions already held and none idle.
    SessionsFull,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 30] = [
        DropReason::Truncated,
        DropReason::UnsupportedVersion,
        DropReason::UnknownKind,
        DropReason::ReservedBits,
        DropReason::LengthMismatch,
        DropReason::MalformedBody,
        DropReason::Oversized,
        DropReason::InvalidOrigin,
        DropReason::InvalidDestination,
        DropReason::OwnFrame,
        DropReason::ZeroTtl,
        DropReason::Duplicate,
        DropReason::Stale,
        DropReason::UnknownLinkPdu,
        DropReason::MalformedFragment,
        DropReason::InconsistentFragment,
        DropReason::ReassemblyTimeout,
        DropReason::ReassemblyEvicted,
        DropReason::LinkNotConfirmed,
        DropReason::NeighbourMismatch,
        DropReason::Misdirected,
        DropReason::TransmitQueueFull,
        DropReason::DeliveryQueueFull,
        DropReason::EventQueueFull,
        DropReason::RelayTableFull,
        DropReason::Unhandled,
        DropReason::ReservationMisrouted,
        DropReason::UnknownReservation,
        DropReason::Policed,
        DropReason::SessionsFull,
    ];

    /// A stable snake_case name, for logs and metric labels.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::UnsupportedVersion => "unsupported_version",
            DropReason::UnknownKind => "unknown_kind",
            DropReason::ReservedBits => "reserved_bits",
            DropReason::LengthMismatch => "length_mismatch",
            DropReason::MalformedBody => "malformed_body",
            DropReason::Oversized => "oversized",
            DropReason::InvalidOrigin => "invalid_origin",
            DropReason::InvalidDestination => "invalid_destination",
            DropReason::OwnFrame => "own_frame",
            DropReason::ZeroTtl => "zero_ttl",
            DropReason::Duplicate => "duplicate",
            DropReason::Stale => "stale",
            DropReason::UnknownLinkPdu => "unknown_link_pdu",
            DropReason::MalformedFragment => "malformed_fragment",
            DropReason::InconsistentFragment => "inconsistent_fragment",
            DropReason::ReassemblyTimeout => "reassembly_timeout",
            DropReason::ReassemblyEvicted => "reassembly_evicted",
            DropReason::LinkNotConfirmed => "link_not_confirmed",
            DropReason::NeighbourMismatch => "neighbour_mismatch",
            DropReason::Misdirected => "misdirected",
            DropReason::TransmitQueueFull => "transmit_queue_full",
            DropReason::DeliveryQueueFull => "delivery_queue_full",
            DropReason::EventQueueFull => "event_queue_full",
            DropReason::RelayTableFull => "relay_table_full",
            DropReason::Unhandled => "unhandled",
            DropReason::ReservationMisrouted => "reservation_misrouted",
            DropReason::UnknownReservation => "unknown_reservation",
            DropReason::Policed => "policed",
            DropReason::SessionsFull => "sessions_full",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Drop counters, one per [`DropReason`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropReason::ALL.len()]);

impl DropCounts {
    /// The count for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }

    /// The sum over all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(reason, count)` for every reason, including zero counts.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(|r| (*r, self.0[r.index()]))
    }

    pub(crate) fn add(&mut self, reason: DropReason) {
        self.0[reason.index()] += 1;
    }
}

/// End-to-end delivery of acknowledged messages of one priority, as seen by their origin.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Acknowledged messages sent.
    pub sent: u64,
    /// Of those, acknowledged.
    pub delivered: u64,
    /// Of those, given up after every retry.
    pub failed: u64,
    /// Retries made.
    pub retries: u64,
    /// Sum of first-attempt-to-acknowledgement latencies, microseconds.
    pub latency_sum_us: u64,
    /// Largest such latency, microseconds.
    pub latency_max_us: u64,
}

impl DeliveryStats {
    /// Delivered over decided (delivered + failed), if any was decided.
    pub fn delivery_ratio(&self) -> Option<f64> {
        let decided = self.delivered + self.failed;
        (decided > 0).then(|| self.delivered as f64 / decided as f64)
    }

    /// Mean latency of delivered messages, microseconds.
    pub fn mean_latency_us(&self) -> Option<u64> {
        (self.delivered > 0).then(|| self.latency_sum_us / self.delivered)
    }
}

/// Everything a node counts. Read it with [`crate::Node::metrics`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Link-layer PDUs received (whole frames and fragments).
    pub pdus_received: u64,
    /// Link-layer PDUs handed out as [`crate::Output::Transmit`].
    pub pdus_sent: u64,
    /// Bytes received at the link layer.
    pub bytes_received: u64,
    /// Bytes handed out for transmission.
    pub bytes_sent: u64,
    /// Complete frames that passed decoding.
    pub frames_accepted: u64,
    /// Frames this node originated.
    pub frames_originated: u64,
    /// Fragments sent.
    pub fragments_sent: u64,
    /// Messages reassembled from fragments.
    pub reassembled: u64,
    /// Heartbeats sent.
    pub heartbeats_sent: u64,
    /// Heartbeats a round left out because other frames kept the link busy.
    pub heartbeats_skipped: u64,
    /// Heartbeat rounds held with at least one confirmed link (wake-ups for heartbeats;
    /// hellos not counted).
    pub heartbeat_rounds: u64,
    /// Heartbeats received and accepted.
    pub heartbeats_received: u64,
    /// Flooded frames relayed (once per frame, whatever the number of links).
    pub relayed: u64,
    /// Relays cancelled: every neighbour had sent the frame already or is covered by
    /// neighbours that relayed it (see [`crate::Config::relay_suppression`]).
    pub relays_suppressed: u64,
    /// Links a relay skipped because neighbours that relayed the frame earlier cover them
    /// (neighbour-coverage pruning), summed over relays.
    pub relay_targets_pruned: u64,
    /// Flood relays sent along the origin's source tree (see [`crate::Config::relay_tree`];
    /// also counted in `relayed` or, for a leaf, `relays_suppressed`).
    pub tree_relays: u64,
    /// Flood relays that could not follow a source tree (views changed recently, the copy
    /// came from another neighbour than the parent, a child not confirmed here) and were
    /// relayed with jitter and pruning.
    pub tree_fallbacks: u64,
    /// Frames not relayed because their TTL ran out.
    pub ttl_expired: u64,
    /// Payloads delivered to the application.
    pub delivered: u64,
    /// Link acknowledgement frames sent.
    pub link_acks_sent: u64,
    /// [`crate::wire::Kind::Resume`] notices sent to neighbours whose own frames arrived
    /// behind what this node holds of them (they restarted).
    pub resumes_sent: u64,
    /// Resume notices that moved this node's own counters forward: its flood sequence number
    /// or its advert version jumped past what a neighbour held of it.
    pub counters_resumed: u64,
    /// Multi-hop frames sent again on a link because no acknowledgement came.
    pub retransmissions: u64,
    /// Frames given up on a link: retries exhausted, or pushed out of a full ARQ window.
    pub retransmits_abandoned: u64,
    /// Unicast frames forwarded along a route (not flooded).
    pub forwarded: u64,
    /// Unicast frames that had no route and were flooded instead.
    pub flood_fallbacks: u64,
    /// Topology adverts this node originated.
    pub adverts_sent: u64,
    /// Announcements this node originated.
    pub announcements_sent: u64,
    /// Routing table recomputations.
    pub route_computations: u64,
    /// End-to-end acknowledgements sent as a destination.
    pub acks_sent: u64,
    /// End-to-end delivery of this node's acknowledged messages, indexed by `Priority as usize`.
    pub delivery: [DeliveryStats; 4],
    /// Neighbours confirmed (both directions).
    pub neighbours_up: u64,
    /// Neighbours lost after missed heartbeats or a link going down.
    pub neighbours_lost: u64,
    /// Events emitted.
    pub events: u64,
    /// Reservation messages (`RoutingUpdate`) this node sent.
    pub reservation_messages: u64,
    /// Reservations this node dropped because nothing refreshed them (soft-state expiry).
    pub reservations_expired: u64,
    /// Session frames this node sent (flooded or routed).
    pub session_frames_sent: u64,
    /// Session frames that could not be queued (no neighbour, queue full); the session's
    /// own repair and retry timers make up for them.
    pub session_frames_unsent: u64,
    /// Session frames for sessions this node neither plays nor sequences (relayed, not read).
    pub session_frames_not_held: u64,
    /// Dropped input, by reason.
    pub drops: DropCounts,
    /// Frames rejected by the security layer (secured nodes only), by reason.
    pub security: crate::security::SecurityDropCounts,
}

impl Metrics {
    pub(crate) fn drop(&mut self, reason: DropReason) {
        self.drops.add(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_counter_and_name() {
        let mut d = DropCounts::default();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i, "ALL is out of declaration order at {r:?}");
            d.add(*r);
        }
        assert!(d.iter().all(|(_, c)| c == 1));
        assert_eq!(d.total(), DropReason::ALL.len() as u64);
        let mut names: alloc::vec::Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
    }
}
