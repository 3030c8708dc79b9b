//! Taking a file back out of the database, and the builder's state as bytes: what a
//! `--cache` rescan needs to start from the last run's database and apply only the files
//! that changed (`crate::scan`'s run snapshot).
//!
//! Counts, aspects and functions subtract exactly. What is capped (streaming mode's
//! locations per object, the ambiguous calls kept, the paths of files without assertions)
//! keeps the first by place: taking out one that was kept leaves a hole only an item not
//! kept could fill, and those are known in number only. So when a kept item goes while
//! some were not kept, the builder notes a *floor*: every item not kept is at or above it
//! (the greatest kept when the first hole was made, lowered by every item pushed out or
//! not kept since). At the end the result is exact when each list that had a hole is full
//! again with nothing above its floor, or nothing is missing ([`Builder::settle_undo`]);
//! otherwise the caller folds every file afresh.

use std::collections::HashMap;

use super::{
    AmbiguousCall, Builder, Entry, Loc, Places, Role, CONTEXT_BODY, MAX_AMBIGUOUS,
    STREAMING_EMPTY_FILES, STREAMING_LOCATIONS,
};

/// Whether the first `listed` of `kept` (a list that keeps more than it lists) are the
/// first of all: every item not kept is at or above `floor`, so it is enough that
/// `listed` kept ones are at or below it.
pub(crate) fn first_known<'a, T: Ord + 'a>(
    kept: impl Iterator<Item = &'a T>,
    floor: &T,
    listed: usize,
) -> bool {
    kept.filter(|k| *k <= floor).count() >= listed
}
use crate::model::{Assertion, FileResult, ResolutionKind};
use crate::object::Aspect;
use crate::snapcodec::{Dec, Enc};

/// What taking files out has left to check.
#[derive(Default, Debug)]
pub(super) struct Undo {
    /// Per entry with a hole in its kept locations: a location at or below every one not
    /// kept.
    floors: HashMap<u32, Loc>,
    ambiguous_floor: Option<AmbiguousCall>,
    empty_floor: Option<String>,
    /// Why the result cannot be made exact (something could not be taken out).
    broken: Option<String>,
}

impl Undo {
    /// Whether files were taken out (something is tracked): such a builder cannot merge.
    pub(super) fn active(&self) -> bool {
        !self.floors.is_empty()
            || self.ambiguous_floor.is_some()
            || self.empty_floor.is_some()
            || self.broken.is_some()
    }

    /// Whether entry `i` has a floor to lower.
    pub(super) fn tracks(&self, i: usize) -> bool {
        !self.floors.is_empty() && self.floors.contains_key(&(i as u32))
    }

    /// Entry `i`'s floor, if it has one.
    pub(super) fn floor(&self, i: usize) -> Option<&Loc> {
        if self.floors.is_empty() {
            return None;
        }
        self.floors.get(&(i as u32))
    }

    pub(super) fn ambiguous_floor(&self) -> Option<&AmbiguousCall> {
        self.ambiguous_floor.as_ref()
    }

    pub(super) fn empty_floor(&self) -> Option<&str> {
        self.empty_floor.as_deref()
    }

    pub(super) fn tracks_ambiguous(&self) -> bool {
        self.ambiguous_floor.is_some()
    }

    /// An ambiguous call not kept (pushed out or never in).
    pub(super) fn hidden_ambiguous(&mut self, call: AmbiguousCall) {
        if let Some(floor) = &mut self.ambiguous_floor {
            if call < *floor {
                *floor = call;
            }
        }
    }

    /// A path of a file without assertions not kept.
    pub(super) fn hidden_empty(&mut self, path: &str) {
        if let Some(floor) = &mut self.empty_floor {
            if path < floor.as_str() {
                *floor = path.to_string();
            }
        }
    }

    fn break_with(&mut self, why: impl FnOnce() -> String) {
        if self.broken.is_none() {
            self.broken = Some(why());
        }
    }
}

impl Builder {
    /// A location of entry `i` not kept (pushed out or never in): lowers its floor.
    pub(super) fn hidden_location(&mut self, i: usize, loc: Loc) {
        let places = Places {
            files: &self.files,
            functions: &self.functions,
            bodies: &self.bodies,
        };
        if let Some(floor) = self.undo.floors.get_mut(&(i as u32)) {
            if places.of(&loc, None) < places.of(floor, None) {
                *floor = loc;
            }
        }
    }

