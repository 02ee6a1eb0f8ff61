//! Why a BLE transport could not start, saying which piece is missing.

use core::fmt;

/// Why a BLE transport could not be set up.
///
/// The first three variants tell apart the usual reasons a machine cannot do BLE at all:
/// no D-Bus ([`BleError::NoDbus`]), D-Bus but no Bluetooth daemon ([`BleError::NoBluez`]),
/// or a daemon without any adapter ([`BleError::NoAdapter`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum BleError {
    /// The D-Bus system bus cannot be reached (Linux: BlueZ is only reachable over it).
    /// Holds the D-Bus error message.
    NoDbus(String),
    /// The system bus is up but no Bluetooth daemon (`org.bluez`) is on it or activatable.
    NoBluez,
    /// The Bluetooth stack reports no adapter (no controller, or all are removed/blocked).
    NoAdapter,
    /// No peripheral back end exists for this platform (see [`crate::PeripheralBackend`]).
    Unsupported(&'static str),
    /// The Bluetooth stack refused an operation needed to start.
    Stack {
        /// What the transport was doing.
        operation: &'static str,
        /// The stack's error message.
        detail: String,
    },
    /// The thread that hosts BLE objects for a non-tokio runtime could not be started.
    Runtime(std::io::Error),
    /// The transport stopped before it finished starting.
    Stopped,
}

impl BleError {
    /// A [`BleError::Stack`] error for `operation` from any displayable stack error.
    pub(crate) fn stack(operation: &'static str, error: impl fmt::Display) -> Self {
        BleError::Stack { operation, detail: error.to_string() }
    }
}

impl fmt::Display for BleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BleError::NoDbus(e) => write!(f, "no D-Bus: the system bus cannot be reached ({e})"),
            BleError::NoBluez => f.write_str("no Bluetooth daemon: org.bluez is not on the D-Bus system bus"),
            BleError::NoAdapter => f.write_str("no Bluetooth adapter found"),
            BleError::Unsupported(what) => write!(f, "not supported on this platform: {what}"),
            BleError::Stack { operation, detail } => write!(f, "Bluetooth stack failed to {operation}: {detail}"),
            BleError::Runtime(e) => write!(f, "could not start the BLE runtime thread: {e}"),
            BleError::Stopped => f.write_str("the BLE transport stopped while starting"),
        }
    }
}

impl std::error::Error for BleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BleError::Runtime(e) => Some(e),
            _ => None,
        }
    }
}

/// Checks, on Linux, that the system bus is reachable and BlueZ is on it (or activatable),
/// so that a missing piece is reported as such rather than as an opaque stack error.
/// Blocking: call it from a blocking thread.
#[cfg(target_os = "linux")]
pub(crate) fn probe_bluez() -> Result<(), BleError> {
    use dbus::blocking::Connection;
    use std::time::Duration;

    let conn =
        Connection::new_system().map_err(|e| BleError::NoDbus(e.message().unwrap_or("no message").to_string()))?;
    let bus = conn.with_proxy("org.freedesktop.DBus", "/org/freedesktop/DBus", Duration::from_secs(5));
    let (owned,): (bool,) = bus
        .method_call("org.freedesktop.DBus", "NameHasOwner", ("org.bluez",))
        .map_err(|e| BleError::NoDbus(e.message().unwrap_or("NameHasOwner failed").to_string()))?;
    if owned {
        return Ok(());
    }
    let (activatable,): (Vec<String>,) = bus
        .method_call("org.freedesktop.DBus", "ListActivatableNames", ())
        .map_err(|e| BleError::NoDbus(e.message().unwrap_or("ListActivatableNames failed").to_string()))?;
    if activatable.iter().any(|n| n == "org.bluez") { Ok(()) } else { Err(BleError::NoBluez) }
}

/// [`probe_bluez`] from async code, on tokio's blocking pool.
#[cfg(target_os = "linux")]
pub(crate) async fn probe_bluez_async() -> Result<(), BleError> {
    tokio::task::spawn_blocking(probe_bluez).await.map_err(|_| BleError::Stopped)?
}

/// Elsewhere the platform's stack needs no D-Bus.
#[cfg(not(target_os = "linux"))]
pub(crate) async fn probe_bluez_async() -> Result<(), BleError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::BleError;

    #[test]
    fn messages_say_which_piece_is_missing() {
        assert!(BleError::NoDbus("connection refused".into()).to_string().contains("no D-Bus"));
        assert!(BleError::NoBluez.to_string().contains("org.bluez"));
        assert!(BleError::NoAdapter.to_string().contains("no Bluetooth adapter"));
        let e = BleError::stack("scan", "busy");
        assert_eq!(e.to_string(), "Bluetooth stack failed to scan: busy");
    }
}
