//! Timers: submits and joins sent again, then failed; gaps asked for; the sequencer's tip.

use super::state::Membership;
use super::{FailReason, Session, SessionAction, SessionMessage};
use crate::Instant;

impl Session {
    /// Runs whatever is due at `now` (call at [`Session::next_deadline`]; calling early is
    /// harmless).
    pub fn on_timeout(&mut self, now: Instant) {
        self.expire_submits(now);
        self.handover_timeout(now);
        self.resend(now);
        self.repair_gap(now);
        self.announce_tip(now);
        self.snapshot_timeout(now);
        self.report_fork(now);
    }

    /// Submits past their deadline fail: refused as not a member's if the sequencer said
    /// so (and this node never became one in time), else timed out.
    fn expire_submits(&mut self, now: Instant) {
        while let Some(k) = self.pending.iter().position(|p| p.deadline <= now) {
            let p = self.pending.remove(k).expect("found");
            let reason = if p.refused { FailReason::Refused(super::RefuseReason::NotMember) } else { FailReason::Timeout };
            self.fail(p.submit, reason);
        }
    }

    /// Submits and a join not yet in the stream go to the sequencer again.
    fn resend(&mut self, now: Instant) {
        let retry = self.config.submit_retry;
        // Submits wait while this node (re)joins: they would be refused as not a member.
        let has_sequencer = self.sequencer_node().is_some() && self.membership == Membership::In;
        let can_join = self.sequencer_node().is_some();
        if let Membership::Joining { info, retry_at } = &mut self.membership {
            if *retry_at <= now {
                *retry_at = now + retry;
                if can_join {
                    let info = info.clone();
                    self.send_to_sequencer(now, SessionMessage::Join { info });
                }
            }
        }
        let mut due = alloc::vec::Vec::new();
        for p in self.pending.iter_mut().filter(|p| p.retry_at <= now) {
            p.retry_at = now + retry;
            if has_sequencer {
                due.push(SessionMessage::Submit { submit: p.submit, payload: p.payload.clone() });
            }
        }
        for message in due {
            self.metrics.submit_retries += 1;
            self.send_to_sequencer(now, message);
        }
    }

    /// Sequencer: announces the stream's tip after a quiet spell.
    fn announce_tip(&mut self, now: Instant) {
        let Some(seq) = self.sequencer.as_mut().filter(|s| s.phase == super::state::Phase::Active) else { return };
        if seq.tip_at > now {
            return;
        }
        seq.tip_at = now + self.config.tip_interval;
        let tip = SessionMessage::Tip { epoch: seq.epoch, last: seq.next_index - 1, tail: self.tail };
        self.actions.push_back(SessionAction::Broadcast(tip));
    }
}
