//! psql includes (`\i`, `\ir`) for the plan check: which files a file with `plan(N)` pulls
//! in, how many TAP results they add, and a verdict per file.
//!
//! Owns resolving an include to a file, the rules for which files may be read that way, and
//! the totals over the include graph. It returns verdicts and warnings; the scan's
//! aggregator records them.
//!
//! Safety rules, because a repository under scan is not trusted:
//! - an include is read only if it resolves (symbolic links followed) to a **regular file
//!   inside a scanned root** or inside a folder named with `--include-dir`; anything else
//!   (`/etc/passwd`, `../../secret`, `/dev/zero`, `/dev/stdin`, a FIFO, a device) is a
//!   warning naming the include, never opened, and the including file's plan is then not
//!   checkable;
//! - included files are read by the pipeline, as every scanned file is: size-checked,
//!   charged to the memory budget, served from `--cache` when it holds them, opened without
//!   blocking, and cancellable;
//! - the graph is walked once per file (totals are memoised) and without recursion, so
//!   neither a diamond-shaped graph (each file including the next twice) nor a chain of
//!   thousands of files costs more than reading them once.

/// ahash, not SipHash: a suite has a node per file with a plan and includes, and its
/// paths were a third of a `--cache` rescan's plan check (100k files).
type HashMap<K, V> = ahash::AHashMap<K, V>;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pipeline::{DiscoveryConfig, Event, MemoryBudget, PipelineConfig, Progress};

use crate::model::{Context, FileResult, Include};
use crate::snapcodec::{Dec, Enc};

mod runners;

pub(crate) use runners::{Runners, RunnersConfig, RUNNERS_SHARE};

/// A scanned file with `plan(N)` and at least one include.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Runner {
    /// As shown in reports (the discovered path).
    pub path: String,
    pub plan_line: u32,
    pub planned: u64,
    /// Results its own code emits.
    pub tests: u64,
    /// Whether `tests` is exact.
    pub exact: bool,
    pub includes: Vec<Include>,
}

impl Runner {
    /// Appends this runner's bytes (the `--cache` run snapshot's form, and a record of the
    /// runners' spill file).
    pub fn encode(&self, enc: &mut Enc) {
        enc.str(&self.path);
        enc.uint(self.plan_line.into());
        enc.uint(self.planned);
        enc.uint(self.tests);
        enc.flag(self.exact);
        enc.uint(self.includes.len() as u64);
        for i in &self.includes {
            enc.str(&i.path);
            enc.flag(i.relative);
            enc.uint(i.line.into());
        }
    }

    /// Reads what [`Runner::encode`] wrote.
    pub fn decode(dec: &mut Dec<'_>) -> Option<Runner> {
        let path = dec.str()?.to_string();
        let plan_line = dec.u32()?;
        let planned = dec.uint()?;
        let tests = dec.uint()?;
        let exact = dec.flag()?;
        let m = dec.len()?;
        let includes = (0..m)
            .map(|_| {
                Some(Include {
                    path: dec.str()?.to_string(),
                    relative: dec.flag()?,
                    line: dec.u32()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Runner {
            path,
            plan_line,
            planned,
            tests,
            exact,
            includes,
        })
    }
}

/// A plan that can be checked: the runner's own tests plus those of its includes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub path: String,
    pub line: u32,
    pub planned: u64,
    pub found: u64,
    pub from_includes: u64,
}

/// A problem with one include, reported at the including line of a runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Warning {
    pub path: String,
    pub line: u32,
    pub text: String,
}

/// What [`check`] found, handed over a batch of runners at a time.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub verdicts: Vec<Verdict>,
    pub warnings: Vec<Warning>,
    /// Distinct included files read (not counting the runners themselves).
    pub files_read: u64,
    pub cancelled: bool,
}

/// What [`check`] did in all.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// Distinct included files read.
    pub files_read: u64,
    pub cancelled: bool,
    /// Runners written to disk while files arrived, and the bytes written.
    pub spilled: u64,
    pub bytes_written: u64,
    /// The runners could not all be written to disk or read back: some plans were not
    /// checked.
    pub error: Option<String>,
}

