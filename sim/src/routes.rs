//! Routes over a NetJSON NetworkGraph, computed with the core's own routing code
//! (`blemesh-sim routes`).
//!
//! The topology is read from a NetJSON NetworkGraph (<https://netjson.org>): `nodes` with an
//! `id`, `links` with `source`, `target` and an ETX-like `cost` (1.0 is a perfect link;
//! delivery probability = 1 / cost, capped at 1). Links are undirected; when a pair appears
//! twice (once per direction), the worse cost is kept, as the core keeps the minimum of the
//! two ends' reliabilities. Optional link properties `latency_ms` (default 1) and
//! `congestion` (0..=255, default 0) feed the latency and congestion metrics.
//!
//! Node ids are strings; they map to [`NodeId`]s `1..=n` in ascending string order, so the
//! mapping depends only on the file. The graph is built with
//! [`Graph::from_links`](blemesh_core::routing::Graph::from_links) and every source's routes
//! with [`RoutingTable::compute`] under the core's default policies, exactly what a node
//! does with its link-state database.
//!
//! The `cost` printed per route depends on the policy:
//!
//! | policy | priority | `cost` |
//! | --- | --- | --- |
//! | `shortest` | Normal | hops (latency only breaks ties) |
//! | `reliable` | Critical | product of the links' reliabilities (delivery probability of the path) |
//! | `balanced` | High | Σ latency ms + 100 × Σ −ln(reliability): milliseconds, one nat of unreliability weighing 100 ms |
//! | `congestion` | Background | hops + Σ congestion (0..=255 per link) + ½ × Σ battery deficit %: the policy cost / 1000 |

use std::collections::{BTreeMap, VecDeque};

use blemesh_core::routing::graph::UNRELIABILITY_SCALE;
use blemesh_core::routing::{Graph, LinkMetrics, Policy, RoutingTable, Spf};
use blemesh_core::{NodeId, Priority};
use serde::Serialize;
use serde_json::Value;

/// One of the four routing policies, by its command-line name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutePolicy {
    /// Fewest hops ([`Priority::Normal`]).
    Shortest,
    /// Most reliable ([`Priority::Critical`]).
    Reliable,
    /// Latency and reliability ([`Priority::High`]).
    Balanced,
    /// Least congested ([`Priority::Background`]).
    Congestion,
}

impl RoutePolicy {
    /// Parses `shortest`, `reliable`, `balanced` or `congestion`.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "shortest" => RoutePolicy::Shortest,
            "reliable" => RoutePolicy::Reliable,
            "balanced" => RoutePolicy::Balanced,
            "congestion" => RoutePolicy::Congestion,
            _ => return Err(format!("unknown policy {s:?} (shortest, reliable, balanced or congestion)")),
        })
    }

    /// The priority whose default policy this is.
    pub fn priority(self) -> Priority {
        match self {
            RoutePolicy::Shortest => Priority::Normal,
            RoutePolicy::Reliable => Priority::Critical,
            RoutePolicy::Balanced => Priority::High,
            RoutePolicy::Congestion => Priority::Background,
        }
    }

    /// The printed cost of a route of `hops` links whose policy cost is `cost`.
    pub fn display_cost(self, cost: u64, hops: u32) -> f64 {
        let x = match self {
            RoutePolicy::Shortest => f64::from(hops),
            RoutePolicy::Reliable => (-(cost as f64) / UNRELIABILITY_SCALE).exp(),
            RoutePolicy::Balanced => cost as f64 / Policy::HIGH.per_latency_ms as f64,
            RoutePolicy::Congestion => cost as f64 / Policy::BACKGROUND.per_hop as f64,
        };
        (x * 1e9).round() / 1e9
    }
}

/// A topology read from NetJSON.
#[derive(Clone, Debug)]
pub struct Topology {
    /// Node ids in ascending order; `NodeId(i + 1)` is `ids[i]`.
    pub ids: Vec<String>,
    /// Undirected links `(a, b, metrics)` by index into `ids`, `a < b`, one per pair.
    pub links: Vec<(usize, usize, LinkMetrics)>,
}

