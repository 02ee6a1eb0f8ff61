//! Wire format: frame encode/decode, link PDU validation, fragmentation and reassembly.

use core::time::Duration;
use std::hint::black_box;

use blemesh_core::wire::link::Fragmenter;
use blemesh_core::wire::messages::{Heartbeat, LinkEntry, TopologyHeader};
use blemesh_core::wire::reassembly::{Reassembler, Reassembly};
use blemesh_core::wire::{Frame, FrameHeader, Kind, LinkPdu, Message, encode_frame};
use blemesh_core::{Destination, Instant, LinkId, NodeId, Priority};
use criterion::{BenchmarkId, Criterion, Throughput};
use zerocopy::IntoBytes;
use zerocopy::network_endian::{I16, U16, U32, U64};

/// Typical frames: (name, header, body parts).
fn typical() -> Vec<(&'static str, FrameHeader, Vec<u8>)> {
    let hb = Heartbeat {
        rx_quality: 240,
        battery: 80,
        connections: 3,
        neighbour_count: 3,
        tx_time: U32::new(123_456),
        echo_time: U32::new(120_000),
        echo_delay: U32::new(900),
        capabilities: U16::new(1),
        reserved2: U16::new(0),
    };
    let mut hb_body = hb.as_bytes().to_vec();
    for n in [2u64, 3, 4] {
        hb_body.extend_from_slice(U64::new(n).as_bytes());
    }
    let head = TopologyHeader { advert_version: U32::new(7), entry_count: 6, reserved: [0; 3] };
    let mut topo = head.as_bytes().to_vec();
    for n in 0..6u64 {
        let e = LinkEntry {
            neighbour: U64::new(100 + n),
            latency_ms: U16::new(12),
            reliability: 230,
            congestion: 10,
            bandwidth_kbps: U16::new(1000),
            rssi: I16::new(-60),
        };
        topo.extend_from_slice(e.as_bytes());
    }
    vec![
        (
            "game_data_64",
            FrameHeader::new(Kind::GameData, Priority::High, 8, NodeId(7), Destination::Broadcast, 42),
            vec![0xAB; 64],
        ),
        (
            "heartbeat_3n",
            FrameHeader::new(Kind::Heartbeat, Priority::High, 1, NodeId(7), Destination::Node(NodeId(9)), 3),
            hb_body,
        ),
        (
            "topology_6e",
            FrameHeader::new(Kind::TopologyUpdate, Priority::Normal, 16, NodeId(7), Destination::Broadcast, 5),
            topo,
        ),
    ]
}

/// Registers the wire benchmarks.
pub fn benchmarks(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    let mut buf = Vec::with_capacity(2048);
    for (name, header, body) in typical() {
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("encode", name), |b| {
            b.iter(|| encode_frame(black_box(&mut buf), black_box(&header), &[black_box(&body)]))
        });
        let mut bytes = Vec::new();
        encode_frame(&mut bytes, &header, &[&body]);
        g.bench_function(BenchmarkId::new("decode", name), |b| {
            b.iter(|| {
                let f = Frame::new_checked(black_box(&bytes), 2048).expect("valid frame");
                black_box(Message::parse(&f).expect("valid body"));
            })
        });
        let mut pdu = vec![0u8];
        pdu.extend_from_slice(&bytes);
        g.bench_function(BenchmarkId::new("link_pdu_whole", name), |b| {
            b.iter(|| black_box(LinkPdu::new_checked(black_box(&pdu), 2048).expect("valid pdu")))
        });
    }

    // One 1 KiB frame, fragmented and rebuilt.
    let frame: Vec<u8> = (0..1024u32).map(|i| i as u8).collect();
    for mtu in [20usize, 185] {
        let plan = Fragmenter::new(&frame, mtu).expect("fits in 255 fragments");
        let pdus: Vec<Vec<u8>> = (0..plan.count())
            .map(|i| {
                let mut out = Vec::new();
                plan.write_pdu(&frame, 1, i, &mut out);
                out
            })
            .collect();
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_function(BenchmarkId::new("link_pdu_fragment", mtu), |b| {
            b.iter(|| black_box(LinkPdu::new_checked(black_box(&pdus[1]), 2048).expect("valid pdu")))
        });
        let mut out = Vec::with_capacity(mtu);
        g.bench_function(BenchmarkId::new("fragment_1KiB", mtu), |b| {
            b.iter(|| {
                let plan = Fragmenter::new(black_box(&frame), mtu).expect("fits");
                for i in 0..plan.count() {
                    plan.write_pdu(black_box(&frame), 1, i, &mut out);
                    black_box(&out);
                }
            })
        });
        let mut r = Reassembler::new(8, 2048, Duration::from_secs(2));
        let mut msg_id = 0u16;
        g.bench_function(BenchmarkId::new("reassemble_1KiB", mtu), |b| {
            b.iter(|| {
                msg_id = msg_id.wrapping_add(1);
                let mut done = None;
                for pdu in &pdus {
                    let LinkPdu::Fragment(mut f) = LinkPdu::new_checked(black_box(pdu), 2048).expect("valid") else {
                        unreachable!("fragments only")
                    };
                    f.msg_id = msg_id;
                    if let Reassembly::Complete(buf) = r.push(Instant::ZERO, LinkId(0), f).expect("consistent") {
                        done = Some(buf);
                    }
                }
                let buf = done.expect("complete");
                assert_eq!(buf.len(), 1024);
                r.recycle(buf);
            })
        });
    }
    g.finish();
}
