//! The security section of the HTML report: frames the core rejected by reason (bad tag,
//! replays, forged signatures, …), double votes, trust changes and what the attackers got
//! accepted. Without the security layer it shows what the Byzantine nodes did unopposed.

use std::fmt::Write as _;

use crate::report::Report;
use crate::svg::{Bar, bar_chart, escape};

fn bar(label: &str, value: u64, colour: &'static str) -> Bar {
    Bar { label: label.into(), value: value as f64, text: value.to_string(), colour }
}

/// The section's HTML (text and SVG charts).
pub fn render(report: &Report) -> String {
    let d = &report.deterministic;
    let el = &d.mesh.election;
    let ballots_forged = el.rejected.get("bad_signature").copied().unwrap_or(0);
    let (replays_sent, forged_sent, unknown, blackholed) = d.byzantine;
    let mut o = String::new();
    let Some(sec) = &d.security else {
        let _ = write!(
            o,
            "<p>Security is off in this scenario (<code>[security] enabled = false</code>): frames are not authenticated, so forgeries and replays are only counted when they are delivered.</p>"
        );
        let bars = [
            bar("replays written", replays_sent, "#e67e22"),
            bar("forgeries written", forged_sent, "#e67e22"),
            bar("unknown-origin deliveries", unknown, "#c0392b"),
            bar("PDUs blackholed", blackholed, "#2c3e50"),
            bar("ballots with bad signature", ballots_forged, "#8e44ad"),
            bar("double votes", el.double_votes, "#8e44ad"),
        ];
        o.push_str(&bar_chart("Byzantine nodes, unopposed", &bars, None));
        return o;
    };
    let drop = |k: &str| sec.drops.get(k).copied().unwrap_or(0);
    let t = &sec.trust;
    let headline = [
        bar("bad tag", drop("bad_tag"), "#c0392b"),
        bar("replays (replay, stale)", drop("replay") + drop("stale"), "#e67e22"),
        bar("forged signatures (frames)", drop("bad_signature"), "#8e44ad"),
        bar("forged signatures (ballots)", ballots_forged, "#8e44ad"),
        bar("double votes", el.double_votes, "#2c3e50"),
        bar("trust lowered (pairs)", t.lowered, "#7f8c8d"),
        bar("trust below threshold (pairs)", t.distrusted, "#7f8c8d"),
    ];
    o.push_str(&bar_chart("Rejected and penalised, all nodes", &headline, None));
    let all: Vec<Bar> = sec.drops.iter().map(|(k, v)| bar(k, *v, "#c0392b")).collect();
    if !all.is_empty() {
        o.push_str(&bar_chart("Frames rejected by the core, every reason", &all, None));
    }
    let accepted = [
        Bar { label: "outsider frames".into(), value: sec.outsider_frames_accepted as f64, text: format!("{} accepted", sec.outsider_frames_accepted), colour: "#c0392b" },
        Bar {
            label: "replays".into(),
            value: sec.replays_accepted as f64,
            text: format!("{} accepted of {} written", sec.replays_accepted, sec.attempts.0),
            colour: "#c0392b",
        },
        Bar {
            label: "forgeries".into(),
            value: sec.forged_accepted as f64,
            text: format!("{} accepted of {} written", sec.forged_accepted, sec.attempts.1),
            colour: "#c0392b",
        },
    ];
    let most = sec.attempts.0.max(sec.attempts.1).max(1) as f64;
    o.push_str(&bar_chart("Accepted from the attackers (must be 0)", &accepted, Some(most)));
    let subjects: Vec<String> = t.subjects.iter().map(|(n, k)| format!("node {n} by {k}")).collect();
    let _ = write!(
        o,
        "<p>Trust at the end: {} (observer, subject) pairs below neutral, {} below the threshold; lowered: {}. Critical delivery {:.2} % of receivers; acknowledged critical unicasts {}.</p>",
        t.lowered,
        t.distrusted,
        escape(&if subjects.is_empty() { "none".into() } else { subjects.join(", ") }),
        sec.critical_delivery_ratio * 100.0,
        sec.critical_acked_ratio.map_or_else(|| "-".into(), |r| format!("{:.2} %", r * 100.0))
    );
    o
}
