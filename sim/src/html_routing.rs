//! The routing section of the HTML report: route convergence, the routing work of the whole
//! mesh, and acknowledged (end-to-end) delivery per priority.

use std::fmt::Write as _;

use crate::report::Report;
use crate::svg::{Bar, bar_chart};

fn opt_s(v: Option<f64>) -> String {
    v.map_or_else(|| "never".into(), |s| format!("{s:.1} s"))
}

/// The section's HTML (text and two SVG charts).
pub fn render(report: &Report) -> String {
    let r = &report.deterministic.mesh.routing;
    let mut o = String::new();
    let _ = write!(
        o,
        "<p>Route convergence (every live node routes to every other, at the resolution of the sample interval): <b>{}</b> after the mesh connected, <b>{}</b> after the last heal.</p>",
        opt_s(r.convergence_s),
        opt_s(r.convergence_after_heal_s)
    );
    let work = [
        ("table computations", r.route_computations, "#8e44ad"),
        ("topology adverts sent", r.adverts_sent, "#16a085"),
        ("unicasts forwarded on routes", r.forwarded, "#2980b9"),
        ("unicasts flooded (no route)", r.flood_fallbacks, "#c0392b"),
        ("end-to-end acks sent", r.acks_sent, "#7f8c8d"),
    ];
    let bars: Vec<Bar> =
        work.iter().map(|(label, v, colour)| Bar { label: (*label).into(), value: *v as f64, text: v.to_string(), colour }).collect();
    o.push_str(&bar_chart("Routing work, all nodes, whole run", &bars, None));
    let acked: Vec<Bar> = r
        .acked
        .iter()
        .map(|a| {
            let text = match a.ratio {
                _ if a.sent == 0 => "none sent".to_string(),
                Some(ratio) => format!(
                    "{}/{} acked, {} failed ({:.1} %), mean {}",
                    a.delivered,
                    a.sent,
                    a.failed,
                    ratio * 100.0,
                    a.mean_ms.map_or_else(|| "-".into(), |m| format!("{m:.0} ms"))
                ),
                None => format!("{} sent, none decided", a.sent),
            };
            Bar { label: a.priority.clone(), value: a.ratio.unwrap_or(0.0) * 100.0, text, colour: "#27ae60" }
        })
        .collect();
    o.push_str(&bar_chart("Acknowledged delivery per priority (Qos::reliable, % of decided)", &acked, Some(100.0)));
    o
}