/// How included files are read: the scan's own settings.
pub(crate) struct Reader<'a> {
    /// Reads one included file (with its own project's options, see
    /// [`crate::scan::ScanConfig::project_reading`]).
    pub extract: &'a (dyn Fn(&Path, &[u8]) -> FileResult + Sync),
    /// The scan roots, as given (relative or absolute).
    pub roots: &'a [PathBuf],
    /// More folders includes may resolve into (`--include-dir`).
    pub include_dirs: &'a [PathBuf],
    pub threads: usize,
    pub budget: Arc<MemoryBudget>,
    pub cancel: Arc<AtomicBool>,
    pub progress: Arc<Progress>,
    pub cache: Option<&'a mut pipeline::BlobCache>,
    pub binary: bool,
}

type NodeId = usize;

/// One file of the include graph.
struct Node {
    /// The path psql would use (lexically normalised), as shown in messages; nested `\ir`
    /// resolve against it, as psql resolves them against the path it opened.
    shown: PathBuf,
    /// The scan root it belongs to, for `\i` (resolved against the directory psql runs in).
    root: PathBuf,
    state: State,
    /// Whether an include leads to it: only then does it outlive its runner's batch.
    referenced: bool,
}

enum State {
    /// Found, not read yet.
    Pending,
    Read {
        tests: u64,
        exact: bool,
        edges: Vec<Edge>,
    },
    /// Could not be read: the message.
    Failed(String),
}

/// One include of a file: the file it resolves to, or why it cannot be followed.
struct Edge {
    line: u32,
    to: Result<NodeId, String>,
}

/// The graph: nodes keyed by their canonical path, so a file reached by two routes (or
/// through a symbolic link) is one node.
struct Graph {
    nodes: Vec<Node>,
    by_real: HashMap<PathBuf, NodeId>,
    /// Nodes found and not read yet.
    pending: Vec<NodeId>,
    /// Slots of nodes dropped after their batch, for new nodes.
    free: Vec<NodeId>,
    /// An estimate of the bytes the graph holds (charged to the budget).
    bytes: u64,
    /// Canonical forms of the folders includes may resolve into.
    allowed: Vec<PathBuf>,
    /// The same folders as absolute paths, lexically (before any link is followed).
    allowed_lexical: Vec<PathBuf>,
    cwd: PathBuf,
    /// Lexically normalised scan roots (directories), for `\i` resolution.
    roots: Vec<PathBuf>,
    /// Canonical forms of the folders files were found in (`None`: it does not resolve).
    real_dirs: HashMap<PathBuf, Option<PathBuf>>,
    /// What an include resolves to from a folder: (folder, path, relative) -> (canonical,
    /// shown) or why not. Suites include the same set-up file from thousands of files.
    resolved: HashMap<(PathBuf, String, bool), Resolved>,
}

/// The estimated bytes of a node beyond its paths: the node, its key in `by_real`, its
/// memo and stack slots, the allocations' overhead.
const NODE_BYTES: u64 = 256;

/// The estimated bytes of an edge beyond its message.
const EDGE_BYTES: u64 = 40;

/// Where an include leads: (canonical path, the path reports show), or why it cannot be
/// followed.
type Resolved = Result<(PathBuf, PathBuf), String>;

/// Can static reading know how many results this file's own code emits? Only then can its
/// plan be checked: here for the files it includes, in the aggregator for every file.
pub(crate) fn exact_count(r: &FileResult) -> bool {
    !r.tests_inexact
        && !r.runs_tests
        && r.assertions
            .iter()
            .all(|a| a.context == Context::Top || a.commented)
}

/// Checks the plans of `runners` against their own tests plus their includes', a batch of
/// runners at a time (at most half their share of the budget, see [`Runners`]), handing
/// each batch's verdicts and warnings to `record`.
///
/// The graph keeps, from one batch to the next, the files includes lead to (with their
/// totals, so each is read and counted once) and drops the runners no include leads to:
/// what stays grows with the included files, not with the files scanned. Verdicts and
/// warnings are those of checking every runner at once; a run cancelled during a batch
/// gets no verdicts from that batch on.
pub(crate) fn check(
    runners: Runners,
    mut reader: Reader<'_>,
    record: &mut dyn FnMut(Outcome),
) -> Checked {
    let limit = (reader.budget.limit() / RUNNERS_SHARE / 2).max(1);
    let mut batches = runners.batches(limit);
    let mut done = Checked::default();
    let mut graph = Graph::new(reader.roots, reader.include_dirs);
    let mut memo: Vec<Option<Total>> = Vec::new();
    // Shared by every walk (each leaves it all false): one allocation, not one per node.
    let mut on_stack: Vec<bool> = Vec::new();
    while let Some(batch) = batches.next_batch() {
        let mut out = Outcome::default();
        check_batch(
            batch,
            &mut graph,
            &mut reader,
            &mut memo,
            &mut on_stack,
            &mut out,
        );
        batches.charge(graph.bytes);
        done.files_read += out.files_read;
        let cancelled = out.cancelled;
        record(out);
        if cancelled {
            done.cancelled = true;
            break;
        }
    }
    done.error = batches.error().map(str::to_string);
    done.spilled = batches.spilled;
    done.bytes_written = batches.bytes_written;
    done
}

