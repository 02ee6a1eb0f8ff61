//! Scenarios: what to simulate. Parsed from TOML (see `sim/scenarios/example.toml`) or taken
//! from [`crate::builtin`]. Every field has a default, so a file states only what it changes.
//!
//! ```toml
//! name = "example"
//! seed = 1
//! nodes = 25
//! duration_s = 120.0
//!
//! [area]                 # where the devices are
//! width_m = 40.0
//! height_m = 40.0
//! placement = "grid"     # "grid" | "random"
//!
//! [radio]                # any field of RadioParams
//! connection_interval_ms = 15.0
//!
//! [node]                 # core Config overrides
//! heartbeat_interval_ms = 400
//!
//! [mobility]
//! model = "static"       # "static" | "random_waypoint"
//!
//! [load]
//! start_s = 20.0
//! rate_per_node = 2.0    # messages per second per node (Poisson)
//! unicast_fraction = 0.3
//! priorities = { critical = 1, high = 2, normal = 5, background = 2 }
//!
//! [[cut]]                # all links between the two halves go, then may come back
//! at_s = 60.0
//! heal_s = 90.0
//! split_x_m = 20.0       # or: group = [1, 2, 3] (node ids)
//!
//! [churn]
//! events_per_min = 2.0
//! downtime_s = 15.0
//!
//! [[restart]]            # node 4 powers off at 40 s and comes back fresh 2 s later
//! node = 4
//! at_s = 40.0
//! down_s = 2.0
//!
//! [[byzantine]]
//! node = 7
//! behaviour = "blackhole"  # "blackhole" | "replay" | "forge"
//! ```

use serde::{Deserialize, Serialize};

use crate::radio::RadioParams;

/// A complete scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Name shown in reports.
    pub name: String,
    /// Seed of every random draw (overridden by `--seed`).
    pub seed: u64,
    /// Number of devices; node ids are `1..=nodes`.
    pub nodes: usize,
    /// Virtual duration, seconds.
    pub duration_s: f64,
    /// Placement.
    pub area: Area,
    /// Radio model parameters.
    pub radio: RadioParams,
    /// Core configuration overrides.
    pub node: NodeParams,
    /// Movement.
    pub mobility: Mobility,
    /// Application load.
    pub load: Load,
    /// Scripted cuts between two groups.
    pub cut: Vec<Cut>,
    /// Random leaves and rejoins.
    pub churn: Option<Churn>,
    /// Scripted restarts: a node powers off and comes back as a fresh node.
    pub restart: Vec<Restart>,
    /// Misbehaving nodes.
    pub byzantine: Vec<Byzantine>,
    /// Seconds after which an undelivered message is written off (late deliveries are
    /// counted separately). Default 30.
    pub delivery_horizon_s: f64,
    /// Interval of memory and connectivity samples, seconds. Default 1.
    pub sample_interval_s: f64,
    /// Secured mesh (`Node::new_secure`). Default off.
    pub security: SecurityParams,
    /// A heal succeeds when, within this many seconds, the mesh is one component again in
    /// every node's view and follows one coordinator. Default 10.
    pub heal_deadline_s: f64,
    /// A game session the players join and submit events to. Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<crate::session_load::SessionLoad>,
}

/// The `[security]` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityParams {
    /// Build every node with `Node::new_secure`: identities derived from the seed and the
    /// device index, one network key for the mesh. Byzantine `blackhole` and `replay` nodes
    /// are then insiders (they hold the key); `forge` nodes are outsiders (another key).
    pub enabled: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "custom".into(),
            seed: 1,
            nodes: 20,
            duration_s: 60.0,
            area: Area::default(),
            radio: RadioParams::default(),
            node: NodeParams::default(),
            mobility: Mobility::default(),
            load: Load::default(),
            cut: Vec::new(),
            churn: None,
            restart: Vec::new(),
            byzantine: Vec::new(),
            delivery_horizon_s: 30.0,
            sample_interval_s: 1.0,
            security: SecurityParams::default(),
            heal_deadline_s: 10.0,
            session: None,
        }
    }
}

/// Where devices are placed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Area {
    /// Width, m. Default 40.
    pub width_m: f64,
    /// Height, m. Default 40.
    pub height_m: f64,
    /// Placement rule. Default grid.
    pub placement: Placement,
}

