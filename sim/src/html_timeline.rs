//! The election and partition timeline picture of the HTML report: coordinator tenures,
//! the nodes' partition events, connected components over time, scripted cuts and heals, and
//! the measured instants (mesh formed, first agreed coordinator, cut detected, sides led,
//! heal merged and led).

use std::fmt::Write as _;

use crate::engine::{Engine, SEC};
use crate::report::Report;
use crate::svg::{WIDTH, escape, palette, tick_step};
use crate::timeline::MarkKind;

const LEFT: f64 = 100.0;
const RIGHT: f64 = 16.0;
const ROW: f64 = 16.0;
const MAX_ROWS: usize = 4;

/// Assigns each `(start, end)` interval (in start order) the first row free at its start;
/// with every row busy, the row that frees first (bars then overlap).
fn rows(intervals: &[(u64, u64)]) -> (Vec<usize>, usize) {
    let mut ends: Vec<u64> = Vec::new();
    let mut out = Vec::with_capacity(intervals.len());
    for &(start, end) in intervals {
        let row = match ends.iter().position(|&e| e <= start) {
            Some(r) => r,
            None if ends.len() < MAX_ROWS => {
                ends.push(0);
                ends.len() - 1
            }
            None => (0..ends.len()).min_by_key(|&r| ends[r]).unwrap_or(0),
        };
        ends[row] = end;
        out.push(row);
    }
    (out, ends.len().max(1))
}

