//! [`ElectionConfig`]: tunables of the election state machine, with documented defaults and
//! validation.

use alloc::vec::Vec;
use core::time::Duration;

use crate::{ConfigError, NodeId};

/// Which set of nodes an election needs a majority of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ElectionMode {
    /// Every connected component elects its own coordinator, from a majority of *the
    /// component* (its member list is an input: [`crate::election::Election::on_membership`]).
    /// Wire value 0.
    PerPartition,
    /// A majority of the configured membership ([`ElectionConfig::membership`]) is needed: a
    /// minority side of a partition has no coordinator. Wire value 1.
    Quorum,
}

impl ElectionMode {
    /// The wire value (`ElectionBody::mode`).
    pub const fn to_u8(self) -> u8 {
        match self {
            ElectionMode::PerPartition => 0,
            ElectionMode::Quorum => 1,
        }
    }

    /// Parses the wire value.
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(ElectionMode::PerPartition),
            1 => Some(ElectionMode::Quorum),
            _ => None,
        }
    }
}

/// Tunables of [`crate::election::Election`]. [`ElectionConfig::new`] fills in the defaults;
/// [`ElectionConfig::validate`] names the first offending field.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ElectionConfig {
    /// Per-partition or quorum elections. Default [`ElectionMode::PerPartition`].
    pub mode: ElectionMode,
    /// The voters in [`ElectionMode::Quorum`] (ignored per-partition). Sorted and deduplicated
    /// by [`crate::election::Election::new`]. Default empty (must be set for quorum mode).
    pub membership: Vec<NodeId>,
    /// Lower bound of the randomised election timeout. Default 150 ms.
    pub election_timeout_min: Duration,
    /// Upper bound of the randomised election timeout. Default 300 ms.
    pub election_timeout_max: Duration,
    /// Lower bound of the randomised follower lease: how long a follower that knows a live
    /// coordinator waits for its next heartbeat before campaigning, and how long a heard
    /// coordinator protects the term against other candidates. Default 150 ms (as
    /// `election_timeout_min`). A multi-hop mesh, where a flooded heartbeat can be late by
    /// several relay delays, wants a lease several heartbeats long while campaigns without
    /// a coordinator stay quick (see `Config::new` for the BLE values).
    pub lease_timeout_min: Duration,
    /// Upper bound of the randomised follower lease. Default 300 ms.
    pub lease_timeout_max: Duration,
    /// A candidate waits this much longer for its votes per voter of its component: vote
    /// grants are flooded (so every node can check every ballot), and in a large multi-hop
    /// mesh a round of them takes longer than a timeout sized for a handful of nodes.
    /// Default zero.
    pub vote_round_per_member: Duration,
    /// Interval between coordinator heartbeats. Default 50 ms; at most half of
    /// `lease_timeout_min`.
    pub heartbeat_interval: Duration,
    /// Followers acknowledge heartbeats at most this often (check-quorum input). Default 100 ms.
    pub ack_interval: Duration,
    /// A coordinator that did not hear from a majority of voters during one
    /// `check_quorum_interval` steps down. Default true.
    pub check_quorum: bool,
    /// Window of check-quorum. Default 300 ms; must exceed `ack_interval`.
    pub check_quorum_interval: Duration,
    /// Run a pre-vote round before incrementing the term, so that a node that cannot win does
    /// not disturb the term. Default true.
    pub pre_vote: bool,
    /// Byzantine mode: winning needs at least `2f+1` distinct valid votes, `f = n/3`, and
    /// at least `⌈(n+f+1)/2⌉`, so that two winning sets always share an honest voter (see
    /// [`crate::election::Election::threshold`]). Default false.
    pub byzantine: bool,
    /// A live coordinator is replaced only by a candidate whose priority exceeds it by more
    /// than this many thousandths (hysteresis against flapping). Default 100 (0.1).
    pub takeover_margin_milli: u32,
    /// A voter denies candidates ranked below itself (and campaigns instead) until this many
    /// of its own campaigns in a row failed; then it stops objecting until a coordinator is
    /// known. `0` disables priority denials. Default 2.
    pub priority_denials: u8,
    /// Trust penalty output for a voter caught signing two different votes in one term
    /// (trust is in 0.0..=1.0). Default 0.5.
    pub double_vote_penalty: f32,
    /// Signed ballots remembered per term for double-vote detection. Default 256.
    pub max_ballots: usize,
}

