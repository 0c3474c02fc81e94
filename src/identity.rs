//! How a finding is recognised across runs and trees: by its check, its
//! lock classes and the functions on its path, never by line numbers, so
//! code that moves does not re-report. Series mode, `--baseline` and SARIF
//! fingerprints all use this one key.

use crate::finding::Finding;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub check: String,
    pub lock: Option<String>,
    /// The reporting function, then each hop's, repeats folded.
    pub functions: Vec<String>,
}

impl FindingKey {
    pub fn of(f: &Finding) -> FindingKey {
        FindingKey::new(f.check, f.lock.as_deref(), &f.function, f.trace.iter().map(|h| h.function.as_str()))
    }

    pub fn new<'a>(check: &str, lock: Option<&str>, function: &str, hops: impl Iterator<Item = &'a str>) -> FindingKey {
        let mut functions: Vec<String> = vec![function.to_string()];
        for hop in hops {
            if functions.last().is_none_or(|l| l != hop) {
                functions.push(hop.to_string());
            }
        }
        FindingKey { check: check.to_string(), lock: lock.map(str::to_string), functions }
    }

    /// A stable 64-bit digest (FNV-1a over the key's text), the same on
    /// every machine and every Rust version.
    pub fn fingerprint(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes.iter().chain([0x1f].iter()) {
                hash ^= u64::from(b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(self.check.as_bytes());
        eat(self.lock.as_deref().unwrap_or("").as_bytes());
        for f in &self.functions {
            eat(f.as_bytes());
        }
        format!("{hash:016x}")
    }
}

/// Which of `after` are not in `before`, counted as multisets: two equal
/// keys before and three after make one new. Returns indices into `after`.
pub fn new_since(before: &[FindingKey], after: &[FindingKey]) -> Vec<usize> {
    let mut left: rustc_hash::FxHashMap<&FindingKey, usize> = rustc_hash::FxHashMap::default();
    for k in before {
        *left.entry(k).or_default() += 1;
    }
    let mut out = Vec::new();
    for (i, k) in after.iter().enumerate() {
        match left.get_mut(k) {
            Some(n) if *n > 0 => *n -= 1,
            _ => out.push(i),
        }
    }
    out
}
