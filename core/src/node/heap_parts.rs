//! [`Node::drop_by_part`]: the node's heap, part by part, for memory diagnostics.

use crate::heap_parts::{MeasurePart, part};

use super::Node;

impl Node {
    /// Drops the node one part at a time, handing each part to `measure` (see
    /// [`MeasurePart`]) so a counting allocator can attribute the heap it frees. The router,
    /// the flood state and the outbox are split further. The fields not named (plain values,
    /// the PRNG) are dropped after the last call: the caller finds them as the difference
    /// between the whole drop and the named parts.
    ///
    /// A diagnostic for `blemesh-benches`' `memory --parts`; the node is consumed.
    #[doc(hidden)]
    pub fn drop_by_part(self, measure: &mut MeasurePart<'_>) {
        let Node {
            links,
            registry,
            flood,
            reassembly,
            outbox,
            scratch,
            router,
            advertised,
            pending_acks,
            e2e_seen,
            secure,
            election,
            components,
            partitions,
            overheard,
            flows,
            predictor,
            advised_drops,
            ble,
            sessions,
            config,
            ..
        } = self;
        router.drop_by_part(measure);
        flood.drop_by_part(measure);
        part(measure, "election", election);
        outbox.drop_by_part(measure);
        part(measure, "links", links);
        part(measure, "node registry", registry);
        part(measure, "pending end-to-end acks", pending_acks);
        part(measure, "end-to-end duplicate cache", e2e_seen);
        part(measure, "partition components", components);
        part(measure, "partition tracker", partitions);
        part(measure, "reassembler", reassembly);
        part(measure, "encoding scratch", scratch);
        part(measure, "own advert entries", advertised);
        part(measure, "security", secure);
        part(measure, "overheard (bridge)", overheard);
        part(measure, "flows", flows);
        part(measure, "link predictor", predictor);
        part(measure, "advised drops", advised_drops);
        part(measure, "ble optimizer", ble);
        part(measure, "game sessions", sessions);
        part(measure, "config", config);
    }
}
