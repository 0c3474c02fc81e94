//! The `git` binary, for `--git RANGE` and for a patch's pre-image blobs.
//! Only object reads (`rev-list`, `log`, `diff-tree`, `ls-tree`,
//! `cat-file`): the work tree and the index are never read or written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("git {args}: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("{0}: not a git repository")]
    NotARepo(PathBuf),
    #[error("{0}: cannot write the base tree: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("git cat-file: unexpected output for {0}")]
    CatFile(String),
}

/// One commit of a range, oldest first.
#[derive(Debug, Clone)]
pub struct Commit {
    pub sha: String,
    pub short: String,
    pub subject: String,
    /// The first parent; `None` for a root commit.
    pub parent: Option<String>,
}

/// A repository, addressed by its top-level directory.
#[derive(Debug, Clone)]
pub struct Repo {
    top: PathBuf,
}

impl Repo {
    /// The repository whose top level is exactly `dir`, if there is one
    /// (a tree inside some unrelated repository does not count).
    pub fn at(dir: &Path) -> Option<Repo> {
        let repo = Repo { top: dir.to_path_buf() };
        let out = repo.run(&["rev-parse", "--show-toplevel"], None).ok()?;
        let top = PathBuf::from(String::from_utf8_lossy(&out).trim());
        let same = top.canonicalize().ok()? == dir.canonicalize().ok()?;
        same.then_some(repo)
    }

    pub fn open(dir: &Path) -> Result<Repo, GitError> {
        Repo::at(dir).ok_or_else(|| GitError::NotARepo(dir.to_path_buf()))
    }

    /// A blob's bytes by (abbreviated) id, if the repository has it.
    pub fn blob(&self, id: &str) -> Option<Vec<u8>> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let spec = format!("{id}^{{blob}}");
        self.run(&["cat-file", "blob", &spec], None).ok()
    }

    /// The commits of `range` (`origin/master..HEAD`, `HEAD~3..`, or one
    /// commit), oldest first, merges left out.
    pub fn commits(&self, range: &str) -> Result<Vec<Commit>, GitError> {
        let mut args = vec!["log", "--reverse", "--no-merges", "--no-color", "--format=%H%x1f%h%x1f%P%x1f%s%x1e"];
        // A single commit means that commit alone, as `git format-patch -1`.
        let single = format!("{range}^!");
        args.push(if range.contains("..") { range } else { &single });
        args.push("--");
        let out = self.run(&args, None)?;
        let text = String::from_utf8_lossy(&out);
        Ok(text
            .split('\x1e')
            .filter_map(|rec| {
                let rec = rec.trim_start_matches('\n');
                let mut fields = rec.split('\x1f');
                let sha = fields.next()?.to_string();
                if sha.is_empty() {
                    return None;
                }
                let short = fields.next()?.to_string();
                let parent = fields.next()?.split_whitespace().next().map(str::to_string);
                let subject = fields.next().unwrap_or("").to_string();
                Some(Commit { sha, short, subject, parent })
            })
            .collect())
    }

    /// The commit's change against its first parent, as a git diff with
    /// `a/` `b/` prefixes whatever the user's configuration says.
    pub fn diff(&self, commit: &Commit) -> Result<Vec<u8>, GitError> {
        let mut args = vec![
            "diff-tree",
            "-p",
            "-M",
            "--binary",
            "--full-index",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
        ];
        match &commit.parent {
            Some(parent) => {
                args.push(parent);
                args.push(&commit.sha);
            }
            None => {
                args.push("--root");
                args.push(&commit.sha);
            }
        }
        self.run(&args, None)
    }

    /// Writes the regular files of `commit`'s tree that `wanted` selects
    /// below `into`, reading the blobs in one `cat-file --batch`.
    pub fn materialise(
        &self,
        commit: Option<&str>,
        pathspecs: &[String],
        wanted: &dyn Fn(&str) -> bool,
        into: &Path,
    ) -> Result<usize, GitError> {
        let Some(commit) = commit else { return Ok(0) };
        let mut args: Vec<&str> = vec!["ls-tree", "-r", "-z", "--full-tree", commit, "--"];
        args.extend(pathspecs.iter().map(String::as_str));
        let listing = self.run(&args, None)?;
        let mut blobs: Vec<(String, String)> = Vec::new();
        for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            let Some((meta, path)) = entry.split_once('\t') else { continue };
            let mut meta = meta.split_whitespace();
            let (mode, kind, id) = (meta.next(), meta.next(), meta.next());
            // Regular files only: no symlinks (120000), no submodules.
            if kind == Some("blob") && matches!(mode, Some("100644" | "100755")) && wanted(path) {
                blobs.push((id.unwrap_or("").to_string(), path.to_string()));
            }
        }
        let input: Vec<u8> = blobs.iter().flat_map(|(id, _)| id.bytes().chain([b'\n'])).collect();
        let out = self.run(&["cat-file", "--batch"], Some(input))?;
        let mut at = 0;
        for (id, path) in &blobs {
            let header_end = out[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|k| at + k)
                .ok_or_else(|| GitError::CatFile(id.clone()))?;
            let header = String::from_utf8_lossy(&out[at..header_end]).into_owned();
            let size: usize =
                header.rsplit(' ').next().and_then(|s| s.parse().ok()).ok_or_else(|| GitError::CatFile(id.clone()))?;
            let start = header_end + 1;
            let bytes = out.get(start..start + size).ok_or_else(|| GitError::CatFile(id.clone()))?;
            let dest = into.join(path);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| GitError::Write(dest.clone(), e))?;
            }
            std::fs::write(&dest, bytes).map_err(|e| GitError::Write(dest.clone(), e))?;
            at = start + size + 1;
        }
        Ok(blobs.len())
    }

    fn run(&self, args: &[&str], input: Option<Vec<u8>>) -> Result<Vec<u8>, GitError> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&self.top)
            .args(["-c", "core.quotePath=true", "-c", "log.showSignature=false"])
            .args(args)
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(GitError::Spawn)?;
        // Write on a thread so a large output cannot dead-lock the pipes.
        let writer = match (input, child.stdin.take()) {
            (Some(input), Some(mut stdin)) => Some(std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            })),
            _ => None,
        };
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            out.read_to_end(&mut stdout).map_err(GitError::Spawn)?;
        }
        if let Some(mut err) = child.stderr.take() {
            err.read_to_end(&mut stderr).map_err(GitError::Spawn)?;
        }
        if let Some(w) = writer {
            let _ = w.join();
        }
        let status = child.wait().map_err(GitError::Spawn)?;
        if !status.success() {
            let stderr = String::from_utf8_lossy(&stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().to_string();
            return Err(GitError::Failed { args: args.first().copied().unwrap_or("").to_string(), stderr: first });
        }
        Ok(stdout)
    }
}