impl Default for Area {
    fn default() -> Self {
        Area { width_m: 40.0, height_m: 40.0, placement: Placement::Grid }
    }
}

/// How devices are placed in the area.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// A near-square grid filling the area, jittered by up to 10 % of a cell.
    Grid,
    /// Uniformly at random.
    Random,
}

/// Overrides of the core [`blemesh_core::Config`] (unset fields keep the core default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeParams {
    /// `heartbeat_interval`, ms.
    pub heartbeat_interval_ms: Option<u64>,
    /// `heartbeat_max_quiet`, heartbeat intervals (`1`: a heartbeat every interval, busy or
    /// not).
    pub heartbeat_max_quiet: Option<u8>,
    /// `relay_jitter`, ms.
    pub relay_jitter_ms: Option<u64>,
    /// `relay_suppression`.
    pub relay_suppression: Option<u8>,
    /// `relay_tree` (parents per node in the source trees of floods; 0 off). Default: 2
    /// without `link_arq` (the modelled BLE link layer delivers every copy it accepts) in an
    /// unsecured mesh; the core's (off) with `link_arq` or security (insiders may drop
    /// floods, and plain relaying's redundancy routes around them).
    pub relay_tree: Option<u8>,
    /// `default_ttl`.
    pub default_ttl: Option<u8>,
    /// `transmit_queue`.
    pub transmit_queue: Option<usize>,
    /// `max_nodes` (raise it above the node count for large meshes).
    pub max_nodes: Option<usize>,
    /// `duplicate_cache`.
    pub duplicate_cache: Option<usize>,
    /// `announce_interval`, s.
    pub announce_interval_s: Option<u64>,
    /// `link_arq`. Default **off** in the simulator: its radio model retries every packet
    /// until the link breaks, as the BLE link layer does, so hop-by-hop acknowledgements
    /// would only double the traffic. Turn it on to model a lossy transport such as UDP.
    pub link_arq: Option<bool>,
    /// `ble.enabled`: whether nodes make BLE radio decisions (see
    /// `radio.adopt_connection_parameters`). Default: the core's (on).
    pub ble: Option<bool>,
}

/// Movement model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mobility {
    /// Static or random waypoint. Default static.
    pub model: MobilityModel,
    /// Slowest speed, m/s. Default 0.5.
    pub speed_min_mps: f64,
    /// Fastest speed, m/s. Default 1.5 (walking).
    pub speed_max_mps: f64,
    /// Pause at each waypoint, s. Default 5.
    pub pause_s: f64,
    /// Position update interval, ms. Default 500.
    pub tick_ms: u64,
}

impl Default for Mobility {
    fn default() -> Self {
        Mobility { model: MobilityModel::Static, speed_min_mps: 0.5, speed_max_mps: 1.5, pause_s: 5.0, tick_ms: 500 }
    }
}

/// The movement model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MobilityModel {
    /// Nobody moves.
    Static,
    /// Random waypoint: walk to a uniform random point, pause, repeat.
    RandomWaypoint,
}

/// Application messages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Load {
    /// First message, s. Default 15 (after neighbour discovery).
    pub start_s: f64,
    /// Last message, s; default 5 s before the end.
    pub end_s: Option<f64>,
    /// Mean messages per second per node (Poisson arrivals). Default 1. Zero for no load.
    pub rate_per_node: f64,
    /// Fraction of messages sent to one random node instead of everyone. Default 0.3.
    pub unicast_fraction: f64,
    /// Payload bytes. Default 64.
    pub payload_bytes: usize,
    /// Relative weights of the priorities. Default 1 : 2 : 5 : 2.
    pub priorities: PriorityMix,
    /// Critical unicasts ask for end-to-end acknowledgement (`Qos::reliable`). Default true.
    pub reliable_critical: bool,
    /// Fraction of the other unicasts sent with `Qos::reliable` too. Default 0.
    pub reliable_fraction: f64,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            start_s: 15.0,
            end_s: None,
            rate_per_node: 1.0,
            unicast_fraction: 0.3,
            payload_bytes: 64,
            priorities: PriorityMix::default(),
            reliable_critical: true,
            reliable_fraction: 0.0,
        }
    }
}

