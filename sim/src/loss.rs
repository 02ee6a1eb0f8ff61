//! Why a reachable receiver did not get a message: each one missed is given exactly one
//! cause, from what the simulator knows to be physically true.
//!
//! A receiver is *reachable* when usable radio links joined it to the sender at the send
//! ([`crate::reachability`]); the rest are *unreachable at send* and counted apart. A
//! reachable receiver that had not delivered the message when it was written off (the
//! delivery horizon after the send, or when its sender powered off) is put under the first
//! of these causes that holds:
//!
//! 1. **receiver powered off** — the receiver powered off (churn, a scripted restart) after
//!    the send;
//! 2. **sender powered off** — the sender did, with the message possibly still in its queues;
//! 3. **path broke** — a later labelling of the usable-link graph, taken within the horizon,
//!    no longer joined the two: the path that existed at the send was gone before the
//!    message could cross it (cuts, movement, fading);
//! 4. **Byzantine** — every usable path ran through a blackhole misbehaving at the send, a
//!    blackhole swallowed a copy of the message, or the sender's identity had been forged on
//!    an open mesh (a forger's sequence numbers push the sender's genuine frames out of the
//!    receivers' windows);
//! 5. **unconfirmed link** — every usable path at the send used a link that one of its
//!    ends' cores had not confirmed yet (a connection just opened, before the heartbeat
//!    handshake): the protocol carries data only over confirmed links, so the handshake is
//!    its floor;
//! 6. **dead link** — a copy of the message was written into a link that had already died
//!    (cut, out of range, the far end powered off) but whose death no one could know yet
//!    (the BLE supervision timeout had not run out), or was still queued on a link when it
//!    broke: the path the mesh chose was gone, though another existed;
//! 7. **queue full** — a copy was dropped because a link's radio queue was full;
//! 8. **protocol** — none of the above: the path stayed, both ends stayed up, an honest
//!    confirmed path existed, no copy was seen lost in the radio, and the mesh still did not
//!    deliver in time. These are the losses the protocol owns (routes it did not have,
//!    relays it suppressed, its own queues).
//!
//! Causes 1–5 are facts about this receiver (but for a swallowed copy); 6 and 7 are facts
//! about the message (a copy of it was lost so), seen in PDUs that carry a game-data frame's header (a whole frame, or
//! the first fragment once the MTU holds the header). Later labellings are taken at sends
//! and probes, not at every link change: a path that broke and came back between two sends
//! is not seen as broken.

use blemesh_core::NodeId;
use blemesh_core::wire::{FrameHeader, Kind, LinkPdu};
use serde::Serialize;

/// What the radio saw happen to a copy of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Written into a link that had died, or still queued when it broke.
    DeadLink,
    /// Dropped for a full radio queue.
    QueueFull,
    /// Swallowed by a blackhole.
    Blackholed,
}

impl Evidence {
    /// Its bit in a message's evidence mask.
    pub fn bit(self) -> u8 {
        match self {
            Evidence::DeadLink => 1,
            Evidence::QueueFull => 2,
            Evidence::Blackholed => 4,
        }
    }
}

/// `(origin, seq)` of the game-data frame a link PDU starts, if it carries that frame's
/// header (a whole frame, or a first fragment long enough), parsed as the core parses it.
pub fn data_frame_of(pdu: &[u8]) -> Option<(NodeId, u32)> {
    let frame = match LinkPdu::new_checked(pdu, usize::from(u16::MAX)).ok()? {
        LinkPdu::Whole(f) => f,
        LinkPdu::Fragment(f) if f.index == 0 => f.chunk,
        LinkPdu::Fragment(_) => return None,
    };
    let at = |field: usize, len: usize| frame.get(field..field + len);
    if *frame.get(std::mem::offset_of!(FrameHeader, kind))? != Kind::GameData as u8 {
        return None;
    }
    let origin = at(std::mem::offset_of!(FrameHeader, origin), 8)?;
    let seq = at(std::mem::offset_of!(FrameHeader, seq), 4)?;
    Some((NodeId(u64::from_be_bytes(origin.try_into().ok()?)), u32::from_be_bytes(seq.try_into().ok()?)))
}

