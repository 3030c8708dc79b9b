//! The coverage database: for every object key the suite names, what is asserted about it,
//! how often, by which functions, and where.
//!
//! Owns: [`Builder`] (fed one file's assertions at a time by the scan's single aggregator,
//! so it needs no lock) and what it finishes into: [`ObjectCoverage`] per key, sorted, and
//! [`Statistics`] over the whole suite.
//!
//! # What counts as covering an object
//! - **Positive** coverage: an assertion whose target is the object (`has_table`,
//!   `col_type_is`, ...) or lists it as a member (`tables_are`, the columns of a
//!   multi-column `col_is_pk`). A negated *property* (`col_is_null`, `isnt_definer`,
//!   `hasnt_pk`) still tests an object that exists, so it is positive too.
//! - **Absent**: a negated *existence* assertion (`hasnt_table`, `hasnt_column`, ...) says
//!   the object must not exist. It is recorded apart and does not make the object tested.
//! - **Referenced**: an object only named on the side (the role of a privilege test, the
//!   referenced table of `fk_ok`, a column's table) is recorded as referenced, not tested.
//! - Not attributed to any object: value and behaviour tests (`is`, `results_eq`,
//!   `throws_ok`, ...), names computed at run time (`dynamic`), calls whose reading pgTAP
//!   decides at run time when nothing static decides it (`ambiguous`), calls PostgreSQL
//!   would reject, and assertions found in comments. They are counted in [`Statistics`].
//!
//! # Memory
//! Keyed by object, not by file: counts, function sets and aspects are exact in every
//! mode and grow with the number of distinct objects only. Locations are kept in full in
//! standard mode; in streaming mode (suites too large to hold per-file detail) the first
//! [`STREAMING_LOCATIONS`] per object by file, line and column are kept and the rest
//! counted in `locations_omitted`, so memory stays flat however many files repeat the same
//! objects, and which are kept does not depend on the order files arrive in.

use std::collections::BTreeMap;
use std::sync::Arc;

// The aggregator hashes one object key per assertion on a single thread; aHash is several
// times cheaper than the default SipHash on short strings, and the keys come from the
// user's own test files (no untrusted peer to mount a collision attack).
type HashMap<K, V> = ahash::AHashMap<K, V>;

use serde::Serialize;

use crate::model::{Assertion, Context, FileResult, ResolutionKind};
use crate::object::{Aspect, ObjectKey, ObjectKind};

mod merge;
mod spill;
pub(crate) use spill::SpillConfig;
mod undo;
pub(crate) use undo::first_known;
mod kept;
pub(crate) use kept::remove as remove_kept;

/// What the database cost while it was built, and what it spilled: `--stats` and the JSON
/// report's `stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseMemory {
    /// The most bytes the builder held at once (an estimate: see the module docs).
    pub peak_bytes: u64,
    /// Sorted runs written to the spill folder (merges of runs included).
    pub runs_spilled: u64,
    /// Runs read back by the k-way merges.
    pub runs_merged: u64,
    /// Bytes written to the spill folder.
    pub bytes_written: u64,
    /// A spill that failed (the folder or a run could not be written or read back): the
    /// result is not to be trusted.
    pub error: Option<String>,
}

/// Locations kept per object in streaming mode.
pub const STREAMING_LOCATIONS: usize = 4;

/// How many objects the statistics list as the most tested.
pub const TOP_OBJECTS: usize = 10;

/// Paths of files without assertions listed in streaming mode (all in standard mode).
pub const STREAMING_EMPTY_FILES: usize = 100;

/// Paths of files without assertions the builder keeps in streaming mode: more than it
/// lists, so that a `--cache` rescan that takes a listed one out (a file that got an
/// assertion) still knows the next (see the `undo` module).
const EMPTY_RESERVE: usize = 10 * STREAMING_EMPTY_FILES;

/// Ambiguous calls the builder keeps: more than [`MAX_AMBIGUOUS`], for the same reason.
const AMBIGUOUS_RESERVE: usize = 2 * MAX_AMBIGUOUS;

/// Locations per object kept beyond [`STREAMING_LOCATIONS`] by a builder that keeps
/// reserves ([`Builder::keep_reserves`]: a `--cache` run), for the same reason.
const LOCATION_RESERVE: usize = 4;

/// How an assertion relates to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The assertion's target.
    Target,
    /// Listed by a set assertion (`tables_are`, `columns_are`, ...).
    Member,
    /// Named on the side (`also_references`): recorded, not tested.
    Reference,
}

/// One place an object is asserted about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectLocation {
    /// Shared between every location in the same file (one allocation per path).
    pub file: Arc<str>,
    /// The 1-based line of the assertion call.
    pub line: u32,
    /// The 1-based column of the call, in characters.
    pub column: u32,
    /// `top`, `do` or `body:<function>`.
    pub context: Arc<str>,
    /// The assertion function (`has_table`, ...).
    pub function: Arc<str>,
    /// How the assertion relates to the object.
    pub role: Role,
    /// A negated existence assertion: the object must not exist.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
}

/// Everything the suite asserts about one object: an entry of the JSON report's `objects`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectCoverage {
    /// Its key (`table:app.users`).
    pub key: String,
    /// Its kind.
    pub kind: ObjectKind,
    /// `None` for objects outside schemas (schemas, roles, extensions, languages).
    pub schema: Option<String>,
    /// The object's own name; a function's includes its argument types when given.
    pub name: String,
    /// The key of the table a column, index, trigger, policy or constraint belongs to.
    pub parent: Option<String>,
    /// Positive assertions (as target or member).
    pub assertions: u64,
    /// Negated existence assertions (`hasnt_*`).
    pub absent: u64,
    /// Assertions that only name it on the side.
    pub referenced: u64,
    /// Assertion functions that target or list the object (positively or as absent), and
    /// how many times each does; sorted by name, serialised as a JSON object. (A vector of
    /// pairs, not a map: most objects have one to three, and a map node costs hundreds of
    /// bytes per object in suites with millions of objects.)
    #[serde(serialize_with = "pairs_as_map")]
    pub functions: Vec<(Arc<str>, u64)>,
    /// Aspects the positive assertions test (`existence`, `type`, `privileges`, ...),
    /// sorted by name.
    pub aspects: Vec<Aspect>,
    /// At least one positive assertion.
    pub tested: bool,
    /// Every assertion naming it is in one file.
    pub single_file: bool,
    /// Sorted by file, line, column.
    pub locations: Vec<ObjectLocation>,
    /// Locations not kept (streaming mode keeps the first [`STREAMING_LOCATIONS`] per
    /// object by file, line and column).
    #[serde(skip_serializing_if = "is_zero")]
    pub locations_omitted: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn pairs_as_map<S: serde::Serializer>(v: &[(Arc<str>, u64)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(v.iter().map(|(k, n)| (k.as_ref(), n)))
}

impl ObjectCoverage {
    /// How many times `function` covers the object.
    pub fn function_count(&self, function: &str) -> u64 {
        self.functions
            .iter()
            .find(|(f, _)| f.as_ref() == function)
            .map_or(0, |(_, n)| *n)
    }
}

/// Per kind of object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindStatistics {
    /// Distinct objects of this kind the suite names (in any role).
    pub objects: u64,
    /// Of those, objects with at least one positive assertion.
    pub tested: u64,
    /// Positive assertions on objects of this kind (member listings included).
    pub assertions: u64,
    /// Negated existence assertions.
    pub absent: u64,
    /// Positive assertions per aspect.
    pub aspects: BTreeMap<Aspect, u64>,
}

/// An object among the most tested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopObject {
    /// Its key.
    pub key: String,
    /// Positive assertions about it.
    pub assertions: u64,
    /// Distinct assertion functions.
    pub functions: u64,
}

/// Files that contain no assertion at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EmptyFiles {
    /// How many files (all of them, even when `paths` is cut).
    pub count: u64,
    /// Sorted; in streaming mode only the first [`STREAMING_EMPTY_FILES`] by path.
    pub paths: Vec<String>,
    /// Whether `paths` was cut (streaming mode).
    pub truncated: bool,
}

/// How varied the suite's assertions are.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diversity {
    /// Distinct assertion functions used.
    pub functions_used: u64,
    /// Assertion functions pgTAP offers (the catalog's `assertion` category).
    pub functions_available: u64,
    /// `exp(Shannon entropy)` of the function distribution: the number of equally used
    /// functions that would give the same spread (1 = one function does everything).
    pub effective_functions: f64,
    /// Mean distinct aspects per tested object.
    pub aspects_per_tested_object: f64,
}