/// One batch of [`check`]: the runners become nodes, what they include is read, their
/// plans are checked, and the runners no include leads to leave the graph.
fn check_batch(
    runners: Vec<Runner>,
    graph: &mut Graph,
    reader: &mut Reader<'_>,
    memo: &mut Vec<Option<Total>>,
    on_stack: &mut Vec<bool>,
    out: &mut Outcome,
) {
    // The runners are nodes too (already read), so a cycle back to one is found as such.
    let mut runner_nodes = Vec::with_capacity(runners.len());
    for r in &runners {
        let shown = normalize(Path::new(&r.path));
        let id = graph.runner_node(&shown);
        runner_nodes.push(id);
        let edges = r
            .includes
            .iter()
            .map(|inc| graph.edge(id, inc))
            .collect::<Vec<_>>();
        if let Some(id) = id {
            graph.set_state(
                id,
                State::Read {
                    tests: r.tests,
                    exact: r.exact,
                    edges,
                },
            );
        }
    }
    read_pending(graph, reader, out);
    memo.resize(graph.nodes.len(), None);
    on_stack.resize(graph.nodes.len(), false);
    for (r, id) in runners.into_iter().zip(runner_nodes.iter().copied()) {
        let Some(id) = id else {
            out.warnings.push(Warning {
                path: r.path.clone(),
                line: r.plan_line,
                text: "cannot resolve this file's own path; its includes are not checked".into(),
            });
            continue;
        };
        let State::Read { edges, .. } = &graph.nodes[id].state else {
            continue;
        };
        let mut total = 0u64;
        let mut exact = r.exact;
        let targets: Vec<(u32, Result<NodeId, String>)> =
            edges.iter().map(|e| (e.line, e.to.clone())).collect();
        for (line, to) in targets {
            let result = to.and_then(|node| totals(graph, node, Some(id), memo, on_stack));
            match result {
                Ok((n, e)) => {
                    total = total.saturating_add(n);
                    exact &= e;
                }
                Err(text) => {
                    exact = false;
                    out.warnings.push(Warning {
                        path: r.path.clone(),
                        line,
                        text,
                    });
                }
            }
        }
        if exact && !out.cancelled {
            out.verdicts.push(Verdict {
                path: r.path,
                line: r.plan_line,
                planned: r.planned,
                found: r.tests.saturating_add(total),
                from_includes: total,
            });
        }
    }
    graph.drop_unreferenced(&runner_nodes, memo);
}

/// A file's results including everything it includes, and whether that count is exact.
type Total = Result<(u64, bool), String>;

/// The totals of `start` (memoised), walking the graph with an explicit stack. `runner` is
/// the file whose include is being followed: it is on the path, so reaching it is a cycle.
fn totals(
    graph: &Graph,
    start: NodeId,
    runner: Option<NodeId>,
    memo: &mut [Option<Total>],
    on_stack: &mut [bool],
) -> Total {
    // A file including itself: it is the start, not a prefix (else it is named twice).
    let runner = runner.filter(|&r| r != start);
    let t = totals_from(graph, start, runner, memo, on_stack);
    if let Some(r) = runner {
        on_stack[r] = false;
    }
    t
}