/// The cause given to one missed reachable receiver, in the order they are tried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossCause {
    /// The receiver powered off after the send.
    ReceiverOff,
    /// The sender powered off after the send.
    SenderOff,
    /// A later labelling within the horizon no longer joined sender and receiver.
    PathBroke,
    /// Only misbehaving blackholes joined them, or the sender had been impersonated on an
    /// open mesh.
    Byzantine,
    /// Every usable path used a link its cores had not both confirmed.
    UnconfirmedLink,
    /// A copy went into a link that had died before anyone could know.
    DeadLink,
    /// A copy was dropped for a full radio queue.
    QueueFull,
    /// None of the above.
    Protocol,
}

/// Missed reachable receivers by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LossCounts {
    /// [`LossCause::ReceiverOff`].
    pub receiver_off: u64,
    /// [`LossCause::SenderOff`].
    pub sender_off: u64,
    /// [`LossCause::PathBroke`].
    pub path_broke: u64,
    /// [`LossCause::Byzantine`].
    pub byzantine: u64,
    /// [`LossCause::UnconfirmedLink`].
    pub unconfirmed_link: u64,
    /// [`LossCause::DeadLink`].
    pub dead_link: u64,
    /// [`LossCause::QueueFull`].
    pub queue_full: u64,
    /// [`LossCause::Protocol`].
    pub protocol: u64,
}

impl LossCounts {
    /// Counts one missed receiver.
    pub fn add(&mut self, cause: LossCause) {
        *match cause {
            LossCause::ReceiverOff => &mut self.receiver_off,
            LossCause::SenderOff => &mut self.sender_off,
            LossCause::PathBroke => &mut self.path_broke,
            LossCause::Byzantine => &mut self.byzantine,
            LossCause::UnconfirmedLink => &mut self.unconfirmed_link,
            LossCause::DeadLink => &mut self.dead_link,
            LossCause::QueueFull => &mut self.queue_full,
            LossCause::Protocol => &mut self.protocol,
        } += 1;
    }

    /// Adds another tally.
    pub fn merge(&mut self, o: &LossCounts) {
        self.receiver_off += o.receiver_off;
        self.sender_off += o.sender_off;
        self.path_broke += o.path_broke;
        self.byzantine += o.byzantine;
        self.unconfirmed_link += o.unconfirmed_link;
        self.dead_link += o.dead_link;
        self.queue_full += o.queue_full;
        self.protocol += o.protocol;
    }

    /// Every missed reachable receiver.
    pub fn total(&self) -> u64 {
        self.named().iter().map(|(_, n)| n).sum()
    }

    /// `(name, count)` of each cause, in [`LossCause`] order.
    pub fn named(&self) -> [(&'static str, u64); 8] {
        [
            ("receiver off", self.receiver_off),
            ("sender off", self.sender_off),
            ("path broke", self.path_broke),
            ("byzantine", self.byzantine),
            ("unconfirmed link", self.unconfirmed_link),
            ("dead link", self.dead_link),
            ("queue full", self.queue_full),
            ("protocol", self.protocol),
        ]
    }
}

/// What is known of one missed receiver, as facts; [`Facts::cause`] orders them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Facts {
    /// The receiver powered off after the send.
    pub receiver_off: bool,
    /// The sender powered off after the send.
    pub sender_off: bool,
    /// A later labelling within the horizon did not join them.
    pub path_broke: bool,
    /// Every usable path at the send ran through an active blackhole.
    pub only_through_blackholes: bool,
    /// The sender's identity had been forged on an open mesh before the send.
    pub sender_impersonated: bool,
    /// Every usable path at the send used a link not confirmed by both its cores.
    pub only_through_unconfirmed: bool,
    /// [`Evidence`] bits of the message.
    pub evidence: u8,
}