fn field<'a>(v: &'a Value, name: &str, what: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("{what}: missing field \"{name}\""))
}

fn id_of(v: &Value, name: &str, what: &str) -> Result<String, String> {
    match field(v, name, what)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("{what}: \"{name}\" must be a string, not {other}")),
    }
}

impl Topology {
    /// Parses a NetJSON NetworkGraph. Errors name the problem and where it is.
    pub fn from_netjson(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        if !v.is_object() {
            return Err("not a NetJSON NetworkGraph: the top level is not an object".into());
        }
        if let Some(t) = v.get("type") {
            if t != "NetworkGraph" {
                return Err(format!("\"type\" is {t}, expected \"NetworkGraph\""));
            }
        }
        let nodes = field(&v, "nodes", "NetworkGraph")?.as_array().ok_or("NetworkGraph: \"nodes\" is not an array")?;
        let links = field(&v, "links", "NetworkGraph")?.as_array().ok_or("NetworkGraph: \"links\" is not an array")?;
        let mut ids = Vec::with_capacity(nodes.len());
        for (i, n) in nodes.iter().enumerate() {
            ids.push(id_of(n, "id", &format!("node {i}"))?);
        }
        let mut sorted = ids.clone();
        sorted.sort();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("node id {:?} appears more than once", w[0]));
        }
        let index: BTreeMap<&str, usize> = sorted.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
        let mut pairs: BTreeMap<(usize, usize), LinkMetrics> = BTreeMap::new();
        for (i, l) in links.iter().enumerate() {
            let what = format!("link {i}");
            let s = id_of(l, "source", &what)?;
            let t = id_of(l, "target", &what)?;
            let cost = field(l, "cost", &what)?.as_f64().ok_or_else(|| format!("{what}: \"cost\" is not a number"))?;
            if !(cost.is_finite() && cost > 0.0) {
                return Err(format!("{what} ({s} — {t}): cost {cost} is not positive"));
            }
            let a = *index.get(s.as_str()).ok_or_else(|| format!("{what}: source {s:?} is not a node"))?;
            let b = *index.get(t.as_str()).ok_or_else(|| format!("{what}: target {t:?} is not a node"))?;
            if a == b {
                return Err(format!("{what}: links {s:?} to itself"));
            }
            let props = l.get("properties");
            let prop = |name: &str| props.and_then(|p| p.get(name)).and_then(Value::as_f64);
            let latency = prop("latency_ms").unwrap_or(1.0).clamp(0.0, f64::from(u16::MAX)) as u16;
            let congestion = prop("congestion").unwrap_or(0.0).clamp(0.0, 255.0) as u8;
            let m = LinkMetrics::new(latency, (1.0 / cost).min(1.0), congestion, 1000);
            let key = (a.min(b), a.max(b));
            pairs
                .entry(key)
                .and_modify(|old| {
                    // Both directions listed: keep the pessimistic combination, as the core does.
                    *old = LinkMetrics::new(
                        old.latency_ms.max(m.latency_ms),
                        old.reliability.min(m.reliability),
                        old.congestion.max(m.congestion),
                        1000,
                    );
                })
                .or_insert(m);
        }
        Ok(Topology { ids: sorted, links: pairs.into_iter().map(|((a, b), m)| (a, b, m)).collect() })
    }

    /// The node id of index `i`.
    pub fn node_id(i: usize) -> NodeId {
        NodeId(i as u64 + 1)
    }

    /// The string id of a core node id.
    pub fn name(&self, n: NodeId) -> &str {
        &self.ids[(n.0 - 1) as usize]
    }

    /// The core routing graph of the links.
    pub fn graph(&self) -> Graph {
        Graph::from_links(self.links.iter().map(|&(a, b, m)| (Topology::node_id(a), Topology::node_id(b), m)))
    }

    /// Connected components (by BFS), each sorted, in ascending order of their first id.
    pub fn partitions(&self) -> Vec<Vec<String>> {
        let n = self.ids.len();
        let mut adj = vec![Vec::new(); n];
        for &(a, b, _) in &self.links {
            adj[a].push(b);
            adj[b].push(a);
        }
        let mut seen = vec![false; n];
        let mut out = Vec::new();
        for s in 0..n {
            if seen[s] {
                continue;
            }
            seen[s] = true;
            let mut comp = vec![s];
            let mut q = VecDeque::from([s]);
            while let Some(u) = q.pop_front() {
                for &v in &adj[u] {
                    if !seen[v] {
                        seen[v] = true;
                        comp.push(v);
                        q.push_back(v);
                    }
                }
            }
            comp.sort_unstable(); // indices are in id order
            out.push(comp.into_iter().map(|i| self.ids[i].clone()).collect::<Vec<_>>());
        }
        out.sort();
        out
    }
}

