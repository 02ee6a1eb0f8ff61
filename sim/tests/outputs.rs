//! The HTML report and the NetJSON export are well-formed and self-contained.

use blemesh_sim::builtin;
use blemesh_sim::engine::Engine;
use blemesh_sim::report::Report;
use blemesh_sim::{html, netjson, table};

#[test]
fn html_table_json_and_netjson_describe_the_run() {
    let mut engine = Engine::new(builtin::tiny()).unwrap();
    engine.run();
    let report = Report::build(&engine, Some(0.5));
    let page = html::render(&report, &engine);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg").count(), 7, "topology, CDF, delivery, timeline, routing (2), security");
    assert!(!page.contains("<script") && !page.contains("src=\"http"));
    let text = table::render(&report);
    assert!(text.contains("critical") && text.contains("coordinator election") && !text.contains("n/a"));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let routing = &json["deterministic"]["mesh"]["routing"];
    assert!(routing["forwarded"].as_u64().unwrap() > 0, "{routing}");
    assert!(routing["convergence_s"].as_f64().is_some(), "{routing}");
    assert_eq!(routing["acked"].as_array().unwrap().len(), 4);
    assert!(text.contains("Acknowledged unicast") && text.contains("route convergence"));
    assert!(json["timing"]["wall_s"].as_f64().is_some());
    let graph = netjson::network_graph(&engine);
    assert_eq!(graph["type"], "NetworkGraph");
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 6);
    let links = graph["links"].as_array().unwrap();
    assert!(!links.is_empty());
    assert!(links.iter().all(|l| l["cost"].as_f64().unwrap() >= 1.0));
}
