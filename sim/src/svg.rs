//! Small SVG building blocks shared by the HTML report's pictures: escaping, a horizontal
//! bar chart and time-axis ticks. Everything is written as plain, well-formed XML.

use std::fmt::Write as _;

/// Width of the report's pictures, px.
pub const WIDTH: f64 = 640.0;

/// Escapes text and attribute values for XML and HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One bar of [`bar_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// Length, in the chart's unit.
    pub value: f64,
    /// Text right of the bar (the figure as the reader should see it).
    pub text: String,
    /// Fill colour.
    pub colour: &'static str,
}

/// A horizontal bar chart titled `title`; bars are scaled to `max` (or the largest value
/// when `max` is `None`). Zero-length bars still show their text.
pub fn bar_chart(title: &str, bars: &[Bar], max: Option<f64>) -> String {
    const ROW: f64 = 22.0;
    const LABEL: f64 = 190.0;
    // Room for the longest figure right of its bar (about 6 px per character at 11 px).
    let text = bars.iter().map(|b| b.text.chars().count()).max().unwrap_or(0) as f64 * 6.2 + 8.0;
    let height = 30.0 + ROW * bars.len().max(1) as f64 + 10.0;
    let top = max.unwrap_or_else(|| bars.iter().map(|b| b.value).fold(0.0, f64::max)).max(f64::MIN_POSITIVE);
    let span = (WIDTH - LABEL - text - 10.0).max(60.0);
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" role="img"><title>{t}</title><text x="4" y="16" font-size="12" font-weight="bold">{t}</text>"#,
        t = escape(title)
    );
    for (k, b) in bars.iter().enumerate() {
        let y = 30.0 + ROW * k as f64;
        let w = (b.value / top).clamp(0.0, 1.0) * span;
        let _ = write!(
            o,
            r#"<text x="{:.0}" y="{:.1}" font-size="11" text-anchor="end">{}</text><rect x="{LABEL}" y="{:.1}" width="{w:.1}" height="{:.0}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
            LABEL - 6.0,
            y + 14.0,
            escape(&b.label),
            y + 3.0,
            ROW - 6.0,
            b.colour,
            escape(&b.label),
            escape(&b.text),
            LABEL + w + 4.0,
            y + 14.0,
            escape(&b.text)
        );
    }
    o.push_str("</svg>");
    o
}

/// A tick spacing of 1, 2 or 5 × 10^k giving at most about `max_ticks` ticks over `span`.
pub fn tick_step(span: f64, max_ticks: usize) -> f64 {
    let raw = span.max(1e-3) / max_ticks.max(1) as f64;
    let mut decade = 1e-3;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * decade >= raw {
                return m * decade;
            }
        }
        decade *= 10.0;
    }
}

/// A colour for item `k` of a categorical series.
pub fn palette(k: usize) -> &'static str {
    const P: [&str; 8] = ["#8e44ad", "#16a085", "#d35400", "#2c3e50", "#c0392b", "#2980b9", "#27ae60", "#f39c12"];
    P[k % P.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_few() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b;
        assert!(close(tick_step(150.0, 10), 20.0));
        assert!(close(tick_step(3600.0, 8), 500.0));
        assert!(close(tick_step(5.0, 10), 0.5));
        assert!(150.0 / tick_step(150.0, 6) <= 6.0);
    }

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let bars = [
            Bar { label: "a<b".into(), value: 10.0, text: "10".into(), colour: "#000" },
            Bar { label: "c".into(), value: 5.0, text: "5".into(), colour: "#000" },
        ];
        let svg = bar_chart("t & u", &bars, None);
        assert!(svg.contains("a&lt;b") && svg.contains("t &amp; u") && !svg.contains("a<b"));
        let widths: Vec<f64> = svg
            .split("width=\"")
            .skip(2)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(widths.len(), 2);
        assert!((widths[0] - 2.0 * widths[1]).abs() < 0.2, "{widths:?}");
    }
}