/// One printed route.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RouteOut {
    /// Neighbour to hand the frame to.
    pub next_hop: String,
    /// Links to the destination.
    pub hops: u32,
    /// The policy's path cost (see the [module documentation](self)).
    pub cost: f64,
}

/// The `routes` answer.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Routes {
    /// Connected components.
    pub partitions: Vec<Vec<String>>,
    /// Source → destination → route; unreachable destinations are absent.
    pub routes: BTreeMap<String, BTreeMap<String, RouteOut>>,
}

/// The source indices `from` names (every node when `None`).
fn sources(topology: &Topology, from: Option<&str>) -> Result<Vec<usize>, String> {
    match from {
        Some(f) => Ok(vec![topology.ids.binary_search_by(|x| x.as_str().cmp(f)).map_err(|_| format!("--from {f:?} is not a node"))?]),
        None => Ok((0..topology.ids.len()).collect()),
    }
}

/// Computes routes one source at a time: memory holds one source's table, not all pairs.
struct RouteSolver<'a> {
    topology: &'a Topology,
    policy: RoutePolicy,
    graph: Graph,
    spf: Spf,
}

impl<'a> RouteSolver<'a> {
    fn new(topology: &'a Topology, policy: RoutePolicy) -> Self {
        RouteSolver { topology, policy, graph: topology.graph(), spf: Spf::new() }
    }

    /// Destination → route from source index `s`; unreachable destinations are absent.
    fn routes_of(&mut self, s: usize) -> BTreeMap<String, RouteOut> {
        let (topology, policy) = (self.topology, self.policy);
        let priority = policy.priority();
        let policies = [Policy::for_priority(priority); 4];
        let mut table = RoutingTable::new(Topology::node_id(s));
        // Only the selected priority is read; all four slots use its policy.
        table.compute(&self.graph, &policies, &mut self.spf);
        let mut to = BTreeMap::new();
        for (dest, entries) in table.iter() {
            if let Some(r) = entries[priority as usize].primary {
                to.insert(
                    topology.name(dest).to_string(),
                    RouteOut {
                        next_hop: topology.name(r.next_hop).to_string(),
                        hops: r.hops,
                        cost: policy.display_cost(r.cost, r.hops),
                    },
                );
            }
        }
        to
    }
}

/// Computes the routes of `topology` under `policy` from `from` (every node when `None`),
/// all in memory; [`write_json`] streams the same answer.
pub fn compute(topology: &Topology, policy: RoutePolicy, from: Option<&str>) -> Result<Routes, String> {
    let mut solver = RouteSolver::new(topology, policy);
    let routes = sources(topology, from)?.into_iter().map(|s| (topology.ids[s].clone(), solver.routes_of(s))).collect();
    Ok(Routes { partitions: topology.partitions(), routes })
}

/// `value` as pretty JSON whose lines after the first are indented by `indent`, as it stands
/// nested in a larger pretty document.
fn nested_pretty(value: &impl Serialize, indent: &str) -> String {
    let text = serde_json::to_string_pretty(value).expect("serialisable");
    text.replace('\n', &format!("\n{indent}"))
}