fn totals_from(
    graph: &Graph,
    start: NodeId,
    runner: Option<NodeId>,
    memo: &mut [Option<Total>],
    on_stack: &mut [bool],
) -> Total {
    if let Some(t) = &memo[start] {
        return t.clone();
    }
    // Frames: (node, next edge index, sum so far, exact so far).
    let mut stack: Vec<(NodeId, usize, u64, bool)> = Vec::new();
    let mut path_prefix: Vec<NodeId> = Vec::new();
    if let Some(r) = runner {
        on_stack[r] = true;
        path_prefix.push(r);
    }
    // The result of the frame just finished, handed to its parent.
    let mut returned: Option<Total> = None;
    let enter = |id: NodeId,
                 stack: &mut Vec<(NodeId, usize, u64, bool)>,
                 on_stack: &mut [bool]|
     -> Option<Total> {
        match &graph.nodes[id].state {
            State::Read { tests, exact, .. } => {
                on_stack[id] = true;
                stack.push((id, 0, *tests, *exact));
                None
            }
            State::Failed(msg) => Some(Err(msg.clone())),
            State::Pending => Some(Err(format!(
                "included file {}: not read (the scan was interrupted)",
                graph.nodes[id].shown.display()
            ))),
        }
    };
    if let Some(r) = enter(start, &mut stack, on_stack) {
        memo[start] = Some(r.clone());
        return r;
    }
    while let Some(&mut (id, ref mut next, ref mut sum, ref mut exact)) = stack.last_mut() {
        if let Some(child) = returned.take() {
            match child {
                Ok((n, e)) => {
                    *sum = sum.saturating_add(n);
                    *exact &= e;
                }
                Err(msg) => {
                    // A failure anywhere below makes this file's total unknown too.
                    let r: Total = Err(msg);
                    memo[id] = Some(r.clone());
                    on_stack[id] = false;
                    stack.pop();
                    returned = Some(r);
                    continue;
                }
            }
        }
        let State::Read { edges, .. } = &graph.nodes[id].state else {
            unreachable_frame(&mut stack, on_stack, &mut returned);
            continue;
        };
        let Some(edge) = edges.get(*next) else {
            let r: Total = Ok((*sum, *exact));
            memo[id] = Some(r.clone());
            on_stack[id] = false;
            stack.pop();
            returned = Some(r);
            continue;
        };
        *next += 1;
        let child = match &edge.to {
            Err(msg) => Err(msg.clone()),
            Ok(c) if on_stack[*c] => {
                let mut chain: Vec<String> = path_prefix
                    .iter()
                    .chain(stack.iter().map(|f| &f.0))
                    .skip_while(|n| **n != *c)
                    .map(|n| graph.nodes[*n].shown.display().to_string())
                    .collect();
                chain.push(graph.nodes[*c].shown.display().to_string());
                Err(format!("include cycle: {}", chain.join(" -> ")))
            }
            Ok(c) => match &memo[*c] {
                Some(t) => t.clone(),
                None => match enter(*c, &mut stack, on_stack) {
                    None => continue,
                    Some(r) => {
                        memo[*c] = Some(r.clone());
                        r
                    }
                },
            },
        };
        returned = Some(child);
    }
    let r = returned.unwrap_or_else(|| Err("include check: internal error".into()));
    memo[start] = Some(r.clone());
    r
}

/// Pops a frame whose node is not read (cannot happen: only read nodes are entered).
fn unreachable_frame(
    stack: &mut Vec<(NodeId, usize, u64, bool)>,
    on_stack: &mut [bool],
    returned: &mut Option<Total>,
) {
    if let Some((id, ..)) = stack.pop() {
        on_stack[id] = false;
    }
    *returned = Some(Err("include check: internal error".into()));
}

