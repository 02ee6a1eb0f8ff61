//! The run report: a deterministic part (identical for the same scenario and seed, compared
//! by the determinism test) and a timing part (wall clock, not deterministic), as JSON or as
//! a load-test style table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use blemesh_core::Priority;
use serde::Serialize;

use crate::coordination::{ElectionReport, PartitionReport, TrustReport};
use crate::engine::{Engine, SEC};
use crate::stats::PriorityStats;

/// Latency figures, ms.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Latency {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// One row of the delivery table.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PriorityRow {
    /// Priority name, or "all".
    pub priority: String,
    /// Sends attempted.
    pub offered: u64,
    /// Sends the core refused.
    pub rejected_at_source: u64,
    /// Broadcasts accepted.
    pub broadcast: u64,
    /// Unicasts accepted.
    pub unicast: u64,
    /// Receivers expected.
    pub expected: u64,
    /// Receivers reached within the horizon.
    pub delivered: u64,
    /// `delivered / expected`.
    pub delivery_ratio: f64,
    /// Expected receivers that usable radio links joined to the sender when it sent
    /// (`crate::reachability`).
    pub reachable: u64,
    /// Expected receivers no path of usable links joined to the sender when it sent.
    pub unreachable_at_send: u64,
    /// Reachable receivers reached within the horizon.
    pub delivered_reachable: u64,
    /// `delivered_reachable / reachable` (`None` with no reachable receiver).
    pub reachable_ratio: Option<f64>,
    /// Reachable receivers missed, by cause (`crate::loss`).
    pub reachable_lost: crate::loss::LossCounts,
    /// Deliveries after the horizon.
    pub late: u64,
    /// Latency of on-time deliveries.
    pub latency_ms: Latency,
    /// CDF points `(ms, fraction)`.
    #[serde(skip)]
    pub cdf: Vec<(f64, f64)>,
}

/// Neighbour and mesh formation figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Mesh {
    /// Last `NeighbourUp` before load, faults or movement start, s.
    pub neighbour_convergence_s: Option<f64>,
    /// First sample at which the confirmed-neighbour graph was connected, s.
    pub connected_at_s: Option<f64>,
    /// Most connected components seen (ground truth from the nodes' confirmed links).
    pub max_components: u32,
    /// Time from the last heal to a connected mesh again, s.
    pub reconnected_after_heal_s: Option<f64>,
    /// Core events: up, degraded, recovered, lost.
    pub neighbour_events: [u64; 4],
    /// Degradations by reason: missed heartbeats, poor quality (ETX).
    pub degraded_reasons: [u64; 2],
    /// Confirmed links per live node at the end.
    pub mean_degree_end: f64,
    /// Nodes that left and rejoined (churn).
    pub churn_left_rejoined: (u64, u64),
    /// Partition detection and healing.
    pub partitions: PartitionReport,
    /// Coordinator election.
    pub election: ElectionReport,
    /// Routing: convergence, forwarding, acknowledged delivery.
    pub routing: Routing,
}

/// End-to-end acknowledged delivery of one priority (core `Metrics::delivery`, summed).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AckedRow {
    /// Priority name.
    pub priority: String,
    /// Reliable messages sent.
    pub sent: u64,
    /// Acknowledged (`Event::Delivered`).
    pub delivered: u64,
    /// Given up (`Event::DeliveryFailed`).
    pub failed: u64,
    /// Retransmissions.
    pub retries: u64,
    /// `delivered / (delivered + failed)`; `None` before any outcome.
    pub ratio: Option<f64>,
    /// Mean time to acknowledgement (send to ack back), ms.
    pub mean_ms: Option<f64>,
    /// Longest time to acknowledgement, ms.
    pub max_ms: f64,
}

/// Routing figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Routing {
    /// From the mesh being connected to every live node routing to every other, s
    /// (resolution: the sample interval).
    pub convergence_s: Option<f64>,
    /// From the last heal to complete routes over the reconnected mesh, s.
    pub convergence_after_heal_s: Option<f64>,
    /// Unicast frames forwarded hop by hop along routes.
    pub forwarded: u64,
    /// Unicast frames flooded for want of a route.
    pub flood_fallbacks: u64,
    /// Table recomputations, all nodes.
    pub route_computations: u64,
    /// Topology adverts originated, all nodes.
    pub adverts_sent: u64,
    /// End-to-end acknowledgements sent.
    pub acks_sent: u64,
    /// Acknowledged delivery per priority.
    pub acked: Vec<AckedRow>,
}

