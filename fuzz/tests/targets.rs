//! The fuzz targets. `cargo test -p blemesh-fuzz` replays `fuzz/corpus/<target>/` and
//! `fuzz/crashes/<target>/`, then runs each target on random inputs; `fuzz/run-target.sh
//! TARGET SECONDS` runs one under libFuzzer through cargo-bolero.

use blemesh_fuzz::{corpus, election, flood, frame, node, reassembly, routing, session};

macro_rules! typed_target {
    ($name:ident, $module:ident) => {
        #[test]
        fn $name() {
            corpus::replay(stringify!($name), $module::check);
            bolero::check!(name = stringify!($name))
                .with_type::<$module::Input>()
                .for_each($module::check);
        }
    };
}

#[test]
fn frame_decode_raw() {
    corpus::replay_bytes("frame_decode_raw", frame::check_raw);
    bolero::check!(name = "frame_decode_raw").for_each(frame::check_raw);
}

#[test]
fn frame_decode_typed() {
    corpus::replay("frame_decode_typed", frame::check_typed);
    bolero::check!(name = "frame_decode_typed").with_type::<frame::Typed>().for_each(frame::check_typed);
}

typed_target!(reassembly_interleavings, reassembly);
typed_target!(flood_mesh, flood);
typed_target!(routing_consistency, routing);
typed_target!(node_typed_inputs, node);

typed_target!(election_sequences, election);
typed_target!(session_sequences, session);
