//! Byzantine nodes, as far as today's core allows them to be told apart from honest ones.
//!
//! The misbehaviour lives in the simulator's radio driver of that device, around an honest
//! core node:
//!
//! * **Blackhole** — PDUs the node writes are parsed with the core's own link-PDU parser
//!   ([`LinkPdu::new_checked`]), so the behaviour follows the format the core really sends;
//!   frames it relays (origin is not itself, kind is not heartbeat) are dropped, fragments
//!   included. A fragmented frame's header may span several fragments (at the initial
//!   20-byte MTU a fragment carries 9 frame bytes): the fragments are read in order until
//!   the origin is known, and from that fragment on every fragment of the per-link message
//!   is dropped, which leaves the frame impossible to reassemble.
//! * **Replay** — whole game-data frames it receives are kept (last 64) and, every
//!   `interval_ms`, one is written again unchanged to a random link of the node.
//! * **Forge** — every `interval_ms` it writes a broadcast game-data frame claiming a random
//!   other node as origin, with a random sequence number. Without the security layer the
//!   core cannot detect this; the report counts forged deliveries. A sequence number ahead
//!   of the victim's own moves its windows there, so the victim's genuine frames, adverts
//!   included, are dropped as stale and every node loses it from its view: the nodes report
//!   `Partitioned` without a cut, which the report attributes ([`crate::partition_causes`]).
//!
//! In a secured scenario (`[security] enabled = true`) blackhole and replay nodes are
//! insiders (they hold the network key, so their own frames authenticate), while forge nodes
//! are outsiders built with another network key: every frame they write fails the tag.

use std::collections::{BTreeMap, VecDeque};

use blemesh_core::wire::link::CTRL_WHOLE;
use blemesh_core::wire::{FrameHeader, Kind, LinkPdu, encode_frame};
use blemesh_core::{Destination, NodeId, Priority};

use crate::engine::{Engine, us};
use crate::queue::SimEvent;
use crate::scenario::{Behaviour, Byzantine};

const CAPTURE: usize = 64;
/// Offsets inside a frame header.
const KIND_AT: usize = std::mem::offset_of!(FrameHeader, kind);
const ORIGIN_AT: usize = std::mem::offset_of!(FrameHeader, origin);
/// Bytes of frame header that decide whether a frame is relayed (kind and origin).
const DECIDING_PREFIX: usize = ORIGIN_AT + 8;

/// What a blackhole knows of one fragmented per-link message it is writing.
#[derive(Debug, Clone)]
enum Fragmented {
    /// The frame bytes seen so far, too few to hold the origin.
    Undecided(Vec<u8>),
    /// The frame is a relay: this and every later fragment are dropped.
    Dropping,
    /// The frame is the node's own or a heartbeat: its fragments pass.
    Passing,
}

/// Runtime state of one Byzantine node.
#[derive(Debug, Clone)]
pub struct ByzantineState {
    /// What it does.
    pub behaviour: Behaviour,
    from: u64,
    interval: u64,
    node: u32,
    captured: VecDeque<Vec<u8>>,
    fragmented: BTreeMap<(u32, u16), Fragmented>,
}

/// Whether a frame starting at `frame` (at least the header prefix up to the origin) is one
/// the node relays rather than originates, or `None` if too short to tell.
fn is_relay(frame: &[u8], me: NodeId) -> Option<bool> {
    let origin = frame.get(ORIGIN_AT..DECIDING_PREFIX)?;
    let origin = u64::from_be_bytes(origin.try_into().ok()?);
    Some(frame[KIND_AT] != Kind::Heartbeat as u8 && origin != me.0)
}

impl ByzantineState {
    /// The state of scenario entry `b`.
    pub fn new(b: &Byzantine) -> Self {
        ByzantineState {
            behaviour: b.behaviour,
            from: us(b.from_s),
            interval: b.interval_ms.max(1) * 1000,
            node: (b.node - 1) as u32,
            captured: VecDeque::new(),
            fragmented: BTreeMap::new(),
        }
    }

