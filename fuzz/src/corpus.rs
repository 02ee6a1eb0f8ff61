//! Replay of the committed corpus and crash files under `cargo test`.
//!
//! cargo-bolero is pointed at `fuzz/corpus/<target>/` and `fuzz/crashes/<target>/`
//! (`run-target.sh` passes `--corpus-dir`/`--crashes-dir`); bolero's own test mode looks for
//! them elsewhere (`__fuzz__` beside the source), so the targets replay them with this, decoding
//! each file with the same byte-slice driver the fuzzing engines use.

use std::fmt::Debug;
use std::path::PathBuf;

use bolero::generator::bolero_generator::driver::{ByteSliceDriver, Options};
use bolero::generator::TypeGenerator;

/// Files of `fuzz/corpus/<target>/` and `fuzz/crashes/<target>/`, sorted.
pub fn files(target: &str) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["corpus", "crashes"] {
        if let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) {
            out.extend(
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))),
            );
        }
    }
    out.sort();
    out
}

/// Runs `check` on every committed file of `target` as raw bytes; returns how many.
pub fn replay_bytes(target: &str, check: impl Fn(&[u8])) -> usize {
    let files = files(target);
    for f in &files {
        let bytes = std::fs::read(f).expect("readable corpus file");
        check(&bytes);
    }
    files.len()
}

/// Decodes the committed file `name` of `target` (in `corpus/` or `crashes/`) as a `T`, as the
/// engines would; `None` if there is no such file or it is too short for a `T`.
pub fn decode<T: TypeGenerator>(target: &str, name: &str) -> Option<T> {
    let path = files(target).into_iter().find(|p| p.file_name().is_some_and(|n| n == name))?;
    let bytes = std::fs::read(path).expect("readable corpus file");
    T::generate(&mut ByteSliceDriver::new(&bytes, &Options::default()))
}

/// Runs `check` on every committed file of `target` decoded as a `T`; returns how many
/// decoded (a file too short for a `T` is skipped, as the engines skip it).
pub fn replay<T: TypeGenerator + Debug>(target: &str, check: impl Fn(&T)) -> usize {
    let mut n = 0;
    for f in files(target) {
        let bytes = std::fs::read(&f).expect("readable corpus file");
        let mut driver = ByteSliceDriver::new(&bytes, &Options::default());
        if let Some(value) = T::generate(&mut driver) {
            check(&value);
            n += 1;
        }
    }
    n
}
