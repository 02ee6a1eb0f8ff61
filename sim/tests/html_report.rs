//! The HTML report of the default and secure scenarios: every section is there with figures
//! of the run, and every SVG picture is well-formed XML.

use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::html;
use blemesh_sim::report::Report;
use blemesh_sim::scenario::Scenario;

/// Checks that `xml` is one well-formed element: tags nest and close, attribute values are
/// quoted, `&` starts a known entity or a character reference, no `<` in text. Returns the
/// number of elements.
fn well_formed(xml: &str) -> Result<usize, String> {
    let b = xml.as_bytes();
    let (mut i, mut stack, mut elements) = (0, Vec::<&str>::new(), 0);
    let entity = |at: usize| -> Result<usize, String> {
        let end = xml[at..].find(';').ok_or(format!("unterminated entity at {at}"))? + at;
        let name = &xml[at + 1..end];
        let known = ["amp", "lt", "gt", "quot", "apos"].contains(&name)
            || name.strip_prefix('#').is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if known { Ok(end + 1) } else { Err(format!("unknown entity &{name}; at {at}")) }
    };
    while i < b.len() {
        match b[i] {
            b'<' if b.get(i + 1) == Some(&b'/') => {
                let end = xml[i..].find('>').ok_or("unterminated end tag")? + i;
                let name = xml[i + 2..end].trim();
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?} at {i}")),
                }
                i = end + 1;
                if stack.is_empty() && xml[i..].trim().is_empty() {
                    return Ok(elements);
                }
            }
            b'<' => {
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'-' || b[j] == b':') {
                    j += 1;
                }
                let name = &xml[i + 1..j];
                if name.is_empty() {
                    return Err(format!("bad tag at {i}"));
                }
                // Attributes: name="value" pairs until > or />.
                loop {
                    while b.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
                        j += 1;
                    }
                    match b.get(j) {
                        Some(b'>') => {
                            stack.push(name);
                            j += 1;
                            break;
                        }
                        Some(b'/') if b.get(j + 1) == Some(&b'>') => {
                            j += 2;
                            break;
                        }
                        Some(c) if c.is_ascii_alphabetic() => {
                            while b.get(j).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b':') {
                                j += 1;
                            }
                            if b.get(j) != Some(&b'=') || b.get(j + 1) != Some(&b'"') {
                                return Err(format!("unquoted attribute in <{name}> at {j}"));
                            }
                            j += 2;
                            while b.get(j) != Some(&b'"') {
                                match b.get(j) {
                                    None | Some(b'<') => return Err(format!("bad attribute value in <{name}>")),
                                    Some(b'&') => j = entity(j)?,
                                    _ => j += 1,
                                }
                            }
                            j += 1;
                        }
                        _ => return Err(format!("bad attribute syntax in <{name}> at {j}")),
                    }
                }
                elements += 1;
                i = j;
            }
            b'&' => i = entity(i)?,
            _ if stack.is_empty() => return Err(format!("text outside the element at {i}")),
            _ => i += 1,
        }
    }
    Err(format!("unclosed {stack:?}"))
}

/// Every `<svg>…</svg>` of `page`.
fn svgs(page: &str) -> Vec<&str> {
    page.match_indices("<svg").map(|(at, _)| &page[at..at + page[at..].find("</svg>").expect("closed") + 6]).collect()
}

/// The part of `page` from heading `h` to the next heading.
fn section<'a>(page: &'a str, h: &str) -> &'a str {
    let start = page.find(&format!("<h2>{h}</h2>")).unwrap_or_else(|| panic!("no section {h}"));
    let rest = &page[start + 4..];
    &rest[..rest.find("<h2>").unwrap_or(rest.len())]
}

fn render(s: Scenario) -> (Report, String) {
    let mut engine = Engine::new(s).unwrap();
    engine.run();
    let report = Report::build(&engine, None);
    let page = html::render(&report, &engine);
    (report, page)
}

fn check_svgs(page: &str, expected: usize) {
    let all = svgs(page);
    assert_eq!(all.len(), expected);
    for svg in all {
        let n = well_formed(svg).unwrap_or_else(|e| panic!("{e}: {}", &svg[..svg.len().min(300)]));
        assert!(n > 3, "a picture with content: {svg}");
    }
}