    /// Whether it misbehaves at `now` µs.
    pub fn active(&self, now: u64) -> bool {
        now >= self.from
    }

    /// For a blackhole: whether the PDU `bytes` written on link `l` by node `me` is dropped.
    pub fn filters(&mut self, l: u32, bytes: &[u8], me: NodeId) -> bool {
        if self.behaviour != Behaviour::Blackhole {
            return false;
        }
        // The node's own core wrote the PDU, so it parses; anything else passes untouched.
        match LinkPdu::new_checked(bytes, usize::from(u16::MAX)) {
            Ok(LinkPdu::Whole(frame)) => is_relay(frame, me).unwrap_or(false),
            Ok(LinkPdu::Fragment(f)) => {
                let msg = (l, f.msg_id);
                let state = self.fragmented.entry(msg).or_insert_with(|| Fragmented::Undecided(Vec::new()));
                if let Fragmented::Undecided(prefix) = state {
                    prefix.extend_from_slice(f.chunk);
                    if let Some(relay) = is_relay(prefix, me) {
                        *state = if relay { Fragmented::Dropping } else { Fragmented::Passing };
                    }
                }
                let drop = matches!(state, Fragmented::Dropping);
                if f.index.saturating_add(1) >= f.count {
                    self.fragmented.remove(&msg);
                }
                drop
            }
            Err(_) => false,
        }
    }
}

impl Engine {
    /// Device indices of the blackholes misbehaving at `at`.
    pub(crate) fn active_blackholes(&self, at: u64) -> Vec<u32> {
        let active = |b: &&ByzantineState| b.behaviour == Behaviour::Blackhole && b.active(at);
        self.byzantine.iter().filter(active).map(|b| b.node).filter(|&d| self.devices[d as usize].alive()).collect()
    }

    /// Keeps a copy of a whole game-data frame arriving at a replaying node.
    pub(crate) fn capture_for_replay(&mut self, d: u32, bytes: &[u8]) {
        let Some(b) = self.byzantine_of[d as usize] else { return };
        let state = &mut self.byzantine[b as usize];
        if state.behaviour != Behaviour::Replay || bytes.first() != Some(&CTRL_WHOLE) {
            return;
        }
        if bytes.get(1 + KIND_AT) != Some(&(Kind::GameData as u8)) {
            return;
        }
        if state.captured.len() >= CAPTURE {
            state.captured.pop_front();
        }
        state.captured.push_back(bytes.to_vec());
    }

    pub(crate) fn byzantine_tick(&mut self, k: usize, at: u64) {
        let state = &self.byzantine[k];
        let (d, interval, behaviour) = (state.node, state.interval, state.behaviour);
        self.queue.push(at + interval, SimEvent::Byzantine { index: k as u32 });
        let links: Vec<u32> = self.devices[d as usize].links.clone();
        if links.is_empty() || !self.devices[d as usize].alive() {
            return;
        }
        match behaviour {
            Behaviour::Blackhole => {}
            Behaviour::Replay => {
                let n = self.byzantine[k].captured.len() as u64;
                if n == 0 {
                    return;
                }
                let pick = self.rng.byzantine.below(n) as usize;
                let bytes = self.byzantine[k].captured[pick].clone();
                let l = links[self.rng.byzantine.below(links.len() as u64) as usize];
                if self.inject(d, l, bytes, at) {
                    self.stats.byzantine.replays_sent += 1;
                }
            }
            Behaviour::Forge => {
                let nodes = self.devices.len() as u64;
                let mut victim = self.rng.byzantine.below(nodes);
                if victim == u64::from(d) {
                    victim = (victim + 1) % nodes;
                }
                let victim_index = victim;
                let victim = self.devices[victim as usize].id;
                let seq = self.rng.byzantine.next_u64() as u32;
                let header = FrameHeader::new(Kind::GameData, Priority::Normal, 16, victim, Destination::Broadcast, seq);
                let mut frame = Vec::new();
                encode_frame(&mut frame, &header, &[b"forged by a byzantine node"]);
                let mut pdu = vec![CTRL_WHOLE];
                pdu.extend_from_slice(&frame);
                let mut sent = false;
                for l in links {
                    sent |= self.inject(d, l, pdu.clone(), at);
                }
                if sent {
                    self.stats.byzantine.forged_sent += 1;
                    self.impersonated[victim_index as usize] = true;
                    if let Some(causes) = self.stats.partition_causes.as_mut() {
                        causes.on_forged(victim_index as u32);
                    }
                }
            }
        }
    }

