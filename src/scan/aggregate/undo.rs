//! Taking a file's result back out of the aggregator, and the aggregator's state as bytes:
//! a `--cache` rescan starts from the last run's state (`super::super::snapshot`) and
//! applies the files that changed. The rules for what is kept by place (messages here,
//! locations in the database) are `crate::coverage`'s `undo` module's.

use super::{Aggregator, ByPlace};
use crate::model::{FileResult, Name, PlanDecl};
use crate::scan::report::{Message, PlanMismatch, Severity, MAX_MESSAGES};
use crate::snapcodec::{Dec, Enc};

impl Aggregator<'_> {
    /// Takes out a file [`Aggregator::fold`]ed before with this very result (here or in
    /// the run the state was imported from).
    pub(in crate::scan) fn unfold(&mut self, shown: &str, result: &FileResult) {
        let s = &mut self.summary;
        let mut ok = true;
        ok &= sub(&mut s.files, 1);
        ok &= sub(&mut s.tests, result.tests);
        if result.assertions.is_empty() {
            ok &= sub(&mut s.files_without_assertions, 1);
        }
        for a in &result.assertions {
            ok &= sub(&mut s.assertions, 1);
            ok &= unbump(&mut self.by_function, &a.function);
            ok &= unbump(&mut self.by_kind, &Name::Borrowed(a.kind_name()));
            ok &= sub(&mut s.dynamic, u64::from(a.dynamic));
            ok &= sub(
                &mut s.ambiguous,
                u64::from(a.resolution == crate::model::ResolutionKind::Ambiguous),
            );
            ok &= sub(
                &mut s.rejected,
                u64::from(a.resolution == crate::model::ResolutionKind::Rejected),
            );
            ok &= sub(&mut s.commented, u64::from(a.commented));
        }
        self.coverage.remove_file(shown, result);
        let (mut errors, mut warnings) = (result.errors.len() as u64, result.warnings.len() as u64);
        if let Some(PlanDecl::Fixed { count, .. }) = result.plan {
            ok &= sub(&mut self.summary.plans.planned, 1);
            if !result.includes.is_empty() {
                ok &= self.runners.remove(shown);
            } else if crate::includes::exact_count(result) {
                let p = &mut self.summary.plans;
                ok &= sub(&mut p.checked, 1);
                if count == result.tests {
                    ok &= sub(&mut p.agree, 1);
                } else {
                    let before = p.mismatches.len();
                    p.mismatches.retain(|m| m.path != shown);
                    ok &= p.mismatches.len() + 1 == before;
                    warnings += 1;
                }
            }
        }
        ok &= sub(&mut self.summary.errors, errors);
        ok &= sub(&mut self.summary.warnings, warnings);
        // The file's messages: kept ones leave the heap, the rest were counted omitted.
        let hidden = self.messages_omitted > 0;
        let greatest = self.messages.peek().map(|m| ByPlace(m.0.clone()));
        let before = self.messages.len() as u64;
        self.messages.retain(|m| m.0.path.as_deref() != Some(shown));
        let removed = before - self.messages.len() as u64;
        if removed > 0 && hidden && self.message_floor.is_none() {
            self.message_floor = greatest;
        }
        errors += warnings;
        ok &= sub(&mut self.messages_omitted, errors.saturating_sub(removed));
        ok &= removed <= errors;
        if !self.streaming {
            self.files.retain(|f| f.path != shown);
        }
        if !ok && self.broken.is_none() {
            self.broken = Some(format!(
                "{shown}: the state does not hold what the file added"
            ));
        }
    }

    /// Whether what [`Aggregator::unfold`] took out leaves exactly the state folding only
    /// the remaining files gives; `Err` says why not. When it does, what is kept above a
    /// floor is let go (see `coverage::Builder::settle_undo`).
    pub(in crate::scan) fn settle_undo(&mut self) -> Result<(), String> {
        if let Some(why) = &self.broken {
            return Err(why.clone());
        }
        if let Some(floor) = &self.message_floor {
            if self.messages_omitted > 0
                && !crate::coverage::first_known(self.messages.iter(), floor, MAX_MESSAGES)
            {
                return Err("the messages kept lost one".into());
            }
        }
        self.coverage.settle_undo()?;
        if let Some(floor) = self
            .message_floor
            .take()
            .filter(|_| self.messages_omitted > 0)
        {
            let before = self.messages.len();
            self.messages.retain(|m| *m <= floor);
            self.messages_omitted += (before - self.messages.len()) as u64;
        }
        Ok(())
    }

    /// Whether [`Aggregator::export`] can write the state: streaming (no per-file detail
    /// held), nothing the database cannot take out again, every runner in memory.
    pub(in crate::scan) fn exportable(&self) -> bool {
        self.streaming
            && self.broken.is_none()
            && self.coverage.exportable()
            && !self.runners.spilled()
    }

    /// Appends the state folded from files (before [`Aggregator::settle`]).
    pub(in crate::scan) fn export(&self, enc: &mut Enc) {
        let s = &self.summary;
        for n in [
            s.files,
            s.assertions,
            s.tests,
            s.errors,
            s.warnings,
            s.files_without_assertions,
            s.dynamic,
            s.ambiguous,
            s.rejected,
            s.commented,
            s.plans.planned,
            s.plans.checked,
            s.plans.agree,
            self.messages_omitted,
        ] {
            enc.uint(n);
        }
        enc.uint(s.plans.mismatches.len() as u64);
        for m in &s.plans.mismatches {
            enc.str(&m.path);
            enc.uint(m.line.into());
            enc.uint(m.planned);
            enc.uint(m.found);
            enc.uint(m.from_includes);
        }
        for map in [&self.by_function, &self.by_kind] {
            enc.uint(map.len() as u64);
            for (k, &n) in map {
                enc.str(k);
                enc.uint(n);
            }
        }
        enc.uint(self.messages.len() as u64);
        for m in self.messages.iter() {
            let m = &m.0;
            enc.flag(m.severity == Severity::Error);
            enc.opt_str(m.path.as_deref());
            enc.opt_u32(m.line);
            enc.str(&m.text);
        }
        let runners = self.runners.held();
        enc.uint(runners.len() as u64);
        for r in runners {
            r.encode(enc);
        }
        self.coverage.export(enc);
    }

    /// Loads what [`Aggregator::export`] wrote into this fresh aggregator; `None` if the
    /// bytes are not one (the aggregator is then to be dropped).
    pub(in crate::scan) fn import(&mut self, dec: &mut Dec<'_>) -> Option<()> {
        let s = &mut self.summary;
        for n in [
            &mut s.files,
            &mut s.assertions,
            &mut s.tests,
            &mut s.errors,
            &mut s.warnings,
            &mut s.files_without_assertions,
            &mut s.dynamic,
            &mut s.ambiguous,
            &mut s.rejected,
            &mut s.commented,
            &mut s.plans.planned,
            &mut s.plans.checked,
            &mut s.plans.agree,
            &mut self.messages_omitted,
        ] {
            *n = dec.uint()?;
        }
        let n = dec.len()?;
        for _ in 0..n {
            s.plans.mismatches.push(PlanMismatch {
                path: dec.str()?.to_string(),
                line: dec.u32()?,
                planned: dec.uint()?,
                found: dec.uint()?,
                from_includes: dec.uint()?,
            });
        }
        for map in [&mut self.by_function, &mut self.by_kind] {
            let n = dec.len()?;
            for _ in 0..n {
                let k = dec.str()?.to_string();
                map.insert(Name::Owned(k), dec.uint()?);
            }
        }
        let n = dec.len()?;
        for _ in 0..n {
            self.messages.push(ByPlace(Message {
                severity: if dec.flag()? {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                path: dec.opt_str()?.map(str::to_string),
                line: dec.opt_u32()?,
                text: dec.str()?.to_string(),
            }));
        }
        let n = dec.len()?;
        for _ in 0..n {
            let r = crate::includes::Runner::decode(dec)?;
            self.runners.push(r);
        }
        self.coverage.import(dec)?;
        // The database's mode is the aggregator's.
        self.streaming = self.coverage.is_streaming();
        Some(())
    }
}

fn sub(n: &mut u64, by: u64) -> bool {
    match n.checked_sub(by) {
        Some(m) => {
            *n = m;
            true
        }
        None => false,
    }
}

/// One less of `key`, the key gone at zero.
fn unbump(map: &mut ahash::AHashMap<Name, u64>, key: &Name) -> bool {
    match map.get_mut(key) {
        Some(n) if *n > 1 => {
            *n -= 1;
            true
        }
        Some(_) => {
            map.remove(key);
            true
        }
        None => false,
    }
}
