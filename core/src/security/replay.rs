//! Replay protection, bound to authenticated sequence numbers.
//!
//! **Receiving.** Every origin gets a sliding window ([`ReplayWindow`]) over its 32-bit
//! sequence numbers, compared with serial-number arithmetic (RFC 1982) so that the window
//! keeps working across the wrap from `u32::MAX` to `0`. A number ahead of the window moves
//! it; one inside it is accepted once; one behind it is [`SecurityDrop::Stale`]; one already
//! accepted is [`SecurityDrop::Replay`]. Windows must only be updated **after**
//! [`super::trailer::open`] accepted the frame: otherwise forged frames could push an origin's
//! window ahead and make its genuine frames look stale. [`ReplayGuard`] keeps a bounded set
//! of windows, evicting the origin not heard from for longest.
//!
//! **Sending.** A node must never reuse a sequence number under its identity, also across
//! restarts (end-to-end nonces are built from it). [`SequenceReservation`] hands out numbers
//! from a 2^32 space and, every `block` numbers, asks the caller to persist a high-water mark
//! *before* using the next block. A restarted node resumes from the persisted mark, skipping
//! at most `block` numbers and reusing none. When the space is used up the identity must be
//! replaced (a new seed, hence a new node id).

use alloc::vec::Vec;

use super::SecurityDrop;
use crate::flood::{SeqVerdict, SeqWindow};
use crate::{Instant, MAX_SEQ_WINDOW, NodeId};

/// A sliding window over one origin's sequence numbers, up to [`MAX_SEQ_WINDOW`] wide: the
/// flood layer's [`SeqWindow`], started by the first authenticated number and judged without
/// being changed until the frame is accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    window: Option<SeqWindow>,
    width: u16,
}

impl ReplayWindow {
    /// An empty window `width` numbers wide (clamped to `1..=MAX_SEQ_WINDOW`).
    pub fn new(width: u16) -> Self {
        ReplayWindow { window: None, width: width.clamp(1, MAX_SEQ_WINDOW) }
    }

    /// The highest sequence number accepted so far.
    pub fn highest(&self) -> Option<u32> {
        self.window.as_ref().map(SeqWindow::top)
    }

    /// Whether `seq` would be accepted, without recording it.
    pub fn check(&self, seq: u32) -> Result<(), SecurityDrop> {
        match self.window.as_ref().map(|w| w.peek(seq, self.width)) {
            None | Some(SeqVerdict::New) => Ok(()),
            Some(SeqVerdict::Duplicate) => Err(SecurityDrop::Replay),
            Some(SeqVerdict::Stale) => Err(SecurityDrop::Stale),
        }
    }

    /// Accepts `seq` once: records it, moving the window if it is ahead.
    pub fn accept(&mut self, seq: u32) -> Result<(), SecurityDrop> {
        self.check(seq)?;
        match self.window.as_mut() {
            Some(w) => {
                w.check(seq, self.width);
            }
            None => self.window = Some(SeqWindow::starting_at(seq)),
        }
        Ok(())
    }
}

/// Replay windows for many origins, bounded; allocated once.
#[derive(Clone, Debug)]
pub struct ReplayGuard {
    /// Sorted by origin.
    windows: Vec<(NodeId, ReplayWindow, Instant)>,
    capacity: usize,
    width: u16,
}

impl ReplayGuard {
    /// Windows `width` numbers wide for at most `capacity` origins. Size `capacity` at least
    /// like the node registry: an evicted origin's old frames become acceptable again.
    pub fn new(capacity: usize, width: u16) -> Self {
        let capacity = capacity.max(1);
        ReplayGuard { windows: Vec::with_capacity(capacity), capacity, width }
    }

    /// Whether `(origin, seq)` would be accepted, without recording it.
    pub fn check(&self, origin: NodeId, seq: u32) -> Result<(), SecurityDrop> {
        match self.windows.binary_search_by_key(&origin, |w| w.0) {
            Ok(i) => self.windows[i].1.check(seq),
            Err(_) => Ok(()),
        }
    }

    /// Accepts `(origin, seq)` once. Call only for frames [`super::trailer::open`] accepted.
    pub fn check_and_accept(&mut self, origin: NodeId, seq: u32, now: Instant) -> Result<(), SecurityDrop> {
        let i = match self.windows.binary_search_by_key(&origin, |w| w.0) {
            Ok(i) => i,
            Err(mut i) => {
                if self.windows.len() >= self.capacity {
                    let oldest = self.windows.iter().enumerate().min_by_key(|(_, w)| (w.2, w.0)).map_or(0, |(j, _)| j);
                    self.windows.remove(oldest);
                    if oldest < i {
                        i -= 1;
                    }
                }
                self.windows.insert(i, (origin, ReplayWindow::new(self.width), now));
                i
            }
        };
        let (_, window, heard) = &mut self.windows[i];
        window.accept(seq)?;
        *heard = (*heard).max(now);
        Ok(())
    }

    /// Forgets `origin`'s window.
    pub fn forget(&mut self, origin: NodeId) {
        if let Ok(i) = self.windows.binary_search_by_key(&origin, |w| w.0) {
            self.windows.remove(i);
        }
    }

    /// Origins tracked.
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Whether no origin is tracked.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

/// The next sequence number to send, and what to persist first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NextSeq {
    /// The sequence number to put in the frame.
    pub seq: u32,
    /// If set, the caller must durably store this high-water mark **before** sending the
    /// frame, and pass it to [`SequenceReservation::restore`] after a restart.
    pub persist: Option<u64>,
}

/// A node's own sequence numbers, safe across restarts by reserving blocks ahead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceReservation {
    /// The next number to hand out, counted from 0 in the identity's lifetime.
    next: u64,
    /// Numbers below this are covered by the last persisted mark.
    reserved_until: u64,
    block: u32,
}

impl SequenceReservation {
    /// Numbers one identity may ever use.
    pub const SPACE: u64 = 1 << 32;

    /// A reservation for a new identity (nothing persisted yet).
    pub fn new(block: u32) -> Self {
        Self::restore(0, block)
    }

    /// Resumes after a restart from the last persisted mark. `block` (at least 1) is how
    /// many numbers each persisted mark covers: a larger block means fewer writes and more
    /// numbers skipped per restart.
    pub fn restore(persisted: u64, block: u32) -> Self {
        let persisted = persisted.min(Self::SPACE);
        SequenceReservation { next: persisted, reserved_until: persisted, block: block.max(1) }
    }

    /// The next number, or `None` once all [`Self::SPACE`] numbers were used.
    pub fn next_seq(&mut self) -> Option<NextSeq> {
        if self.next >= Self::SPACE {
            return None;
        }
        let mut persist = None;
        if self.next >= self.reserved_until {
            self.reserved_until = (self.next + u64::from(self.block)).min(Self::SPACE);
            persist = Some(self.reserved_until);
        }
        // `next < 2^32`: the truncation is exact.
        let seq = self.next as u32;
        self.next += 1;
        Some(NextSeq { seq, persist })
    }

    /// The mark last asked to be persisted (numbers below it may have been used).
    pub fn high_water(&self) -> u64 {
        self.reserved_until
    }

    /// Numbers left under this identity.
    pub fn remaining(&self) -> u64 {
        Self::SPACE - self.next
    }
}
