//! Wrap-safe sliding window over one origin's sequence numbers (the IPsec anti-replay window,
//! RFC 4303 §3.4.3, with RFC 1982 serial-number arithmetic so the 32-bit sequence may wrap).

/// Verdict on one sequence number.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SeqVerdict {
    /// Not seen before: accept (and it is now marked seen).
    New,
    /// Seen before inside the window.
    Duplicate,
    /// Older than the window can judge: treated as a replay.
    Stale,
}

/// A window of up to 256 sequence numbers ending at the highest one seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqWindow {
    top: u32,
    /// Bit `i` set: `top - i` was seen.
    bits: [u64; 4],
}

impl SeqWindow {
    /// A window whose first sequence number is `seq` (already marked seen).
    pub fn starting_at(seq: u32) -> Self {
        SeqWindow { top: seq, bits: [1, 0, 0, 0] }
    }

    /// The highest sequence number seen.
    pub fn top(&self) -> u32 {
        self.top
    }

    /// Judges `seq` against a window of `width` (1..=256) and marks it seen when new.
    pub fn check(&mut self, seq: u32, width: u16) -> SeqVerdict {
        let verdict = self.peek(seq, width);
        if verdict == SeqVerdict::New {
            let ahead = seq.wrapping_sub(self.top);
            if ahead < 1 << 31 {
                self.shift(ahead);
                self.top = seq;
                self.set(0);
            } else {
                self.set(self.top.wrapping_sub(seq));
            }
        }
        verdict
    }

    /// Judges `seq` like [`SeqWindow::check`] without recording anything. A distance of
    /// exactly 2^31, which RFC 1982 leaves undefined, counts as behind (stale).
    pub fn peek(&self, seq: u32, width: u16) -> SeqVerdict {
        let width = u32::from(width.clamp(1, 256));
        let ahead = seq.wrapping_sub(self.top);
        if ahead == 0 {
            return SeqVerdict::Duplicate;
        }
        if ahead < 1 << 31 {
            return SeqVerdict::New;
        }
        let behind = self.top.wrapping_sub(seq);
        if behind >= width {
            SeqVerdict::Stale
        } else if self.get(behind) {
            SeqVerdict::Duplicate
        } else {
            SeqVerdict::New
        }
    }

    fn get(&self, i: u32) -> bool {
        self.bits[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: u32) {
        self.bits[(i / 64) as usize] |= 1 << (i % 64);
    }

    /// Shifts the bitmap towards older numbers by `n` positions.
    fn shift(&mut self, n: u32) {
        if n >= 256 {
            self.bits = [0; 4];
            return;
        }
        let words = (n / 64) as usize;
        let bits = n % 64;
        for i in (0..4).rev() {
            let src = i as isize - words as isize;
            let hi = if src >= 0 { self.bits[src as usize] << bits } else { 0 };
            let lo = if bits != 0 && src >= 1 { self.bits[src as usize - 1] >> (64 - bits) } else { 0 };
            self.bits[i] = hi | lo;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SeqVerdict::*;

    #[test]
    fn accepts_new_rejects_duplicates_and_stale() {
        let mut w = SeqWindow::starting_at(100);
        assert_eq!(w.check(100, 64), Duplicate);
        assert_eq!(w.check(102, 64), New);
        assert_eq!(w.check(101, 64), New, "late but inside the window");
        assert_eq!(w.check(101, 64), Duplicate);
        assert_eq!(w.check(102 + 64, 64), New);
        assert_eq!(w.check(102, 64), Stale, "64 behind the top with a 64-bit window");
        assert_eq!(w.check(103, 64), New);
    }

    #[test]
    fn wraps_around_zero() {
        let mut w = SeqWindow::starting_at(u32::MAX - 1);
        assert_eq!(w.check(u32::MAX, 64), New);
        assert_eq!(w.check(0, 64), New);
        assert_eq!(w.check(1, 64), New);
        assert_eq!(w.top(), 1);
        assert_eq!(w.check(u32::MAX, 64), Duplicate);
        assert_eq!(w.check(u32::MAX - 2, 64), New);
        assert_eq!(w.check(u32::MAX - 70, 64), Stale);
    }

    #[test]
    fn wide_windows_shift_across_words() {
        let mut w = SeqWindow::starting_at(0);
        for s in [5u32, 70, 130, 200] {
            assert_eq!(w.check(s, 256), New);
        }
        assert_eq!(w.check(300, 256), New);
        for s in [70u32, 130, 200, 300] {
            assert_eq!(w.check(s, 256), Duplicate, "{s}");
        }
        assert_eq!(w.check(5, 256), Stale);
        assert_eq!(w.check(100, 256), New);
        assert_eq!(w.check(1000, 256), New);
        assert_eq!(w.check(900, 256), New, "the jump cleared the old bits");
    }

    #[test]
    fn matches_a_reference_set_model() {
        // Deterministic pseudo-random walk compared with a plain list of everything seen.
        let mut w = SeqWindow::starting_at(0);
        let mut seen = alloc::vec![0u32];
        let mut x: u32 = 12345;
        for _ in 0..5000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let top = w.top();
            let seq = top.wrapping_add((x >> 16) % 80).wrapping_sub(60);
            let behind = top.wrapping_sub(seq);
            let expect = if seq.wrapping_sub(top) != 0 && seq.wrapping_sub(top) < 1 << 31 {
                New
            } else if behind >= 64 {
                Stale
            } else if seen.contains(&seq) {
                Duplicate
            } else {
                New
            };
            assert_eq!(w.check(seq, 64), expect, "seq {seq} top {top}");
            if expect == New {
                seen.push(seq);
            }
        }
    }
}
