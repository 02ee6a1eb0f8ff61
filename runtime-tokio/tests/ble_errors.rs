//! Without Bluetooth the BLE transports fail with an error that says what is missing:
//! no D-Bus, D-Bus without BlueZ, BlueZ without an adapter. Each case runs in a child
//! process whose system bus address is set for it (see `blemesh_ble::mock`).
#![cfg(target_os = "linux")]

use std::time::Duration;

use blemesh_ble::mock::{self, MockBus};
use blemesh_tokio::ble::{self, BleError};

const WAIT: Duration = Duration::from_secs(30);

/// Both roles' start errors in this process (a child), as `(central, peripheral)`.
fn start_both() -> (BleError, BleError) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        let central = ble::central(ble::CentralConfig::default()).await.expect_err("central cannot start");
        let peripheral = ble::peripheral(ble::PeripheralConfig::default()).await.expect_err("peripheral cannot start");
        eprintln!("central: {central}\nperipheral: {peripheral}");
        (central, peripheral)
    })
}

#[test]
fn no_dbus_is_reported_as_such() {
    if mock::in_child() {
        let (c, p) = start_both();
        assert!(matches!(c, BleError::NoDbus(_)), "{c:?}");
        assert!(matches!(p, BleError::NoDbus(_)), "{p:?}");
        return;
    }
    // A bus address where nothing listens: needs no fixture at all.
    let dir = std::env::temp_dir().join(format!("blemesh-no-dbus-{}", std::process::id()));
    let address = format!("unix:path={}", dir.join("no-bus-here").display());
    let mut child = mock::run_child("no_dbus_is_reported_as_such", &address);
    assert!(mock::wait_child(&mut child, WAIT), "the child test passed");
}

#[test]
fn dbus_without_bluez_is_reported_as_such() {
    if mock::in_child() {
        let (c, p) = start_both();
        assert!(matches!(c, BleError::NoBluez), "{c:?}");
        assert!(matches!(p, BleError::NoBluez), "{p:?}");
        return;
    }
    let bus = match MockBus::start() {
        Ok(bus) => bus,
        Err(skip) => return eprintln!("{skip}"),
    };
    let mut child = mock::run_child("dbus_without_bluez_is_reported_as_such", bus.address());
    assert!(mock::wait_child(&mut child, WAIT), "the child test passed");
}

#[test]
fn bluez_without_an_adapter_is_reported_as_such() {
    if mock::in_child() {
        let (c, p) = start_both();
        assert!(matches!(c, BleError::NoAdapter), "{c:?}");
        assert!(matches!(p, BleError::NoAdapter), "{p:?}");
        return;
    }
    let bus = match MockBus::start_with_bluez() {
        Ok(bus) => bus,
        Err(skip) => return eprintln!("{skip}"),
    };
    let mut child = mock::run_child("bluez_without_an_adapter_is_reported_as_such", bus.address());
    assert!(mock::wait_child(&mut child, WAIT), "the child test passed");
}

/// `blemesh-node --ble` prints the error as a JSON line and exits with failure.
#[test]
fn blemesh_node_reports_a_missing_dbus() {
    let dir = std::env::temp_dir().join(format!("blemesh-node-no-dbus-{}", std::process::id()));
    for role in ["central", "peripheral"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_blemesh-node"))
            .args(["--id", "1", "--ble", role])
            .env("DBUS_SYSTEM_BUS_ADDRESS", format!("unix:path={}", dir.join("no-bus-here").display()))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run blemesh-node");
        assert!(!out.status.success(), "{role}: exits with failure");
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
        assert_eq!(line["type"], "error", "{role}: {line}");
        assert!(line["error"].as_str().is_some_and(|e| e.starts_with("no D-Bus")), "{role}: {line}");
    }
}
