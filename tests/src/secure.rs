//! Secured nodes and attackers for the harness.

use blemesh_core::security::{Identity, NetworkKey};
use blemesh_core::{Config, Instant, Node, Security};

/// The network key of the mesh under test.
pub const MESH_KEY: [u8; 32] = [0x42; 32];

/// The identity of harness node `i` in a run seeded `seed` (deterministic).
pub fn identity(i: usize, seed: u64) -> Identity {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    bytes[8..16].copy_from_slice(&(i as u64).to_be_bytes());
    bytes[16] = 0x5e;
    Identity::from_seed(&bytes)
}

/// A secured node: identity from `(i, seed)`, member of the mesh keyed `network_key`.
pub fn secure_node(i: usize, seed: u64, now: Instant, network_key: &[u8; 32]) -> Node {
    let identity = identity(i, seed);
    let config = Config::new(identity.node_id(), seed);
    Node::new_secure(config, Security::new(identity, NetworkKey::new(network_key)), now)
        .expect("valid secured configuration")
}