/// The suite as a whole: the JSON report's `statistics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Statistics {
    /// Distinct objects named (any role).
    pub objects: u64,
    /// Objects with at least one positive assertion.
    pub objects_tested: u64,
    /// Objects only asserted absent (`hasnt_*`) and never positively.
    pub objects_absent_only: u64,
    /// Objects only named on the side.
    pub objects_referenced_only: u64,
    /// Tested objects whose assertions are all in one file.
    pub objects_single_file: u64,
    /// Assertions about schema objects (existence, types, keys, privileges, ...).
    pub structural: u64,
    /// Assertions about behaviour: values, result sets, exceptions, performance
    /// (`is`, `results_eq`, `throws_ok`, ...).
    pub behavioural: u64,
    /// Structural assertions attributed to at least one object.
    pub attributed: u64,
    /// Structural assertions not attributed: dynamic names, ambiguous readings, calls
    /// PostgreSQL would reject.
    pub unattributed: u64,
    /// Per object kind named.
    pub by_kind: BTreeMap<ObjectKind, KindStatistics>,
    /// All assertions per aspect (behavioural ones included).
    pub by_aspect: BTreeMap<Aspect, u64>,
    /// The most tested objects, most assertions first (at most [`TOP_OBJECTS`]).
    pub top_objects: Vec<TopObject>,
    /// Files with no assertion.
    pub files_without_assertions: EmptyFiles,
    /// How varied the assertions are.
    pub diversity: Diversity,
}

/// The finished database: the JSON report's `objects` and `statistics`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Database {
    /// Sorted by key. Empty while the objects are on disk ([`Database::on_disk`]).
    pub objects: Vec<ObjectCoverage>,
    /// The objects when a scan with [`crate::scan::ScanConfig::objects_on_disk`] spilled:
    /// left on disk rather than built in memory. The JSON report streams them from there;
    /// [`Database::load_objects`] brings them into `objects` for anything else.
    pub on_disk: Option<ObjectsOnDisk>,
    /// Totals over the suite.
    pub statistics: Statistics,
    /// Calls whose reading pgTAP decides at run time: not attributed here, but a known
    /// schema can decide them ([`crate::scan::ScanReport::with_universe`]). The first [`MAX_AMBIGUOUS`] by file
    /// and line are kept, sorted.
    pub ambiguous: Vec<AmbiguousCall>,
    /// The suite's behavioural references, folded; held against a universe by
    /// [`crate::scan::ScanReport::with_universe`].
    pub behaviour: crate::behaviour::db::Database,
}

/// Objects built at a time after a spill (see [`Builder::finish_measured`]).
const OBJECT_CHUNK: usize = 4096;

/// Ambiguous calls kept for a schema to decide.
pub const MAX_AMBIGUOUS: usize = 10_000;

/// A call with several possible targets (`has_index('app', 'users', 'users_email_key')`:
/// index `users_email_key` on `app.users`, or index `users` on table `public.app`?).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmbiguousCall {
    /// The object each reading would mean.
    pub readings: Vec<String>,
    /// The assertion function.
    pub function: String,
    /// What the function tests, from the catalog.
    pub aspect: Option<Aspect>,
    /// The file the call is in.
    pub file: String,
    /// The 1-based line of the call.
    pub line: u32,
}

/// By file and line first (the order calls are kept and listed in), then the rest.
impl Ord for AmbiguousCall {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (
            &self.file,
            self.line,
            &self.function,
            &self.readings,
            &self.aspect,
        )
            .cmp(&(
                &other.file,
                other.line,
                &other.function,
                &other.readings,
                &other.aspect,
            ))
    }
}

impl PartialOrd for AmbiguousCall {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Database {
    /// The entry for one key (`table:public.users`). Looks in [`Database::objects`] only:
    /// while the objects are on disk ([`Database::on_disk`]), load them first.
    pub fn get(&self, key: &str) -> Option<&ObjectCoverage> {
        debug_assert!(self.on_disk.is_none(), "objects on disk: load them first");
        self.objects
            .binary_search_by(|o| o.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.objects[i])
    }

    /// Hands every object to `f` in key order, from memory or read back from disk one at a
    /// time. An error names a spill run that could not be read back.
    pub fn for_each_object(&self, f: &mut dyn FnMut(&ObjectCoverage)) -> Result<(), String> {
        match &self.on_disk {
            Some(d) => d.for_each(false, &mut |o| f(&o)),
            None => {
                self.objects.iter().for_each(f);
                Ok(())
            }
        }
    }

    /// Brings objects left on disk into [`Database::objects`] (the memory a scan without
    /// [`crate::scan::ScanConfig::objects_on_disk`] would have used); nothing to do when
    /// they are in memory. An error names a spill run that could not be read back; the
    /// objects stay on disk then.
    pub fn load_objects(&mut self) -> Result<(), String> {
        let Some(d) = &self.on_disk else {
            return Ok(());
        };
        let mut objects = Vec::with_capacity(usize::try_from(d.len()).unwrap_or(0));
        d.for_each(true, &mut |o| objects.push(o))?;
        self.objects = objects;
        self.on_disk = None;
        Ok(())
    }
}

/// Interns strings into small ids, so per-assertion work is a lookup, not an allocation.
#[derive(Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        let shared: Arc<str> = s.into();
        self.names.push(Arc::clone(&shared));
        self.ids.insert(shared, id);
        id
    }
    fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

#[derive(Clone, Copy, Debug)]
struct Loc {
    file: u32,
    line: u32,
    column: u32,
    context: u32,
    function: u32,
    role: Role,
    absent: bool,
}

#[derive(Default, Debug, Clone)]
struct Entry {
    positive: u64,
    absent: u64,
    referenced: u64,
    /// (aspect id, positive assertions), few per object.
    aspects: Vec<(u32, u64)>,
    /// (function id, count), few per object.
    functions: Vec<(u32, u64)>,
    first_file: u64,
    multi_file: bool,
    locations: Vec<Loc>,
    omitted: u64,
    /// The last file (by `file_seq`) that touched it, and how many distinct files did:
    /// what lets a file be taken out again ([`Builder::remove_file`]).
    last_file: u64,
    files: u32,
    /// Where its object's JSON text is kept in the `--cache` folder; forgotten when a file
    /// added or taken out touches it (see the `kept` module).
    kept: Option<kept::Frag>,
}

/// Builds the database from files as they arrive (see the module docs for the rules).
pub struct Builder {
    /// Key -> index into `entries`. Kept apart from the entries so that finishing can let
    /// the table go before the report's objects are built (the table was a third of the
    /// peak when it lived until the end).
    objects: HashMap<Box<str>, u32>,
    entries: Vec<Entry>,
    functions: Interner,
    aspects: Interner,
    /// Names of the function bodies assertions are in (contexts `body:<name>`).
    bodies: Interner,
    /// Paths of files with a kept location, by id. Each file arrives once, so a path is
    /// pushed, never looked up.
    files: Vec<Arc<str>>,
    location_cap: Option<usize>,
    /// Keep [`LOCATION_RESERVE`] more locations per object in streaming mode.
    reserve: bool,
    file_seq: u64,
    /// Interned id of the current file, once one of its locations is kept.
    current_file: Option<u32>,
    structural: u64,
    behavioural: u64,
    attributed: u64,
    unattributed: u64,
    by_aspect: HashMap<u32, u64>,
    by_function: HashMap<u32, u64>,
    empty: EmptyFiles,
    /// Paths of files without assertions: all in standard mode, the first
    /// [`STREAMING_EMPTY_FILES`] by path in streaming mode (the greatest on top).
    empty_paths: std::collections::BinaryHeap<String>,
    streaming: bool,
    /// The first [`MAX_AMBIGUOUS`] by file and line (the greatest on top).
    ambiguous: std::collections::BinaryHeap<AmbiguousCall>,
    /// The files' behavioural references, folded (issue 14).
    pub behaviour: crate::behaviour::db::Database,
    /// Heap bytes of the keys, the entries' vectors and the kept paths (the tables' own
    /// capacity is added in [`Builder::bytes`]).
    var_bytes: u64,
    peak_bytes: u64,
    spill: Option<spill::Spiller>,
    /// Ambiguous calls met that the heap may keep (kept or not), so the ones not kept are
    /// known in number when files are taken out.
    ambiguous_seen: u64,
    /// What taking files out needs to know to tell whether the result is still exact.
    undo: undo::Undo,
    /// The `--cache` file the entries' object texts are kept in (see `kept`).
    kept_file: Option<kept::KeptFile>,
    /// Set by [`Builder::render_kept`]: finish into the objects kept there.
    keep_dir: Option<std::path::PathBuf>,
    /// Entries below this index are in key order (imported from a snapshot, which is
    /// written in key order): finishing and exporting sort only the entries after them.
    sorted: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new(false)
    }
}

impl Builder {
    /// `streaming`: keep at most [`STREAMING_LOCATIONS`] locations per object.
    pub fn new(streaming: bool) -> Self {
        let mut b = Builder {
            objects: HashMap::default(),
            entries: Vec::new(),
            functions: Interner::default(),
            aspects: Interner::default(),
            bodies: Interner::default(),
            files: Vec::new(),
            location_cap: None,
            reserve: false,
            file_seq: 0,
            current_file: None,
            structural: 0,
            behavioural: 0,
            attributed: 0,
            unattributed: 0,
            by_aspect: HashMap::default(),
            by_function: HashMap::default(),
            empty: EmptyFiles::default(),
            empty_paths: std::collections::BinaryHeap::new(),
            streaming: false,
            ambiguous: std::collections::BinaryHeap::new(),
            behaviour: crate::behaviour::db::Database::default(),
            var_bytes: 0,
            peak_bytes: 0,
            spill: None,
            ambiguous_seen: 0,
            undo: undo::Undo::default(),
            kept_file: None,
            keep_dir: None,
            sorted: 0,
        };
        b.set_streaming(streaming);
        b
    }

