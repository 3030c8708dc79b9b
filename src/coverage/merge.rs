//! Merging builders: the partial aggregates the parse workers fold (issue 15).
//!
//! A parse worker folds the files it parsed into a [`Builder`] of its own and hands it to
//! the aggregator now and then; the aggregator merges it into the scan's builder
//! ([`Builder::merge`]) instead of folding every assertion itself. Merging is associative
//! and gives the database one builder fed every file would give, whatever the partition
//! of the files and the order of the merges: counts add, the capped lists of streaming
//! mode keep the first by place (as folding does), and the per-builder ids (functions,
//! aspects, bodies, files) are mapped to the merged builder's.
//!
//! Not for builders that can take files out again (`--cache`'s run snapshot keeps
//! reserves and tracks what is hidden): [`Builder::mergeable`] says which can merge.

use super::{add_pair, Builder, Entry, Interner, CONTEXT_BODY};

/// What a builder's interned ids are in another's.
fn remap(from: &Interner, into: &mut Interner) -> Vec<u32> {
    from.names.iter().map(|name| into.id(name)).collect()
}

impl Builder {
    /// Whether this builder can merge or be merged: no reserves kept and nothing tracked
    /// for taking files out (see the module docs).
    pub(crate) fn mergeable(&self) -> bool {
        !self.reserve && !self.undo.active()
    }

    /// A builder for a parse worker's partial aggregate: empty, in the same mode and with
    /// the same behavioural settings as this one (no spill: a partial is handed over
    /// before it grows past its share).
    pub(crate) fn partial(&self) -> Builder {
        let mut b = Builder::new(self.streaming);
        b.behaviour.read = self.behaviour.read;
        b.behaviour.search_path = self.behaviour.search_path.clone();
        b
    }

    /// Whether nothing was folded in.
    pub(crate) fn is_empty(&self) -> bool {
        self.file_seq == 0
    }