impl Graph {
    fn new(roots: &[PathBuf], include_dirs: &[PathBuf]) -> Graph {
        let given: Vec<PathBuf> = if roots.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            roots.to_vec()
        };
        let dir_of = |p: &Path| -> PathBuf {
            if p.is_file() {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                p.to_path_buf()
            }
        };
        let roots: Vec<PathBuf> = given.iter().map(|r| normalize(&dir_of(r))).collect();
        let cwd = std::env::current_dir().unwrap_or_default();
        let dirs: Vec<PathBuf> = given
            .iter()
            .map(|r| dir_of(r))
            .chain(include_dirs.iter().cloned())
            .collect();
        let allowed = dirs
            .iter()
            .filter_map(|d| std::fs::canonicalize(non_empty(d)).ok())
            .collect();
        let allowed_lexical = dirs.iter().map(|d| normalize(&cwd.join(d))).collect();
        Graph {
            nodes: Vec::new(),
            by_real: HashMap::default(),
            pending: Vec::new(),
            free: Vec::new(),
            bytes: 0,
            allowed,
            allowed_lexical,
            cwd,
            roots,
            real_dirs: HashMap::default(),
            resolved: HashMap::default(),
        }
    }

    /// `std::fs::canonicalize` of a file, its folder's canonical form asked of the file
    /// system once per folder (a file that is itself a link is resolved whole).
    fn canonical_file(&mut self, shown: &Path) -> Option<PathBuf> {
        let (Some(dir), Some(name)) = (shown.parent(), shown.file_name()) else {
            return std::fs::canonicalize(non_empty(shown)).ok();
        };
        let meta = std::fs::symlink_metadata(non_empty(shown)).ok()?;
        if meta.file_type().is_symlink() {
            return std::fs::canonicalize(non_empty(shown)).ok();
        }
        let real_dir = match self.real_dirs.get(dir) {
            Some(real) => real.clone(),
            None => {
                let real = std::fs::canonicalize(non_empty(dir)).ok();
                self.real_dirs.insert(dir.to_path_buf(), real.clone());
                real
            }
        };
        Some(real_dir?.join(name))
    }

    fn root_of(&self, shown: &Path) -> PathBuf {
        self.roots
            .iter()
            .filter(|r| r.as_os_str().is_empty() || shown.starts_with(r))
            .max_by_key(|r| r.components().count())
            .cloned()
            .unwrap_or_default()
    }

    /// The node of a scanned file with includes.
    fn runner_node(&mut self, shown: &Path) -> Option<NodeId> {
        let real = self.canonical_file(shown)?;
        Some(self.node(real, shown))
    }

    fn node(&mut self, real: PathBuf, shown: &Path) -> NodeId {
        if let Some(&id) = self.by_real.get(&real) {
            return id;
        }
        let node = Node {
            shown: shown.to_path_buf(),
            root: self.root_of(shown),
            state: State::Pending,
            referenced: false,
        };
        self.bytes += NODE_BYTES + node_paths(&node) + real.as_os_str().len() as u64;
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id] = node;
                id
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.by_real.insert(real, id);
        self.pending.push(id);
        id
    }

    /// Sets a node's state, keeping the estimate of the graph's bytes.
    fn set_state(&mut self, id: NodeId, state: State) {
        let old = std::mem::replace(&mut self.nodes[id].state, state);
        self.bytes =
            self.bytes.saturating_sub(state_bytes(&old)) + state_bytes(&self.nodes[id].state);
    }

    /// Drops the nodes of a batch's runners that no include leads to: nothing can reach
    /// them again (a later include of the same file makes a new node and reads it).
    fn drop_unreferenced(&mut self, runners: &[Option<NodeId>], memo: &mut [Option<Total>]) {
        let gone: std::collections::HashSet<NodeId> = runners
            .iter()
            .flatten()
            .copied()
            .filter(|&id| !self.nodes[id].referenced)
            .collect();
        if gone.is_empty() {
            return;
        }
        let mut freed = 0;
        self.by_real.retain(|real, id| {
            let keep = !gone.contains(id);
            if !keep {
                freed += real.as_os_str().len() as u64;
            }
            keep
        });
        for id in gone {
            let node = std::mem::replace(
                &mut self.nodes[id],
                Node {
                    shown: PathBuf::new(),
                    root: PathBuf::new(),
                    state: State::Pending,
                    referenced: false,
                },
            );
            freed += NODE_BYTES + node_paths(&node) + state_bytes(&node.state);
            if let Some(m) = memo.get_mut(id) {
                *m = None;
            }
            self.free.push(id);
        }
        self.bytes = self.bytes.saturating_sub(freed);
    }

    /// Resolves one include of `from` (a node, or a runner whose own path did not resolve).
    fn edge(&mut self, from: Option<NodeId>, inc: &Include) -> Edge {
        let to = match from {
            Some(from) => self.resolve(from, inc),
            None => Err(format!("included file {}: not checked", inc.path)),
        };
        Edge { line: inc.line, to }
    }

    fn resolve(&mut self, from: NodeId, inc: &Include) -> Result<NodeId, String> {
        let dir = self.nodes[from]
            .shown
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        // The folder decides everything below (the root too: roots are folders).
        let memo = (dir, inc.path.clone(), inc.relative);
        let found = match self.resolved.get(&memo) {
            Some(found) => found.clone(),
            None => {
                let found = self.resolve_from(&memo.0, &self.nodes[from].root, inc);
                self.resolved.insert(memo, found.clone());
                found
            }
        };
        let (real, shown) = found?;
        let id = self.node(real, &shown);
        self.nodes[id].referenced = true;
        Ok(id)
    }

    /// What an include of a file in `dir` (under scan root `root`) resolves to: its
    /// canonical path and the path reports show.
    fn resolve_from(&self, dir: &Path, root: &Path, inc: &Include) -> Resolved {
        let shown = if inc.relative {
            normalize(&dir.join(&inc.path))
        } else {
            // psql reads `\i` against its working directory, which a static reader cannot
            // know: try the including file's directory and its ancestors up to the scan
            // root (a suite is usually run from its own root), then the scan root.
            let candidates: Vec<PathBuf> = dir
                .ancestors()
                .take_while(|a| root.as_os_str().is_empty() || a.starts_with(root))
                .map(|a| normalize(&a.join(&inc.path)))
                .chain(std::iter::once(normalize(&root.join(&inc.path))))
                .collect();
            candidates
                .iter()
                .find(|c| std::fs::symlink_metadata(non_empty(c)).is_ok())
                .cloned()
                .unwrap_or_else(|| normalize(&root.join(&inc.path)))
        };
        let name = shown.display().to_string();
        let outside = || {
            format!(
                "included file {name} is outside the scanned folders and was not read \
                 (name its folder with --include-dir to allow it)"
            )
        };
        // A path that leaves the allowed folders on its face is refused before the file
        // system is asked anything: whether such a file exists is none of the report's
        // business.
        let abs = normalize(&self.cwd.join(&shown));
        if !self.inside(&abs) {
            return Err(outside());
        }
        let real = match std::fs::canonicalize(non_empty(&shown)) {
            Ok(real) => real,
            // A link inside the tree that points outside says "outside" whether or not
            // its target exists, for the same reason.
            Err(_) if self.link_escapes(&shown) => return Err(outside()),
            Err(e) => return Err(format!("included file {name}: {}", io_text(&e))),
        };
        if !self.allowed.iter().any(|a| real.starts_with(a)) {
            return Err(outside());
        }
        let meta = std::fs::metadata(&real)
            .map_err(|e| format!("included file {name}: {}", io_text(&e)))?;
        if !meta.is_file() {
            let what = if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file (a FIFO, socket or device)"
            };
            return Err(format!("included file {name} is {what} and was not read"));
        }
        Ok((real, shown))
    }
}