    /// Queues raw bytes from device `d` on link `l`, bypassing its core node.
    fn inject(&mut self, d: u32, l: u32, bytes: Vec<u8>, at: u64) -> bool {
        let cap = self.scenario.radio.radio_queue;
        let link = &mut self.links[l as usize];
        let interval = link.interval_us;
        let side = link.side_of(d);
        if !link.up || link.queue[side].len() >= cap {
            return false;
        }
        link.queue[side].push_back(bytes);
        if !link.event_pending {
            link.event_pending = true;
            self.queue.push(crate::engine::next_event_at(link.anchor, interval, at), SimEvent::ConnectionEvent { link: l });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blemesh_core::wire::Fragmenter;

    fn pdu(kind: Kind, origin: u64) -> Vec<u8> {
        pdu_of(kind, origin, b"x")
    }

    fn pdu_of(kind: Kind, origin: u64, body: &[u8]) -> Vec<u8> {
        let header = FrameHeader::new(kind, Priority::Normal, 4, NodeId(origin), Destination::Broadcast, 9);
        let mut frame = Vec::new();
        encode_frame(&mut frame, &header, &[body]);
        let mut p = vec![CTRL_WHOLE];
        p.extend_from_slice(&frame);
        p
    }

    #[test]
    fn blackhole_drops_relays_only() {
        let b = Byzantine { node: 3, behaviour: Behaviour::Blackhole, from_s: 0.0, interval_ms: 500 };
        let mut s = ByzantineState::new(&b);
        let me = NodeId(3);
        assert!(s.filters(0, &pdu(Kind::GameData, 7), me));
        assert!(!s.filters(0, &pdu(Kind::GameData, 3), me));
        assert!(!s.filters(0, &pdu(Kind::Heartbeat, 7), me));
        // Fragmented frames, cut by the core's own fragmenter at the initial 20-byte MTU:
        // the origin arrives in the second fragment, which is dropped with all after it.
        let relay = &pdu(Kind::GameData, 7)[1..];
        let f = Fragmenter::new(relay, 20).unwrap();
        assert!(f.count() > 3);
        let mut out = Vec::new();
        let drops: Vec<bool> = (0..f.count())
            .map(|i| {
                f.write_pdu(relay, 5, i, &mut out);
                s.filters(1, &out, me)
            })
            .collect();
        assert!(!drops[0], "the first fragment holds too little of the header to decide");
        assert!(drops[1..].iter().all(|d| *d), "{drops:?}");
        // The node's own fragmented frame passes whole, on the same link and message id.
        let own = &pdu(Kind::GameData, 3)[1..];
        let f = Fragmenter::new(own, 20).unwrap();
        for i in 0..f.count() {
            f.write_pdu(own, 5, i, &mut out);
            assert!(!s.filters(1, &out, me));
        }
        // At a larger MTU the first fragment decides.
        let large = &pdu_of(Kind::GameData, 7, &[0; 40])[1..];
        let f = Fragmenter::new(large, 50).unwrap();
        assert!(f.count() >= 2);
        for i in 0..f.count() {
            f.write_pdu(large, 6, i, &mut out);
            assert!(s.filters(2, &out, me));
        }
        assert!(s.fragmented.is_empty());
    }
}
