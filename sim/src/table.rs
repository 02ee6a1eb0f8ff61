//! The report as a load-test style text table.

use std::fmt::{Display, Write as _};

use crate::report::{Mesh, PriorityRow, Report};

fn opt_s(v: Option<f64>) -> String {
    v.map_or_else(|| "never".to_string(), |v| format!("{v:.1} s"))
}

fn row_line(out: &mut String, r: &PriorityRow) {
    let _ = writeln!(
        out,
        "{:<11}{:>10}{:>10}{:>12}{:>12}{:>8.1}%{:>10.1}{:>9.1}{:>9.1}{:>10.1}{:>7}",
        r.priority,
        r.offered,
        r.rejected_at_source,
        r.expected,
        r.delivered,
        r.delivery_ratio * 100.0,
        r.latency_ms.mean,
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max,
        r.late
    );
}

/// Delivery judged against the receivers usable radio links joined to the sender when it
/// sent, and what happened to the rest: the reachable ones missed, by cause (`crate::loss`).
fn reachable_lines(o: &mut String, d: &crate::report::Results) {
    let _ = writeln!(o, "\nDelivery to reachable receivers (joined to the sender by usable radio links when it sent)");
    let _ = writeln!(
        o,
        "{:<11}{:>10}{:>11}{:>13}{:>11}{:>9}  reachable but missed, by cause",
        "priority", "expected", "reachable", "unreachable", "delivered", "ratio"
    );
    for r in d.priorities.iter().chain([&d.overall]) {
        let ratio = r.reachable_ratio.map_or_else(|| "-".to_string(), |v| format!("{:.2}%", v * 100.0));
        let _ = writeln!(
            o,
            "{:<11}{:>10}{:>11}{:>13}{:>11}{:>9}  {}",
            r.priority,
            r.expected,
            r.reachable,
            r.unreachable_at_send,
            r.delivered_reachable,
            ratio,
            causes(&r.reachable_lost)
        );
    }
}

/// Non-zero causes as `name count`, or `none`.
pub(crate) fn causes(c: &crate::loss::LossCounts) -> String {
    let named: Vec<String> = c.named().iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k} {n}")).collect();
    if named.is_empty() { "none".into() } else { named.join(", ") }
}

fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    if items.is_empty() { "none".into() } else { items.iter().map(f).collect::<Vec<_>>().join(", ") }
}

/// `name count` pairs, comma-separated, or "none".
fn counts<K: Display, V: Display>(pairs: impl IntoIterator<Item = (K, V)>) -> String {
    let pairs: Vec<(K, V)> = pairs.into_iter().collect();
    list(&pairs, |(k, v)| format!("{k} {v}"))
}

/// Seconds with two decimals, or `none`.
fn secs2(v: Option<f64>, none: &str) -> String {
    v.map_or_else(|| none.to_string(), |s| format!("{s:.2} s"))
}

