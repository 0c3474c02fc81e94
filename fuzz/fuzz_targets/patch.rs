//! Fuzz target (b): bytes as a patch or mbox through the patch parser.
//!
//! TODO(patch): the parser is being written on branch `helper/series`, as a
//! `pub fn` taking `&[u8]`. Once it is merged:
//!   1. uncomment the `[[bin]] name = "patch"` entry in fuzz/Cargo.toml;
//!   2. replace the body below with a call to that function (and, if it
//!      returns an overlay, drive `lockpath::fuzzing::check_bytes` on each
//!      resulting file, as the extract target does);
//!   3. seed `fuzz/corpus/patch` from `tests/seed/*.patch` in ci/fuzz.sh
//!      (the `patch)` case there already does this) and run it for 10
//!      minutes; record the run in docs/fuzzing.md.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // TODO(patch): lockpath::<module>::<parse>(data);
    std::hint::black_box(data);
});
