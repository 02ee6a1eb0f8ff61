//! Session limits and timers, with documented defaults and validation.

use core::time::Duration;

/// Limits and timers of a [`super::Session`]. Everything a session holds is bounded by
/// these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Delivered entries each member keeps, to repair other members' gaps. Default 256.
    pub log_entries: usize,
    /// Largest payload of a submit, bytes. Default 512.
    pub max_payload: usize,
    /// Players at most; a join beyond them is refused ([`super::RefuseReason::Full`]).
    /// Default 50.
    pub max_players: usize,
    /// Largest player info (name, team, …), bytes. Default 16: the player list travels in
    /// one frame ([`super::SessionMessage::Roster`], 48 + `max_players` × (21 +
    /// `max_info`) bytes: 1,898 for the defaults, within a default frame of a secured
    /// mesh).
    pub max_info: usize,
    /// Entries received ahead of a gap that a member holds until the gap is repaired (more
    /// are dropped and repaired later). Default 64.
    pub max_ahead: usize,
    /// A member's submits not yet sequenced nor failed. Default 16.
    pub max_pending: usize,
    /// A submit not seen in the stream after this long fails with
    /// [`super::FailReason::Timeout`]. Default 3 s.
    pub submit_timeout: Duration,
    /// A submit (or join) not yet seen in the stream is sent again this often. Default 300 ms.
    pub submit_retry: Duration,
    /// A gap older than this is asked for (negative acknowledgement). Default 40 ms: a few
    /// connection intervals, so that reordering on two paths is not mistaken for loss.
    pub repair_delay: Duration,
    /// A gap still open this long after it was asked for is asked for again. Default 250 ms.
    pub repair_retry: Duration,
    /// Entries sent back for one negative acknowledgement at most. Default 16.
    pub max_repair: usize,
    /// After the last entry, the sequencer announces the stream's tip after this long, so a
    /// member that lost the last entries notices; then every [`SessionConfig::tip_interval`].
    /// Default 100 ms.
    pub tip_delay: Duration,
    /// Tip announcements while the stream is quiet. Default 1 s.
    pub tip_interval: Duration,
    /// A new sequencer waits this long for the members' [`super::SessionMessage::StateReply`]
    /// before it begins with what it heard (and this long again for each round of entries
    /// it fetches). Default 250 ms.
    pub recovery_timeout: Duration,
    /// A player the sequencer's partition has not held for this long is placed as
    /// [`super::LeaveReason::Lost`] (the mesh's neighbour and partition detection say who
    /// the partition holds; the grace rides out a topology view that lags a join). Default 3 s.
    pub lost_grace: Duration,
    /// Largest snapshot of the application's state a joining player is sent, bytes
    /// ([`super::Session::provide_snapshot`]); 0 turns snapshots off (a joiner's game then
    /// starts from its own `Joined` entry, knowing nothing before it). Snapshots travel in
    /// chunks of `max_payload` bytes, at most [`super::MAX_CHUNKS`] of them: at most
    /// 64 × `max_payload`. Default 16 KiB.
    pub max_snapshot: usize,
    /// A snapshot asked for and not complete after this long is asked for again (its
    /// missing chunks from the same player, or a new one from the next player). Default 400 ms.
    pub snapshot_retry: Duration,
    /// A player catching up that has no snapshot after this long gives up
    /// ([`super::SessionEvent::NoSnapshot`]) and plays on from its own history; a provided
    /// snapshot is kept this long after it was last asked for. Default 10 s.
    pub snapshot_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            log_entries: 256,
            max_payload: 512,
            max_players: 50,
            max_info: 16,
            max_ahead: 64,
            max_pending: 16,
            submit_timeout: Duration::from_secs(3),
            submit_retry: Duration::from_millis(300),
            repair_delay: Duration::from_millis(40),
            repair_retry: Duration::from_millis(250),
            max_repair: 16,
            tip_delay: Duration::from_millis(100),
            tip_interval: Duration::from_secs(1),
            recovery_timeout: Duration::from_millis(250),
            lost_grace: Duration::from_secs(3),
            max_snapshot: 16 * 1024,
            snapshot_retry: Duration::from_millis(400),
            snapshot_timeout: Duration::from_secs(10),
        }
    }
}

