//! Property tests: over arbitrary inputs every decision is valid by the specification and
//! by the configuration, and fixed conditions do not make decisions flap.

use alloc::vec::Vec;
use core::time::Duration;

use super::*;

/// (rssi, loss bits, latency-sensitive, load, mtu, budget, previous raw parts, interval
/// held for ms).
type LinkCase = (Option<i8>, u32, bool, u32, u16, u8, Option<(u16, u16, u16, i8)>, u16);

fn budget(b: u8) -> PowerBudget {
    [PowerBudget::Performance, PowerBudget::Balanced, PowerBudget::Saver][usize::from(b % 3)]
}

/// Any raw previous decision made valid: out-of-range parts are clamped, the timeout raised
/// to the floor (previous decisions came from [`link_parameters`], which is valid).
fn previous((ci, lat, to, tx): (u16, u16, u16, i8)) -> LinkParameters {
    let ci = ConnectionInterval::from_units(ci.clamp(6, 400)).unwrap();
    let lat = PeripheralLatency::new(lat % 8).unwrap();
    let floor = SupervisionTimeout::floor_for(ci, lat).unwrap();
    let to = SupervisionTimeout::from_units(to.clamp(10, 3200)).unwrap().max(floor);
    LinkParameters::new(ci, lat, to, tx.clamp(-127, 20)).unwrap()
}

fn conditions(case: &LinkCase) -> LinkConditions {
    let &(rssi, loss_bits, latency_sensitive, load_bps, mtu, _, _, held_ms) = case;
    LinkConditions {
        rssi_dbm: rssi,
        loss: f32::from_bits(loss_bits),
        latency_sensitive,
        load_bps,
        mtu: mtu.max(20),
        interval_held: Duration::from_millis(u64::from(held_ms)),
    }
}

#[test]
fn link_parameters_are_always_spec_valid_and_within_the_profile() {
    let cfg = BleConfig::default();
    bolero::check!().with_type::<LinkCase>().with_iterations(5000).for_each(|case| {
        let b = budget(case.5);
        let c = conditions(case);
        let prev = case.6.map(previous);
        let p = link_parameters(&cfg, b, &c, prev.as_ref());
        assert_eq!(p.check(), Ok(()), "{p:?}");
        let profile = cfg.profile(b);
        let ci = p.connection_interval.as_duration();
        assert!(ci >= profile.min_interval && ci <= profile.max_interval, "{p:?}");
        assert!(p.effective_interval() <= profile.max_effective_interval, "{p:?}");
        assert!(p.tx_power_dbm >= cfg.tx_power_min_dbm && p.tx_power_dbm <= cfg.tx_power_cap(b), "{p:?}");
        assert!(p.supervision_timeout.as_duration() > p.effective_interval() * 2, "{p:?}");
        if c.latency_sensitive {
            assert_eq!(ci, profile.min_interval);
            assert_eq!(p.peripheral_latency, PeripheralLatency::ZERO);
        }
    });
}

#[test]
fn fixed_conditions_settle_without_flapping() {
    let cfg = BleConfig::default();
    bolero::check!().with_type::<LinkCase>().with_iterations(2000).for_each(|case| {
        // Time stands still here: the interval has long held.
        let (b, c) = (budget(case.5), LinkConditions { interval_held: Duration::MAX, ..conditions(case) });
        let first = link_parameters(&cfg, b, &c, case.6.map(previous).as_ref());
        let mut p = first;
        // Power moves at most one step per decision, so (cap - floor) / step + 1 decisions
        // reach its resting point; after that nothing changes.
        for _ in 0..12 {
            p = link_parameters(&cfg, b, &c, Some(&p));
        }
        let again = link_parameters(&cfg, b, &c, Some(&p));
        assert_eq!(again, p, "still moving after 13 decisions under fixed conditions");
        let second = link_parameters(&cfg, b, &c, Some(&first));
        assert_eq!(second.connection_interval, first.connection_interval, "interval flapped");
        assert_eq!(second.supervision_timeout, first.supervision_timeout, "timeout flapped");
    });
}

/// (raw interference levels, previous map bits, floor).
type MapCase = (Vec<u32>, u64, u8);

#[test]
fn channel_map_keeps_the_floor_and_avoids_interference_when_it_can() {
    bolero::check!().with_type::<MapCase>().with_iterations(3000).for_each(|(raw, prev_bits, floor)| {
        let cfg = BleConfig { min_used_channels: 2 + floor % 36, ..BleConfig::default() };
        // Mostly levels in 0..=1 in steps of 1/20, sometimes a raw float (NaN, negative...).
        let level = |ch: usize| match raw.get(ch) {
            Some(&r) if r % 7 == 0 => f32::from_bits(r),
            Some(&r) => (r % 21) as f32 / 20.0,
            None => 0.0,
        };
        let levels: [f32; 37] = core::array::from_fn(level);
        let prev = ChannelMap::from_bits(prev_bits & ChannelMap::ALL.bits()).unwrap_or(ChannelMap::ALL);
        let map = channel_map(&cfg, &levels, prev);
        assert!(ChannelMap::from_bits(map.bits()).is_some(), "{map:?}");
        assert!(map.used() >= cfg.min_used_channels, "{map:?} under {}", cfg.min_used_channels);
        let clean = |l: f32| l < cfg.include_interference_below;
        let bad = |l: f32| l.is_nan() || l > cfg.exclude_interference_above;
        let n_clean = levels.iter().filter(|l| clean(**l)).count();
        if n_clean >= usize::from(cfg.min_used_channels) {
            for (ch, l) in levels.iter().enumerate() {
                if clean(*l) {
                    assert!(map.is_used(ch as u8), "clean channel {ch} left out of {map:?}");
                }
                if bad(*l) {
                    assert!(!map.is_used(ch as u8), "interfered channel {ch} kept in {map:?}");
                }
            }
        }
    });
}

/// (neighbours, partitioned, seconds, budget).
type AdvCase = (u8, bool, u16, u8);

#[test]
fn advertising_schedules_are_always_spec_valid() {
    let cfg = BleConfig::default();
    bolero::check!().with_type::<AdvCase>().for_each(|&(n, partitioned, secs, b)| {
        let s = MeshSituation { neighbours: usize::from(n), partitioned, since: Duration::from_secs(u64::from(secs)), budget: budget(b) };
        let a = advertising_schedule(&cfg, &s);
        let interval = a.interval.as_duration();
        assert!(interval >= Duration::from_millis(20) && interval <= Duration::from_millis(10_240));
        assert!(!a.on.is_zero() && a.on <= a.period && a.on >= interval, "{a:?}");
        assert_eq!(a.mode == AdvertisingMode::Burst, s.seeking() && s.since < cfg.advertising.burst_for);
    });
}
