//! A counting allocator proves the BLE transports' outbound hand-off allocates nothing in
//! steady state: the driver's `LinkSink::transmit` copies a PDU into its link's queue and
//! the link task takes it out, with no heap allocation per frame.
//!
//! Only allocations on this test's thread while `COUNTING` is set are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use blemesh_ble::LinkHost;
use blemesh_core::LinkReport;

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    COUNTING.with(|c| c.set(true));
    for burst in [1, 5, 32, 17] {
        for _ in 0..1_000 {
            round(burst);
        }
    }
    COUNTING.with(|c| c.set(false));
    let allocations = ALLOCATIONS.with(Cell::get);
    assert_eq!(allocations, 0, "{allocations} allocations for 55,000 PDUs handed over");
}
