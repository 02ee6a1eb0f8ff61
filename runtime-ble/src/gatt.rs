//! The blemesh GATT layout: one primary service with a write and a notify characteristic,
//! and the MTU arithmetic every BLE back end shares.
//!
//! * A **central** writes link PDUs to [`WRITE_CHARACTERISTIC`] (write without response)
//!   and receives the peripheral's PDUs as notifications of [`NOTIFY_CHARACTERISTIC`].
//! * A **peripheral** serves both and advertises [`SERVICE`] so centrals can find it.
//!
//! One write or one notification carries exactly one link PDU: the core fragments frames
//! to the MTU a link reports ([`pdu_mtu`]), so the transports never split or join bytes.

pub use uuid::Uuid;

/// The blemesh GATT service, advertised by peripherals and scanned for by centrals.
pub const SERVICE: Uuid = Uuid::from_u128(0x7b3e0001_4c1a_4f6e_9b1d_626c656d7368);

/// Centrals write link PDUs here (write without response; write with response accepted).
pub const WRITE_CHARACTERISTIC: Uuid = Uuid::from_u128(0x7b3e0002_4c1a_4f6e_9b1d_626c656d7368);

/// Peripherals notify link PDUs here; a central subscribes to it to open the link.
pub const NOTIFY_CHARACTERISTIC: Uuid = Uuid::from_u128(0x7b3e0003_4c1a_4f6e_9b1d_626c656d7368);

/// ATT MTU before any exchange (Bluetooth Core, Vol 3, Part F, 3.2.8).
pub const DEFAULT_ATT_MTU: u16 = 23;

/// Bytes of ATT header in a write command or a notification (opcode + handle).
pub const ATT_HEADER: u16 = 3;

/// Longest attribute value ATT allows, so the longest PDU any link carries.
pub const MAX_PDU: usize = 512;

/// The smallest PDU the core accepts for a link ([`blemesh_core::LinkReport::mtu`]).
pub const MIN_PDU: u16 = 20;

/// The link MTU to report for a negotiated ATT MTU: the ATT MTU less the 3-byte header,
/// never below [`MIN_PDU`] (what every BLE link carries) nor above [`MAX_PDU`].
pub fn pdu_mtu(att_mtu: u16) -> u16 {
    att_mtu.saturating_sub(ATT_HEADER).clamp(MIN_PDU, MAX_PDU as u16)
}

/// RSSI as the core takes it: dBm clamped to `i8`.
pub fn rssi_dbm(rssi: i16) -> i8 {
    i8::try_from(rssi.clamp(i16::from(i8::MIN), i16::from(i8::MAX))).unwrap_or(i8::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdu_mtu_subtracts_the_att_header_and_stays_in_range() {
        assert_eq!(pdu_mtu(DEFAULT_ATT_MTU), 20);
        assert_eq!(pdu_mtu(247), 244);
        assert_eq!(pdu_mtu(0), MIN_PDU, "a bogus MTU never goes below what BLE always carries");
        assert_eq!(pdu_mtu(u16::MAX), MAX_PDU as u16, "ATT values are at most 512 bytes");
    }

    #[test]
    fn rssi_clamps_to_i8() {
        assert_eq!(rssi_dbm(-79), -79);
        assert_eq!(rssi_dbm(-300), i8::MIN);
        assert_eq!(rssi_dbm(200), i8::MAX);
    }

    #[test]
    fn uuids_are_distinct_and_share_the_blemesh_base() {
        let all = [SERVICE, WRITE_CHARACTERISTIC, NOTIFY_CHARACTERISTIC];
        assert_ne!(all[0], all[1]);
        assert_ne!(all[1], all[2]);
        assert_ne!(all[0], all[2]);
        for u in all {
            assert!(u.to_string().ends_with("-4c1a-4f6e-9b1d-626c656d7368"), "{u}");
        }
    }
}
