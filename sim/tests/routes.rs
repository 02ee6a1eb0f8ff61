//! `blemesh-sim routes` on the Ninux Roma mesh (147 nodes, 191 links) against independent
//! computations written here: BFS for hops and partitions, a plain O(n²) Dijkstra on
//! −ln(1/cost) for the most reliable paths.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Command;

use blemesh_sim::routes::{RoutePolicy, Routes, Topology, compute};
use serde_json::Value;

fn sample() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/ninux-roma.netjson.json");
    std::fs::read_to_string(p).unwrap()
}

/// The file read with serde_json only: node ids, undirected adjacency with ETX (worst of both
/// directions).
struct Plain {
    ids: Vec<String>,
    adj: BTreeMap<String, BTreeMap<String, f64>>,
}

fn plain(text: &str) -> Plain {
    let v: Value = serde_json::from_str(text).unwrap();
    let ids: Vec<String> = v["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect();
    let mut adj: BTreeMap<String, BTreeMap<String, f64>> = ids.iter().map(|i| (i.clone(), BTreeMap::new())).collect();
    for l in v["links"].as_array().unwrap() {
        let (s, t) = (l["source"].as_str().unwrap().to_string(), l["target"].as_str().unwrap().to_string());
        let c = l["cost"].as_f64().unwrap().max(1.0);
        for (a, b) in [(&s, &t), (&t, &s)] {
            let e = adj.get_mut(a).unwrap().entry(b.clone()).or_insert(c);
            *e = e.max(c);
        }
    }
    Plain { ids, adj }
}

fn bfs(p: &Plain, s: &str) -> BTreeMap<String, u32> {
    let mut d = BTreeMap::from([(s.to_string(), 0u32)]);
    let mut q = VecDeque::from([s.to_string()]);
    while let Some(u) = q.pop_front() {
        let du = d[&u];
        for v in p.adj[&u].keys() {
            if !d.contains_key(v) {
                d.insert(v.clone(), du + 1);
                q.push_back(v.clone());
            }
        }
    }
    d
}

/// Dijkstra on w = ln(cost) = −ln(reliability) (O(n²), no heap); returns the best Σw per
/// reachable node.
fn dijkstra(p: &Plain, s: &str) -> BTreeMap<String, f64> {
    let index: BTreeMap<&str, usize> = p.ids.iter().enumerate().map(|(i, x)| (x.as_str(), i)).collect();
    let adj: Vec<Vec<(usize, f64)>> =
        p.ids.iter().map(|u| p.adj[u].iter().map(|(v, c)| (index[v.as_str()], c.ln())).collect()).collect();
    let n = p.ids.len();
    let mut dist = vec![f64::INFINITY; n];
    let mut done = vec![false; n];
    dist[index[s]] = 0.0;
    while let Some(u) = (0..n).filter(|&u| !done[u] && dist[u].is_finite()).min_by(|&a, &b| dist[a].partial_cmp(&dist[b]).unwrap()) {
        done[u] = true;
        for &(v, w) in &adj[u] {
            if dist[u] + w < dist[v] {
                dist[v] = dist[u] + w;
            }
        }
    }
    (0..n).filter(|&v| dist[v].is_finite()).map(|v| (p.ids[v].clone(), dist[v])).collect()
}

#[test]
fn ninux_roma_routes_match_independent_shortest_paths() {
    let text = sample();
    let p = plain(&text);
    assert_eq!(p.ids.len(), 147);
    let topo = Topology::from_netjson(&text).unwrap();
    assert_eq!(topo.links.len(), 191);
    let short = compute(&topo, RoutePolicy::Shortest, None).unwrap();
    let rel = compute(&topo, RoutePolicy::Reliable, None).unwrap();

    // Partitions: BFS components.
    let mut comps: Vec<Vec<String>> = Vec::new();
    let mut seen = BTreeSet::new();
    for s in &p.ids {
        if seen.insert(s.clone()) {
            let mut c: Vec<String> = bfs(&p, s).into_keys().collect();
            seen.extend(c.iter().cloned());
            c.sort();
            comps.push(c);
        }
    }
    comps.sort();
    assert_eq!(short.partitions, comps);
    assert!(comps.len() > 1, "the sample has several components");

    let mut pairs = 0;
    for s in &p.ids {
        let hops = bfs(&p, s);
        let rd = dijkstra(&p, s);
        let sr = &short.routes[s];
        let rr = &rel.routes[s];
        assert_eq!(sr.len(), hops.len() - 1, "{s}: reachable set");
        assert_eq!(rr.len(), hops.len() - 1, "{s}: reachable set (reliable)");
        for (d, &h) in &hops {
            if d == s {
                continue;
            }
            pairs += 1;
            // Shortest: hop count, and the next hop is a neighbour one hop closer.
            let r = &sr[d];
            assert_eq!(r.hops, h, "{s} → {d}");
            assert_eq!(r.cost, f64::from(h));
            assert!(p.adj[s].contains_key(&r.next_hop));
            assert_eq!(bfs(&p, &r.next_hop)[d], h - 1, "{s} → {d} via {}", r.next_hop);
            // Reliable: product of reliabilities = exp(−best Σ ln cost), and the next hop
            // starts an optimal path.
            let r = &rr[d];
            let best = (-rd[d]).exp();
            assert!((r.cost - best).abs() <= 1e-4 * best, "{s} → {d}: {} vs {best}", r.cost);
            let via = p.adj[s][&r.next_hop].ln() + dijkstra_from_cache(&p, &r.next_hop, d);
            assert!((via - rd[d]).abs() <= 1e-4, "{s} → {d} via {}: {via} vs {}", r.next_hop, rd[d]);
        }
    }
    assert!(pairs > 1000, "{pairs} pairs checked");
}

fn dijkstra_from_cache(p: &Plain, s: &str, d: &str) -> f64 {
    thread_local! {
        static CACHE: std::cell::RefCell<BTreeMap<String, BTreeMap<String, f64>>> = Default::default();
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.entry(s.to_string()).or_insert_with(|| dijkstra(p, s))[d]
    })
}