    /// Takes out a file added before (by [`Builder::add_file`], in this builder or in the
    /// one it was [`Builder::import`]ed from) with this very result.
    pub fn remove_file(&mut self, path: &str, result: &FileResult) {
        // A sequence number of its own: each entry's file count drops once for the file.
        self.file_seq += 1;
        self.current_file = None;
        if !result.references.is_empty() || !result.created.is_empty() {
            self.undo
                .break_with(|| format!("{path}: behavioural references cannot be taken out"));
        }
        self.behaviour.sql_strings_unreadable = self
            .behaviour
            .sql_strings_unreadable
            .saturating_sub(result.sql_strings_unreadable);
        if result.assertions.is_empty() {
            let Some(count) = self.empty.count.checked_sub(1) else {
                return self
                    .undo
                    .break_with(|| format!("{path}: not in the database"));
            };
            let hidden = self.empty.count > self.empty_paths.len() as u64;
            let greatest = self.empty_paths.peek().cloned();
            let before = self.empty_paths.len();
            self.empty_paths.retain(|p| p != path);
            if self.empty_paths.len() < before && hidden && self.undo.empty_floor.is_none() {
                self.undo.empty_floor = greatest;
            }
            self.empty.count = count;
            return;
        }
        let mut ambiguous = false;
        for a in &result.assertions {
            ambiguous |= self.sub(path, a);
        }
        if ambiguous {
            let hidden = self.ambiguous_seen > self.ambiguous.len() as u64;
            let greatest = self.ambiguous.peek().cloned();
            let before = self.ambiguous.len();
            self.ambiguous.retain(|c| c.file != path);
            let removed = (before - self.ambiguous.len()) as u64;
            if removed > 0 && hidden && self.undo.ambiguous_floor.is_none() {
                self.undo.ambiguous_floor = greatest;
            }
        }
    }

    /// Undoes [`Builder::add`] for one assertion; whether it was an ambiguous call the
    /// heap may have kept.
    fn sub(&mut self, path: &str, a: &Assertion) -> bool {
        if a.commented {
            return false;
        }
        let function = self.functions.id(&a.function);
        decrement(&mut self.by_function, function, &mut self.undo);
        let aspect = a.aspect.as_ref().map(|s| self.aspects.id(s.name()));
        if let Some(aspect) = aspect {
            decrement(&mut self.by_aspect, aspect, &mut self.undo);
        }
        if a.kind.is_none() {
            self.behavioural = self.behavioural.saturating_sub(1);
            return false;
        }
        self.structural = self.structural.saturating_sub(1);
        let unattributable = a.dynamic
            || matches!(
                a.resolution,
                ResolutionKind::Ambiguous | ResolutionKind::Rejected
            );
        let Some(target) = a.object.as_deref().filter(|_| !unattributable) else {
            self.unattributed = self.unattributed.saturating_sub(1);
            if a.resolution == ResolutionKind::Ambiguous && !a.dynamic && a.readings.len() > 1 {
                self.ambiguous_seen = self.ambiguous_seen.saturating_sub(1);
                return true;
            }
            return false;
        };
        self.attributed = self.attributed.saturating_sub(1);
        self.each_location(a, target, function, aspect, |b, key, loc, aspect| {
            b.untouch(path, key, loc, aspect);
        });
        false
    }

    /// Undoes [`Builder::touch`].
    fn untouch(&mut self, path: &str, key: &str, loc: Loc, aspect: Option<u32>) {
        let seq = self.file_seq;
        let Some(&i) = self.objects.get(key) else {
            return self
                .undo
                .break_with(|| format!("{path}: {key} is not in the database"));
        };
        let e = &mut self.entries[i as usize];
        e.kept = None;
        if e.last_file != seq {
            e.last_file = seq;
            e.files = e.files.saturating_sub(1);
            e.multi_file = e.files > 1;
        }
        let mut ok = true;
        match (loc.role, loc.absent) {
            (Role::Reference, _) => ok &= dec(&mut e.referenced),
            (_, true) => ok &= dec(&mut e.absent),
            (_, false) => {
                ok &= dec(&mut e.positive);
                if let Some(id) = aspect {
                    ok &= dec_pair(&mut e.aspects, id);
                }
            }
        }
        if loc.role != Role::Reference {
            ok &= dec_pair(&mut e.functions, loc.function);
        }
        // The location: kept (taken out of the list), or one of those not kept.
        let files = &self.files;
        let same = |l: &Loc| {
            l.line == loc.line
                && l.column == loc.column
                && l.role == loc.role
                && l.absent == loc.absent
                && l.function == loc.function
                && l.context == loc.context
                && &*files[l.file as usize] == path
        };
        match e.locations.iter().position(same) {
            Some(at) => {
                if e.omitted > 0 && !self.undo.floors.contains_key(&i) {
                    // Full and sorted while some are not kept: the last is the greatest.
                    if let Some(&greatest) = e.locations.last() {
                        self.undo.floors.insert(i, greatest);
                    }
                }
                e.locations.remove(at);
            }
            None => ok &= dec(&mut e.omitted),
        }
        if !ok {
            return self
                .undo
                .break_with(|| format!("{path}: {key} does not hold what the file added"));
        }
        if e.positive == 0 && e.absent == 0 && e.referenced == 0 {
            // No assertion names it any more: it leaves the database.
            *e = Entry::default();
            self.objects.remove(key);
            self.undo.floors.remove(&i);
        }
    }