/// The timeline SVG.
pub fn render(report: &Report, e: &Engine) -> String {
    let d = &report.deterministic;
    let tl = &e.stats.timeline;
    let span = e.end.max(1) as f64;
    let x = |us: u64| LEFT + us as f64 / span * (WIDTH - LEFT - RIGHT);
    let xs = |s: f64| x((s * SEC as f64) as u64);
    let intervals: Vec<(u64, u64)> = tl.tenures.iter().map(|t| (t.start, t.end.unwrap_or(e.end))).collect();
    let (row_of, n_rows) = rows(&intervals);
    let coord_top = 30.0;
    let marks_top = coord_top + ROW * n_rows as f64 + 12.0;
    let comp_top = marks_top + 3.0 * 12.0 + 12.0;
    let comp_h = 50.0;
    let axis_y = comp_top + comp_h;
    let height = axis_y + 30.0;
    let mut o = String::new();
    let _ = write!(o, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" role="img"><title>Election and partition timeline</title>"#);
    let label = |o: &mut String, y: f64, text: &str| {
        let _ = write!(o, r#"<text x="{:.0}" y="{y:.1}" font-size="10" text-anchor="end">{text}</text>"#, LEFT - 6.0);
    };
    // Coordinator tenures.
    label(&mut o, coord_top + 11.0, "coordinator");
    for ((t, &(start, end)), &row) in tl.tenures.iter().zip(&intervals).zip(&row_of) {
        let (x0, x1) = (x(start), x(end));
        let y = coord_top + ROW * row as f64;
        let _ = write!(
            o,
            r##"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{:.0}" fill="{}" opacity="0.85"><title>node {} coordinator of term {}: {:.2}–{:.2} s</title></rect>"##,
            (x1 - x0).max(1.0),
            ROW - 3.0,
            palette(t.device as usize),
            t.device + 1,
            t.term,
            start as f64 / SEC as f64,
            end as f64 / SEC as f64
        );
        if x1 - x0 > 46.0 {
            let _ = write!(o, r##"<text x="{:.1}" y="{:.1}" font-size="9" fill="#fff">n{} t{}</text>"##, x0 + 3.0, y + 10.0, t.device + 1, t.term);
        }
    }
    // Partition events, one line per time column and kind.
    let kinds = [(MarkKind::Partitioned, "Partitioned", "#c0392b"), (MarkKind::Healed, "Healed", "#27ae60"), (MarkKind::Joined, "Joined", "#2980b9")];
    for (k, (kind, name, colour)) in kinds.iter().enumerate() {
        let y = marks_top + 12.0 * k as f64;
        label(&mut o, y + 9.0, name);
        for c in tl.marks.iter().filter(|c| c.counts[*kind as usize] > 0) {
            let (count, at) = (c.counts[*kind as usize], c.first[*kind as usize]);
            let px = x(at);
            let _ = write!(
                o,
                r#"<line x1="{px:.1}" y1="{y:.1}" x2="{px:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"><title>{count} × {name} from {:.2} s</title></line>"#,
                y + 10.0,
                at as f64 / SEC as f64
            );
        }
    }
    // Connected components of the confirmed-link graph, per sample bucket.
    label(&mut o, comp_top + 4.0, "components");
    let max_c = d.series.iter().map(|s| s.5).max().unwrap_or(1).max(2);
    let yc = |c: u32| axis_y - f64::from(c) / f64::from(max_c) * comp_h;
    let mut pts = Vec::new();
    for (k, s) in d.series.iter().enumerate() {
        let end = d.series.get(k + 1).map_or(d.duration_s, |n| n.0);
        if s.4 == 0 {
            continue;
        }
        pts.push(format!("{:.1},{:.1} {:.1},{:.1}", xs(s.0), yc(s.5), xs(end), yc(s.5)));
    }
    let _ = write!(o, r##"<polyline fill="none" stroke="#34495e" stroke-width="1.5" points="{}"><title>connected components (most: {max_c})</title></polyline>"##, pts.join(" "));
    for c in [1, max_c] {
        let _ = write!(o, r#"<text x="{:.0}" y="{:.1}" font-size="9" text-anchor="end">{c}</text>"#, LEFT - 6.0, yc(c) + 3.0);
    }
    // Axis.
    let _ = write!(o, r##"<line x1="{LEFT}" y1="{axis_y:.1}" x2="{:.1}" y2="{axis_y:.1}" stroke="#333"/>"##, WIDTH - RIGHT);
    let step = tick_step(d.duration_s, 10);
    let mut t = 0.0;
    while t <= d.duration_s + 1e-9 {
        let _ = write!(o, r#"<text x="{:.1}" y="{:.1}" font-size="9" text-anchor="middle">{t}</text>"#, xs(t), axis_y + 12.0);
        t += step;
    }
    let _ = write!(o, r#"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle">time (s)</text>"#, (LEFT + WIDTH) / 2.0, axis_y + 26.0);
    // Scripted cuts and heals across every lane.
    for &(at, heal) in &d.cuts {
        let colour = if heal { "#27ae60" } else { "#c0392b" };
        let _ = write!(
            o,
            r#"<line x1="{xx:.1}" y1="{coord_top}" x2="{xx:.1}" y2="{axis_y:.1}" stroke="{colour}" stroke-dasharray="4,2"><title>{} at {at} s</title></line>"#,
            if heal { "heal" } else { "cut" },
            xx = xs(at)
        );
    }
    // Measured instants.
    let el = &d.mesh.election;
    let mut marker = |s: f64, colour: &str, what: String| {
        let _ = write!(
            o,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}" stroke="#000" stroke-width="0.5"><title>{}</title></circle>"##,
            xs(s),
            coord_top - 6.0,
            escape(&what)
        );
    };
    if let Some(s) = el.mesh_formed_s {
        marker(s, "#95a5a6", format!("mesh formed at {s:.2} s"));
    }
    if let (Some(s), Some((n, term))) = (el.first_coordinator_s, el.first_coordinator) {
        marker(s, "#f1c40f", format!("node {n} (term {term}) agreed by every node at {s:.2} s"));
    }
    for c in &d.mesh.partitions.cuts {
        if let Some(dt) = c.detection_s {
            marker(c.at_s + dt, "#c0392b", format!("cut at {} s detected by all {} affected nodes after {dt:.2} s", c.at_s, c.affected));
        }
        if let Some(dt) = c.sides_elected_s {
            marker(c.at_s + dt, "#e67e22", format!("every side led by its own coordinator {dt:.2} s after the cut"));
        }
    }
    for h in &d.mesh.partitions.heals {
        if let Some(dt) = h.one_coordinator_s {
            marker(h.at_s + dt, "#27ae60", format!("heal at {} s: one coordinator after {dt:.2} s", h.at_s));
        }
    }
    o.push_str("</svg>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenures_share_rows_only_when_they_do_not_overlap() {
        let (r, n) = rows(&[(0, 10), (5, 20), (10, 30), (21, 25)]);
        assert_eq!(r, vec![0, 1, 0, 1]);
        assert_eq!(n, 2);
        let many: Vec<(u64, u64)> = (0..6).map(|k| (k, 100)).collect();
        let (r, n) = rows(&many);
        assert_eq!(n, MAX_ROWS);
        assert!(r.iter().all(|&row| row < MAX_ROWS));
    }
}
