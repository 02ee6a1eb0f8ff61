//! Security per frame: network-key tag creation and verification (tag-only layout) and
//! Ed25519 signing and verification (signed layout), through `seal` and `open`.

use std::hint::black_box;

use blemesh_core::security::{Identity, KeyRing, NetworkKey, TrailerLayout, open, seal};
use blemesh_core::wire::{FRAME_HEADER_LEN, Kind};
use blemesh_core::{Destination, Instant};
use criterion::{BenchmarkId, Criterion, Throughput};

/// `frame` (`header ‖ body`, no trailer) prepared for `layout`: `auth_len` set.
fn unsealed(kind: Kind, origin: u64, body: usize, layout: TrailerLayout) -> Vec<u8> {
    let mut f = crate::frame(kind, origin, Destination::Broadcast, 9, 8, &vec![0x33; body]);
    f[5] = layout.auth_len() as u8;
    f
}

/// Registers the security benchmarks.
pub fn benchmarks(c: &mut Criterion) {
    let mut g = c.benchmark_group("security");
    g.throughput(Throughput::Elements(1));
    let network = NetworkKey::new(&[7; 32]);
    let id = Identity::from_seed(&[9; 32]);
    let origin = id.node_id().0;
    let mut keys = KeyRing::new(16);
    keys.learn(id.public_key(), Instant::ZERO);
    let mut trailer = [0u8; 112];

    for (name, kind, body, layout) in [
        ("tag_game_data_64", Kind::GameData, 64, TrailerLayout::Tag),
        ("signed_topology_100", Kind::TopologyUpdate, 100, TrailerLayout::Signed),
    ] {
        let frame = unsealed(kind, origin, body, layout);
        let signer = layout.has_signature().then_some(&id);
        g.bench_function(BenchmarkId::new("seal", name), |b| {
            b.iter(|| seal(black_box(&frame), layout, &network, signer, &mut trailer).expect("sealable"))
        });
        let n = seal(&frame, layout, &network, signer, &mut trailer).expect("sealable");
        let mut sealed = frame.clone();
        sealed.extend_from_slice(&trailer[..n]);
        assert_eq!(sealed.len(), FRAME_HEADER_LEN + body + layout.auth_len());
        let v = open(&sealed, &network, &keys).expect("authentic");
        assert_eq!(v.signed, layout.has_signature());
        g.bench_function(BenchmarkId::new("open", name), |b| {
            b.iter(|| open(black_box(&sealed), &network, &keys).expect("authentic"))
        });
        // A forged tag is refused after one HMAC, before any signature work.
        let mut forged = sealed.clone();
        *forged.last_mut().expect("trailer") ^= 1;
        g.bench_function(BenchmarkId::new("open_bad_tag", name), |b| {
            b.iter(|| open(black_box(&forged), &network, &keys).expect_err("forged"))
        });
    }
    g.finish();
}