impl Facts {
    /// The first cause that holds.
    pub fn cause(&self) -> LossCause {
        if self.receiver_off {
            LossCause::ReceiverOff
        } else if self.sender_off {
            LossCause::SenderOff
        } else if self.path_broke {
            LossCause::PathBroke
        } else if self.only_through_blackholes || self.sender_impersonated || self.evidence & Evidence::Blackholed.bit() != 0 {
            LossCause::Byzantine
        } else if self.only_through_unconfirmed {
            LossCause::UnconfirmedLink
        } else if self.evidence & Evidence::DeadLink.bit() != 0 {
            LossCause::DeadLink
        } else if self.evidence & Evidence::QueueFull.bit() != 0 {
            LossCause::QueueFull
        } else {
            LossCause::Protocol
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_fact_that_holds_names_the_cause() {
        let all = Facts {
            receiver_off: true,
            sender_off: true,
            path_broke: true,
            only_through_blackholes: true,
            sender_impersonated: true,
            only_through_unconfirmed: true,
            evidence: 3,
        };
        assert_eq!(all.cause(), LossCause::ReceiverOff);
        assert_eq!(Facts { receiver_off: false, ..all }.cause(), LossCause::SenderOff);
        let path = Facts { path_broke: true, only_through_blackholes: true, ..Facts::default() };
        assert_eq!(path.cause(), LossCause::PathBroke);
        assert_eq!(Facts { sender_impersonated: true, ..Facts::default() }.cause(), LossCause::Byzantine);
        assert_eq!(Facts { evidence: 7, ..Facts::default() }.cause(), LossCause::Byzantine, "a swallowed copy comes first");
        let unconfirmed = Facts { only_through_unconfirmed: true, evidence: 3, ..Facts::default() };
        assert_eq!(unconfirmed.cause(), LossCause::UnconfirmedLink);
        assert_eq!(Facts { evidence: 3, ..Facts::default() }.cause(), LossCause::DeadLink);
        assert_eq!(Facts { evidence: Evidence::QueueFull.bit(), ..Facts::default() }.cause(), LossCause::QueueFull);
        assert_eq!(Facts::default().cause(), LossCause::Protocol);
    }

    #[test]
    fn counts_add_up_by_name() {
        let mut c = LossCounts::default();
        [LossCause::Protocol, LossCause::PathBroke, LossCause::Protocol].into_iter().for_each(|x| c.add(x));
        let mut d = LossCounts::default();
        d.add(LossCause::ReceiverOff);
        c.merge(&d);
        assert_eq!(c.total(), 4);
        assert_eq!(c.named().map(|(_, n)| n), [1, 0, 1, 0, 0, 0, 0, 2]);
    }

    #[test]
    fn a_data_frame_is_named_by_its_header_whole_or_first_fragment() {
        use blemesh_core::Destination;
        use blemesh_core::wire::{Fragmenter, encode_frame};
        let header = FrameHeader::new(Kind::GameData, blemesh_core::Priority::Normal, 8, NodeId(7), Destination::Broadcast, 42);
        let mut frame = Vec::new();
        encode_frame(&mut frame, &header, &[&[0xA5; 300]]);
        let mut whole = vec![blemesh_core::wire::link::CTRL_WHOLE];
        whole.extend_from_slice(&frame);
        assert_eq!(data_frame_of(&whole), Some((NodeId(7), 42)));
        let plan = Fragmenter::new(&frame, 100).unwrap();
        let pdus: Vec<Vec<u8>> = (0..plan.count())
            .map(|i| {
                let mut b = Vec::new();
                plan.write_pdu(&frame, 3, i, &mut b);
                b
            })
            .collect();
        assert_eq!(data_frame_of(&pdus[0]), Some((NodeId(7), 42)));
        assert_eq!(data_frame_of(&pdus[1]), None, "a later fragment does not carry the header");
        let heartbeat = FrameHeader::new(Kind::Heartbeat, blemesh_core::Priority::Normal, 1, NodeId(7), Destination::Broadcast, 1);
        let mut hb_frame = Vec::new();
        encode_frame(&mut hb_frame, &heartbeat, &[]);
        let mut hb = vec![blemesh_core::wire::link::CTRL_WHOLE];
        hb.extend_from_slice(&hb_frame);
        assert_eq!(data_frame_of(&hb), None, "not game data");
    }
}
