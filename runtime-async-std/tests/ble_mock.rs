//! The async-std driver over the BLE central, whose btleplug objects live on a tokio
//! thread ([`blemesh_async_std::ble`]), against a mock BlueZ on a private D-Bus (see
//! `blemesh_ble::mock`): the node's own PDUs cross the bridge and are written to the
//! mocked peripheral's write characteristic. Skipped, saying why, without the fixtures.
#![cfg(target_os = "linux")]

use std::time::Duration;

use blemesh_async_std::ble;
use blemesh_ble::mock::{self, MockBus};
use blemesh_core::{Config, NodeId};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn async_std_driver_writes_its_pdus_through_the_ble_central() {
    const NAME: &str = "async_std_driver_writes_its_pdus_through_the_ble_central";
    if mock::in_child() {
        async_std::task::block_on(async {
            let transport = ble::central(ble::CentralConfig::default()).await.expect("central starts on the mock");
            let (node, _events) = blemesh_async_std::spawn(Config::new(NodeId(7), 7), transport).expect("driver");
            // The parent watches the writes; it closes our stdin when it has seen them.
            async_std::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await.expect("stdin");
            let metrics = node.metrics().await.expect("metrics");
            node.shutdown().await;
            eprintln!("node metrics: {metrics:?}");
        });
        return;
    }
    let bus = match MockBus::start_with_bluez() {
        Ok(bus) => bus,
        Err(skip) => return eprintln!("{skip}"),
    };
    bus.add_adapter("hci0");
    let device = bus.add_blemesh_device("hci0", "AA:BB:CC:DD:EE:02", -60, 185);

    let mut child = mock::run_child(NAME, bus.address());
    let writes = bus.wait_for_call(&device.write, "WriteValue", WAIT);
    drop(child.stdin.take());
    assert!(mock::wait_child(&mut child, WAIT), "the child test passed");

    assert!(!writes.is_empty(), "the node's first PDU (its hello) reached the peripheral");
    assert_eq!(bus.method_calls(&device.path, "Disconnect").len(), 1, "the BLE thread let the central disconnect");
    for w in &writes {
        let pdu = mock::bytes_of(&w[0]);
        assert!(
            !pdu.is_empty() && pdu.len() <= 182,
            "one PDU per write, within ATT MTU 185 less 3: {} bytes",
            pdu.len()
        );
    }
}