/// Weights of the four priority classes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorityMix {
    /// Critical.
    pub critical: f64,
    /// High.
    pub high: f64,
    /// Normal.
    pub normal: f64,
    /// Background.
    pub background: f64,
}

impl Default for PriorityMix {
    fn default() -> Self {
        PriorityMix { critical: 1.0, high: 2.0, normal: 5.0, background: 2.0 }
    }
}

impl PriorityMix {
    /// The weights in [`blemesh_core::Priority::ALL`] order.
    pub fn weights(&self) -> [f64; 4] {
        [self.critical, self.high, self.normal, self.background]
    }
}

/// A scripted cut: at `at_s` every link between the group and the rest stops carrying
/// frames (and breaks after the supervision timeout); at `heal_s` they may reconnect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cut {
    /// When, s.
    pub at_s: f64,
    /// When the cut heals, s; never if absent.
    pub heal_s: Option<f64>,
    /// The group is every node left of this x coordinate, m.
    pub split_x_m: Option<f64>,
    /// The group is these node ids (used if `split_x_m` is absent).
    pub group: Vec<u64>,
}

impl Default for Cut {
    fn default() -> Self {
        Cut { at_s: 0.0, heal_s: None, split_x_m: None, group: Vec::new() }
    }
}

/// A scripted restart (`crate::restarts`): node `node` powers off at `at_s` and comes back
/// `down_s` later as a fresh node (new seed; a secured node keeps its identity and the
/// sequence high water it persisted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restart {
    /// The node's id, `1..=nodes`.
    pub node: u64,
    /// When it powers off, s.
    pub at_s: f64,
    /// How long it stays off, s (above 0). Default 2.
    #[serde(default = "default_down_s")]
    pub down_s: f64,
}

fn default_down_s() -> f64 {
    2.0
}

/// Random churn: nodes leave (power off) and come back with a fresh state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Churn {
    /// First departure, s. Default 10.
    pub start_s: f64,
    /// Departures per minute over the whole mesh (Poisson). Default 2.
    pub events_per_min: f64,
    /// How long a node stays away, s. Default 15.
    pub downtime_s: f64,
}

impl Default for Churn {
    fn default() -> Self {
        Churn { start_s: 10.0, events_per_min: 2.0, downtime_s: 15.0 }
    }
}

/// One misbehaving node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Byzantine {
    /// Its node id.
    pub node: u64,
    /// What it does.
    pub behaviour: Behaviour,
    /// From when, s. Default 0.
    #[serde(default)]
    pub from_s: f64,
    /// Interval between replays or forgeries, ms. Default 500.
    #[serde(default = "default_byz_interval")]
    pub interval_ms: u64,
}

fn default_byz_interval() -> u64 {
    500
}

/// Byzantine behaviours the simulator can inject with today's core (no security layer yet:
/// forged frames are accepted, which the report shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// Drops every frame it should relay (keeps heartbeats and its own frames).
    Blackhole,
    /// Re-sends frames it received earlier, unchanged, to random neighbours.
    Replay,
    /// Sends game data claiming to come from another node.
    Forge,
}

impl Scenario {
    /// Parses a TOML scenario.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate()?;
        Ok(s)
    }

    /// Checks the scenario for values the simulator cannot run: the error names the field,
    /// the value and the allowed range ([`crate::scenario_check`]).
    pub fn validate(&self) -> Result<(), String> {
        crate::scenario_check::check(self)
    }

    /// The time at which load stops, s.
    pub fn load_end_s(&self) -> f64 {
        self.load.end_s.unwrap_or((self.duration_s - 5.0).max(self.load.start_s))
    }

    /// The end of the quiet formation phase, s: the first of application load, cut, churn or
    /// movement (the end if there is none). Neighbour convergence is measured within it.
    pub fn first_disruption_s(&self) -> f64 {
        let mut t = self.duration_s;
        if self.load.rate_per_node > 0.0 {
            t = t.min(self.load.start_s);
        }
        for c in &self.cut {
            t = t.min(c.at_s);
        }
        if let Some(c) = &self.churn {
            t = t.min(c.start_s);
        }
        for r in &self.restart {
            t = t.min(r.at_s);
        }
        if self.mobility.model != MobilityModel::Static {
            t = 0.0;
        }
        t
    }
}
