//! The data-channel map: which of the 37 data channels connections hop over.
//!
//! [`channel_map`] leaves out channels whose measured interference is high and keeps at
//! least [`BleConfig::min_used_channels`] (never fewer than the specification's 2). A used
//! channel is excluded above [`BleConfig::exclude_interference_above`]; an excluded one
//! returns only below [`BleConfig::include_interference_below`], so a channel hovering at
//! one threshold does not flap. If too few channels remain, the least interfered excluded
//! ones return first (lower channel index on a tie).
//!
//! On a real controller the map is the host's channel classification (HCI LE Set Host
//! Channel Classification), which applies to every connection of the radio: it is one
//! decision per node, not per link.

use super::config::{BleConfig, DATA_CHANNELS, SPEC_MIN_USED_CHANNELS};

/// Bit mask of the 37 data channels.
const ALL_BITS: u64 = (1 << DATA_CHANNELS) - 1;

/// A set of data channels, bit `n` for channel `n` (0..=36): always at least 2 channels.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelMap(u64);

impl ChannelMap {
    /// Every data channel.
    pub const ALL: ChannelMap = ChannelMap(ALL_BITS);

    /// The map of `bits`, if it names only data channels and at least 2 of them.
    pub const fn from_bits(bits: u64) -> Option<ChannelMap> {
        if bits & !ALL_BITS == 0 && bits.count_ones() >= SPEC_MIN_USED_CHANNELS as u32 {
            Some(ChannelMap(bits))
        } else {
            None
        }
    }

    /// The bits, channel `n` in bit `n`.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The map as the 5 bytes of an HCI command (channel 0 in the low bit of byte 0).
    pub const fn to_le_bytes(self) -> [u8; 5] {
        let b = self.0.to_le_bytes();
        [b[0], b[1], b[2], b[3], b[4]]
    }

    /// Whether `channel` is used.
    pub const fn is_used(self, channel: u8) -> bool {
        channel < DATA_CHANNELS && self.0 & (1 << channel) != 0
    }

    /// Number of channels used.
    pub const fn used(self) -> u8 {
        self.0.count_ones() as u8
    }
}

impl Default for ChannelMap {
    fn default() -> Self {
        ChannelMap::ALL
    }
}

impl core::fmt::Debug for ChannelMap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ChannelMap({:#011x}, {} used)", self.0, self.used())
    }
}

/// Decides the channel map from smoothed per-channel `interference` (0..=1 each; NaN
/// counts as 1) and the `previous` map. Pure; the result always has at least
/// `max(min_used_channels, 2)` channels.
pub fn channel_map(cfg: &BleConfig, interference: &[f32; DATA_CHANNELS as usize], previous: ChannelMap) -> ChannelMap {
    let level = |ch: usize| if interference[ch].is_nan() { 1.0 } else { interference[ch] };
    let mut bits = 0u64;
    for ch in 0..usize::from(DATA_CHANNELS) {
        let keep = if previous.0 & (1 << ch) != 0 {
            level(ch) <= cfg.exclude_interference_above
        } else {
            level(ch) < cfg.include_interference_below
        };
        if keep {
            bits |= 1 << ch;
        }
    }
    let floor = cfg.min_used_channels.clamp(SPEC_MIN_USED_CHANNELS, DATA_CHANNELS);
    while (bits.count_ones() as u8) < floor {
        // The least interfered unused channel; the lowest index wins a tie.
        let mut best: Option<usize> = None;
        for ch in (0..usize::from(DATA_CHANNELS)).filter(|ch| bits & (1 << ch) == 0) {
            if best.is_none_or(|b| level(ch).total_cmp(&level(b)).is_lt()) {
                best = Some(ch);
            }
        }
        match best {
            Some(ch) => bits |= 1 << ch,
            None => break,
        }
    }
    ChannelMap(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bits_keeps_the_spec_minimum_and_the_37_channels() {
        assert_eq!(ChannelMap::from_bits(0b1), None);
        assert_eq!(ChannelMap::from_bits(0b11).unwrap().used(), 2);
        assert_eq!(ChannelMap::from_bits(1 << 37 | 0b11), None);
        assert_eq!(ChannelMap::ALL.used(), 37);
        assert!(ChannelMap::ALL.is_used(36) && !ChannelMap::ALL.is_used(37));
        assert_eq!(ChannelMap::ALL.to_le_bytes(), [0xff, 0xff, 0xff, 0xff, 0x1f]);
    }
}