    /// Spills sorted runs under `cfg.parent` whenever [`Builder::bytes`] passes
    /// `cfg.threshold` after a file (and charges what it holds to `cfg.budget`).
    pub(crate) fn spill_to(&mut self, cfg: SpillConfig) {
        self.spill = Some(spill::Spiller::new(cfg));
    }

    /// `--cache`: renders the objects of the entries whose JSON text is not kept in `dir`
    /// yet (those a file added or taken out touched) and keeps them there (see the `kept`
    /// module); the database then finishes into the objects kept there. Whether the state
    /// changed (texts were added). Call before the state is exported; not when the
    /// database spilled.
    pub(crate) fn render_kept(&mut self, dir: &std::path::Path) -> std::io::Result<bool> {
        let convert = Converter::new(
            &self.functions,
            &self.aspects,
            &self.bodies,
            self.location_cap.is_some(),
        );
        let rendered = kept::render(
            dir,
            self.kept_file,
            &self.objects,
            &mut self.entries,
            &self.files,
            &convert,
        );
        match rendered {
            Ok(r) => {
                let changed = r.objects > 0 || self.kept_file != Some(r.file);
                self.kept_file = Some(r.file);
                self.keep_dir = Some(dir.to_path_buf());
                Ok(changed)
            }
            Err(e) => {
                // Texts may have been pointed at that were not written: none is kept.
                self.kept_file = None;
                for e in &mut self.entries {
                    e.kept = None;
                }
                Err(e)
            }
        }
    }

    /// Charges what the builder holds to `budget` from now on (see [`Builder::spill_to`]).
    pub(crate) fn charge_to(&mut self, budget: Arc<pipeline::MemoryBudget>) {
        if let Some(s) = &mut self.spill {
            s.charge_to(budget);
        }
    }

    /// What the builder holds now, in bytes: an estimate from capacities (see the module
    /// docs), not counting the allocator's own overhead.
    pub fn bytes(&self) -> u64 {
        let table = self.objects.capacity() * (size_of::<(Box<str>, u32)>() + 1);
        let entries = self.entries.capacity() * size_of::<Entry>();
        let files = self.files.capacity() * size_of::<Arc<str>>();
        self.var_bytes + (table + entries + files) as u64
    }

    /// After each file: the peak, the spill, the budget's charge.
    fn after_file(&mut self) {
        let mut bytes = self.bytes();
        self.peak_bytes = self.peak_bytes.max(bytes);
        let over = self
            .spill
            .as_ref()
            .is_some_and(|s| s.wants(bytes) && !self.entries.is_empty());
        if over {
            self.spill_run();
            bytes = self.bytes();
        }
        if let Some(s) = &mut self.spill {
            s.hold(bytes);
        }
    }

    /// Writes every entry as one run sorted by key and starts afresh. When the spill folder
    /// cannot be made, the entries stay (the failure is reported, no more spills tried); a
    /// run that fails while written is lost with its entries, and reported.
    fn spill_run(&mut self) {
        if !self.spill.as_mut().is_some_and(spill::Spiller::ready) {
            return;
        }
        let objects = std::mem::take(&mut self.objects);
        let mut entries = std::mem::take(&mut self.entries);
        let files = std::mem::take(&mut self.files);
        self.var_bytes = 0;
        self.current_file = None;
        self.sorted = 0;
        let mut keys: Vec<(Box<str>, u32)> = objects.into_iter().collect();
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if let Some(s) = &mut self.spill {
            s.write_run(
                keys.into_iter()
                    .map(|(k, i)| (k, std::mem::take(&mut entries[i as usize]))),
                &files,
            );
        }
    }

    /// Before other work that needs memory while the database waits (the plan checks
    /// through includes, after the last file): a database that has spilled already writes
    /// what it holds as one more run, so that work and the database's share do not add up.
    /// A database that never spilled keeps its entries (nothing is written for small scans).
    pub(crate) fn spill_held(&mut self) {
        let spilled = self.spill.as_ref().is_some_and(spill::Spiller::spilled);
        if spilled && !self.entries.is_empty() {
            self.spill_run();
            let bytes = self.bytes();
            if let Some(s) = &mut self.spill {
                s.hold(bytes);
            }
        }
    }

    /// Heap bytes of one entry's vectors.
    fn entry_bytes(e: &Entry) -> u64 {
        let pair = size_of::<(u32, u64)>();
        (e.aspects.capacity() * pair
            + e.functions.capacity() * pair
            + e.locations.capacity() * size_of::<Loc>()) as u64
    }

    /// Keeps more than is listed of what streaming mode caps (locations per object, with
    /// the ambiguous calls, files without assertions and messages that always keep more):
    /// a `--cache` rescan that takes a listed one out then still knows the next. Call
    /// before any file is added; the database finished is the same.
    pub(crate) fn keep_reserves(&mut self) {
        self.reserve = true;
        self.set_streaming(self.streaming);
    }

    /// Whether locations are capped per object (see [`Builder::set_streaming`]).
    pub fn is_streaming(&self) -> bool {
        self.streaming
    }

    /// Switches to streaming mode (from then on, locations are capped per object). What
    /// was kept before is cut to what streaming keeps, so the result does not depend on
    /// when the switch happened.
    pub fn set_streaming(&mut self, on: bool) {
        self.streaming = on;
        let cap = STREAMING_LOCATIONS + if self.reserve { LOCATION_RESERVE } else { 0 };
        self.location_cap = on.then_some(cap);
        if !on {
            return;
        }
        while self.empty_paths.len() > EMPTY_RESERVE {
            self.empty_paths.pop();
        }
        let places = Places {
            files: &self.files,
            functions: &self.functions,
            bodies: &self.bodies,
        };
        for e in &mut self.entries {
            if e.locations.len() > cap {
                e.kept = None;
            }
            if e.locations.len() >= cap {
                e.locations
                    .sort_by(|a, b| places.of(a, None).cmp(&places.of(b, None)));
                e.omitted += (e.locations.len() - cap) as u64;
                e.locations.truncate(cap);
                e.locations.shrink_to_fit();
            }
        }
        // What the cut freed.
        self.var_bytes = self.objects.keys().map(|k| k.len() as u64).sum::<u64>()
            + self.entries.iter().map(Self::entry_bytes).sum::<u64>()
            + self.files.iter().map(|f| f.len() as u64 + 16).sum::<u64>();
    }

    /// Folds one file's assertions in.
    pub fn add_file(&mut self, path: &str, result: &FileResult) {
        self.file_seq += 1;
        self.current_file = None;
        self.behaviour.add_file(path, result);
        if result.assertions.is_empty() {
            self.empty.count += 1;
            // With some not kept (files were taken out), only below every one not kept.
            let hidden = self.empty.count - 1 > self.empty_paths.len() as u64;
            let above = hidden
                && match self.undo.empty_floor() {
                    Some(floor) => path > floor,
                    None => self.empty_paths.peek().is_some_and(|g| path > g.as_str()),
                };
            if !self.streaming || (self.empty_paths.len() < EMPTY_RESERVE && !above) {
                self.empty_paths.push(path.to_string());
            } else if let Some(mut last) = self.empty_paths.peek_mut() {
                if path < last.as_str() {
                    let out = std::mem::replace(&mut *last, path.to_string());
                    drop(last);
                    self.undo.hidden_empty(&out);
                } else {
                    drop(last);
                    self.undo.hidden_empty(path);
                }
            }
            return;
        }
        for a in &result.assertions {
            self.add(path, a);
        }
        self.after_file();
    }

    fn add(&mut self, path: &str, a: &Assertion) {
        if a.commented {
            return;
        }
        let function = self.functions.id(&a.function);
        *self.by_function.entry(function).or_default() += 1;
        let aspect = a.aspect.as_ref().map(|s| self.aspects.id(s.name()));
        if let Some(aspect) = aspect {
            *self.by_aspect.entry(aspect).or_default() += 1;
        }
        if a.kind.is_none() {
            self.behavioural += 1;
            return;
        }
        self.structural += 1;
        let unattributable = a.dynamic
            || matches!(
                a.resolution,
                ResolutionKind::Ambiguous | ResolutionKind::Rejected
            );
        let Some(target) = a.object.as_deref().filter(|_| !unattributable) else {
            self.unattributed += 1;
            if a.resolution == ResolutionKind::Ambiguous && !a.dynamic && a.readings.len() > 1 {
                // The first by file and line, not by arrival: which calls a schema decides
                // must not depend on thread timing. Built only when it may be kept.
                self.ambiguous_seen += 1;
                let hidden = self.ambiguous_seen - 1 > self.ambiguous.len() as u64;
                let full = self.ambiguous.len() >= AMBIGUOUS_RESERVE || hidden;
                if !full
                    || self.undo.tracks_ambiguous()
                    || self
                        .ambiguous
                        .peek()
                        .is_some_and(|last| (path, a.line) <= (last.file.as_str(), last.line))
                {
                    let call = AmbiguousCall {
                        file: path.to_string(),
                        line: a.line,
                        function: a.function.to_string(),
                        readings: a.readings.clone(),
                        aspect: a.aspect.clone(),
                    };
                    let room = self.ambiguous.len() < AMBIGUOUS_RESERVE;
                    if !full {
                        self.ambiguous.push(call);
                    } else if room
                        && match self.undo.ambiguous_floor() {
                            Some(floor) => call <= *floor,
                            None => self.ambiguous.peek().is_some_and(|g| call <= *g),
                        }
                    {
                        // Some not kept, but room: below the greatest kept, it is kept.
                        self.ambiguous.push(call);
                    } else if let Some(mut last) = self.ambiguous.peek_mut().filter(|_| !room) {
                        if call < *last {
                            let out = std::mem::replace(&mut *last, call);
                            drop(last);
                            self.undo.hidden_ambiguous(out);
                        } else {
                            drop(last);
                            self.undo.hidden_ambiguous(call);
                        }
                    } else {
                        self.undo.hidden_ambiguous(call);
                    }
                }
            }
            return;
        };
        self.attributed += 1;
        self.each_location(a, target, function, aspect, |b, key, loc, aspect| {
            b.touch(path, key, loc, aspect);
        });
    }

