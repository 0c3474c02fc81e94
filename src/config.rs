//! `.lockpath.toml` and what decides which findings a run reports: checks
//! disabled (by the file or `--ignore`), severity overrides, paths whose
//! findings are skipped, and a baseline of findings already known.
//!
//! ```toml
//! # Extra primitives, in the queries/ model format (queries/README.md).
//! model = """
//! foo_lock   acquire arg=0 mode=exclusive kind=mutex
//! foo_unlock release arg=0
//! """
//! models = ["scripts/lockpath/foo.model"]   # files, relative to this file
//! disable = ["irq-unsafe-lock"]
//! skip = ["drivers/staging/", "arch/*/boot/**"]
//! [severity]
//! lock-imbalance = "error"
//! ```

use crate::finding::{Finding, Severity};
use crate::identity::FindingKey;
use crate::index::SourceFile;
use crate::model::Model;
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::{Path, PathBuf};

/// The file looked for at the top of the tree.
pub const CONFIG_FILE: &str = ".lockpath.toml";

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Model lines (queries/README.md format), added after the built-in ones.
    #[serde(default)]
    pub model: Option<String>,
    /// Model files, relative to the configuration file.
    #[serde(default)]
    pub models: Vec<PathBuf>,
    #[serde(default)]
    pub disable: Vec<String>,
    /// Check id → `error` or `warning`.
    #[serde(default)]
    pub severity: std::collections::BTreeMap<String, String>,
    /// Paths (tree-relative; `*` within a component, `**` across, a
    /// trailing `/` for a directory) whose findings are not reported.
    #[serde(default)]
    pub skip: Vec<String>,
    /// Where it was read from, for messages and relative paths.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {msg}", path.display())]
    Invalid { path: PathBuf, msg: String },
}

impl Config {
    /// `explicit` (`--config`), else `.lockpath.toml` in `root` when it has
    /// one, else the empty configuration.
    pub fn find(explicit: Option<&Path>, root: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match root.map(|r| r.join(CONFIG_FILE)).filter(|p| p.is_file()) {
                Some(p) => p,
                None => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
        let mut config: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            msg: e.message().lines().next().unwrap_or("invalid TOML").to_string(),
        })?;
        config.path = Some(path);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| ConfigError::Invalid { path: self.path.clone().unwrap_or_default(), msg };
        for id in self.disable.iter().chain(self.severity.keys()) {
            if crate::checks::find(id).is_none() {
                return Err(invalid(format!("unknown check `{id}` (see `lockpath explain`)")));
            }
        }
        for (id, level) in &self.severity {
            if parse_severity(level).is_none() {
                return Err(invalid(format!("severity of `{id}` is `{level}`: want `error` or `warning`")));
            }
        }
        Ok(())
    }

    /// Adds the configuration's primitives to `model`.
    pub fn extend_model(&self, model: &mut Model) -> Result<(), ConfigError> {
        let base = self.path.as_deref().and_then(Path::parent).unwrap_or(Path::new("."));
        let name = self.path.as_deref().map_or_else(|| CONFIG_FILE.to_string(), |p| p.display().to_string());
        let invalid = |msg: String| ConfigError::Invalid { path: PathBuf::from(&name), msg };
        if let Some(text) = &self.model {
            model.add(&format!("{name} (model)"), text).map_err(|e| invalid(e.to_string()))?;
        }
        for file in &self.models {
            let path = base.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Io { path: path.clone(), source })?;
            model.add(&path.display().to_string(), &text).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(())
    }
}

fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "error" => Some(Severity::Error),
        "warning" => Some(Severity::Warning),
        _ => None,
    }
}

/// Which findings a run reports, and at which severity.
#[derive(Debug, Default)]
pub struct Filters {
    disabled: FxHashSet<String>,
    severity: FxHashMap<String, Severity>,
    skip: Vec<String>,
    /// Findings already known (`--baseline`), as a multiset of keys.
    baseline: Vec<FindingKey>,
}