/// Writes the JSON of [`compute`]'s answer, byte for byte the same as its pretty print,
/// one source at a time, so that all-pairs routes of a large graph never sit in memory. A
/// `from` that is not a node is an [`std::io::ErrorKind::InvalidInput`] error.
pub fn write_json(topology: &Topology, policy: RoutePolicy, from: Option<&str>, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let sources = sources(topology, from).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    write!(out, "{{\n  \"partitions\": {},\n  \"routes\": ", nested_pretty(&topology.partitions(), "  "))?;
    if sources.is_empty() {
        write!(out, "{{}}")?;
    } else {
        let mut solver = RouteSolver::new(topology, policy);
        write!(out, "{{")?;
        for (k, s) in sources.into_iter().enumerate() {
            let sep = if k == 0 { "" } else { "," };
            let key = serde_json::to_string(&topology.ids[s]).expect("serialisable");
            write!(out, "{sep}\n    {key}: {}", nested_pretty(&solver.routes_of(s), "    "))?;
        }
        write!(out, "\n  }}")?;
    }
    writeln!(out, "\n}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(links: &str) -> Result<Topology, String> {
        Topology::from_netjson(&format!(
            r#"{{"type":"NetworkGraph","nodes":[{{"id":"a"}},{{"id":"b"}},{{"id":"c"}},{{"id":"z"}}],"links":{links}}}"#
        ))
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = |l: &str| topo(l).unwrap_err();
        assert!(e(r#"[{"source":"a","target":"q","cost":1}]"#).contains("target \"q\" is not a node"));
        assert!(e(r#"[{"source":"a","target":"b","cost":0}]"#).contains("not positive"));
        assert!(e(r#"[{"source":"a","target":"b","cost":-2}]"#).contains("not positive"));
        assert!(e(r#"[{"source":"a","target":"b"}]"#).contains("missing field \"cost\""));
        assert!(e(r#"[{"target":"b","cost":1}]"#).contains("link 0: missing field \"source\""));
        assert!(Topology::from_netjson("{").unwrap_err().contains("not valid JSON"));
        assert!(Topology::from_netjson(r#"{"links":[]}"#).unwrap_err().contains("missing field \"nodes\""));
        assert!(Topology::from_netjson(r#"{"nodes":[{"id":"a"},{"id":"a"}],"links":[]}"#).unwrap_err().contains("more than once"));
        assert!(Topology::from_netjson(r#"{"nodes":[{"name":"a"}],"links":[]}"#).unwrap_err().contains("node 0: missing field \"id\""));
    }

    #[test]
    fn each_policy_prices_its_way() {
        // a — b — c perfect; a — c direct at ETX 4 (reliability 0.25); z isolated.
        let t = topo(
            r#"[{"source":"a","target":"b","cost":1},{"source":"b","target":"c","cost":1},
                {"source":"a","target":"c","cost":4},{"source":"c","target":"a","cost":2}]"#,
        )
        .unwrap();
        let short = compute(&t, RoutePolicy::Shortest, Some("a")).unwrap();
        assert_eq!(short.partitions, vec![vec!["a", "b", "c"], vec!["z"]]);
        assert_eq!(short.routes["a"]["c"], RouteOut { next_hop: "c".into(), hops: 1, cost: 1.0 });
        assert!(!short.routes["a"].contains_key("z"));
        let rel = compute(&t, RoutePolicy::Reliable, Some("a")).unwrap();
        assert_eq!(rel.routes["a"]["c"], RouteOut { next_hop: "b".into(), hops: 2, cost: 1.0 });
        let bal = compute(&t, RoutePolicy::Balanced, None).unwrap();
        assert_eq!(bal.routes["c"]["a"].next_hop, "b");
        assert_eq!(bal.routes["c"]["a"].cost, 2.0);
        let cong = compute(&t, RoutePolicy::Congestion, Some("b")).unwrap();
        assert_eq!(cong.routes["b"]["c"].cost, 1.0);
        assert!(compute(&t, RoutePolicy::Shortest, Some("q")).is_err());
        assert!(RoutePolicy::parse("fastest").is_err());
    }
}
