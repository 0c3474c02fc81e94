//! Fuzz target (b): bytes as a patch, an mbox or a plain diff through the
//! series parser (`lockpath::series::patch::parse`), which must return
//! patches or an error for any input, never panic, hang or blow up.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = std::hint::black_box(lockpath::series::patch::parse(data, "fuzz.patch"));
});
