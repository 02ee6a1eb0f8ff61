//! Sliding windows, the guard, and sequence reservations.

use alloc::vec::Vec;

use crate::security::{NextSeq, ReplayGuard, ReplayWindow, SecurityDrop, SequenceReservation};
use crate::{Instant, NodeId};

#[test]
fn window_accepts_once_and_refuses_stale() {
    let mut w = ReplayWindow::new(64);
    assert_eq!(w.highest(), None);
    assert_eq!(w.accept(100), Ok(()));
    assert_eq!(w.accept(100), Err(SecurityDrop::Replay));
    assert_eq!(w.accept(90), Ok(()));
    assert_eq!(w.check(90), Err(SecurityDrop::Replay));
    assert_eq!(w.accept(37), Ok(())); // 100 - 63: the oldest position
    assert_eq!(w.accept(36), Err(SecurityDrop::Stale));
    assert_eq!(w.accept(101), Ok(()));
    assert_eq!(w.accept(37), Err(SecurityDrop::Stale), "moved out of the window");
    assert_eq!(w.accept(90), Err(SecurityDrop::Replay), "still remembered after the move");
    assert_eq!(w.highest(), Some(101));
}

#[test]
fn window_survives_the_wrap() {
    let mut w = ReplayWindow::new(32);
    for s in [u32::MAX - 2, u32::MAX, 0, 1] {
        assert_eq!(w.accept(s), Ok(()), "{s}");
    }
    assert_eq!(w.highest(), Some(1));
    assert_eq!(w.accept(u32::MAX - 1), Ok(()), "inside the window across the wrap");
    assert_eq!(w.accept(u32::MAX), Err(SecurityDrop::Replay));
    assert_eq!(w.accept(u32::MAX - 40), Err(SecurityDrop::Stale));
    // Exactly 2^31 away is ambiguous in serial arithmetic: refused.
    assert_eq!(w.check(1u32.wrapping_add(1 << 31)), Err(SecurityDrop::Stale));
    // Just under 2^31 ahead is a (large) step forward.
    assert_eq!(w.accept(1u32.wrapping_add((1 << 31) - 1)), Ok(()));
}

#[test]
fn window_matches_a_reference_model() {
    // Every width, a pseudo-random walk of sequence numbers, against a set-based model.
    for width in [1u16, 7, 63, 64, 65, 128, 200, 256, 1000] {
        let mut w = ReplayWindow::new(width);
        let eff = i64::from(width.clamp(1, 256));
        let mut seen: Vec<i64> = Vec::new();
        let mut highest: Option<i64> = None;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut base = 1_000i64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let step = (x % 700) as i64 - 300;
            let s = if x % 5 == 0 { base } else { base + step };
            if x % 3 == 0 {
                base += (x % 50) as i64;
            }
            let want = match highest {
                Some(h) if s <= h - eff => Err(SecurityDrop::Stale),
                _ if seen.contains(&s) => Err(SecurityDrop::Replay),
                _ => Ok(()),
            };
            assert_eq!(w.accept(s as u32), want, "width {width} seq {s} highest {highest:?}");
            if want.is_ok() {
                seen.push(s);
                highest = Some(highest.map_or(s, |h| h.max(s)));
            }
        }
    }
}

#[test]
fn guard_keeps_origins_apart_and_stays_bounded() {
    let mut g = ReplayGuard::new(2, 64);
    let (a, b, c) = (NodeId(1), NodeId(2), NodeId(3));
    assert_eq!(g.check_and_accept(a, 5, Instant::from_secs(1)), Ok(()));
    assert_eq!(g.check_and_accept(b, 5, Instant::from_secs(2)), Ok(()));
    assert_eq!(g.check(a, 5), Err(SecurityDrop::Replay));
    assert_eq!(g.check_and_accept(a, 5, Instant::from_secs(3)), Err(SecurityDrop::Replay));
    assert_eq!(g.check_and_accept(a, 6, Instant::from_secs(3)), Ok(()));
    // c evicts b, heard from longest ago.
    assert_eq!(g.check_and_accept(c, 1, Instant::from_secs(4)), Ok(()));
    assert_eq!(g.len(), 2);
    assert_eq!(g.check(b, 5), Ok(()), "b's window was evicted");
    assert_eq!(g.check(a, 6), Err(SecurityDrop::Replay));
    g.forget(a);
    assert_eq!(g.check(a, 6), Ok(()));
    assert!(!g.is_empty());
}

#[test]
fn reservation_persists_ahead_and_never_reuses_after_restart() {
    let mut r = SequenceReservation::new(100);
    assert_eq!(r.next_seq(), Some(NextSeq { seq: 0, persist: Some(100) }));
    for s in 1..100 {
        assert_eq!(r.next_seq(), Some(NextSeq { seq: s, persist: None }));
    }
    assert_eq!(r.next_seq(), Some(NextSeq { seq: 100, persist: Some(200) }));
    let mut used: Vec<u32> = (0..=100).collect();
    // Crash after sending 137; the last persisted mark was 200.
    for _ in 101..=137 {
        used.push(r.next_seq().unwrap().seq);
    }
    let mut r = SequenceReservation::restore(r.high_water(), 100);
    let next = r.next_seq().unwrap();
    assert_eq!(next, NextSeq { seq: 200, persist: Some(300) });
    assert!(!used.contains(&next.seq));
    assert_eq!(r.remaining(), SequenceReservation::SPACE - 201);
}

#[test]
fn reservation_ends_at_the_end_of_the_space() {
    let mut r = SequenceReservation::restore(SequenceReservation::SPACE - 2, 10);
    assert_eq!(r.next_seq(), Some(NextSeq { seq: u32::MAX - 1, persist: Some(SequenceReservation::SPACE) }));
    assert_eq!(r.next_seq(), Some(NextSeq { seq: u32::MAX, persist: None }));
    assert_eq!(r.next_seq(), None);
    assert_eq!(r.remaining(), 0);
    assert_eq!(SequenceReservation::restore(u64::MAX, 0).next_seq(), None);
}
