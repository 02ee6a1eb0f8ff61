//! # blemesh-sim
//!
//! A deterministic discrete-event simulator for blemesh: real [`blemesh_core::Node`]s, driven
//! by the drain contract, over a modelled BLE radio ([`radio`]), with mobility, churn,
//! scripted cuts, Byzantine nodes and an application load ([`scenario`]). The same scenario
//! and seed give byte-identical results ([`report::Report::deterministic`]).
//!
//! What a run measures: [`stats`] (delivery, latency, radio, memory) and [`timeline`]
//! (election, partition detection, healing), turned into the [`report`] (text via
//! [`table`], JSON) and the [`html`] report; [`invariants`] are checked after every step in
//! tests, and by [`campaign`] over many random fault schedules (`blemesh-sim campaign`).
//!
//! ```
//! use blemesh_sim::{builtin, engine::Engine, report::Report};
//!
//! let mut scenario = builtin::by_name("tiny").unwrap();
//! scenario.duration_s = 5.0;
//! let mut engine = Engine::new(scenario).unwrap();
//! engine.run();
//! let report = Report::build(&engine, None);
//! assert_eq!(report.deterministic.nodes, 6);
//! ```
#![warn(missing_docs)]

mod agreement;
pub mod builtin;
pub mod campaign;
mod byzantine;
mod connect;
pub mod coordination;
pub mod core_clock;
pub mod engine;
mod faults;
pub mod geometry;
pub mod histogram;
pub mod html;
pub mod html_routing;
pub mod html_security;
pub mod html_timeline;
pub mod invariants;
pub mod loss;
mod mobility;
pub mod netjson;
pub mod partition_causes;
pub mod queue;
pub mod radio;
pub mod reachability;
pub mod report;
pub mod restarts;
pub mod rng;
pub mod routes;
pub mod scenario;
pub mod scenario_check;
pub mod session_load;
pub mod stats;
pub mod svg;
pub mod table;
pub mod timeline;
mod workload;

pub use byzantine::ByzantineState;
pub use connect::{IDLE_SCAN_BACKOFF_US, pair_shadowing_db};
pub use faults::FaultAction;
pub use mobility::place;
pub use workload::pick_priority;