/// Memory per node.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Memory {
    /// Largest `Node::buffer_bytes` of any node at any sample.
    pub max_buffer_bytes: usize,
    /// Mean `buffer_bytes` over live nodes at the end.
    pub mean_buffer_bytes_end: f64,
    /// Peak of each `Occupancy` field over nodes and samples, with its configured cap.
    pub peak_occupancy: BTreeMap<&'static str, (usize, usize)>,
}

/// Radio use and capacity.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Radio {
    /// Connections opened and broken.
    pub links_opened: u64,
    /// Connections broken.
    pub links_broken: u64,
    /// Links up at the end.
    pub links_up_end: u64,
    /// PDUs written by nodes, carried, retried, dropped at full radio queues, lost on breaks.
    pub pdus_queued: u64,
    /// PDUs carried over the air.
    pub pdus_carried: u64,
    /// Failed packet attempts (retried).
    pub retransmissions: u64,
    /// PDUs dropped because the radio queue of a link was full.
    pub radio_queue_drops: u64,
    /// PDUs lost when links broke.
    pub lost_on_break: u64,
    /// Longest radio queue seen.
    pub max_radio_queue: usize,
    /// Connection interval, ms, and MTU after exchange.
    pub connection_interval_ms: f64,
    /// Connection intervals changed to the core's decision
    /// (`radio.adopt_connection_parameters`).
    pub connection_updates: u64,
    /// Mean connection interval of the links up at the end, ms.
    pub mean_interval_end_ms: f64,
    /// Core MTU after exchange.
    pub mtu: u16,
    /// PDUs one link carries per second per direction at the mean degree (radio shared).
    pub capacity_pdus_per_link_dir_s: f64,
    /// Same in bytes per second.
    pub capacity_bytes_per_link_dir_s: f64,
    /// Estimated offered PDUs per link per direction per second (all messages flooded, no
    /// suppression, plus heartbeats).
    pub offered_pdus_per_link_dir_s: f64,
    /// Measured PDUs carried per link per direction per second.
    pub carried_pdus_per_link_dir_s: f64,
    /// Offered application messages per second, whole mesh.
    pub offered_msgs_s: f64,
    /// Whether the radio can carry the offered load, and why not.
    pub verdict: String,
}

/// Deterministic results.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Results {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Devices.
    pub nodes: usize,
    /// Virtual duration, s.
    pub duration_s: f64,
    /// Events processed.
    pub events: u64,
    /// One row per priority.
    pub priorities: Vec<PriorityRow>,
    /// All priorities together.
    pub overall: PriorityRow,
    /// Mesh formation.
    pub mesh: Mesh,
    /// Memory.
    pub memory: Memory,
    /// Radio.
    pub radio: Radio,
    /// Core drop counters, summed.
    pub core_drops: BTreeMap<&'static str, u64>,
    /// Relayed, suppressed, TTL expired (summed core counters).
    pub core_relays: (u64, u64, u64),
    /// Links skipped by relays because neighbours that relayed first cover them (summed).
    pub relay_targets_pruned: u64,
    /// Resume notices sent to restarted neighbours, and notices that moved a node's counters
    /// (summed core counters, `docs/PROTOCOL.md` §8.9).
    pub resumes: (u64, u64),
    /// Scripted restarts and how soon each restarted node was routable again.
    pub restarts: Vec<crate::restarts::RestartRecord>,
    /// The game session's figures (`crate::session_load`); absent without a `[session]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<crate::session_load::SessionSummary>,
    /// Flood relays along source trees, and fallbacks to jitter and pruning (summed).
    pub tree_relays: (u64, u64),
    /// API errors returned by the core.
    pub api_errors: BTreeMap<String, u64>,
    /// Byzantine: replays, forgeries, deliveries of unknown messages, PDUs blackholed.
    pub byzantine: (u64, u64, u64, u64),
    /// Cuts and heals: `(time s, is_heal)`.
    pub cuts: Vec<(f64, bool)>,
    /// Secured mesh: attacks and what got through; `None` for an unsecured run.
    pub security: Option<SecurityReport>,
    /// Delivery over time: `(start s, sent, expected, delivered, alive, components)`.
    pub series: Vec<(f64, u64, u64, u64, u32, u32)>,
}