    /// Calls `each` with every object an attributed assertion names and its location: the
    /// target, the members other than the target, the references that are neither (with
    /// no aspect). What adding a file touches and taking it out untouches (`undo`).
    fn each_location(
        &mut self,
        a: &Assertion,
        target: &str,
        function: u32,
        aspect: Option<u32>,
        mut each: impl FnMut(&mut Self, &str, Loc, Option<u32>),
    ) {
        let absent = a.negated && a.aspect == Some(Aspect::Existence);
        let context = match &a.context {
            Context::Top => CONTEXT_TOP,
            Context::Do => CONTEXT_DO,
            Context::Body(name) => CONTEXT_BODY + self.bodies.id(name),
        };
        let mut loc = Loc {
            file: 0,
            line: a.line,
            column: a.column,
            context,
            function,
            role: Role::Target,
            absent,
        };
        each(self, target, loc, aspect);
        loc.absent = false;
        loc.role = Role::Member;
        for m in &a.members {
            if m != target {
                each(self, m, loc, aspect);
            }
        }
        loc.role = Role::Reference;
        for r in &a.references {
            if r != target && !a.members.contains(r) {
                each(self, r, loc, None);
            }
        }
    }

    fn touch(&mut self, path: &str, key: &str, loc: Loc, aspect: Option<u32>) {
        let (count, kept) = (self.entries.len(), self.files.len());
        let before = match self.objects.get(key) {
            Some(&i) => Self::entry_bytes(&self.entries[i as usize]),
            None => 0,
        };
        let i = self.touch_entry(path, key, loc, aspect);
        let mut added = Self::entry_bytes(&self.entries[i]);
        if self.entries.len() > count {
            added += key.len() as u64;
        }
        if self.files.len() > kept {
            // The path and its `Arc`'s two counters.
            added += (path.len() + 16) as u64;
        }
        self.var_bytes = (self.var_bytes + added).saturating_sub(before);
    }

    /// Folds one location into `key`'s entry; its index.
    fn touch_entry(&mut self, path: &str, key: &str, mut loc: Loc, aspect: Option<u32>) -> usize {
        let seq = self.file_seq;
        let i = match self.objects.get(key) {
            Some(&i) => i as usize,
            None => {
                let i = self.entries.len();
                self.objects.insert(key.into(), i as u32);
                self.entries.push(Entry {
                    first_file: seq,
                    ..Entry::default()
                });
                i
            }
        };
        let e = &mut self.entries[i];
        e.kept = None;
        if e.last_file != seq {
            e.last_file = seq;
            e.files += 1;
        }
        // From the count, not from `first_file`: a file taken out lowers it again.
        e.multi_file = e.files > 1;
        match (loc.role, loc.absent) {
            (Role::Reference, _) => e.referenced += 1,
            (_, true) => e.absent += 1,
            (_, false) => {
                e.positive += 1;
                if let Some(id) = aspect {
                    add_pair(&mut e.aspects, id, 1);
                }
            }
        }
        if loc.role != Role::Reference {
            add_pair(&mut e.functions, loc.function, 1);
        }
        let Some(cap) = self.location_cap else {
            loc.file = self.current_file_id(path);
            self.entries[i].locations.push(loc);
            return i;
        };
        // Streaming: the first `cap` by place, kept sorted once there are `cap` of them, so
        // a later one is compared with the last only.
        let places = Places {
            files: &self.files,
            functions: &self.functions,
            bodies: &self.bodies,
        };
        let kept = &e.locations;
        // Full, or some not kept (files were taken out, see `undo`): sorted, and one is
        // kept only below every one not kept (the floor of this run's taking out, else the
        // greatest kept: every one not kept is at or above it).
        let full = kept.len() >= cap;
        if full || e.omitted > 0 {
            let new = places.of(&loc, Some(path));
            let keep = match (full, self.undo.floor(i)) {
                (false, Some(floor)) => new <= places.of(floor, None),
                _ => kept.last().is_some_and(|last| {
                    let last = places.of(last, None);
                    new < last || (!full && new == last)
                }),
            };
            let Some(at) = keep.then(|| kept.partition_point(|l| places.of(l, None) <= new)) else {
                e.omitted += 1;
                if self.undo.tracks(i) {
                    loc.file = self.current_file_id(path);
                    self.hidden_location(i, loc);
                }
                return i;
            };
            loc.file = self.current_file_id(path);
            let e = &mut self.entries[i];
            let out = if full {
                e.omitted += 1;
                e.locations.pop()
            } else {
                None
            };
            e.locations.insert(at, loc);
            if let Some(out) = out.filter(|_| self.undo.tracks(i)) {
                self.hidden_location(i, out);
            }
            return i;
        }
        loc.file = self.current_file_id(path);
        let places = Places {
            files: &self.files,
            functions: &self.functions,
            bodies: &self.bodies,
        };
        let kept = &mut self.entries[i].locations;
        kept.push(loc);
        if kept.len() == cap {
            kept.sort_by(|a, b| places.of(a, None).cmp(&places.of(b, None)));
        }
        i
    }

    /// The id of the file being added, interned on its first kept location.
    fn current_file_id(&mut self, path: &str) -> u32 {
        match self.current_file {
            Some(id) => id,
            None => {
                let id = self.files.len() as u32;
                self.files.push(path.into());
                self.current_file = Some(id);
                id
            }
        }
    }

    /// The database: objects sorted by key, statistics computed.
    #[cfg(test)]
    pub fn finish(self) -> Database {
        self.finish_measured().0
    }