impl Graph {
    fn inside(&self, abs: &Path) -> bool {
        self.allowed_lexical
            .iter()
            .chain(&self.allowed)
            .any(|a| abs.starts_with(a))
    }

    /// Whether a path that cannot be resolved goes through a link that leads outside the
    /// allowed folders: the longest part of it that exists is resolved and checked (so
    /// `lnk/alice/x.sql`, with `lnk` a link to `/home`, says "outside" whether or not
    /// `/home/alice` exists), and a dangling link is judged by where it points.
    fn link_escapes(&self, shown: &Path) -> bool {
        for a in shown.ancestors() {
            let a = non_empty(a);
            if std::fs::symlink_metadata(a).is_err() {
                continue;
            }
            return match std::fs::canonicalize(a) {
                Ok(real) => !self.allowed.iter().any(|al| real.starts_with(al)),
                Err(_) => {
                    let parent = a.parent().map(Path::to_path_buf).unwrap_or_default();
                    let Ok(parent_real) = std::fs::canonicalize(non_empty(&parent)) else {
                        return true;
                    };
                    match std::fs::read_link(a) {
                        Ok(target) => !self.inside(&normalize(&parent_real.join(target))),
                        Err(_) => !self.allowed.iter().any(|al| parent_real.starts_with(al)),
                    }
                }
            };
        }
        false
    }
}

/// The estimated bytes of a node's paths.
fn node_paths(node: &Node) -> u64 {
    (node.shown.as_os_str().len() + node.root.as_os_str().len()) as u64
}

/// The estimated bytes a node's state holds.
fn state_bytes(state: &State) -> u64 {
    match state {
        State::Pending => 0,
        State::Read { edges, .. } => edges
            .iter()
            .map(|e| EDGE_BYTES + e.to.as_ref().err().map_or(0, |m| m.len() as u64))
            .sum(),
        State::Failed(msg) => msg.len() as u64,
    }
}