/// What the attackers of a secured mesh achieved.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SecurityReport {
    /// Frames of outsiders (another network key) honest nodes acted on: neighbour
    /// confirmations and deliveries of their messages. Must be 0.
    pub outsider_frames_accepted: u64,
    /// Deliveries of a message a receiver already had (replays that got through). Must be 0.
    pub replays_accepted: u64,
    /// Deliveries of forged messages (an `(origin, seq)` the origin never sent). Must be 0.
    pub forged_accepted: u64,
    /// Replays and forgeries the attackers wrote.
    pub attempts: (u64, u64),
    /// Core rejections by `SecurityDrop` reason, summed over nodes.
    pub drops: BTreeMap<&'static str, u64>,
    /// Delivery ratio of critical messages (receivers reached / expected), black holes included.
    pub critical_delivery_ratio: f64,
    /// Acknowledged critical unicasts: delivered / decided.
    pub critical_acked_ratio: Option<f64>,
    /// Trust scores at the end.
    pub trust: TrustReport,
}

/// Wall-clock figures: not deterministic, excluded from comparisons.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Timing {
    /// Wall time of the run, s.
    pub wall_s: f64,
    /// Virtual seconds per wall second.
    pub speedup: f64,
    /// Wall time inside core calls, s.
    pub core_s: f64,
    /// Core time per node-second of virtual time, µs.
    pub core_us_per_node_s: f64,
    /// Events per wall second.
    pub events_per_s: f64,
}

/// The report.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// Identical for identical scenario and seed.
    pub deterministic: Results,
    /// Wall clock; absent when not measured.
    pub timing: Option<Timing>,
}

fn ms(us: f64) -> f64 {
    (us / 1000.0 * 1000.0).round() / 1000.0
}

fn row(name: &str, p: &PriorityStats) -> PriorityRow {
    let h = &p.latency;
    PriorityRow {
        priority: name.into(),
        offered: p.offered,
        rejected_at_source: p.rejected,
        broadcast: p.broadcast,
        unicast: p.unicast,
        expected: p.expected,
        delivered: p.delivered,
        delivery_ratio: if p.expected == 0 { 0.0 } else { p.delivered as f64 / p.expected as f64 },
        reachable: p.reachable,
        unreachable_at_send: p.expected - p.reachable.min(p.expected),
        delivered_reachable: p.delivered_reachable,
        reachable_ratio: (p.reachable > 0).then(|| p.delivered_reachable as f64 / p.reachable as f64),
        reachable_lost: p.lost,
        late: p.late,
        latency_ms: Latency {
            mean: ms(h.mean()),
            p50: ms(h.quantile(0.5) as f64),
            p99: ms(h.quantile(0.99) as f64),
            max: ms(h.max() as f64),
        },
        cdf: h.cdf().into_iter().map(|(v, f)| (v as f64 / 1000.0, f)).collect(),
    }
}