    /// [`Builder::finish`], and what the database cost and spilled.
    pub fn finish_measured(mut self) -> (Database, DatabaseMemory) {
        let mut memory = DatabaseMemory {
            peak_bytes: self.peak_bytes.max(self.bytes()),
            ..DatabaseMemory::default()
        };
        let spill = self.spill.take();
        let Builder {
            objects,
            mut entries,
            functions,
            aspects,
            bodies,
            mut files,
            empty_paths,
            structural,
            behavioural,
            attributed,
            unattributed,
            by_aspect,
            by_function,
            mut empty,
            ambiguous,
            mut behaviour,
            location_cap,
            streaming,
            keep_dir,
            kept_file,
            sorted,
            ..
        } = self;
        behaviour.settle();
        let convert = Converter::new(&functions, &aspects, &bodies, location_cap.is_some());
        // Keys sorted first (pairs of 24 bytes, not whole objects), and the hash table let
        // go before any object of the report is built; each entry's own vectors are freed
        // as it is turned into its object.
        let mut keys = in_key_order(objects.into_iter(), sorted);
        // Pushed into an exact allocation when nothing spilled (a filtering iterator would
        // let the vector grow by doubling: up to twice the report's largest part).
        // After a spill the number of objects is known only at the end: they are built in
        // chunks, moved into one exact allocation at the end, a chunk freed as it is moved
        // (growing one vector by doubling would hold up to 1.5 times the largest part).
        // With the objects kept on disk, none is held: each is counted and dropped.
        let spilled = spill.as_ref().is_some_and(spill::Spiller::spilled);
        let keep = spilled && spill.as_ref().is_some_and(spill::Spiller::keeps_objects);
        let mut totals = Totals::default();
        let mut out: Vec<ObjectCoverage> = Vec::new();
        let mut kept = None;
        let mut kept_objects = None;
        if let Some(dir) = keep_dir.filter(|_| !spilled) {
            // `--cache`: every object kept as merged, the rendered text of those no file
            // touched copied from the last run's (see `kept`).
            drop(spill);
            keys.retain(|(key, i)| {
                let e = &entries[*i as usize];
                // An entry with a kept text had its object rendered: its key parses, and
                // its kind is what the key starts with.
                let kind = match e.kept {
                    Some(_) => ObjectKey::kind_of(key),
                    None => ObjectKey::kind_if_parses(key),
                };
                match kind {
                    Some(kind) => {
                        totals.add_entry(kind, key, e, &convert);
                        true
                    }
                    None => false,
                }
            });
            let files = std::mem::take(&mut files);
            let kept_entries = std::mem::take(&mut entries);
            let file = kept_file.and_then(|f| kept::KeptObjects::open(&dir, f));
            kept_objects = Some((keys, kept_entries, files, file));
        } else {
            entries.shrink_to_fit();
            let mut chunks: Vec<Vec<ObjectCoverage>> = Vec::new();
            out = Vec::with_capacity(match (keep, spilled) {
                (true, _) => 0,
                (false, true) => OBJECT_CHUNK,
                (false, false) => keys.len(),
            });
            let in_memory = keys.into_iter().map(|(key, i)| {
                let e = std::mem::take(&mut entries[i as usize]);
                (key, spill::Rec::from_entry(e, &files))
            });
            let mut sink = |key: Box<str>, e: spill::Rec| {
                let Some(o) = convert.object(key, e, Some(&mut totals.kind_aspects)) else {
                    return;
                };
                totals.add(&o);
                if keep {
                    return;
                }
                if spilled && out.len() == OBJECT_CHUNK {
                    chunks.push(std::mem::replace(
                        &mut out,
                        Vec::with_capacity(OBJECT_CHUNK),
                    ));
                }
                out.push(o);
            };
            match spill {
                Some(spill) => {
                    let places = Places {
                        files: &[],
                        functions: &functions,
                        bodies: &bodies,
                    };
                    let names = spill::Names {
                        places: &places,
                        aspects: aspects.names.len(),
                        cap: location_cap,
                        paths: (!keep).then(Default::default),
                    };
                    (memory, kept) = spill.finish(in_memory, &names, &mut sink, memory, keep);
                }
                None => in_memory.for_each(|(key, e)| sink(key, e)),
            }
            if !chunks.is_empty() {
                let total = chunks.iter().map(Vec::len).sum::<usize>() + out.len();
                let mut all = Vec::with_capacity(total);
                for chunk in chunks {
                    all.extend(chunk);
                }
                all.append(&mut out);
                out = all;
            }
        }
        out.shrink_to_fit();
        drop(entries);
        drop(files);

        let mut st = totals.statistics();
        st.structural = structural;
        st.behavioural = behavioural;
        st.attributed = attributed;
        st.unattributed = unattributed;
        st.by_aspect = by_aspect
            .into_iter()
            .map(|(id, n)| (convert.aspect_of[id as usize].clone(), n))
            .collect();
        empty.paths = empty_paths.into_sorted_vec();
        if streaming {
            empty.paths.truncate(STREAMING_EMPTY_FILES);
        }
        empty.truncated = empty.count > empty.paths.len() as u64;
        st.files_without_assertions = empty;
        let total: u64 = by_function.values().sum();
        // Summed in a fixed order: the map's order varies from run to run, and a float sum
        // must not (the report is deterministic).
        let mut counts: Vec<u64> = by_function.values().copied().collect();
        counts.sort_unstable();
        let entropy: f64 = counts
            .iter()
            .map(|&n| {
                let p = n as f64 / total as f64;
                -p * p.ln()
            })
            .sum();
        st.diversity = Diversity {
            functions_used: by_function.len() as u64,
            functions_available: crate::catalog::FUNCTIONS
                .iter()
                .filter(|f| f.category == crate::catalog::Category::Assertion)
                .count() as u64,
            effective_functions: if total == 0 {
                0.0
            } else {
                round2(entropy.exp())
            },
            aspects_per_tested_object: if st.objects_tested == 0 {
                0.0
            } else {
                round2(totals.aspect_sum as f64 / st.objects_tested as f64)
            },
        };
        let on_disk = match (kept_objects, kept) {
            (Some((keys, entries, files, file)), _) => {
                Some(ObjectsOnDisk(Arc::new(Held::Kept(kept::KeptObjects {
                    keys,
                    entries,
                    files,
                    convert,
                    file,
                }))))
            }
            (None, Some(file)) => Some(ObjectsOnDisk(Arc::new(Held::Run(OnDisk {
                file,
                functions,
                bodies,
                aspects: aspects.names.len(),
                convert,
            })))),
            (None, None) => None,
        };
        let database = Database {
            objects: out,
            on_disk,
            statistics: st,
            ambiguous: {
                let mut kept = ambiguous.into_sorted_vec();
                kept.truncate(MAX_AMBIGUOUS);
                kept
            },
            behaviour,
        };
        (database, memory)
    }
}

/// Turns merged records into the report's objects: the interned names as shared strings.
struct Converter {
    /// Each interned aspect name as its `Aspect`, once.
    aspect_of: Vec<Aspect>,
    functions: Vec<Arc<str>>,
    /// By context id: `top`, `do`, then `body:<name>` per body id.
    contexts: Vec<Arc<str>>,
    /// Streaming mode's cap on locations: a reserve kept beyond it (for `--cache`
    /// rescans, see `keep_reserves`) is counted as omitted, not listed.
    capped: bool,
}

impl Converter {
    fn new(functions: &Interner, aspects: &Interner, bodies: &Interner, capped: bool) -> Converter {
        let mut contexts: Vec<Arc<str>> = vec!["top".into(), "do".into()];
        contexts.extend(bodies.names.iter().map(|n| format!("body:{n}").into()));
        Converter {
            aspect_of: aspects.names.iter().map(|n| Aspect::from_name(n)).collect(),
            functions: functions.names.clone(),
            contexts,
            capped,
        }
    }

    /// `key`'s object; `kind_aspects` gets its positive assertions per aspect.
    fn object(
        &self,
        key: Box<str>,
        e: spill::Rec,
        kind_aspects: Option<&mut BTreeMap<ObjectKind, BTreeMap<Aspect, u64>>>,
    ) -> Option<ObjectCoverage> {
        // Every key an extraction makes parses: they are built by `object`.
        let Ok(mut parsed) = ObjectKey::parse(&key) else {
            debug_assert!(false, "{key} is not an object key");
            return None;
        };
        let kind = parsed.kind;
        let mut per_kind = kind_aspects.map(|k| k.entry(kind).or_default());
        let mut aspect_names: Vec<Aspect> = e
            .aspects
            .iter()
            .map(|&(id, n)| {
                let aspect = &self.aspect_of[id as usize];
                if let Some(per_kind) = per_kind.as_deref_mut() {
                    match per_kind.get_mut(aspect) {
                        Some(c) => *c += n,
                        None => {
                            per_kind.insert(aspect.clone(), n);
                        }
                    }
                }
                aspect.clone()
            })
            .collect();
        aspect_names.sort();
        let mut locations: Vec<ObjectLocation> = e
            .locations
            .into_iter()
            .map(|(file, l)| ObjectLocation {
                file,
                line: l.line,
                column: l.column,
                context: Arc::clone(&self.contexts[l.context as usize]),
                function: Arc::clone(&self.functions[l.function as usize]),
                role: l.role,
                absent: l.absent,
            })
            .collect();
        // By place; two locations equal this far are the same call's (same function,
        // context and absence), so the order is the same whatever order they came in.
        locations.sort_by(|a, b| {
            (&a.file, a.line, a.column, a.role).cmp(&(&b.file, b.line, b.column, b.role))
        });
        // A reserve kept beyond what streaming lists (see `keep_reserves`) is omitted here
        // (locations equal this far are the same call's: which are cut is fixed).
        let mut omitted = e.omitted;
        if self.capped && locations.len() > STREAMING_LOCATIONS {
            omitted += (locations.len() - STREAMING_LOCATIONS) as u64;
            locations.truncate(STREAMING_LOCATIONS);
        }
        let parent = parsed.parent();
        let schema = parsed.schema.take();
        let name = parsed.into_name_with_args();
        Some(ObjectCoverage {
            kind,
            schema,
            name,
            parent,
            assertions: e.positive,
            absent: e.absent,
            referenced: e.referenced,
            functions: {
                let mut v: Vec<(Arc<str>, u64)> = e
                    .functions
                    .iter()
                    .map(|(f, n)| (Arc::clone(&self.functions[*f as usize]), *n))
                    .collect();
                v.sort();
                v.shrink_to_fit();
                v
            },
            aspects: aspect_names,
            tested: e.positive > 0,
            single_file: !e.multi_file,
            locations,
            locations_omitted: omitted,
            key: key.into(),
        })
    }
}

/// The statistics that come from the objects, summed one object at a time in key order (so
/// no list of them is needed).
#[derive(Default)]
struct Totals {
    objects: u64,
    objects_tested: u64,
    objects_single_file: u64,
    objects_absent_only: u64,
    objects_referenced_only: u64,
    aspect_sum: u64,
    by_kind: BTreeMap<ObjectKind, KindStatistics>,
    kind_aspects: BTreeMap<ObjectKind, BTreeMap<Aspect, u64>>,
    /// [`Totals::add_entry`]'s share of `by_kind` and `kind_aspects`, by the kind's place
    /// in [`ObjectKind::ALL`] and by aspect id (no map lookup per entry); merged into them
    /// by [`Totals::statistics`].
    by_kind_at: Vec<Option<(KindStatistics, Vec<Option<u64>>)>>,
    /// The aspect of each id of `by_kind_at`.
    aspect_of: Vec<Aspect>,
    /// The most tested so far, most assertions first, then by key.
    top: Vec<TopObject>,
}