    /// Whether what [`Builder::remove_file`] took out leaves the database exactly what
    /// adding only the remaining files would give; `Err` says why not. When it does, what
    /// is kept above a floor is let go (counted as not kept), so that again every one not
    /// kept is above every one kept, as a later run's taking out assumes.
    pub fn settle_undo(&mut self) -> Result<(), String> {
        self.undo_exact()?;
        let floors = std::mem::take(&mut self.undo.floors);
        let places = Places {
            files: &self.files,
            functions: &self.functions,
            bodies: &self.bodies,
        };
        // Only where some are not kept: there the check made sure that enough are kept at
        // or below the floor (elsewhere everything is kept, and stays).
        for (i, floor) in floors {
            let e = &mut self.entries[i as usize];
            e.kept = None;
            if e.omitted == 0 {
                continue;
            }
            let floor = places.of(&floor, None);
            let before = e.locations.len();
            e.locations.retain(|l| places.of(l, None) <= floor);
            e.omitted += (before - e.locations.len()) as u64;
        }
        if let Some(floor) = self.undo.ambiguous_floor.take() {
            if self.ambiguous_seen > self.ambiguous.len() as u64 {
                self.ambiguous.retain(|c| *c <= floor);
            }
        }
        if let Some(floor) = self.undo.empty_floor.take() {
            if self.empty.count > self.empty_paths.len() as u64 {
                self.empty_paths.retain(|p| *p <= floor);
            }
        }
        Ok(())
    }

    fn undo_exact(&self) -> Result<(), String> {
        if let Some(why) = &self.undo.broken {
            return Err(why.clone());
        }
        if self
            .spill
            .as_ref()
            .is_some_and(super::spill::Spiller::spilled)
        {
            return Err("the database spilled to disk".into());
        }
        let places = Places {
            files: &self.files,
            functions: &self.functions,
            bodies: &self.bodies,
        };
        for (&i, floor) in &self.undo.floors {
            let e = &self.entries[i as usize];
            if e.omitted == 0 {
                continue;
            }
            let floor = places.of(floor, None);
            let below = e
                .locations
                .iter()
                .filter(|l| places.of(l, None) <= floor)
                .count();
            if below < STREAMING_LOCATIONS {
                let key = self
                    .objects
                    .iter()
                    .find(|(_, &j)| j == i)
                    .map_or("?", |(k, _)| &**k);
                return Err(format!(
                    "the locations kept of {key} lost one that only a file not read again \
                     could replace ({} kept, {below} known first, {} not kept)",
                    e.locations.len(),
                    e.omitted
                ));
            }
        }
        if let Some(floor) = &self.undo.ambiguous_floor {
            if self.ambiguous_seen > self.ambiguous.len() as u64
                && !first_known(self.ambiguous.iter(), floor, MAX_AMBIGUOUS)
            {
                return Err("the ambiguous calls kept lost one".into());
            }
        }
        if let Some(floor) = &self.undo.empty_floor {
            if self.empty.count > self.empty_paths.len() as u64
                && !first_known(self.empty_paths.iter(), floor, STREAMING_EMPTY_FILES)
            {
                return Err("the files without assertions kept lost one".into());
            }
        }
        Ok(())
    }

    /// Whether the builder's state can be written by [`Builder::export`]: nothing spilled,
    /// no behavioural references (they are folded in a way that cannot be taken out).
    pub fn exportable(&self) -> bool {
        !self
            .spill
            .as_ref()
            .is_some_and(super::spill::Spiller::spilled)
            && self.behaviour.references == 0
            && self.behaviour.created.is_empty()
            && self.behaviour.targets.is_empty()
            && self.undo.broken.is_none()
    }