impl Report {
    /// Builds the report of a finished run; `wall_s` adds the timing part.
    pub fn build(e: &Engine, wall_s: Option<f64>) -> Report {
        let s = &e.stats;
        let sc = &e.scenario;
        let priorities: Vec<PriorityRow> = Priority::ALL.iter().map(|p| row(p.name(), &s.priority[*p as usize])).collect();
        let critical_ratio = priorities[Priority::Critical as usize].delivery_ratio;
        let security = sc.security.enabled;
        let mut all = PriorityStats::default();
        for p in &s.priority {
            all.offered += p.offered;
            all.rejected += p.rejected;
            all.broadcast += p.broadcast;
            all.unicast += p.unicast;
            all.expected += p.expected;
            all.delivered += p.delivered;
            all.reachable += p.reachable;
            all.delivered_reachable += p.delivered_reachable;
            all.lost.merge(&p.lost);
            all.late += p.late;
            all.latency.merge(&p.latency);
        }
        let secs = |t: Option<u64>| t.map(|t| t as f64 / SEC as f64);
        let alive: Vec<_> = e.devices.iter().filter_map(|d| d.node.as_ref()).collect();
        let confirmed: usize = alive.iter().map(|n| n.neighbours().filter(|l| l.is_confirmed()).count()).sum();
        let last_heal = s.cuts.iter().rev().find(|c| c.1).map(|c| c.0);
        let mesh = Mesh {
            neighbour_convergence_s: secs(s.last_up_before_disruption),
            connected_at_s: secs(s.connected_at),
            max_components: s.max_components,
            reconnected_after_heal_s: match (s.reconnected_at, last_heal) {
                (Some(r), Some(h)) => Some((r - h) as f64 / SEC as f64),
                _ => None,
            },
            neighbour_events: s.neighbour_events,
            degraded_reasons: s.degraded_reasons,
            mean_degree_end: if alive.is_empty() { 0.0 } else { confirmed as f64 / alive.len() as f64 },
            churn_left_rejoined: s.churn,
            partitions: crate::coordination::partitions(e),
            election: crate::coordination::election(e),
            routing: routing_section(e),
        };
        let config = e.core_config(0, 0);
        let caps = [
            ("links", config.max_links),
            ("sources", config.max_sources),
            ("duplicate_cache", config.duplicate_cache),
            ("pending_relays", config.max_pending_relays),
            ("reassemblies", config.max_reassemblies),
            ("transmit_queue", config.transmit_queue),
            ("delivery_queue", config.delivery_queue),
            ("event_queue", config.event_queue),
            ("known_nodes", config.max_nodes),
        ];
        let m = &s.memory;
        let memory = Memory {
            max_buffer_bytes: m.max_buffer_bytes,
            mean_buffer_bytes_end: if m.last_total.1 == 0 { 0.0 } else { m.last_total.0 as f64 / m.last_total.1 as f64 },
            peak_occupancy: caps.iter().zip(m.peak).map(|((n, cap), peak)| (*n, (peak, *cap))).collect(),
        };
        Report {
            deterministic: Results {
                scenario: sc.name.clone(),
                seed: sc.seed,
                nodes: sc.nodes,
                duration_s: sc.duration_s,
                events: e.events,
                priorities,
                overall: row("all", &all),
                mesh,
                memory,
                radio: radio_section(e),
                core_drops: s.core_drops.clone(),
                core_relays: s.core_relays,
                relay_targets_pruned: s.relay_targets_pruned,
                resumes: s.resumes,
                restarts: e.restart_records(),
                session: e.session_summary(),
                tree_relays: s.tree_relays,
                api_errors: s.api_errors.clone(),
                byzantine: (s.byzantine.replays_sent, s.byzantine.forged_sent, s.byzantine.unknown_deliveries, s.radio.blackholed),
                security: security.then(|| SecurityReport {
                    outsider_frames_accepted: s.outsider_accepted,
                    replays_accepted: s.byzantine.replays_accepted,
                    forged_accepted: s.byzantine.unknown_deliveries,
                    attempts: (s.byzantine.replays_sent, s.byzantine.forged_sent),
                    drops: s.security_drops.clone(),
                    critical_delivery_ratio: critical_ratio,
                    critical_acked_ratio: s.routing.delivery[Priority::Critical as usize].delivery_ratio(),
                    trust: crate::coordination::trust(e),
                }),
                cuts: s.cuts.iter().map(|(t, h)| (*t as f64 / SEC as f64, *h)).collect(),
                series: s
                    .series
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (i as f64 * sc.duration_s / s.series.len() as f64, b.sent, b.expected, b.delivered, b.alive, b.components))
                    .collect(),
            },
            timing: wall_s.map(|w| {
                let virt = sc.duration_s;
                let core_s = e.core_clock.total().as_secs_f64();
                Timing {
                    wall_s: w,
                    speedup: virt / w.max(1e-9),
                    core_s,
                    core_us_per_node_s: core_s * 1e6 / (sc.nodes as f64 * virt),
                    events_per_s: e.events as f64 / w.max(1e-9),
                }
            }),
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("serialisable")
    }

    /// The deterministic part as JSON (what the determinism test compares).
    pub fn deterministic_json(&self) -> String {
        serde_json::to_string(&self.deterministic).expect("serialisable")
    }
}

fn routing_section(e: &Engine) -> Routing {
    let r = &e.stats.routing;
    let s = &e.stats;
    let since = |t: Option<u64>, from: Option<u64>| match (t, from) {
        (Some(t), Some(f)) => Some(t.saturating_sub(f) as f64 / SEC as f64),
        _ => None,
    };
    let last_heal = s.cuts.iter().rev().find(|c| c.1).map(|c| c.0);
    Routing {
        convergence_s: since(r.complete_at, s.connected_at),
        convergence_after_heal_s: since(r.complete_after_heal_at, last_heal),
        forwarded: r.forwarded,
        flood_fallbacks: r.flood_fallbacks,
        route_computations: r.route_computations,
        adverts_sent: r.adverts_sent,
        acks_sent: r.acks_sent,
        acked: Priority::ALL
            .iter()
            .map(|p| {
                let d = &r.delivery[*p as usize];
                AckedRow {
                    priority: p.name().into(),
                    sent: d.sent,
                    delivered: d.delivered,
                    failed: d.failed,
                    retries: d.retries,
                    ratio: d.delivery_ratio(),
                    mean_ms: d.mean_latency_us().map(|u| ms(u as f64)),
                    max_ms: ms(d.latency_max_us as f64),
                }
            })
            .collect(),
    }
}