impl Totals {
    fn add(&mut self, o: &ObjectCoverage) {
        self.add_parts(
            o.kind,
            &o.key,
            o.assertions,
            o.absent,
            o.single_file,
            o.aspects.len(),
            o.functions.len(),
        );
    }

    /// [`Totals::add`] for the object `rec` gives (see [`Converter::object`]), without
    /// building it; with its positive assertions per aspect.
    fn add_entry(&mut self, kind: ObjectKind, key: &str, rec: &Entry, convert: &Converter) {
        if self.aspect_of.len() < convert.aspect_of.len() {
            self.aspect_of.clone_from(&convert.aspect_of);
        }
        let at = kind as usize;
        debug_assert_eq!(ObjectKind::ALL.get(at), Some(&kind));
        if self.by_kind_at.len() <= at {
            self.by_kind_at.resize_with(at + 1, || None);
        }
        let (k, per_aspect) = self.by_kind_at[at].get_or_insert_with(Default::default);
        for &(id, n) in &rec.aspects {
            let id = id as usize;
            if per_aspect.len() <= id {
                per_aspect.resize(id + 1, None);
            }
            *per_aspect[id].get_or_insert(0) += n;
        }
        Self::add_to_kind(k, rec.positive, rec.absent);
        self.add_to_suite(
            key,
            rec.positive,
            rec.absent,
            !rec.multi_file,
            rec.aspects.len(),
            rec.functions.len(),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn add_parts(
        &mut self,
        kind: ObjectKind,
        key: &str,
        assertions: u64,
        absent: u64,
        single_file: bool,
        aspects: usize,
        functions: usize,
    ) {
        Self::add_to_kind(self.by_kind.entry(kind).or_default(), assertions, absent);
        self.add_to_suite(key, assertions, absent, single_file, aspects, functions);
    }

    fn add_to_kind(k: &mut KindStatistics, assertions: u64, absent: u64) {
        k.objects += 1;
        k.assertions += assertions;
        k.absent += absent;
        k.tested += u64::from(assertions > 0);
    }

    fn add_to_suite(
        &mut self,
        key: &str,
        assertions: u64,
        absent: u64,
        single_file: bool,
        aspects: usize,
        functions: usize,
    ) {
        self.objects += 1;
        if assertions > 0 {
            self.objects_tested += 1;
            self.objects_single_file += u64::from(single_file);
            self.aspect_sum += aspects as u64;
            fn rank(t: &TopObject) -> (std::cmp::Reverse<u64>, &str) {
                (std::cmp::Reverse(t.assertions), t.key.as_str())
            }
            let new = (std::cmp::Reverse(assertions), key);
            if self.top.len() < TOP_OBJECTS || self.top.last().is_some_and(|l| new < rank(l)) {
                let at = self.top.partition_point(|t| rank(t) < new);
                self.top.insert(
                    at,
                    TopObject {
                        key: key.to_string(),
                        assertions,
                        functions: functions as u64,
                    },
                );
                self.top.truncate(TOP_OBJECTS);
            }
        } else if absent > 0 {
            self.objects_absent_only += 1;
        } else {
            self.objects_referenced_only += 1;
        }
    }

    /// The statistics these give; the suite's own counts are the caller's to set.
    fn statistics(&mut self) -> Statistics {
        for (at, counted) in std::mem::take(&mut self.by_kind_at).into_iter().enumerate() {
            let Some((k, per_aspect)) = counted else {
                continue;
            };
            let kind = ObjectKind::ALL[at];
            let into = self.by_kind.entry(kind).or_default();
            into.objects += k.objects;
            into.tested += k.tested;
            into.assertions += k.assertions;
            into.absent += k.absent;
            let aspects = self.kind_aspects.entry(kind).or_default();
            for (id, n) in per_aspect.into_iter().enumerate() {
                if let Some(n) = n {
                    *aspects.entry(self.aspect_of[id].clone()).or_default() += n;
                }
            }
        }
        let mut by_kind = std::mem::take(&mut self.by_kind);
        for (kind, aspects) in std::mem::take(&mut self.kind_aspects) {
            if let Some(k) = by_kind.get_mut(&kind) {
                k.aspects = aspects;
            }
        }
        Statistics {
            objects: self.objects,
            objects_tested: self.objects_tested,
            objects_absent_only: self.objects_absent_only,
            objects_referenced_only: self.objects_referenced_only,
            objects_single_file: self.objects_single_file,
            by_kind,
            top_objects: std::mem::take(&mut self.top),
            ..Statistics::default()
        }
    }
}

/// Where the objects not in memory are.
enum Held {
    /// In a spill run.
    Run(OnDisk),
    /// As merged, with their JSON text in the `--cache` folder (see `kept`).
    Kept(kept::KeptObjects),
}

/// What reading the objects back needs: the run, and the names its ids stand for.
struct OnDisk {
    file: spill::Kept,
    functions: Interner,
    bodies: Interner,
    aspects: usize,
    convert: Converter,
}

/// The report's objects left on disk by a scan with
/// [`crate::scan::ScanConfig::objects_on_disk`] whose database spilled: one run of them,
/// in key order, in the spill folder, which is removed when the last clone of the
/// [`Database`] holding it is dropped. [`Database::for_each_object`] reads them back one at
/// a time; [`Database::load_objects`] brings them into [`Database::objects`].
///
/// In a `--cache` run with [`crate::scan::ScanConfig::objects_kept`], the objects are held
/// as merged and their JSON text is in the cache folder: the JSON report copies it, and
/// the same two calls build the objects.
#[derive(Clone)]
pub struct ObjectsOnDisk(Arc<Held>);

impl ObjectsOnDisk {
    /// How many objects.
    pub fn len(&self) -> u64 {
        match &*self.0 {
            Held::Run(d) => d.file.records,
            Held::Kept(k) => k.keys.len() as u64,
        }
    }

    /// Whether these are the objects of a `--cache` run kept in the cache folder (see
    /// [`crate::scan::ScanConfig::objects_kept`]), not a spill run: nothing on disk goes
    /// with them when they are dropped.
    pub fn in_cache(&self) -> bool {
        matches!(&*self.0, Held::Kept(_))
    }

    /// Writes the JSON report's `objects` array from the texts kept in the cache folder;
    /// `None` for objects in a spill run (see [`ObjectsOnDisk`]).
    pub(crate) fn write_kept_json(
        &self,
        w: &mut dyn std::io::Write,
    ) -> Option<std::io::Result<()>> {
        match &*self.0 {
            Held::Kept(k) => Some(k.write_json(w)),
            Held::Run(_) => None,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads them back in key order, each handed to `f`; `share_paths`: the locations of a
    /// file share one allocation (for objects that are kept; each path is remembered).
    fn for_each(&self, share_paths: bool, f: &mut dyn FnMut(ObjectCoverage)) -> Result<(), String> {
        let d = match &*self.0 {
            Held::Run(d) => d,
            Held::Kept(k) => {
                k.for_each(f);
                return Ok(());
            }
        };
        let places = Places {
            files: &[],
            functions: &d.functions,
            bodies: &d.bodies,
        };
        let names = spill::Names {
            places: &places,
            aspects: d.aspects,
            cap: None,
            paths: share_paths.then(Default::default),
        };
        d.file.for_each(&names, &mut |key, rec| {
            if let Some(o) = d.convert.object(key, rec, None) {
                f(o);
            }
        })
    }
}

impl std::fmt::Debug for ObjectsOnDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObjectsOnDisk({} objects)", self.len())
    }
}

/// The same run (clones of one), not the same contents: compare loaded databases for that.
impl PartialEq for ObjectsOnDisk {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The objects read back from disk into the JSON writer one at a time.
struct Streamed<'a>(&'a ObjectsOnDisk);

impl Serialize for Streamed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = s.serialize_seq(usize::try_from(self.0.len()).ok())?;
        let mut failed = None;
        let read = self.0.for_each(false, &mut |o| {
            if failed.is_none() {
                if let Err(e) = seq.serialize_element(&o) {
                    failed = Some(e);
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(S::Error::custom)?;
        seq.end()
    }
}

/// `objects` (from memory, or streamed from disk) and `statistics`.
impl Serialize for Database {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Database", 2)?;
        match &self.on_disk {
            Some(d) => st.serialize_field("objects", &Streamed(d))?,
            None => st.serialize_field("objects", &self.objects)?,
        }
        st.serialize_field("statistics", &self.statistics)?;
        st.end()
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Orders locations by place: file, line, column, then the rest so the order is total.
struct Places<'a> {
    files: &'a [Arc<str>],
    functions: &'a Interner,
    bodies: &'a Interner,
}

/// File, line, column, role, absent, function, context (as `top`, `do`, `body:` + name).
type Place<'a> = (&'a str, u32, u32, Role, bool, &'a str, &'a str, &'a str);

impl<'a> Places<'a> {
    /// `l`'s place; `path` is its file when it is not interned yet.
    fn of(&self, l: &Loc, path: Option<&'a str>) -> Place<'a> {
        let (context, body) = match l.context {
            CONTEXT_TOP => ("top", ""),
            CONTEXT_DO => ("do", ""),
            n => ("body:", self.bodies.name(n - CONTEXT_BODY)),
        };
        (
            path.unwrap_or_else(|| &self.files[l.file as usize]),
            l.line,
            l.column,
            l.role,
            l.absent,
            self.functions.name(l.function),
            context,
            body,
        )
    }
}

/// `pairs` of (key, entry index) in key order, when the entries below `sorted` are in key
/// order already (a rescan's imported ones): those are placed by index, only the rest are
/// sorted, and merged in.
fn in_key_order<K: std::borrow::Borrow<str>>(
    pairs: impl ExactSizeIterator<Item = (K, u32)>,
    sorted: usize,
) -> Vec<(K, u32)> {
    let mut out = Vec::with_capacity(pairs.len());
    let mut placed: Vec<Option<K>> = Vec::new();
    placed.resize_with(sorted, || None);
    let mut rest = Vec::new();
    for (k, i) in pairs {
        match placed.get_mut(i as usize) {
            Some(slot) => *slot = Some(k),
            None => rest.push((k, i)),
        }
    }
    rest.sort_unstable_by(|a, b| a.0.borrow().cmp(b.0.borrow()));
    let mut rest = rest.into_iter().peekable();
    for (i, k) in placed.into_iter().enumerate() {
        let Some(k) = k else {
            continue;
        };
        while let Some(r) = rest.next_if(|r| r.0.borrow() < k.borrow()) {
            out.push(r);
        }
        out.push((k, i as u32));
    }
    out.extend(rest);
    out
}

/// Adds `n` to `id`'s count in a short list of (id, count) pairs (an entry's aspects or
/// functions: a few each).
#[inline]
fn add_pair(pairs: &mut Vec<(u32, u64)>, id: u32, n: u64) {
    match pairs.iter_mut().find(|(k, _)| *k == id) {
        Some((_, m)) => *m += n,
        None => pairs.push((id, n)),
    }
}

const CONTEXT_TOP: u32 = 0;
const CONTEXT_DO: u32 = 1;
/// `body:<name>` contexts are this plus the body name's id.
const CONTEXT_BODY: u32 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    // Regression: in streaming mode the locations and empty-file paths kept were the first
    // to arrive, and those kept before `--streaming auto` switched on stayed: reports
    // changed with thread timing.
    #[test]
    fn streaming_keeps_the_same_locations_whatever_the_order_and_the_switch() {
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions::default());
        let files: Vec<(String, FileResult)> = (0..300)
            .map(|i| {
                let src: &[u8] = if i % 2 == 0 {
                    b"SELECT 1;\n"
                } else {
                    b"SELECT has_table('shared');\nSELECT has_column('shared', 'c');\n"
                };
                (format!("t/f{i:03}.sql"), ex.extract(src))
            })
            .collect();
        let run = |order: &[usize], switch_at: usize| {
            let mut b = Builder::new(switch_at == 0);
            for (n, &i) in order.iter().enumerate() {
                if n == switch_at && n > 0 {
                    b.set_streaming(true);
                }
                b.add_file(&files[i].0, &files[i].1);
            }
            b.finish()
        };
        let forward: Vec<usize> = (0..300).collect();
        let backward: Vec<usize> = forward.iter().rev().copied().collect();
        let mut shuffled = forward.clone();
        shuffled.sort_by_key(|i| (i * 7919) % 300);
        let want = run(&forward, 0);
        for (order, switch_at) in [
            (&backward, 0),
            (&backward, 150),
            (&forward, 299),
            (&shuffled, 0),
            (&shuffled, 77),
        ] {
            assert_eq!(run(order, switch_at), want, "switch at {switch_at}");
        }
        let shared = want.get("table:public.shared").expect("named");
        let kept: Vec<(&str, u32)> = shared
            .locations
            .iter()
            .map(|l| (l.file.as_ref(), l.line))
            .collect();
        assert_eq!(
            kept,
            [
                ("t/f001.sql", 1),
                ("t/f001.sql", 2),
                ("t/f003.sql", 1),
                ("t/f003.sql", 2)
            ]
        );
        assert_eq!(shared.locations_omitted, 300 - 4);
        let empty = &want.statistics.files_without_assertions;
        assert_eq!(empty.count, 150);
        assert_eq!(empty.paths.len(), STREAMING_EMPTY_FILES);
        assert_eq!(empty.paths[0], "t/f000.sql");
        assert_eq!(empty.paths[99], "t/f198.sql");
        assert!(empty.truncated);
    }

    /// 300 files naming shared objects, one object per file, members, references,
    /// absences, bodies and files without assertions.
    pub(super) fn mixed_files() -> Vec<(String, FileResult)> {
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions::default());
        (0..300)
            .map(|i| {
                let src = match i % 3 {
                    0 => "SELECT 1;\n".to_string(),
                    1 => format!(
                        "SELECT has_table('shared');\nSELECT has_column('shared', 'c{}');\n\
                         SELECT hasnt_table('gone');\nSELECT fk_ok('a', 'b', 'c', 'd');\n",
                        i % 7
                    ),
                    _ => format!(
                        "CREATE FUNCTION f() RETURNS SETOF TEXT AS $$ SELECT has_table('t{i}'); \
                         SELECT col_is_pk('shared', 'c'); $$ LANGUAGE sql;\n\
                         SELECT tables_are('app', ARRAY['x', 'y{}']);\n",
                        i % 5
                    ),
                };
                (format!("t/f{i:03}.sql"), ex.extract(src.as_bytes()))
            })
            .collect()
    }

    // Spilling must not change the database: whatever the threshold (a run per file, more
    // runs than one merge reads, a few runs), in standard and streaming mode, whatever the
    // order files arrive in, the result equals the unspilled one; the folder goes at the end.
    #[test]
    fn spilled_runs_merge_into_the_unspilled_database() {
        let files = mixed_files();
        let parent =
            std::env::temp_dir().join(format!("pgtap-scan-spill-unit-{}", std::process::id()));
        std::fs::create_dir_all(&parent).expect("temp folder");
        for streaming in [false, true] {
            let run = |order: &[usize], threshold: Option<u64>| {
                let mut b = Builder::new(streaming);
                if let Some(threshold) = threshold {
                    b.spill_to(SpillConfig {
                        parent: parent.clone(),
                        threshold,
                        keep_objects: false,
                    });
                }
                for &i in order {
                    b.add_file(&files[i].0, &files[i].1);
                }
                b.finish_measured()
            };
            let forward: Vec<usize> = (0..300).collect();
            let mut shuffled = forward.clone();
            shuffled.sort_by_key(|i| (i * 7919) % 300);
            let (want, unspilled) = run(&forward, None);
            assert_eq!(unspilled.runs_spilled, 0);
            assert!(want.objects.len() > 100, "{}", want.objects.len());
            for (order, threshold, runs) in [
                (&forward, 0, 200..=300),
                (&shuffled, 0, 200..=300),
                (&shuffled, 20_000, 2..=40),
            ] {
                let (got, memory) = run(order, Some(threshold));
                assert_eq!(memory.error, None);
                assert!(
                    runs.contains(&memory.runs_spilled),
                    "{threshold}: {memory:?}"
                );
                assert!(
                    memory.runs_merged >= memory.runs_spilled.min(64),
                    "{memory:?}"
                );
                assert!(memory.bytes_written > 0);
                assert!(got == want, "streaming {streaming}, threshold {threshold}");
            }
        }
        let left: Vec<_> = std::fs::read_dir(&parent).expect("listed").collect();
        assert!(left.is_empty(), "spill folders left behind: {left:?}");
        let _ = std::fs::remove_dir(&parent);
    }

    // Issue 15: a spilled database's objects left on disk, not built in memory. Read back
    // (one at a time or loaded) they are the unspilled database's objects, the JSON written
    // from them is the same bytes, the statistics computed while they streamed past are the
    // same, and the spill folder (only the objects' run left in it) goes with the database.
    #[test]
    fn objects_left_on_disk_read_back_as_the_unspilled_ones() {
        let files = mixed_files();
        let parent =
            std::env::temp_dir().join(format!("pgtap-scan-on-disk-unit-{}", std::process::id()));
        std::fs::create_dir_all(&parent).expect("temp folder");
        let left = || -> Vec<std::path::PathBuf> {
            let mut all = Vec::new();
            for d in std::fs::read_dir(&parent).expect("listed").flatten() {
                for f in std::fs::read_dir(d.path())
                    .expect("a spill folder")
                    .flatten()
                {
                    all.push(f.path());
                }
            }
            all
        };
        for streaming in [false, true] {
            let run = |threshold: Option<u64>| {
                let mut b = Builder::new(streaming);
                if let Some(threshold) = threshold {
                    b.spill_to(SpillConfig {
                        parent: parent.clone(),
                        threshold,
                        keep_objects: true,
                    });
                }
                for (path, result) in &files {
                    b.add_file(path, result);
                }
                b.finish_measured()
            };
            let (want, _) = run(None);
            assert!(want.on_disk.is_none());
            let (got, memory) = run(Some(20_000));
            assert_eq!(memory.error, None);
            assert!(memory.runs_spilled >= 2, "{memory:?}");
            let on_disk = got.on_disk.as_ref().expect("objects left on disk");
            assert_eq!(on_disk.len(), want.objects.len() as u64);
            assert!(got.objects.is_empty());
            assert!(got.statistics == want.statistics, "streaming {streaming}");
            assert_eq!(left().len(), 1, "only the objects' run stays: {:?}", left());
            let json = |d: &Database| serde_json::to_string_pretty(d).expect("JSON");
            assert!(json(&got) == json(&want), "streaming {streaming}");
            let mut seen = Vec::new();
            got.for_each_object(&mut |o| seen.push(o.clone()))
                .expect("read back");
            assert!(seen == want.objects, "streaming {streaming}");
            let mut loaded = got.clone();
            loaded.load_objects().expect("loaded");
            assert!(loaded.on_disk.is_none());
            assert!(loaded == want, "streaming {streaming}");
            drop(got);
            assert!(left().is_empty(), "the objects' run outlived its database");
        }
        let _ = std::fs::remove_dir(&parent);
    }

    // What a database that spilled still holds goes to disk before the plan checks through
    // includes (the two added up at 1M files); the database is the same. One that never
    // spilled keeps its entries: small scans write nothing.
    #[test]
    fn a_spilled_database_writes_what_it_holds_before_the_include_checks() {
        let files = mixed_files();
        let parent =
            std::env::temp_dir().join(format!("pgtap-scan-held-unit-{}", std::process::id()));
        std::fs::create_dir_all(&parent).expect("temp folder");
        let run = |threshold: u64, held: bool| {
            let mut b = Builder::new(false);
            b.spill_to(SpillConfig {
                parent: parent.clone(),
                threshold,
                keep_objects: false,
            });
            for (path, result) in &files {
                b.add_file(path, result);
            }
            if held {
                b.spill_held();
            }
            let left = b.entries.len();
            let (db, memory) = b.finish_measured();
            (db, memory, left)
        };
        let (want, before, left) = run(20_000, false);
        assert!(before.runs_spilled >= 2 && left > 0, "{before:?} {left}");
        let (got, after, left) = run(20_000, true);
        assert_eq!(left, 0);
        assert_eq!(after.runs_spilled, before.runs_spilled + 1);
        assert!(got == want);
        let (_, never, left) = run(u64::MAX, true);
        assert_eq!(never.runs_spilled, 0);
        assert!(left > 0);
        let _ = std::fs::remove_dir(&parent);
    }

    // A `--cache` rescan takes files out of the last run's database: counts, functions,
    // aspects and file counts subtract exactly, and the capped lists are exact whenever
    // `settle_undo` says so (and, in standard mode, always).
    #[test]
    fn removing_files_gives_the_database_of_the_files_left() {
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions::default());
        let files: Vec<(String, FileResult)> = (0..120)
            .map(|i| {
                let src = match i % 4 {
                    0 => "SELECT 1;\n".to_string(),
                    1 => format!(
                        "SELECT has_table('shared');\nSELECT has_column('shared', 'c{}');\n\
                         SELECT hasnt_table('gone');\nSELECT fk_ok('a', 'b', 'c', 'd');\n",
                        i % 7
                    ),
                    2 => format!(
                        "SELECT tables_are('app', ARRAY['x', 'y{}']);\n\
                         SELECT has_index('app', 'users', 'users_email_key', 'x');\n",
                        i % 5
                    ),
                    _ => format!("SELECT has_table('own{i}');\nSELECT col_is_pk('shared', 'c');\n"),
                };
                (format!("t/f{i:03}.sql"), ex.extract(src.as_bytes()))
            })
            .collect();
        for streaming in [false, true] {
            let build = |keep: &dyn Fn(usize) -> bool| {
                let mut b = Builder::new(streaming);
                for (i, (path, r)) in files.iter().enumerate() {
                    if keep(i) {
                        b.add_file(path, r);
                    }
                }
                b
            };
            // Files at the end (above every kept location) and files anywhere.
            for gone in [
                &(|i: usize| i >= 100) as &dyn Fn(usize) -> bool,
                &|i: usize| i % 9 == 4,
                &|i: usize| i < 3,
            ] {
                let mut b = build(&|_| true);
                for (i, (path, r)) in files.iter().enumerate() {
                    if gone(i) {
                        b.remove_file(path, r);
                    }
                }
                let want = build(&|i| !gone(i)).finish();
                match b.settle_undo() {
                    Ok(()) => assert!(b.finish() == want, "streaming {streaming}"),
                    Err(why) => assert!(streaming, "standard mode is always exact: {why}"),
                }
            }
            // Taken out and added again (an edit that moved nothing): always exact.
            let mut b = build(&|_| true);
            for (path, r) in files.iter().skip(5).step_by(11) {
                b.remove_file(path, r);
                b.add_file(path, r);
            }
            assert_eq!(b.settle_undo(), Ok(()));
            assert!(b.finish() == build(&|_| true).finish());
        }
        // The first three files hold listed locations of `shared` while others are not
        // kept: a hole only a file not read again could fill.
        let mut b = Builder::new(true);
        for (path, r) in &files {
            b.add_file(path, r);
        }
        b.remove_file(&files[1].0, &files[1].1);
        assert!(b.settle_undo().is_err());
        // With reserves the next ones are known: exact, and the same database as one
        // built without reserves from the files left.
        let mut b = Builder::new(true);
        b.keep_reserves();
        let mut want = Builder::new(true);
        for (i, (path, r)) in files.iter().enumerate() {
            b.add_file(path, r);
            if i != 1 {
                want.add_file(path, r);
            }
        }
        b.remove_file(&files[1].0, &files[1].1);
        assert_eq!(b.settle_undo(), Ok(()));
        assert!(b.finish() == want.finish());
    }

    // The state a rescan starts from, written and read back, is the same database.
    #[test]
    fn key_order_places_the_sorted_entries_and_merges_the_rest() {
        // Entries 0..4 in key order (as imported), 1 gone since; 4.. added in any order.
        let pairs = [
            ("f", 3),
            ("a", 0),
            ("c", 2),
            ("e", 4),
            ("0", 5),
            ("z", 6),
            ("b", 7),
        ];
        let order = in_key_order(pairs.iter().copied(), 4);
        let keys: Vec<&str> = order.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["0", "a", "b", "c", "e", "f", "z"]);
        let mut sorted = pairs.to_vec();
        sorted.sort_unstable();
        assert_eq!(order, sorted);
        // Nothing sorted: a plain sort.
        assert_eq!(in_key_order(pairs.iter().copied(), 0), sorted);
    }