    /// Appends the builder's state (see [`Builder::import`]).
    pub fn export(&self, enc: &mut Enc) {
        enc.flag(self.streaming);
        for interner in [&self.functions, &self.aspects, &self.bodies] {
            enc.uint(interner.names.len() as u64);
            for n in &interner.names {
                enc.str(n);
            }
        }
        // Only the paths kept locations use, renumbered.
        let mut renumber = vec![u32::MAX; self.files.len()];
        let mut paths: Vec<&str> = Vec::new();
        for &i in self.objects.values() {
            for l in &self.entries[i as usize].locations {
                let n = &mut renumber[l.file as usize];
                if *n == u32::MAX {
                    *n = paths.len() as u32;
                    paths.push(&self.files[l.file as usize]);
                }
            }
        }
        enc.uint(paths.len() as u64);
        for p in &paths {
            enc.str(p);
        }
        enc.uint(self.objects.len() as u64);
        // In key order: the rescan that imports them finishes without sorting them again.
        let order = super::in_key_order(self.objects.iter().map(|(k, &i)| (&**k, i)), self.sorted);
        for (key, i) in order {
            let e = &self.entries[i as usize];
            enc.str(key);
            for n in [e.positive, e.absent, e.referenced, e.omitted] {
                enc.uint(n);
            }
            enc.uint(e.files.into());
            for pairs in [&e.aspects, &e.functions] {
                enc.uint(pairs.len() as u64);
                for &(id, n) in pairs {
                    enc.uint(id.into());
                    enc.uint(n);
                }
            }
            enc.uint(e.locations.len() as u64);
            for l in &e.locations {
                enc.uint(renumber[l.file as usize].into());
                enc.uint(l.line.into());
                enc.uint(l.column.into());
                enc.uint(l.context.into());
                enc.uint(l.function.into());
                enc.out.push(match l.role {
                    Role::Target => 0,
                    Role::Member => 1,
                    Role::Reference => 2,
                });
                enc.flag(l.absent);
            }
            enc.flag(e.kept.is_some());
            if let Some(f) = e.kept {
                enc.uint(f.at);
                enc.uint(f.len.into());
                enc.out.extend_from_slice(&f.hash.to_le_bytes());
            }
        }
        for n in [
            self.structural,
            self.behavioural,
            self.attributed,
            self.unattributed,
            self.ambiguous_seen,
            self.behaviour.sql_strings_unreadable,
        ] {
            enc.uint(n);
        }
        for map in [&self.by_aspect, &self.by_function] {
            enc.uint(map.len() as u64);
            for (&id, &n) in map {
                enc.uint(id.into());
                enc.uint(n);
            }
        }
        enc.uint(self.empty.count);
        enc.uint(self.empty_paths.len() as u64);
        for p in self.empty_paths.iter() {
            enc.str(p);
        }
        enc.uint(self.ambiguous.len() as u64);
        for c in self.ambiguous.iter() {
            enc.uint(c.readings.len() as u64);
            for r in &c.readings {
                enc.str(r);
            }
            enc.str(&c.function);
            enc.opt_str(c.aspect.as_ref().map(Aspect::name));
            enc.str(&c.file);
            enc.uint(c.line.into());
        }
        enc.flag(self.kept_file.is_some());
        if let Some(f) = self.kept_file {
            enc.out.extend_from_slice(&f.id.to_le_bytes());
            enc.uint(f.len);
        }
    }