/// Election, partition detection and healing lines of the mesh section.
fn coordination(o: &mut String, m: &Mesh) {
    let el = &m.election;
    let _ = writeln!(o, "  mesh formed               {} (links confirmed so far connect every node)", opt_s(el.mesh_formed_s));
    match (el.first_coordinator, el.first_coordinator_s) {
        (Some((node, term)), Some(t)) => {
            let _ = writeln!(
                o,
                "  coordinator election      node {node} (term {term}) agreed by every node at {t:.2} s, {} after the mesh formed",
                secs2(el.election_after_formed_s, "-")
            );
        }
        _ => {
            let _ = writeln!(o, "  coordinator election      never agreed by every node");
        }
    }
    let (pre, started, won, granted, denied) = el.rounds;
    let (elected, lost, stepped) = el.events;
    let _ = writeln!(
        o,
        "  election activity         {} coordinator changes; pre-votes {pre}, elections {started}, won {won}; votes granted {granted}, denied {denied}; events elected {elected}, lost {lost}, stepped down {stepped}",
        el.coordinator_changes
    );
    let _ = writeln!(o, "  ballots rejected          {}; double votes {}", counts(&el.rejected), el.double_votes);
    let _ = writeln!(o, "  coordinators at end       {}", list(&el.coordinators_end, |(n, t, f)| format!("node {n} (term {t}, {f} followers)")));
    let p = &m.partitions;
    let (parted, healed, joined) = p.events;
    let _ = writeln!(o, "  partition events          partitioned {parted}, healed {healed}, joined {joined} (core events, all nodes)");
    if let Some((connected, forged)) = p.not_radio_split.filter(|(connected, _)| *connected > 0) {
        let _ = writeln!(
            o,
            "    {:<24}{connected} of {parted}: the reporting node's links still reached nodes it lost; {forged} lost only forge victims or nodes behind them (a forged sequence number makes the victim's own frames, adverts included, stale)",
            "not a radio split"
        );
    }
    for c in &p.cuts {
        let detection = match c.detection_s {
            Some(d) => format!("all {} affected nodes reported Partitioned within {d:.2} s", c.affected),
            None => format!("{} of {} affected nodes reported Partitioned", c.detected, c.affected),
        };
        let _ = writeln!(
            o,
            "  partition detection       cut at {:.1} s: {detection} (mean {}{}); every side led by its own coordinator after {}",
            c.at_s,
            secs2(c.mean_detection_s, "-"),
            if c.left > 0 { format!(", {} left first", c.left) } else { String::new() },
            secs2(c.sides_elected_s, "never")
        );
    }
    if let Some(ratio) = p.heal_success_ratio {
        let _ = writeln!(
            o,
            "  healing                   {}/{} heals succeeded ({:.0}%; merged views and one coordinator within {} s)",
            p.heals_succeeded,
            p.heals.len(),
            ratio * 100.0,
            p.heal_deadline_s
        );
        for h in &p.heals {
            let _ = writeln!(
                o,
                "    {:<24}views merged after {}, one coordinator after {}",
                format!("heal at {:.1} s", h.at_s),
                secs2(h.merged_s, "never"),
                secs2(h.one_coordinator_s, "never")
            );
        }
    }
}

/// The scripted restarts: when, and how soon the node was routable again (s after its first
/// confirmed link; "-" = not within the probing time).
fn session(o: &mut String, d: &crate::report::Results) {
    let Some(s) = &d.session else { return };
    let _ = writeln!(o, "\nGame session (every member applies the same events in the same order)");
    for (name, value) in s.lines() {
        let _ = writeln!(o, "  {name:<28}{value}");
    }
}

fn restarts(o: &mut String, d: &crate::report::Results) {
    if d.restarts.is_empty() {
        return;
    }
    let (sent, resumed) = d.resumes;
    let _ = writeln!(
        o,
        "\nRestarts (s after the restarted node's first confirmed link; routed probes to and from the farthest node)"
    );
    // Secured node ids are 20 digits: the id columns fit the widest.
    let w = d.restarts.iter().flat_map(|r| [r.node, r.partner.unwrap_or(0)]).map(|n| n.to_string().len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        o,
        "{:<w$}{:>9}{:>9}{:>9}  {:>w$}{:>14}{:>14}{:>14}{:>11}",
        "node", "off", "on", "linked", "partner", "broadcast in", "unicast out", "unicast in", "routable"
    );
    let s = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
    for r in &d.restarts {
        if r.off_s.is_none() {
            let _ = writeln!(o, "{:<w$}  skipped: the node was already off", r.node);
            continue;
        }
        let partner = r.partner.map_or_else(|| "-".to_string(), |p| p.to_string());
        let _ = writeln!(
            o,
            "{:<w$}{:>9}{:>9}{:>9}  {:>w$}{:>14}{:>14}{:>14}{:>11}",
            r.node,
            s(r.off_s),
            s(r.on_s),
            s(r.linked_after_s),
            partner,
            s(r.broadcast_in_s),
            s(r.unicast_out_s),
            s(r.unicast_in_s),
            s(r.routable_s())
        );
    }
    let done: Vec<f64> = d.restarts.iter().filter(|r| r.off_s.is_some()).filter_map(|r| r.routable_s()).collect();
    let held = d.restarts.iter().filter(|r| r.off_s.is_some()).count();
    let worst = done.iter().copied().fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let _ = writeln!(
        o,
        "  routable again            {} of {held} restarts, slowest after {}; resume notices sent {sent}, counters resumed {resumed}",
        done.len(),
        s(worst)
    );
}

