//! A counting allocator proves the BLE transports' outbound hand-off allocates nothing in
//! steady state: the driver's `LinkSink::transmit` copies a PDU into its link's queue and
//! the link task takes it out, with no heap allocation per frame.
//!
//! Only allocations on this test's thread inside `blemesh_tests::alloc::count` are counted.


use blemesh_ble::LinkHost;
use blemesh_core::LinkReport;

#[global_allocator]
static GLOBAL: blemesh_tests::alloc::Counting = blemesh_tests::alloc::Counting;

#[test]
fn transmit_and_drain_allocate_nothing_in_steady_state() {
    let (host, mut transport) = LinkHost::new(8, 32);
    let mut link = futures_lite::future::block_on(host.open(LinkReport::new(244))).expect("open");
    let _up = transport.events.try_recv().expect("link up");
    let pdu = [0x5Au8; 244];
    let mut round = |burst: usize| {
        for _ in 0..burst {
            transport.sink.transmit(link.id, &pdu).expect("queued");
        }
        for _ in 0..burst {
            let got = link.outbound.try_recv().expect("queued pdu");
            assert_eq!(got.as_slice().len(), pdu.len());
        }
    };
    // Warm up: the queue's blocks are allocated once and then reused.
    for burst in [1, 32, 7, 32] {
        for _ in 0..100 {
            round(burst);
        }
    }
    let allocations = blemesh_tests::alloc::count(|| {
        for burst in [1, 5, 32, 17] {
            for _ in 0..1_000 {
                round(burst);
            }
        }
    });
    assert_eq!(allocations, 0, "{allocations} allocations for 55,000 PDUs handed over");
}
