//! `--stats`: how the run went (files, bytes, time, the memory budget, the cache, the
//! heap), on stderr after the report.

use pgtap_scan::scan::ScanReport;

use crate::messages::Messages;

pub fn print(r: &ScanReport, messages: &Messages) {
    let s = &r.stats;
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let secs = s.elapsed_ms as f64 / 1000.0;
    messages.stats(&format!(
        "pgtap-scan stats ({} mode, {} threads, batches of {}):",
        s.mode, s.threads, s.batch_size
    ));
    messages.stats(&format!(
        "  files: {} discovered, {} parsed, {} failed; {:.2} MB read in {} batches",
        s.files_discovered,
        s.files_parsed,
        s.files_failed,
        mb(s.bytes_read),
        s.batches
    ));
    if s.files_skipped + s.inputs_not_scanned > 0 {
        messages.stats(&format!(
            "  not scanned: {} binary files skipped (--binary reads them), {} inputs that could not be read",
            s.files_skipped, s.inputs_not_scanned
        ));
    }
    messages.stats(&format!(
        "  time: {:.3} s wall ({:.1} MB/s); discovery {} ms, parse {} ms (summed over threads), aggregate {} ms",
        secs,
        if secs > 0.0 { mb(s.bytes_read) / secs } else { 0.0 },
        s.discovery_ms,
        s.parse_ms,
        s.aggregate_ms
    ));
    messages.stats(&format!(
        "  budget: {:.1} MB, peak charged {:.2} MB, {} throttle waits ({} ms)",
        mb(s.budget_bytes),
        mb(s.peak_charged_bytes),
        s.throttle_waits,
        s.throttle_ms
    ));
    messages.stats(&format!(
        "  coverage database: peak {:.2} MB (estimate, charged to the budget); {} runs spilled, {} merged, {:.2} MB written to temp; {} partials folded by the parse workers merged",
        mb(s.database_bytes),
        s.runs_spilled,
        s.runs_merged,
        mb(s.spill_bytes_written),
        s.partials_merged
    ));
    if s.plans_spilled > 0 {
        messages.stats(&format!(
            "  plan checks through includes: {} files waited on disk",
            s.plans_spilled
        ));
    }
    if s.cache_hits + s.cache_hash_hits + s.cache_misses > 0 {
        messages.stats(&format!(
            "  cache: {} hits (not read), {} hash hits (read, not parsed), {} misses (parsed)",
            s.cache_hits, s.cache_hash_hits, s.cache_misses
        ));
        messages.stats(&format!(
            "  run snapshot: {} files unchanged (not decoded, not folded again), {} ms{}",
            s.cache_unchanged,
            s.snapshot_ms,
            match &s.snapshot_fallback {
                Some(why) => format!("; folded every file afresh: {why}"),
                None => String::new(),
            }
        ));
    }
    if s.heap_measured {
        messages.stats(&format!(
            "  heap: initial {:.2} MB, peak {:.2} MB, current {:.2} MB (counting allocator, ±32 KiB a thread)",
            mb(s.initial_heap_bytes),
            mb(s.peak_heap_bytes),
            mb(s.current_heap_bytes)
        ));
        if s.peak_heap_bytes > s.budget_bytes {
            // The budget bounds file bytes in flight and the database while files arrive;
            // the report's objects, built from the database at the end, are not charged.
            // Say so rather than let the peak look like a broken budget.
            let what = if r.coverage.on_disk.is_some() {
                // The objects stayed on disk: what remains grows with the files.
                " (the report's objects stayed on disk); the plan checks through includes (each \
                 file with plan(N) and includes, held to the end) and the fixed overhead"
                    .to_string()
            } else {
                format!(
                    "; the report's {} objects, built at the end,",
                    r.coverage.statistics.objects
                )
            };
            messages.stats(&format!(
                "  note: the heap peak is above the budget, which bounds file bytes in flight and \
                 the coverage database while files arrive{what} are not charged to it"
            ));
        }
    }
}