/// Renders `report` as text.
pub fn render(report: &Report) -> String {
    let d = &report.deterministic;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "blemesh-sim: scenario \"{}\", seed {}: {} nodes, {} s virtual, {} events\n",
        d.scenario, d.seed, d.nodes, d.duration_s, d.events
    );
    let _ = writeln!(o, "Delivery by priority (latency in ms; expected = receivers)");
    let _ = writeln!(
        o,
        "{:<11}{:>10}{:>10}{:>12}{:>12}{:>9}{:>10}{:>9}{:>9}{:>10}{:>7}",
        "priority", "offered", "rejected", "expected", "delivered", "ratio", "mean", "p50", "p99", "max", "late"
    );
    for r in &d.priorities {
        row_line(&mut o, r);
    }
    row_line(&mut o, &d.overall);
    reachable_lines(&mut o, d);
    let m = &d.mesh;
    let _ = writeln!(o, "\nMesh");
    let _ = writeln!(o, "  neighbour convergence     {} (last NeighbourUp before load, faults or movement)", opt_s(m.neighbour_convergence_s));
    let _ = writeln!(o, "  mesh connected at         {}", opt_s(m.connected_at_s));
    let _ = writeln!(o, "  reconnected after heal    {}", opt_s(m.reconnected_after_heal_s));
    let _ = writeln!(o, "  max components            {}", m.max_components);
    let [up, deg, rec, lost] = m.neighbour_events;
    let [missed, poor] = m.degraded_reasons;
    let _ = writeln!(
        o,
        "  neighbour events          up {up}, degraded {deg} (missed heartbeats {missed}, poor quality {poor}), recovered {rec}, lost {lost}"
    );
    let _ = writeln!(o, "  mean degree at end        {:.2}", m.mean_degree_end);
    let _ = writeln!(o, "  churn (left / rejoined)   {} / {}", m.churn_left_rejoined.0, m.churn_left_rejoined.1);
    coordination(&mut o, m);
    let rt = &m.routing;
    let _ = writeln!(
        o,
        "  route convergence         {} after the mesh connected, {} after the last heal",
        opt_s(rt.convergence_s),
        opt_s(rt.convergence_after_heal_s)
    );
    let _ = writeln!(
        o,
        "  unicast                   forwarded {}, flood fallbacks {}; {} table computations, {} adverts, {} acks sent",
        rt.forwarded, rt.flood_fallbacks, rt.route_computations, rt.adverts_sent, rt.acks_sent
    );
    restarts(&mut o, d);
    session(&mut o, d);
    let _ = writeln!(o, "\nAcknowledged unicast (Qos::reliable, end to end; latency = send to ack, ms)");
    let _ = writeln!(o, "{:<11}{:>10}{:>10}{:>10}{:>10}{:>9}{:>10}{:>10}", "priority", "sent", "acked", "failed", "retries", "ratio", "mean", "max");
    for a in rt.acked.iter().filter(|a| a.sent > 0) {
        let ratio = a.ratio.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0));
        let mean = a.mean_ms.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"));
        let _ = writeln!(
            o,
            "{:<11}{:>10}{:>10}{:>10}{:>10}{:>9}{:>10}{:>10.1}",
            a.priority, a.sent, a.delivered, a.failed, a.retries, ratio, mean, a.max_ms
        );
    }
    let mem = &d.memory;
    let _ = writeln!(o, "\nMemory per node");
    let _ = writeln!(o, "  buffer bytes              max {} B, mean at end {:.0} B", mem.max_buffer_bytes, mem.mean_buffer_bytes_end);
    let occ: Vec<String> = mem.peak_occupancy.iter().map(|(k, (p, c))| format!("{k} {p}/{c}")).collect();
    let _ = writeln!(o, "  peak occupancy / cap      {}", occ.join(", "));
    let r = &d.radio;
    let _ = writeln!(o, "\nRadio (connection interval {} ms, MTU {})", r.connection_interval_ms, r.mtu);
    let _ = writeln!(o, "  links                     opened {}, broken {}, up at end {}", r.links_opened, r.links_broken, r.links_up_end);
    let _ = writeln!(
        o,
        "  PDUs                      queued {}, carried {}, retried {}, radio-queue drops {}, lost on break {}",
        r.pdus_queued, r.pdus_carried, r.retransmissions, r.radio_queue_drops, r.lost_on_break
    );
    let _ = writeln!(
        o,
        "  per link and direction    capacity {:.0} PDUs/s ({:.0} B/s), offered ~{:.1}, carried {:.1}",
        r.capacity_pdus_per_link_dir_s, r.capacity_bytes_per_link_dir_s, r.offered_pdus_per_link_dir_s, r.carried_pdus_per_link_dir_s
    );
    if r.connection_updates > 0 {
        let _ = writeln!(
            o,
            "  connection updates        {} (core decisions adopted), mean interval at end {:.1} ms",
            r.connection_updates, r.mean_interval_end_ms
        );
    }
    let _ = writeln!(o, "  offered load              {:.1} msg/s over the mesh", r.offered_msgs_s);
    let _ = writeln!(o, "  verdict                   {}", r.verdict);
    let _ = writeln!(o, "\nCore");
    let (relayed, suppressed, ttl) = d.core_relays;
    let pruned = d.relay_targets_pruned;
    let _ = writeln!(o, "  relays                    relayed {relayed}, suppressed {suppressed}, TTL expired {ttl}, links pruned {pruned}");
    let (tree, fallbacks) = d.tree_relays;
    let _ = writeln!(o, "  source-tree relays        {tree}, fallbacks to pruning {fallbacks}");
    let _ = writeln!(o, "  drops                     {}", counts(&d.core_drops));
    if !d.api_errors.is_empty() {
        let _ = writeln!(o, "  API errors                {}", counts(&d.api_errors));
    }
    let (replays, forged, unknown, blackholed) = d.byzantine;
    if replays + forged + blackholed > 0 {
        let _ = writeln!(
            o,
            "  byzantine                 replayed {replays}, forged {forged}, unknown-origin deliveries {unknown}, blackholed PDUs {blackholed}"
        );
    }
    if let Some(sec) = &d.security {
        let _ = writeln!(o, "\nSecurity (Node::new_secure; forge nodes are outsiders with another network key)");
        let _ = writeln!(
            o,
            "  accepted from attackers   outsider frames {}, replays {}, forgeries {} (of {} replays, {} forgeries written)",
            sec.outsider_frames_accepted, sec.replays_accepted, sec.forged_accepted, sec.attempts.0, sec.attempts.1
        );
        let _ = writeln!(o, "  rejected by the core      {}", counts(&sec.drops));
        let t = &sec.trust;
        let _ = writeln!(
            o,
            "  trust at end              {} (observer, subject) pairs below neutral, {} below the threshold; lowered: {}",
            t.lowered,
            t.distrusted,
            list(&t.subjects, |(n, k)| format!("node {n} by {k}"))
        );
        let acked = sec.critical_acked_ratio.map_or_else(|| "-".to_string(), |r| format!("{:.2}%", r * 100.0));
        let _ = writeln!(
            o,
            "  critical delivery         {:.2}% of receivers; acknowledged unicast {acked}",
            sec.critical_delivery_ratio * 100.0
        );
    }
    if let Some(t) = &report.timing {
        let _ = writeln!(o, "\nTiming (wall clock, not deterministic)");
        let _ = writeln!(o, "  run time                  {:.2} s ({:.0}x real time, {:.0} events/s)", t.wall_s, t.speedup, t.events_per_s);
        let _ = writeln!(o, "  core CPU                  {:.2} s, {:.1} µs per node-second", t.core_s, t.core_us_per_node_s);
    }
    o
}
