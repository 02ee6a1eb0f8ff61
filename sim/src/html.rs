//! A self-contained HTML report with inline SVG: the topology (links coloured by quality,
//! coordinators and partitions marked), the latency CDF per priority, delivery over time,
//! the election and partition timeline ([`crate::html_timeline`]), routing
//! ([`crate::html_routing`]) and security ([`crate::html_security`]). No scripts, no
//! external files.

use std::fmt::Write as _;

use crate::engine::Engine;
use crate::netjson::graph_links;
use crate::report::Report;
use crate::svg::{escape, palette};
use crate::timeline::NO_COMPONENT;

const W: f64 = 640.0;
const H: f64 = 360.0;
const PAD: f64 = 40.0;
const COLOURS: [&str; 4] = ["#c0392b", "#e67e22", "#2980b9", "#7f8c8d"];

/// Colour of a link of packet success probability `q`.
pub fn quality_colour(q: f64) -> &'static str {
    if q >= 0.99 {
        "#27ae60"
    } else if q >= 0.9 {
        "#f1c40f"
    } else if q >= 0.7 {
        "#e67e22"
    } else {
        "#c0392b"
    }
}

/// Per device: the component colour when the confirmed-link graph is split at the end.
fn partition_fill(e: &Engine) -> Vec<Option<&'static str>> {
    let roots = e.mesh_roots();
    // Components numbered in order of their first device.
    let mut rank = vec![u32::MAX; roots.len()];
    let mut count = 0;
    for &r in roots.iter().filter(|&&r| r != NO_COMPONENT) {
        if rank[r as usize] == u32::MAX {
            rank[r as usize] = count;
            count += 1;
        }
    }
    roots.iter().map(|&r| (count > 1 && r != NO_COMPONENT).then(|| palette(rank[r as usize] as usize))).collect()
}