impl Filters {
    /// `ignore` is `--ignore`: check ids, in either spelling
    /// (`lock-imbalance` or checkpatch's `LOCK_IMBALANCE`).
    pub fn new(config: &Config, ignore: &[String]) -> Result<Filters, String> {
        let mut disabled: FxHashSet<String> = config.disable.iter().cloned().collect();
        for id in ignore.iter().flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
            let id = id.to_ascii_lowercase().replace('_', "-");
            if crate::checks::find(&id).is_none() {
                return Err(format!("--ignore: unknown check `{id}` (see `lockpath explain`)"));
            }
            disabled.insert(id);
        }
        let severity = config.severity.iter().filter_map(|(k, v)| Some((k.clone(), parse_severity(v)?))).collect();
        Ok(Filters { disabled, severity, skip: config.skip.clone(), baseline: Vec::new() })
    }

    /// Reads a `--format json` report of an earlier run.
    pub fn load_baseline(&mut self, path: &Path) -> Result<(), String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: not a lockpath JSON report: {e}", path.display()))?;
        let Some(findings) = json.get("findings").and_then(|f| f.as_array()) else {
            return Err(format!("{}: not a lockpath JSON report (no `findings`)", path.display()));
        };
        let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        for f in findings {
            // A report of a series lists what it fixed too; those are gone.
            if f.get("status").and_then(|x| x.as_str()) == Some("fixed") {
                continue;
            }
            let hops: Vec<String> = f
                .get("trace")
                .and_then(|t| t.as_array())
                .map(|t| t.iter().map(|h| s(h, "function")).collect())
                .unwrap_or_default();
            let lock = f.get("lock").and_then(|l| l.as_str());
            self.baseline.push(FindingKey::new(
                &s(f, "check"),
                lock,
                &s(f, "function"),
                hops.iter().map(String::as_str),
            ));
        }
        Ok(())
    }

    /// Drops disabled checks and skipped paths, applies severity overrides.
    pub fn apply(&self, findings: Vec<Finding>, files: &[SourceFile]) -> Vec<Finding> {
        findings
            .into_iter()
            .filter(|f| !self.disabled.contains(f.check))
            .filter(|f| {
                let display = files.get(f.file as usize).map_or("", |s| s.display.as_str());
                !self.skip.iter().any(|pattern| path_matches(pattern, display))
            })
            .map(|mut f| {
                if let Some(&s) = self.severity.get(f.check) {
                    f.severity = s;
                }
                f
            })
            .collect()
    }

    /// Drops the findings the baseline already has (each baseline entry
    /// accounts for one finding).
    pub fn drop_baseline(&self, findings: Vec<Finding>) -> Vec<Finding> {
        if self.baseline.is_empty() {
            return findings;
        }
        let keys: Vec<FindingKey> = findings.iter().map(FindingKey::of).collect();
        let keep: FxHashSet<usize> = crate::identity::new_since(&self.baseline, &keys).into_iter().collect();
        findings.into_iter().enumerate().filter(|(i, _)| keep.contains(i)).map(|(_, f)| f).collect()
    }
}

/// Gitignore-like matching on tree-relative paths: `dir/` matches what is
/// below it, `*` any run within one component, `**` any number of
/// components; a pattern without `/` (but a trailing one) matches the name
/// in any directory. Iterative (two-pointer with backtracking), no recursion.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let (pattern, dir) = match pattern.strip_suffix('/') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let pattern = pattern.trim_start_matches('/');
    let anywhere = !pattern.contains('/');
    let pat: Vec<&str> = pattern.split('/').collect();
    let parts: Vec<&str> = path.split('/').collect();
    let starts: Vec<usize> = if anywhere { (0..parts.len()).collect() } else { vec![0] };
    starts.into_iter().any(|s| {
        let rest = &parts[s..];
        (0..=rest.len()).any(|end| {
            // A directory pattern matches a prefix of the path; a file
            // pattern matches a prefix too, as a directory holding it.
            let prefix = &rest[..end];
            (end == rest.len() || dir || end > 0) && components_match(&pat, prefix)
        })
    })
}

fn components_match(pat: &[&str], parts: &[&str]) -> bool {
    wildcard(pat, parts, |p| *p == "**", |p, part| glob_component(p, part))
}

/// `*` and `?` within one path component.
fn glob_component(pat: &str, name: &str) -> bool {
    let (pat, name): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    wildcard(&pat, &name, |c| *c == '*', |p, c| *p == '?' || p == c)
}

/// Matches `items` against `pat`, where `star` elements match any run of
/// items and the others match one item each when `one` says so. Iterative
/// two-pointer matching with backtracking to the last star.
fn wildcard<P, S>(pat: &[P], items: &[S], star: impl Fn(&P) -> bool, one: impl Fn(&P, &S) -> bool) -> bool {
    let (mut p, mut s) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while s < items.len() {
        if p < pat.len() && star(&pat[p]) {
            last_star = Some((p, s));
            p += 1;
        } else if p < pat.len() && one(&pat[p], &items[s]) {
            p += 1;
            s += 1;
        } else if let Some((sp, ss)) = last_star {
            p = sp + 1;
            s = ss + 1;
            last_star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(star)
}