impl ElectionConfig {
    /// The documented defaults, in `mode`.
    pub fn new(mode: ElectionMode) -> Self {
        ElectionConfig {
            mode,
            membership: Vec::new(),
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            lease_timeout_min: Duration::from_millis(150),
            lease_timeout_max: Duration::from_millis(300),
            vote_round_per_member: Duration::ZERO,
            heartbeat_interval: Duration::from_millis(50),
            ack_interval: Duration::from_millis(100),
            check_quorum: true,
            check_quorum_interval: Duration::from_millis(300),
            pre_vote: true,
            byzantine: false,
            takeover_margin_milli: 100,
            priority_denials: 2,
            double_vote_penalty: 0.5,
            max_ballots: 256,
        }
    }

    /// Quorum mode over `membership`, other fields at their defaults.
    pub fn quorum(membership: &[NodeId]) -> Self {
        ElectionConfig { membership: membership.to_vec(), ..Self::new(ElectionMode::Quorum) }
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field, problem| Err(ConfigError { field, problem });
        if self.election_timeout_min < Duration::from_millis(1) {
            return err("election_timeout_min", "must be at least 1 ms");
        }
        if self.election_timeout_max <= self.election_timeout_min {
            return err("election_timeout_max", "must exceed election_timeout_min");
        }
        if self.lease_timeout_min < Duration::from_millis(1) {
            return err("lease_timeout_min", "must be at least 1 ms");
        }
        if self.lease_timeout_max <= self.lease_timeout_min {
            return err("lease_timeout_max", "must exceed lease_timeout_min");
        }
        if self.vote_round_per_member > Duration::from_secs(1) {
            return err("vote_round_per_member", "at most 1 s");
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval * 2 > self.lease_timeout_min {
            return err("heartbeat_interval", "must be non-zero and at most half of lease_timeout_min");
        }
        if self.ack_interval.is_zero() {
            return err("ack_interval", "must be non-zero");
        }
        if self.check_quorum_interval <= self.ack_interval {
            return err("check_quorum_interval", "must exceed ack_interval");
        }
        if !(0.0..=1.0).contains(&self.double_vote_penalty) {
            return err("double_vote_penalty", "must be within 0.0..=1.0");
        }
        if self.max_ballots == 0 {
            return err("max_ballots", "must be at least 1");
        }
        if self.mode == ElectionMode::Quorum {
            if self.membership.is_empty() {
                return err("membership", "quorum mode needs a membership");
            }
            if self.membership.len() > usize::from(u16::MAX) {
                return err("membership", "at most 65535 members");
            }
            if self.membership.iter().any(|n| !n.is_unicast()) {
                return err("membership", "0 and u64::MAX are reserved");
            }
        }
        Ok(())
    }
}

impl Default for ElectionConfig {
    fn default() -> Self {
        Self::new(ElectionMode::PerPartition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_modes_round_trip() {
        ElectionConfig::default().validate().unwrap();
        ElectionConfig::quorum(&[NodeId(1), NodeId(2)]).validate().unwrap();
        for m in [ElectionMode::PerPartition, ElectionMode::Quorum] {
            assert_eq!(ElectionMode::from_u8(m.to_u8()), Some(m));
        }
        assert_eq!(ElectionMode::from_u8(2), None);
    }

    #[test]
    fn nonsense_is_rejected_with_the_field_named() {
        let base = ElectionConfig::default();
        type Mutate = fn(&mut ElectionConfig);
        let cases: [(&str, Mutate); 11] = [
            ("vote_round_per_member", |c| c.vote_round_per_member = Duration::from_secs(2)),
            ("election_timeout_min", |c| c.election_timeout_min = Duration::ZERO),
            ("election_timeout_max", |c| c.election_timeout_max = c.election_timeout_min),
            ("lease_timeout_min", |c| c.lease_timeout_min = Duration::ZERO),
            ("lease_timeout_max", |c| c.lease_timeout_max = c.lease_timeout_min),
            ("heartbeat_interval", |c| c.heartbeat_interval = Duration::from_millis(100)),
            ("ack_interval", |c| c.ack_interval = Duration::ZERO),
            ("check_quorum_interval", |c| c.check_quorum_interval = c.ack_interval),
            ("double_vote_penalty", |c| c.double_vote_penalty = f32::NAN),
            ("max_ballots", |c| c.max_ballots = 0),
            ("membership", |c| c.mode = ElectionMode::Quorum),
        ];
        for (field, mutate) in cases {
            let mut c = base.clone();
            mutate(&mut c);
            assert_eq!(c.validate().unwrap_err().field, field);
        }
        let bad = ElectionConfig::quorum(&[NodeId(1), NodeId::BROADCAST]);
        assert_eq!(bad.validate().unwrap_err().field, "membership");
    }
}
