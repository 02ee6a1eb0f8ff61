//! Support for measuring the heap a value holds part by part (the `memory` diagnostic of
//! `blemesh-benches`): the owner hands each part, by name, to a caller-supplied `measure`
//! callback together with a closure that drops it, so a counting allocator can attribute the
//! bytes freed. Nothing here allocates or reads a clock.

/// The callback of a part-by-part drop: `measure(name, drop_it)` should read its allocation
/// counter, call `drop_it` once, and read the counter again.
pub type MeasurePart<'a> = dyn FnMut(&'static str, &mut dyn FnMut()) + 'a;

/// Hands `value` to `measure` under `name` and drops it inside the callback.
pub(crate) fn part<T>(measure: &mut MeasurePart<'_>, name: &'static str, value: T) {
    let mut value = Some(value);
    measure(name, &mut || drop(value.take()));
    // If `measure` never called the closure, the value is dropped here, unattributed.
}