#[test]
fn the_checker_rejects_malformed_svg() {
    assert_eq!(well_formed(r#"<svg a="1"><g><line x="2"/></g><text>a &amp; b</text></svg>"#), Ok(4));
    for bad in [
        "<svg><g></svg>",
        r#"<svg a=1></svg>"#,
        "<svg><text>a & b</text></svg>",
        "<svg><text>a &bogus; b</text></svg>",
        r#"<svg a="x<y"></svg>"#,
        "<svg><g>",
    ] {
        assert!(well_formed(bad).is_err(), "{bad}");
    }
}

#[test]
fn default_scenario_report_shows_timeline_routing_and_partitions() {
    let mut s = builtin::default();
    s.duration_s = 115.0;
    let (report, page) = render(s);
    let d = &report.deterministic;
    // Topology, CDF, delivery, timeline, routing work, acknowledged delivery, Byzantine counters.
    check_svgs(&page, 7);

    let topology = section(&page, "Topology at the end");
    let &(node, term, followers) = d.mesh.election.coordinators_end.first().expect("a coordinator at the end");
    assert!(topology.contains(&format!("node {node}: coordinator (term {term}), followed by {followers}")), "coordinator marked");
    assert!(topology.contains(&format!(">{node} C<")), "coordinator labelled");
    assert!(topology.contains("cut 60–100 s"), "the cut is drawn");

    let timeline = section(&page, "Election and partition timeline");
    let (first, first_term) = d.mesh.election.first_coordinator.unwrap();
    assert!(timeline.contains(&format!("node {first} coordinator of term {first_term}:")), "first coordinator's tenure");
    let cut = &d.mesh.partitions.cuts[0];
    assert!(timeline.contains(&format!("detected by all {} affected nodes within {:.2} s", cut.affected, cut.detection_s.unwrap())));
    assert!(timeline.contains("<title>cut at 60 s</title>") && timeline.contains("<title>heal at 100 s</title>"));
    let heal = &d.mesh.partitions.heals[0];
    assert!(timeline.contains(&format!("one coordinator after {:.2} s", heal.one_coordinator_s.unwrap())));
    assert!(timeline.contains("× Partitioned from"), "partition events drawn");

    let routing = section(&page, "Routing");
    let r = &d.mesh.routing;
    assert!(r.route_computations > 0 && r.forwarded > 0);
    for v in [r.route_computations, r.adverts_sent, r.forwarded, r.flood_fallbacks] {
        assert!(routing.contains(&format!(">{v}<")), "{v} in the routing chart");
    }
    let critical = &r.acked[0];
    assert!(routing.contains(&format!("{}/{} acked, {} failed", critical.delivered, critical.sent, critical.failed)));
    assert!(routing.contains(&format!("{:.1} s</b> after the last heal", r.convergence_after_heal_s.unwrap())));

    assert!(section(&page, "Security").contains("Security is off"));
}

#[test]
fn secure_scenario_report_shows_rejections_trust_and_attackers() {
    let mut s = builtin::secure();
    s.duration_s = 40.0;
    let (report, page) = render(s);
    let d = &report.deterministic;
    // Topology, CDF, delivery, timeline, two routing charts, three security charts.
    check_svgs(&page, 9);
    let sec = d.security.as_ref().unwrap();
    let security = section(&page, "Security");
    let bad_tag = sec.drops.get("bad_tag").copied().unwrap_or(0);
    assert!(bad_tag > 0, "the outsider's frames fail the tag: {:?}", sec.drops);
    assert!(security.contains(&format!("bad tag: {bad_tag}")));
    assert!(security.contains(&format!("0 accepted of {} written", sec.attempts.1)), "forgeries");
    assert!(security.contains(&format!("{} accepted of {} written", sec.replays_accepted, sec.attempts.0)), "replays");
    assert!(sec.attempts.0 > 0 && sec.attempts.1 > 0);
    assert!(security.contains(&format!("Trust at the end: {} (observer, subject) pairs below neutral", sec.trust.lowered)));
    assert!(security.contains(&format!("double votes: {}", d.mesh.election.double_votes)));
    let timeline = section(&page, "Election and partition timeline");
    assert!(timeline.contains("coordinator of term"), "tenures drawn");
}