/// A [`SessionConfig`] field outside its allowed range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfigError {
    /// The field.
    pub field: &'static str,
    /// The allowed range, in words.
    pub allowed: &'static str,
}

impl core::fmt::Display for SessionConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "session config: `{}` must be {}", self.field, self.allowed)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for SessionConfigError {}

impl SessionConfig {
    /// Bytes of each snapshot chunk but the last: `max_payload`, so that a chunk fits
    /// wherever an entry does.
    pub fn chunk_size(&self) -> usize {
        self.max_payload.min(usize::from(u16::MAX))
    }

    /// Checks every field against its range.
    pub fn validate(&self) -> Result<(), SessionConfigError> {
        let err = |field, allowed| Err(SessionConfigError { field, allowed });
        if !(1..=65_536).contains(&self.log_entries) {
            return err("log_entries", "1..=65536");
        }
        if !(1..=16_384).contains(&self.max_payload) {
            return err("max_payload", "1..=16384 bytes");
        }
        if !(1..=1024).contains(&self.max_players) {
            return err("max_players", "1..=1024");
        }
        if self.max_info > 255 {
            return err("max_info", "0..=255 bytes");
        }
        if !(1..=4096).contains(&self.max_ahead) {
            return err("max_ahead", "1..=4096");
        }
        if !(1..=1024).contains(&self.max_pending) {
            return err("max_pending", "1..=1024");
        }
        if !(1..=1024).contains(&self.max_repair) {
            return err("max_repair", "1..=1024");
        }
        let positive = [
            ("submit_timeout", self.submit_timeout),
            ("submit_retry", self.submit_retry),
            ("repair_delay", self.repair_delay),
            ("repair_retry", self.repair_retry),
            ("tip_delay", self.tip_delay),
            ("tip_interval", self.tip_interval),
            ("recovery_timeout", self.recovery_timeout),
            ("lost_grace", self.lost_grace),
            ("snapshot_retry", self.snapshot_retry),
            ("snapshot_timeout", self.snapshot_timeout),
        ];
        for (field, d) in positive {
            if d.is_zero() || d > Duration::from_secs(3600) {
                return err(field, "above 0 and at most 1 hour");
            }
        }
        if self.submit_retry > self.submit_timeout {
            return err("submit_retry", "at most submit_timeout");
        }
        if self.max_snapshot > super::MAX_CHUNKS * self.chunk_size() {
            return err("max_snapshot", "at most 64 × max_payload bytes (0: no snapshots)");
        }
        if self.snapshot_retry > self.snapshot_timeout {
            return err("snapshot_retry", "at most snapshot_timeout");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_each_bound_is_named() {
        assert_eq!(SessionConfig::default().validate(), Ok(()));
        let c = SessionConfig { log_entries: 0, ..SessionConfig::default() };
        assert_eq!(c.validate().unwrap_err().field, "log_entries");
        let c = SessionConfig { repair_delay: Duration::ZERO, ..SessionConfig::default() };
        assert_eq!(c.validate().unwrap_err().field, "repair_delay");
        let c = SessionConfig { submit_retry: Duration::from_secs(5), ..SessionConfig::default() };
        let e = c.validate().unwrap_err();
        assert_eq!((e.field, e.allowed), ("submit_retry", "at most submit_timeout"));
        let c = SessionConfig { max_payload: 100, max_snapshot: 6401, ..SessionConfig::default() };
        assert_eq!(c.validate().unwrap_err().field, "max_snapshot");
        let c = SessionConfig { max_payload: 100, max_snapshot: 6400, ..SessionConfig::default() };
        assert_eq!(c.validate(), Ok(()));
    }
}