fn radio_section(e: &Engine) -> Radio {
    let s = &e.stats;
    let r = &e.scenario.radio;
    let end = e.end;
    let link_us: u64 = e.links.iter().map(|l| l.closed_at.unwrap_or(end).saturating_sub(l.opened_at)).sum();
    let links_up = e.links.iter().filter(|l| l.up).count() as u64;
    let alive = e.devices.iter().filter(|d| d.alive()).count().max(1);
    let degree = (2 * links_up) as f64 / alive as f64;
    let shared = libm::round(degree).max(1.0) as usize;
    let cap = r.link_pdus_per_s(shared);
    let load = &e.scenario.load;
    let load_s = (e.scenario.load_end_s() - load.start_s).max(0.0);
    let offered_msgs = s.priority.iter().map(|p| p.offered).sum::<u64>() as f64 / load_s.max(1e-9);
    let frame = load.payload_bytes + blemesh_core::wire::FRAME_HEADER_LEN + 1;
    let frags = if frame <= usize::from(r.mtu()) { 1.0 } else { frame.div_ceil(usize::from(r.mtu()) - 7) as f64 };
    // A flood crosses each link about (2L − N) / L times in total, i.e. (2L − N) / 2L per
    // direction; heartbeats add 1 / 400 ms per direction.
    let l = links_up.max(1) as f64;
    let per_dir_share = ((2.0 * l - alive as f64) / (2.0 * l)).max(0.5);
    let hb = 1.0 / e.core_config(0, 0).heartbeat_interval.as_secs_f64();
    let offered = offered_msgs * frags * per_dir_share + hb;
    let carried = s.radio.pdus_carried as f64 / 2.0 / (link_us as f64 / SEC as f64).max(1e-9);
    let mut verdict = String::new();
    if offered > cap {
        let _ = write!(
            verdict,
            "over capacity: about {offered:.0} PDUs/s per link direction offered, the radio carries at most {cap:.0} \
             ({} PDU(s) of {} B per {} ms connection event with {shared} links sharing each radio); \
             {} PDUs dropped at full radio queues; the radio sustains about {:.2} msg/s per node \
             (offered {:.2})",
            r.pdus_per_event(shared),
            r.mtu(),
            r.connection_interval_ms,
            s.radio.radio_queue_drops,
            ((cap - hb).max(0.0) / (frags * per_dir_share)) / alive as f64,
            offered_msgs / alive as f64,
        );
    } else {
        let _ = write!(verdict, "within capacity: about {offered:.1} of {cap:.0} PDUs/s per link direction");
    }
    Radio {
        links_opened: s.radio.links_opened,
        links_broken: s.radio.links_broken,
        links_up_end: links_up,
        pdus_queued: s.radio.pdus_queued,
        pdus_carried: s.radio.pdus_carried,
        retransmissions: s.radio.retransmissions,
        radio_queue_drops: s.radio.radio_queue_drops,
        lost_on_break: s.radio.lost_on_break,
        max_radio_queue: s.radio.max_radio_queue,
        connection_interval_ms: r.connection_interval_ms,
        connection_updates: s.radio.connection_updates,
        mean_interval_end_ms: {
            let up: Vec<u64> = e.links.iter().filter(|l| l.up).map(|l| l.interval_us).collect();
            let mean_us = up.iter().sum::<u64>() as f64 / up.len().max(1) as f64;
            (mean_us / 100.0).round() / 10.0
        },
        mtu: r.mtu(),
        capacity_pdus_per_link_dir_s: cap,
        capacity_bytes_per_link_dir_s: cap * f64::from(r.mtu()),
        offered_pdus_per_link_dir_s: (offered * 10.0).round() / 10.0,
        carried_pdus_per_link_dir_s: (carried * 10.0).round() / 10.0,
        offered_msgs_s: (offered_msgs * 10.0).round() / 10.0,
        verdict,
    }
}
