//! One 64-bit mixer for the core's deterministic hashing: fingerprints of node and link sets
//! (election membership, source trees) and seeded pseudo-random offsets that must not draw
//! from a node's random generator (the announcement refresh).

/// SplitMix64's finaliser (Steele, Lea and Flood, OOPSLA 2014): a bijection of `u64` whose
/// output bits each depend on every input bit.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::splitmix64;

    #[test]
    fn known_values_and_no_collisions_on_small_inputs() {
        // SplitMix64's first output for seed 0 is the finaliser of the golden-ratio increment.
        assert_eq!(splitmix64(0x9E37_79B9_7F4A_7C15), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(0), 0);
        let mut seen: alloc::vec::Vec<u64> = (0..1000u64).map(splitmix64).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 1000);
    }
}