    /// Loads a state [`Builder::export`] wrote into this fresh builder (made with the same
    /// settings); `None` if the bytes are not one.
    pub fn import(&mut self, dec: &mut Dec<'_>) -> Option<()> {
        let fresh = self.entries.is_empty();
        let streaming = dec.flag()?;
        self.set_streaming(streaming);
        for interner in [&mut self.functions, &mut self.aspects, &mut self.bodies] {
            let n = dec.len()?;
            for _ in 0..n {
                let name = dec.str()?;
                let id = interner.id(name);
                // Ids are positions: a name twice would shift every later one.
                (id as usize == interner.names.len() - 1).then_some(())?;
            }
        }
        let n = dec.len()?;
        self.files = (0..n)
            .map(|_| dec.str().map(Into::into))
            .collect::<Option<_>>()?;
        let objects = dec.len()?;
        self.objects.reserve(objects);
        self.entries.reserve_exact(objects);
        let ids = |dec: &mut Dec<'_>, names: usize| -> Option<u32> {
            let id = dec.u32()?;
            ((id as usize) < names).then_some(id)
        };
        let (functions, aspects) = (self.functions.names.len(), self.aspects.names.len());
        let bodies = self.bodies.names.len() as u32;
        let mut in_order = true;
        let mut last: &str = "";
        for n in 0..objects {
            let key = dec.str()?;
            in_order &= n == 0 || last < key;
            last = key;
            let key: Box<str> = key.into();
            let mut e = Entry {
                positive: dec.uint()?,
                absent: dec.uint()?,
                referenced: dec.uint()?,
                omitted: dec.uint()?,
                files: dec.u32()?,
                ..Entry::default()
            };
            e.multi_file = e.files > 1;
            for (pairs, names) in [(&mut e.aspects, aspects), (&mut e.functions, functions)] {
                let n = dec.len()?;
                pairs.reserve_exact(n);
                for _ in 0..n {
                    pairs.push((ids(dec, names)?, dec.uint()?));
                }
            }
            let n = dec.len()?;
            e.locations.reserve_exact(n);
            for _ in 0..n {
                let file = ids(dec, self.files.len())?;
                let line = dec.u32()?;
                let column = dec.u32()?;
                let context = dec.u32()?;
                (context < CONTEXT_BODY + bodies).then_some(())?;
                let function = ids(dec, functions)?;
                let role = match dec.uint()? {
                    0 => Role::Target,
                    1 => Role::Member,
                    2 => Role::Reference,
                    _ => return None,
                };
                e.locations.push(Loc {
                    file,
                    line,
                    column,
                    context,
                    function,
                    role,
                    absent: dec.flag()?,
                });
            }
            if dec.flag()? {
                e.kept = Some(super::kept::Frag {
                    at: dec.uint()?,
                    len: dec.u32()?,
                    hash: u64::from_le_bytes(dec.b.get(..8)?.try_into().ok()?),
                });
                dec.b = &dec.b[8..];
            }
            let i = self.entries.len() as u32;
            self.entries.push(e);
            if self.objects.insert(key, i).is_some() {
                return None;
            }
        }
        // Imported into a fresh builder: its entries are these, in key order if written so.
        self.sorted = if in_order && fresh {
            self.entries.len()
        } else {
            0
        };
        self.structural = dec.uint()?;
        self.behavioural = dec.uint()?;
        self.attributed = dec.uint()?;
        self.unattributed = dec.uint()?;
        self.ambiguous_seen = dec.uint()?;
        self.behaviour.sql_strings_unreadable = dec.uint()?;
        for (map, names) in [
            (&mut self.by_aspect, aspects),
            (&mut self.by_function, functions),
        ] {
            let n = dec.len()?;
            for _ in 0..n {
                map.insert(ids(dec, names)?, dec.uint()?);
            }
        }
        self.empty.count = dec.uint()?;
        let n = dec.len()?;
        for _ in 0..n {
            self.empty_paths.push(dec.str()?.to_string());
        }
        let n = dec.len()?;
        for _ in 0..n {
            let m = dec.len()?;
            let readings = (0..m)
                .map(|_| dec.str().map(str::to_string))
                .collect::<Option<Vec<_>>>()?;
            self.ambiguous.push(AmbiguousCall {
                readings,
                function: dec.str()?.to_string(),
                aspect: dec.opt_str()?.map(Aspect::from_name),
                file: dec.str()?.to_string(),
                line: dec.u32()?,
            });
        }
        if dec.flag()? {
            let id = u64::from_le_bytes(dec.b.get(..8)?.try_into().ok()?);
            dec.b = &dec.b[8..];
            self.kept_file = Some(super::kept::KeptFile {
                id,
                len: dec.uint()?,
            });
        }
        // What it holds, as `set_streaming` counts it.
        self.var_bytes = self.objects.keys().map(|k| k.len() as u64).sum::<u64>()
            + self.entries.iter().map(Self::entry_bytes).sum::<u64>()
            + self.files.iter().map(|f| f.len() as u64 + 16).sum::<u64>();
        Some(())
    }
}

fn dec(n: &mut u64) -> bool {
    match n.checked_sub(1) {
        Some(m) => {
            *n = m;
            true
        }
        None => false,
    }
}

/// One less of `id` in a list of (id, count), the pair gone at zero.
fn dec_pair(pairs: &mut Vec<(u32, u64)>, id: u32) -> bool {
    let Some(at) = pairs.iter().position(|&(i, _)| i == id) else {
        return false;
    };
    pairs[at].1 -= 1;
    if pairs[at].1 == 0 {
        pairs.remove(at);
    }
    true
}

/// One less of `id` in a count map, the key gone at zero.
fn decrement(map: &mut ahash::AHashMap<u32, u64>, id: u32, undo: &mut Undo) {
    match map.get_mut(&id) {
        Some(n) if *n > 1 => *n -= 1,
        Some(_) => {
            map.remove(&id);
        }
        None => undo.break_with(|| "a count the file added is not there".into()),
    }
}