    /// Merges a builder of other files into this one (see the module docs): the database
    /// finished is the one a single builder fed both builders' files would give.
    pub(crate) fn merge(&mut self, other: Builder) {
        debug_assert!(self.mergeable() && other.mergeable());
        if other.streaming && !self.streaming {
            self.set_streaming(true);
        }
        let Builder {
            objects,
            mut entries,
            functions,
            aspects,
            bodies,
            files,
            structural,
            behavioural,
            attributed,
            unattributed,
            by_aspect,
            by_function,
            empty,
            empty_paths,
            ambiguous,
            behaviour,
            ambiguous_seen,
            peak_bytes: _,
            ..
        } = other;
        let function_of = remap(&functions, &mut self.functions);
        let aspect_of = remap(&aspects, &mut self.aspects);
        let body_of = remap(&bodies, &mut self.bodies);
        // Each file is folded by one builder only: the other's files are new here.
        let first = self.files.len() as u32;
        let mut added: u64 = 0;
        for f in files {
            added += (f.len() + 16) as u64;
            self.files.push(f);
        }
        self.current_file = None;
        // A sequence number no file of this builder has: what touches an entry from now on
        // counts as another file.
        self.file_seq += 1;
        let seq = self.file_seq;
        let cap = self.location_cap;
        for (key, i) in objects {
            let mut theirs = std::mem::take(&mut entries[i as usize]);
            for l in &mut theirs.locations {
                l.file += first;
                l.function = function_of[l.function as usize];
                if l.context >= CONTEXT_BODY {
                    l.context = CONTEXT_BODY + body_of[(l.context - CONTEXT_BODY) as usize];
                }
            }
            let at = match self.objects.get(&*key) {
                Some(&at) => at as usize,
                None => {
                    added += key.len() as u64;
                    let at = self.entries.len();
                    self.objects.insert(key, at as u32);
                    self.entries.push(Entry {
                        first_file: seq,
                        last_file: seq,
                        ..Entry::default()
                    });
                    at
                }
            };
            let before = Self::entry_bytes(&self.entries[at]);
            let e = &mut self.entries[at];
            e.positive += theirs.positive;
            e.absent += theirs.absent;
            e.referenced += theirs.referenced;
            e.omitted += theirs.omitted;
            e.files += theirs.files;
            e.multi_file = e.files > 1;
            e.last_file = seq;
            // Its object changes: a text kept for `--cache` is no longer its own.
            e.kept = None;
            for (id, n) in theirs.aspects {
                add_pair(&mut e.aspects, aspect_of[id as usize], n);
            }
            for (id, n) in theirs.functions {
                add_pair(&mut e.functions, function_of[id as usize], n);
            }
            e.locations.append(&mut theirs.locations);
            if let Some(cap) = cap.filter(|&cap| e.locations.len() >= cap) {
                // The first `cap` by place, sorted (as folding keeps them once full).
                let places = super::Places {
                    files: &self.files,
                    functions: &self.functions,
                    bodies: &self.bodies,
                };
                let e = &mut self.entries[at];
                e.locations
                    .sort_by(|a, b| places.of(a, None).cmp(&places.of(b, None)));
                e.omitted += (e.locations.len() - cap) as u64;
                e.locations.truncate(cap);
                e.locations.shrink_to_fit();
            }
            let after = Self::entry_bytes(&self.entries[at]);
            self.var_bytes = (self.var_bytes + after).saturating_sub(before);
        }
        self.var_bytes += added;
        drop(entries);
        self.structural += structural;
        self.behavioural += behavioural;
        self.attributed += attributed;
        self.unattributed += unattributed;
        for (id, n) in by_aspect {
            *self.by_aspect.entry(aspect_of[id as usize]).or_default() += n;
        }
        for (id, n) in by_function {
            *self
                .by_function
                .entry(function_of[id as usize])
                .or_default() += n;
        }
        self.empty.count += empty.count;
        self.empty_paths.extend(empty_paths);
        if self.streaming {
            while self.empty_paths.len() > super::EMPTY_RESERVE {
                self.empty_paths.pop();
            }
        }
        self.ambiguous_seen += ambiguous_seen;
        self.ambiguous.extend(ambiguous);
        while self.ambiguous.len() > super::AMBIGUOUS_RESERVE {
            self.ambiguous.pop();
        }
        self.behaviour.absorb(behaviour);
        self.after_file();
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::mixed_files;
    use super::*;
    use crate::model::FileResult;

    /// Folds `files` split into `parts` builders (file `i` into builder `i * 7 % parts`,
    /// so each gets files from all over), merged in `order`.
    fn merged(
        files: &[(String, FileResult)],
        streaming: bool,
        parts: usize,
        reverse: bool,
    ) -> super::super::Database {
        let mut main = Builder::new(streaming);
        let mut partials: Vec<Builder> = (0..parts).map(|_| main.partial()).collect();
        for (i, (path, result)) in files.iter().enumerate() {
            partials[i * 7 % parts].add_file(path, result);
        }
        if reverse {
            partials.reverse();
        }
        for p in partials {
            main.merge(p);
        }
        main.finish()
    }

    // The partials the parse workers fold must give the database one builder gives: in
    // standard and streaming mode, whatever the number of partials and the merge order.
    #[test]
    fn merged_partials_give_the_database_one_builder_gives() {
        let files = mixed_files();
        for streaming in [false, true] {
            let mut one = Builder::new(streaming);
            for (path, result) in &files {
                one.add_file(path, result);
            }
            let want = one.finish();
            assert!(want.objects.len() > 100, "{}", want.objects.len());
            for parts in [1, 2, 3, 16, 300] {
                for reverse in [false, true] {
                    let got = merged(&files, streaming, parts, reverse);
                    assert_eq!(got, want, "streaming {streaming}, {parts} parts");
                }
            }
        }
    }

    // A partial folded in streaming mode (a worker saw discovery pass the threshold first)
    // switches the builder it is merged into, as the aggregator's own switch would.
    #[test]
    fn a_streaming_partial_switches_the_builder_it_is_merged_into() {
        let files = mixed_files();
        let mut one = Builder::new(true);
        for (path, result) in &files {
            one.add_file(path, result);
        }
        let want = one.finish();
        let mut main = Builder::new(false);
        let mut early = main.partial();
        let mut late = main.partial();
        late.set_streaming(true);
        for (i, (path, result)) in files.iter().enumerate() {
            if i < 40 {
                early.add_file(path, result);
            } else {
                late.add_file(path, result);
            }
        }
        main.merge(early);
        assert!(!main.is_streaming());
        main.merge(late);
        assert!(main.is_streaming());
        assert_eq!(main.finish(), want);
    }
}