    #[test]
    fn exported_state_imports_to_the_same_database() {
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions::default());
        let mut b = Builder::new(true);
        let mut fresh = Builder::new(true);
        for i in 0..50 {
            let src = format!(
                "SELECT has_table('shared');\nSELECT has_table('t{i}');\n\
                 CREATE FUNCTION f() RETURNS SETOF TEXT AS $$ SELECT has_view('v{}'); $$ LANGUAGE sql;\n\
                 SELECT has_index('app', 'users', 'users_email_key', 'x');\n",
                i % 3
            );
            let r = ex.extract(if i % 6 == 0 {
                b"SELECT 1;\n"
            } else {
                src.as_bytes()
            });
            b.add_file(&format!("t/f{i:02}.sql"), &r);
            fresh.add_file(&format!("t/f{i:02}.sql"), &r);
        }
        assert!(b.exportable());
        let mut enc = crate::snapcodec::Enc::default();
        b.export(&mut enc);
        let mut imported = Builder::new(false);
        let mut dec = crate::snapcodec::Dec { b: &enc.out };
        assert_eq!(imported.import(&mut dec), Some(()));
        assert!(dec.b.is_empty());
        assert!(imported.finish() == fresh.finish());
        // Cut short anywhere: refused, never a panic.
        for cut in (0..enc.out.len()).step_by(97) {
            let mut dec = crate::snapcodec::Dec { b: &enc.out[..cut] };
            assert_eq!(Builder::new(true).import(&mut dec), None);
        }
    }

    // Regression: the ambiguous calls kept for a schema to decide were the first 10,000 to
    // arrive, so with more of them the schema coverage changed with thread timing.
    #[test]
    fn the_ambiguous_calls_kept_are_the_first_by_file_and_line() {
        let ex = crate::extract::Extractor::new(crate::config::ExtractOptions::default());
        let per_file = MAX_AMBIGUOUS / 10;
        let src =
            "SELECT has_index('app', 'users', 'users_email_key', 'has it');\n".repeat(per_file);
        let result = ex.extract(src.as_bytes());
        let run = |order: &mut dyn Iterator<Item = usize>| {
            let mut b = Builder::new(true);
            for i in order {
                b.add_file(&format!("t/f{i:02}.sql"), &result);
            }
            b.finish().ambiguous
        };
        let forward = run(&mut (0..11));
        assert_eq!(forward.len(), MAX_AMBIGUOUS);
        assert_eq!(
            (forward[0].file.as_str(), forward[0].line),
            ("t/f00.sql", 1)
        );
        let last = forward.last().expect("kept");
        assert_eq!(
            (last.file.as_str(), last.line),
            ("t/f09.sql", per_file as u32)
        );
        assert!(
            run(&mut (0..11).rev()) == forward,
            "depends on arrival order"
        );
    }
}
