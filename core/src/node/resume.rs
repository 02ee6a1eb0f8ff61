//! Restarts: a neighbour whose own frames arrive behind what this node holds of it is told
//! the counters to jump past (`docs/PROTOCOL.md` §8.9).
//!
//! A node that restarts without its state begins again with a fresh flood sequence number
//! (drawn from its seed) and advert version 0, while the mesh still holds its previous
//! counters: its floods would be judged stale for up to `node_gone_after` wherever the new
//! number falls behind the old one, and its adverts ignored for up to `advert_max_age`, so
//! nothing could route to it. This is OSPF's restarted-router problem, and the answer is
//! OSPF's (RFC 2328 §13.4, "on hearing a newer copy of your own advert, jump past it"), with
//! the neighbour telling the restarted node what it holds instead of sending the copy back:
//!
//! * **Sender.** A multi-hop frame that arrives **directly from its origin** (hop count 0, the
//!   origin is the link's peer) and is dropped because it is behind what this node holds —
//!   flood admission says `stale`, or the advert is older than (or, with other content, the
//!   same version as) the one held — makes this node send the peer a link-local `Resume`
//!   with the highest flood sequence number it accepted from it and the advert version it
//!   holds of it. At most one per link per [`RESUME_GAP`]; a lost notice is sent again at
//!   the next stale frame after that.
//! * **Receiver.** A `Resume` from a confirmed neighbour, addressed to this node, moves this
//!   node's counters forward, never back: a flood sequence number at or behind `flood_top`
//!   jumps to `flood_top +` [`SEQUENCE_JUMP`] (unsecured nodes only: a secured node resumes
//!   its persisted sequence block, and a peer's claim must not consume it), an advert
//!   version at or behind `advert_version` jumps to `advert_version +` [`ADVERT_JUMP`]. The
//!   jumps leave room for numbers other nodes heard from the previous run and the notifying
//!   neighbour missed. After a jump the node floods its advert at once, and, when its
//!   sequence number jumped (its first floods were dropped as stale), its announcement too.
//!
//! * **Database.** A restarted node's routing database is empty, and the others' adverts
//!   are flooded only on change or refresh. A node that accepts an announcement whose
//!   uptime is lower than the one it last recorded for that origin (uptime never goes back
//!   within one run), or that had accepted frames of the origin more than [`RESTART_SLACK`]
//!   before the start the uptime gives, floods its own advert `advert_min_gap` later, as it
//!   does for a node that joined its view (`receive.rs`).
//!
//! A restarted node is thus heard again about one round trip after its first flood reaches a
//! neighbour that knew it. Nodes that learn of it only through neighbours that did not know
//! it are not told; they hear it again once the jump reaches them (any neighbour that knew
//! it triggers one), or after `node_gone_after` and `advert_max_age` as before.

use core::time::Duration;

use zerocopy::IntoBytes;
use zerocopy::network_endian::U32;

use super::Node;
use crate::routing::lsdb::version_newer;
use crate::wire::messages::{RESUME_ADVERT_VERSION, RESUME_FLOOD_TOP, ResumeBody};
use crate::wire::{FrameHeader, Kind, encode_frame};
use crate::{Destination, Instant, Priority};

/// Shortest gap between two `Resume` notices on one link.
pub const RESUME_GAP: Duration = Duration::from_secs(1);

/// How much earlier than the start an announcement's uptime gives a node must have heard
/// of the origin to conclude that it restarted: the uptime is whole seconds, and the
/// announcement took time to arrive.
pub const RESTART_SLACK: Duration = Duration::from_secs(3);

/// How far past a neighbour's `flood_top` a resumed sequence number jumps: more frames than
/// a node originates in `node_gone_after` (90 s at 700 frames per second), so it also passes
/// the windows of nodes that heard frames the neighbour missed.
pub const SEQUENCE_JUMP: u32 = 1 << 16;

/// How far past a neighbour's `advert_version` a resumed advert version jumps: more adverts
/// than a node floods within `advert_max_age` (100 s at one per `advert_min_gap`).
pub const ADVERT_JUMP: u32 = 1 << 10;

impl Node {
    /// A frame of the peer of link `i` that it originated itself arrived behind what this
    /// node holds of it: tell it, unless a notice went out on this link within [`RESUME_GAP`].
    pub(super) fn send_resume(&mut self, now: Instant, i: usize) {
        let link = self.links.at(i);
        if link.last_resume_sent.is_some_and(|t| now - t < RESUME_GAP) {
            return;
        }
        let peer = link.peer;
        let top = self.flood.top(now, peer);
        let version = self.router.lsdb().advert(peer).map(|a| a.version);
        let known = top.map_or(0, |_| RESUME_FLOOD_TOP) | version.map_or(0, |_| RESUME_ADVERT_VERSION);
        if known == 0 {
            return;
        }
        let body = ResumeBody {
            flood_top: U32::new(top.unwrap_or(0)),
            advert_version: U32::new(version.unwrap_or(0)),
            known,
            reserved: [0; 3],
        };
        let header = FrameHeader::new(Kind::Resume, Priority::Critical, 1, self.config.node_id, Destination::Node(peer), 0);
        let mut frame = core::mem::take(&mut self.scratch);
        encode_frame(&mut frame, &header, &[body.as_bytes()]);
        if self.seal(&mut frame) && self.queue_frame(i, &frame) {
            self.links.at_mut(i).last_resume_sent = Some(now);
            self.metrics.resumes_sent += 1;
        }
        self.scratch = frame;
    }

    /// A `Resume` from the (confirmed) peer of a link, addressed to this node: jump past the
    /// counters it holds of this node, and flood what it dropped.
    pub(super) fn on_resume(&mut self, now: Instant, body: &ResumeBody) {
        let mut seq_jumped = false;
        if body.known & RESUME_FLOOD_TOP != 0 && self.secure.is_none() {
            let top = body.flood_top.get();
            if !version_newer(self.seq, top) {
                // `take_seq` increments before use: the next frame carries `top + SEQUENCE_JUMP`.
                self.seq = top.wrapping_add(SEQUENCE_JUMP - 1);
                seq_jumped = true;
            }
        }
        let mut advert_jumped = false;
        if body.known & RESUME_ADVERT_VERSION != 0 {
            let held = body.advert_version.get();
            if !version_newer(self.advert_version, held) {
                self.advert_version = held.wrapping_add(ADVERT_JUMP - 1);
                advert_jumped = true;
            }
        }
        if !(seq_jumped || advert_jumped) {
            return;
        }
        self.metrics.counters_resumed += 1;
        self.advert_dirty = false;
        self.last_advert_check = now;
        let entries = self.own_advert();
        self.flood_advert(now, entries);
        if seq_jumped && self.links.confirmed() > 0 {
            self.announce(now);
        }
    }
}