/// Scripted cuts drawn on the topology: a dashed line along `split_x_m`, or a red outline
/// around a cut-off group.
fn cut_marks(o: &mut String, e: &Engine, px: &impl Fn(f64) -> f64, height: f64) {
    for c in &e.scenario.cut {
        let when = match c.heal_s {
            Some(h) => format!("cut {}–{h} s", c.at_s),
            None => format!("cut from {} s", c.at_s),
        };
        if let Some(x) = c.split_x_m {
            let _ = write!(
                o,
                r##"<line x1="{x:.1}" y1="{PAD}" x2="{x:.1}" y2="{:.1}" stroke="#c0392b" stroke-dasharray="6,3"><title>{when}</title></line><text x="{:.1}" y="{:.1}" font-size="10" fill="#c0392b">{when}</text>"##,
                height - PAD + 10.0,
                px(x) + 4.0,
                PAD - 6.0,
                x = px(x)
            );
        } else {
            for d in e.devices.iter().filter(|d| c.group.contains(&d.id.0)) {
                let _ = write!(o, r##"<circle cx="{:.1}" cy="{:.1}" r="8" fill="none" stroke="#c0392b" stroke-dasharray="2,2"><title>{when}</title></circle>"##, px(d.pos.x), px(d.pos.y));
            }
        }
    }
}

fn topology(e: &Engine) -> String {
    let (w, h) = (e.scenario.area.width_m.max(1.0), e.scenario.area.height_m.max(1.0));
    let scale = ((W - 2.0 * PAD) / w).min((H * 1.5 - 2.0 * PAD) / h);
    let px = |x: f64| PAD + x * scale;
    let mut o = String::new();
    let height = h * scale + 2.0 * PAD;
    let _ = write!(o, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height:.0}" role="img"><title>Topology</title>"#);
    let big = e.devices.len() > 2000;
    for l in graph_links(e) {
        let (a, b) = (e.devices[l.a as usize].pos, e.devices[l.b as usize].pos);
        let dash = if l.confirmed { "" } else { r#" stroke-dasharray="3,3""# };
        let _ = write!(
            o,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="{}"{dash}><title>{} – {}: {} dBm, quality {}, ETX {}</title></line>"#,
            px(a.x),
            px(a.y),
            px(b.x),
            px(b.y),
            quality_colour(l.quality),
            if big { 0.5 } else { 1.5 },
            l.a + 1,
            l.b + 1,
            l.rssi,
            l.quality,
            l.cost
        );
    }
    cut_marks(&mut o, e, &px, height);
    let fills = partition_fill(e);
    // Per device: live nodes following it, and the term.
    let mut led = vec![(0usize, 0u32); e.devices.len()];
    for (term, c) in e.devices.iter().filter_map(|d| d.node.as_ref()?.coordinator()) {
        if let Some(j) = e.index_of(c) {
            led[j as usize] = (led[j as usize].0 + 1, term);
        }
    }
    for (k, d) in e.devices.iter().enumerate() {
        let fill = if !d.alive() { "#bdc3c7" } else { fills[k].unwrap_or("#34495e") };
        let r = if big { 1.0 } else { 5.0 };
        let number = k + 1;
        let (followers, term) = led[k];
        let _ = write!(o, r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{fill}"><title>node {number}</title></circle>"#, px(d.pos.x), px(d.pos.y));
        if followers > 0 {
            let _ = write!(
                o,
                r##"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="none" stroke="#f1c40f" stroke-width="3"><title>node {number}: coordinator (term {}), followed by {followers}</title></circle>"##,
                px(d.pos.x),
                px(d.pos.y),
                r + 4.0,
                term
            );
        }
        if !big && e.devices.len() <= 100 {
            let tag = if followers > 0 { " C" } else { "" };
            let _ = write!(o, r#"<text x="{:.1}" y="{:.1}" font-size="9">{number}{tag}</text>"#, px(d.pos.x) + 6.0, px(d.pos.y) - 6.0);
        }
    }
    o.push_str("</svg>");
    o
}

fn axes(o: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img"><title>{title}</title><line x1="{PAD}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#333"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{y0}" stroke="#333"/><text x="{xm}" y="{yl}" font-size="11" text-anchor="middle">{x_label}</text><text x="12" y="{ym}" font-size="11" transform="rotate(-90 12 {ym})" text-anchor="middle">{y_label}</text>"##,
        y0 = H - PAD,
        x1 = W - PAD,
        xm = W / 2.0,
        yl = H - 8.0,
        ym = H / 2.0
    );
}

fn latency_cdf(report: &Report) -> String {
    let mut o = String::new();
    axes(&mut o, "Latency CDF", "latency (ms, log scale)", "fraction delivered");
    let max_ms = report.deterministic.priorities.iter().flat_map(|r| r.cdf.last()).map(|p| p.0).fold(1.0f64, f64::max);
    let (lo, hi) = (0.0f64, libm::log10(max_ms.max(10.0)));
    let x = |ms: f64| PAD + (libm::log10(ms.max(1.0)) - lo) / (hi - lo) * (W - 2.0 * PAD);
    let y = |f: f64| H - PAD - f * (H - 2.0 * PAD);
    let mut decade = 1.0;
    while decade <= max_ms.max(10.0) {
        let _ = write!(o, r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{decade}</text>"#, x(decade), H - PAD + 12.0);
        decade *= 10.0;
    }
    for (i, r) in report.deterministic.priorities.iter().enumerate() {
        if r.cdf.is_empty() {
            continue;
        }
        let pts: Vec<String> = r.cdf.iter().map(|(ms, f)| format!("{:.1},{:.1}", x(*ms), y(*f))).collect();
        let _ = write!(o, r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>"#, COLOURS[i], pts.join(" "));
        let _ = write!(o, r#"<text x="{:.0}" y="{:.0}" font-size="11" fill="{}">{}</text>"#, W - PAD - 90.0, PAD + 14.0 * i as f64, COLOURS[i], r.priority);
    }
    o.push_str("</svg>");
    o
}

fn delivery_over_time(report: &Report) -> String {
    let d = &report.deterministic;
    let mut o = String::new();
    axes(&mut o, "Delivery over time", "send time (s)", "delivery ratio");
    let n = d.series.len().max(1) as f64;
    let bw = (W - 2.0 * PAD) / n;
    for (i, (t, _, expected, delivered, _, _)) in d.series.iter().enumerate() {
        if *expected == 0 {
            continue;
        }
        let ratio = *delivered as f64 / *expected as f64;
        let bh = ratio * (H - 2.0 * PAD);
        let _ = write!(
            o,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#2980b9"><title>{t:.0} s: {:.1} %</title></rect>"##,
            PAD + i as f64 * bw,
            H - PAD - bh,
            (bw - 1.0).max(0.5),
            bh,
            ratio * 100.0
        );
    }
    for (t, heal) in report_cuts(d) {
        let xx = PAD + t / d.duration_s * (W - 2.0 * PAD);
        let colour = if heal { "#27ae60" } else { "#c0392b" };
        let _ = write!(o, r#"<line x1="{xx:.1}" y1="{PAD}" x2="{xx:.1}" y2="{:.1}" stroke="{colour}" stroke-dasharray="4,2"/>"#, H - PAD);
    }
    let _ = write!(o, r#"<text x="{:.1}" y="{:.1}" font-size="9">0</text><text x="{:.1}" y="{:.1}" font-size="9" text-anchor="end">{}</text>"#, PAD, H - PAD + 12.0, W - PAD, H - PAD + 12.0, d.duration_s);
    o.push_str("</svg>");
    o
}

fn report_cuts(d: &crate::report::Results) -> Vec<(f64, bool)> {
    d.cuts.clone()
}

/// One sentence per measurement of the timeline.
fn election_summary(report: &Report) -> String {
    let m = &report.deterministic.mesh;
    let el = &m.election;
    let mut s = match (el.first_coordinator, el.first_coordinator_s) {
        (Some((n, t)), Some(at)) => format!("Node {n} (term {t}) was the first coordinator every node agreed on, at {at:.2} s. "),
        _ => "The nodes never all agreed on one coordinator. ".into(),
    };
    let _ = write!(s, "{} coordinator changes. ", el.coordinator_changes);
    for c in &m.partitions.cuts {
        match c.detection_s {
            Some(dt) => {
                let _ = write!(s, "Cut at {} s: detected by all {} affected nodes within {dt:.2} s. ", c.at_s, c.affected);
            }
            None => {
                let _ = write!(s, "Cut at {} s: detected by {} of {} affected nodes. ", c.at_s, c.detected, c.affected);
            }
        }
    }
    if let Some(r) = m.partitions.heal_success_ratio {
        let _ = write!(s, "Healing: {}/{} heals succeeded within {} s ({:.0} %)", m.partitions.heals_succeeded, m.partitions.heals.len(), m.partitions.heal_deadline_s, r * 100.0);
        for h in &m.partitions.heals {
            let _ = write!(s, "; heal at {} s: one coordinator after {}", h.at_s, h.one_coordinator_s.map_or_else(|| "never".into(), |t| format!("{t:.2} s")));
        }
        s.push('.');
    }
    s
}

/// Delivery judged against reachable receivers, and the causes of what was missed.
fn reachable(report: &Report) -> String {
    let d = &report.deterministic;
    let mut o = String::from(
        "<p>A receiver is reachable when usable radio links joined it to the sender when it sent. Each reachable receiver missed is given the first cause that holds, in this order (see the simulator's <code>loss</code> module).</p>\n<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>priority</th><th>expected</th><th>unreachable at send</th><th>reachable</th><th>delivered</th><th>ratio</th>",
    );
    let names = crate::loss::LossCounts::default().named();
    for (name, _) in names {
        let _ = write!(o, "<th>{name}</th>");
    }
    o.push_str("</tr>\n");
    for r in d.priorities.iter().chain([&d.overall]) {
        let ratio = r.reachable_ratio.map_or_else(|| "–".to_string(), |v| format!("{:.2} %", v * 100.0));
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><b>{ratio}</b></td>",
            r.priority, r.expected, r.unreachable_at_send, r.reachable, r.delivered_reachable
        );
        for (_, n) in r.reachable_lost.named() {
            let _ = write!(o, "<td>{n}</td>");
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>");
    o
}

/// The scripted restarts as a table (seconds after the restarted node's first confirmed link).
fn session(report: &Report) -> String {
    let Some(s) = &report.deterministic.session else {
        return "<p>No game session in this scenario.</p>".into();
    };
    let mut o = String::from(
        "<p>Players submit game events; the coordinator of their partition sequences them, and every member applies them in one order. Latencies are over the events of the final history, from the submit; plain High-priority messages of the same run beside them.</p>\n<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">\n",
    );
    for (name, value) in s.lines() {
        let _ = writeln!(o, "<tr><th align=\"left\">{}</th><td>{}</td></tr>", escape(name), escape(&value));
    }
    o.push_str("</table>");
    o
}

fn restarts(report: &Report) -> String {
    let d = &report.deterministic;
    if d.restarts.is_empty() {
        return "<p>No scripted restarts in this scenario.</p>".into();
    }
    let s = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"));
    let mut o = String::from(
        "<p>Each restarted node powers off and comes back fresh. Times are seconds after its first confirmed link: the first broadcast of another node it delivers, and the first routed unicast to and from the node farthest from it (probes every 50 ms).</p>\n<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\"><tr><th>node</th><th>off at</th><th>on at</th><th>linked after</th><th>partner</th><th>broadcast in</th><th>unicast out</th><th>unicast in</th><th>routable</th></tr>\n",
    );
    for r in &d.restarts {
        let partner = r.partner.map_or_else(|| "–".to_string(), |p| p.to_string());
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{partner}</td><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b></td></tr>",
            r.node,
            s(r.off_s),
            s(r.on_s),
            s(r.linked_after_s),
            s(r.broadcast_in_s),
            s(r.unicast_out_s),
            s(r.unicast_in_s),
            s(r.routable_s())
        );
    }
    o.push_str("</table>");
    o
}

/// The whole HTML document.
pub fn render(report: &Report, engine: &Engine) -> String {
    let d = &report.deterministic;
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>blemesh-sim: {name}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1000px}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}h2{{margin-top:1.5em}}</style>
</head><body>
<h1>blemesh-sim: {name} (seed {seed})</h1>
<h2>Topology at the end</h2>
<p>Links coloured by packet success: green ≥ 99 %, yellow ≥ 90 %, orange ≥ 70 %, red below; dashed = not confirmed by the core. Gold ring and “C”: a coordinator live nodes follow at the end; node colours: connected components when the mesh is split at the end; red dashed: scripted cuts.</p>
{topology}
<h2>Latency CDF per priority</h2>
{cdf}
<h2>Delivery over time</h2>
<p>Bars: fraction of expected receivers reached, by send time. Dashed red: cut; dashed green: heal.</p>
{series}
<h2>Delivery to reachable receivers</h2>
{reachable}
<h2>Election and partition timeline</h2>
<p>{election_summary}</p>
<p>Bars: coordinator tenures (node, term). Ticks: the nodes' Partitioned (red), Healed (green) and Joined (blue) events. Line: connected components of the confirmed links. Dashed red/green: scripted cut/heal. Dots: mesh formed (grey), first agreed coordinator (gold), cut detected by every affected node (red), every side led (orange), one coordinator after the heal (green).</p>
{timeline}
<h2>Routing</h2>
{routing}
<h2>Restarts</h2>
{restarts}
<h2>Game session</h2>
{session}
<h2>Security</h2>
{security}
<h2>Report</h2>
<pre>{table}</pre>
</body></html>
"#,
        name = escape(&d.scenario),
        seed = d.seed,
        topology = topology(engine),
        cdf = latency_cdf(report),
        series = delivery_over_time(report),
        reachable = reachable(report),
        election_summary = escape(&election_summary(report)),
        timeline = crate::html_timeline::render(report, engine),
        routing = crate::html_routing::render(report),
        restarts = restarts(report),
        session = session(report),
        security = crate::html_security::render(report),
        table = escape(&crate::table::render(report)),
    )
}