/// Reads every pending node through the pipeline, round after round (a round's files may
/// include more files), until nothing is pending or the scan is cancelled.
fn read_pending(graph: &mut Graph, reader: &mut Reader<'_>, out: &mut Outcome) {
    loop {
        if reader.cancel.load(Ordering::Relaxed) {
            out.cancelled = true;
            return;
        }
        let pending: Vec<NodeId> = std::mem::take(&mut graph.pending)
            .into_iter()
            .filter(|&id| matches!(graph.nodes[id].state, State::Pending))
            .collect();
        if pending.is_empty() {
            return;
        }
        let by_path: HashMap<PathBuf, NodeId> = pending
            .iter()
            .map(|&id| (non_empty(&graph.nodes[id].shown).to_path_buf(), id))
            .collect();
        let discovery = DiscoveryConfig {
            roots: by_path.keys().cloned().collect(),
            threads: 1,
            ..DiscoveryConfig::default()
        };
        let pcfg = PipelineConfig {
            threads: reader.threads.max(1),
            batch_size: 100,
            budget: Arc::clone(&reader.budget),
            cancel: Arc::clone(&reader.cancel),
            progress: Arc::clone(&reader.progress),
            binary: reader.binary,
            select: None,
        };
        let mut results: Vec<(NodeId, Result<FileResult, String>)> = Vec::new();
        let extract = reader.extract;
        let stats = pipeline::run_cached(
            &discovery,
            &pcfg,
            reader.cache.as_deref_mut().map(|cache| pipeline::Cached {
                cache,
                codec: &crate::result_codec::FileResultCodec,
                read_only: true,
                known: None,
            }),
            |path, bytes| extract(path, bytes),
            |event| match event {
                Event::File(outcome) => {
                    let Some(&id) = by_path.get(&outcome.path) else {
                        return;
                    };
                    let shown = outcome.path.display().to_string();
                    let r = outcome
                        .into_result()
                        .map_err(|e| format!("included file {shown}: {}", io_text(&e)));
                    results.push((id, r));
                }
                Event::Skipped { path, reason } => {
                    if let Some(&id) = by_path.get(&path) {
                        results.push((
                            id,
                            Err(format!("included file {}: {reason}", path.display())),
                        ));
                    }
                }
                _ => {}
            },
        );
        if stats.cancelled {
            out.cancelled = true;
            return;
        }
        out.files_read += results.len() as u64;
        let read: std::collections::HashSet<NodeId> = results.iter().map(|(id, _)| *id).collect();
        for (id, r) in results {
            match r {
                Ok(result) => {
                    let exact = exact_count(&result);
                    let edges = result
                        .includes
                        .iter()
                        .map(|inc| graph.edge(Some(id), inc))
                        .collect();
                    graph.set_state(
                        id,
                        State::Read {
                            tests: result.tests,
                            exact,
                            edges,
                        },
                    );
                }
                Err(msg) => graph.set_state(id, State::Failed(msg)),
            }
        }
        // Anything the pipeline did not hand back (it should not happen) fails, so the
        // loop always ends.
        for id in pending {
            if !read.contains(&id) {
                let msg = format!(
                    "included file {}: not read",
                    graph.nodes[id].shown.display()
                );
                graph.set_state(id, State::Failed(msg));
            }
        }
    }
}

/// `""` (the current directory, lexically) as `.` for the file system.
fn non_empty(p: &Path) -> &Path {
    if p.as_os_str().is_empty() {
        Path::new(".")
    } else {
        p
    }
}

/// An I/O error without the "(os error N)" suffix.
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Lexical normalisation (`a/./b/../c` -> `a/c`) so the same file is one name whichever
/// way it was reached; no file-system access, so it works for files not yet read. A `..`
/// that climbs above a relative start is kept (`../../x` stays), and one above the root of
/// an absolute path is dropped (`/../etc` is `/etc`), as the kernel resolves it.
pub(crate) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                Some(Component::ParentDir | Component::CurDir) | None => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::{Path, PathBuf};

    #[test]
    fn normalize_keeps_leading_parent_dirs_of_a_relative_path() {
        assert_eq!(
            normalize(Path::new("../../rel/x/../a.inc")),
            PathBuf::from("../../rel/a.inc")
        );
        assert_eq!(
            normalize(Path::new("../../rel/../../b")),
            PathBuf::from("../../../b")
        );
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("a/../..")), PathBuf::from(".."));
    }

    #[test]
    fn normalize_does_not_climb_above_the_root() {
        assert_eq!(
            normalize(Path::new("/../etc/shadow")),
            PathBuf::from("/etc/shadow")
        );
        assert_eq!(normalize(Path::new("/a/../../etc")), PathBuf::from("/etc"));
    }
}