#[test]
fn the_command_prints_json_and_names_bad_input() {
    let exe = env!("CARGO_BIN_EXE_blemesh-sim");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/ninux-roma.netjson.json");
    let out = Command::new(exe)
        .args(["routes", "--topology", file.to_str().unwrap(), "--policy", "reliable", "--from", "172.16.146.6"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["partitions"].as_array().unwrap().len() > 1);
    let from = v["routes"]["172.16.146.6"].as_object().unwrap();
    assert_eq!(v["routes"].as_object().unwrap().len(), 1);
    assert!(from.values().all(|r| r["cost"].as_f64().unwrap() <= 1.0 && r["hops"].as_u64().unwrap() >= 1));
    let parsed: Routes = compute(&Topology::from_netjson(&sample()).unwrap(), RoutePolicy::Reliable, Some("172.16.146.6")).unwrap();
    assert_eq!(serde_json::to_value(&parsed).unwrap(), v);

    let dir = std::env::temp_dir().join(format!("blemesh-sim-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"type":"NetworkGraph","nodes":[{"id":"a"}],"links":[{"source":"a","target":"b","cost":1}]}"#).unwrap();
    let out = Command::new(exe).args(["routes", "--topology", bad.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("link 0: target \"b\" is not a node"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `routes` streams its answer one source at a time; the stream is byte for byte the pretty
/// print of the whole answer, for every source of Ninux Roma (147 nodes, several
/// partitions), for one source, and for each policy.
#[test]
fn the_streamed_answer_is_the_pretty_print_of_the_whole() {
    let topo = Topology::from_netjson(&sample()).unwrap();
    for policy in ["shortest", "reliable", "balanced", "congestion"] {
        let policy = RoutePolicy::parse(policy).unwrap();
        for from in [None, Some("172.16.146.6")] {
            let whole = compute(&topo, policy, from).unwrap();
            let mut streamed = Vec::new();
            blemesh_sim::routes::write_json(&topo, policy, from, &mut streamed).unwrap();
            let expected = format!("{}\n", serde_json::to_string_pretty(&whole).unwrap());
            assert_eq!(String::from_utf8(streamed).unwrap(), expected, "{from:?}");
        }
    }
    let mut sink = Vec::new();
    let e = blemesh_sim::routes::write_json(&topo, RoutePolicy::Shortest, Some("nope"), &mut sink).unwrap_err();
    assert!(e.to_string().contains("--from \"nope\" is not a node"), "{e}");
}
