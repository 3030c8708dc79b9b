//! Sharded scans (issue 15): a shard's scan that hands every file to the observer for its
//! partial ([`scan_shard`]), and the merge of every shard's partial into the report one
//! scan of the whole tree gives ([`merge`]).
//!
//! The merge replays each shard's file results into the same aggregator a scan uses
//! (whose result does not depend on the order files arrive in: messages and locations are
//! kept by place), then adds what the files do not tell: the messages not tied to a file's
//! result (those every shard saw, like a walker's warning, once) and the plan verdicts
//! reached through includes. So every report format comes out byte for byte as from one
//! scan (but `stats`).

use std::io::{BufRead, Read, Seek};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use pipeline::Progress;

use super::aggregate::{Aggregated, Aggregator};
use super::config::{ScanConfig, StreamingMode, STREAMING_AUTO_THRESHOLD};
use super::report::{Observer, ScanReport, Severity, Stats, REPORT_VERSION};
use super::run::scan_parts;
use crate::partial::{
    Header, PartialMessage, PartialVerdict, PartialWarning, Reader, Trailer, PARTIAL_VERSION,
};
use crate::shard::Shard;

/// The settings that change a scan's results, as a partial's header names them: every
/// shard and the merge must agree on them. `universe` is `none`, or what the caller says
/// identifies the universe (a digest of the migrations).
pub fn partial_settings(cfg: &ScanConfig, universe: &str) -> Vec<(String, String)> {
    let o = &cfg.extract;
    let catalog = xxhash_rust::xxh3::xxh3_64(format!("{:?}", crate::catalog::FUNCTIONS).as_bytes());
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
    let from_tests = o.role_helpers_from_tests.min(o.role_helpers.len());
    let include_dirs: Vec<String> = cfg
        .include_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    vec![
        ("catalog".into(), format!("{catalog:016x}")),
        ("search-path".into(), json(&o.search_path)),
        ("pgtap-schemas".into(), json(&o.pgtap_schemas)),
        ("include-commented".into(), o.include_commented.to_string()),
        ("references".into(), o.references.to_string()),
        ("helpers".into(), format!("{:?}", o.helpers)),
        (
            "role-helpers".into(),
            format!("{:?}", &o.role_helpers[..o.role_helpers.len() - from_tests]),
        ),
        (
            "test-role-helpers".into(),
            format!("{:?}", &o.role_helpers[o.role_helpers.len() - from_tests..]),
        ),
        ("binary".into(), cfg.binary.to_string()),
        ("include-dirs".into(), json(&include_dirs)),
        (
            "streaming".into(),
            match cfg.streaming {
                StreamingMode::Auto => "auto",
                StreamingMode::Always => "always",
                StreamingMode::Never => "never",
            }
            .into(),
        ),
        ("universe".into(), universe.replace('\n', " ")),
        ("project-reading".into(), project_reading_setting(cfg)),
    ]
}

/// The `project-reading` setting: `none` when every file is read with the scan's own
/// options, else a digest of each project's test roots and options (the role helpers found
/// in test files left out, as a merge reads no test file to find them).
fn project_reading_setting(cfg: &ScanConfig) -> String {
    let own: Vec<_> = cfg
        .project_reading
        .iter()
        .filter(|p| p.extract != cfg.extract)
        .map(|p| {
            let mut o = p.extract.clone();
            let from_tests = o.role_helpers_from_tests.min(o.role_helpers.len());
            o.role_helpers.truncate(o.role_helpers.len() - from_tests);
            o.role_helpers_from_tests = 0;
            (&p.roots, o)
        })
        .collect();
    if own.is_empty() {
        return "none".to_string();
    }
    format!(
        "{} {:032x}",
        own.len(),
        xxhash_rust::xxh3::xxh3_128(format!("{own:?}").as_bytes())
    )
}

/// The header of a shard's partial (`cfg.shard`, or 1/1).
pub fn partial_header(cfg: &ScanConfig, universe: &str) -> Header {
    Header {
        version: PARTIAL_VERSION,
        tool: env!("CARGO_PKG_VERSION").to_string(),
        shard: cfg.shard.unwrap_or(Shard { index: 1, count: 1 }),
        settings: partial_settings(cfg, universe),
    }
}

/// Runs one shard's scan (`cfg.shard`, or all files as 1/1). Every file of the shard goes
/// to `observer.file` as it is aggregated, none is kept (write each to the partial there);
/// the returned trailer ends the partial.
pub fn scan_shard(
    cfg: &ScanConfig,
    cancel: Arc<AtomicBool>,
    progress: Arc<Progress>,
    observer: &mut dyn Observer,
) -> (ScanReport, Trailer) {
    let mut shard_cfg = cfg.clone();
    shard_cfg.streaming = StreamingMode::Always;
    shard_cfg.shard = Some(cfg.shard.unwrap_or(Shard { index: 1, count: 1 }));
    let (report, parts) = scan_parts(&shard_cfg, cancel, progress, observer, true);
    let parts = parts.unwrap_or_default();
    let s = &report.stats;
    let trailer = Trailer {
        file_list: parts.file_list,
        files_discovered: s.files_discovered,
        files: 0,
        files_parsed: s.files_parsed,
        files_failed: s.files_failed,
        files_skipped: s.files_skipped,
        inputs_not_scanned: s.inputs_not_scanned,
        bytes_read: s.bytes_read,
        cancelled: s.cancelled,
        messages: parts
            .outside
            .into_iter()
            .map(|m| PartialMessage {
                error: m.severity == Severity::Error,
                path: m.path,
                line: m.line,
                text: m.text,
            })
            .collect(),
        include_verdicts: parts
            .include_verdicts
            .into_iter()
            .map(|v| PartialVerdict {
                path: v.path,
                line: v.line,
                planned: v.planned,
                found: v.found,
                from_includes: v.from_includes,
            })
            .collect(),
        include_warnings: parts
            .include_warnings
            .into_iter()
            .map(|w| PartialWarning {
                path: w.path,
                line: w.line,
                text: w.text,
            })
            .collect(),
    };
    (report, trailer)
}

/// One shard's partial for [`merge`]: its name (for messages) and its bytes.
pub struct MergeInput<R> {
    /// How messages name it (its path).
    pub name: String,
    /// Its bytes.
    pub input: R,
}

/// Merges every shard's partial into the report one scan gives. Checks first that the
/// partials are complete (shards 1..n, each once), made by the same pgtap-scan with the
/// same settings over the same files, and with the settings `expect` names (the merge's
/// own, from [`partial_settings`]; a shard made without a universe is not held to the
/// merge's); any problem is an error naming the file or the shard, and nothing is
/// reported (a gate never passes on missing data). The coverage database keeps `memory`'s
/// budget: it spills above `max_memory_bytes / DATABASE_SHARE` into `spill_dir` (or the
/// temporary folder), as a scan does, and leaves the report's objects on disk when
/// `memory` says so ([`ScanConfig::objects_on_disk`]).
pub fn merge<R: Read + Seek>(
    inputs: Vec<MergeInput<R>>,
    expect: &[(String, String)],
    memory: &ScanConfig,
    observer: &mut dyn Observer,
) -> Result<ScanReport, String> {
    let started = Instant::now();
    if inputs.is_empty() {
        return Err("no partial to merge".into());
    }
    // Headers and trailers first: nothing is folded before the set is known complete.
    let mut opened = Vec::with_capacity(inputs.len());
    for MergeInput { name, mut input } in inputs {
        let trailer =
            crate::partial::peek_trailer(&mut input).map_err(|e| format!("{name}: {e}"))?;
        let (reader, header) = Reader::open(std::io::BufReader::with_capacity(1 << 16, input))
            .map_err(|e| format!("{name}: {e}"))?;
        opened.push((name, header, trailer, reader));
    }
    check(&opened)?;
    let (name, first, _, _) = &opened[0];
    for (setting, want) in expect {
        let theirs = first.setting(setting).unwrap_or("(not set)");
        // What the shards found in the test files, the merge (which reads none) cannot
        // know: the shards agree on it among themselves (checked above).
        if theirs == want
            || (setting == "universe" && theirs == "none")
            || setting == "test-role-helpers"
        {
            continue;
        }
        if setting == "projects" {
            return Err(format!(
                "{name} was made with other projects than this merge finds ({}): run the \
                 merge from the folder the shards ran in, with the same config and --project \
                 flags",
                super::projects::projects_difference(("the shards", theirs), ("the merge", want))
            ));
        }
        let hint = match setting.as_str() {
            "references" => {
                " (behavioural references are read with a universe: give the shards the \
                 same --schema or --database-url, or --references)"
            }
            "universe" => " (the shards read another schema than the merge)",
            _ => "",
        };
        return Err(format!(
            "{name} was made with {setting} {}, but this merge's settings give {}{hint}: \
             the merged report would not be the one scan's",
            shorten(theirs),
            shorten(want)
        ));
    }
    // A setting the merge does not know changes results it cannot reproduce.
    if let Some((setting, value)) = first
        .settings
        .iter()
        .find(|(s, _)| !expect.iter().any(|(e, _)| e == s))
    {
        return Err(format!(
            "{name} was made with {setting} {}, which this merge does not know: merge with \
             the pgtap-scan that made the shards",
            shorten(value)
        ));
    }
    opened.sort_by_key(|(_, h, _, _)| h.shard.index);
    let (_, first, first_trailer, _) = &opened[0];
    let mode = match first.setting("streaming") {
        Some("always") => StreamingMode::Always,
        Some("never") => StreamingMode::Never,
        _ => StreamingMode::Auto,
    };
    let streaming = match mode {
        StreamingMode::Always => true,
        StreamingMode::Never => false,
        StreamingMode::Auto => first_trailer.files_discovered > STREAMING_AUTO_THRESHOLD,
    };
    let mut cfg = ScanConfig {
        streaming: if streaming {
            StreamingMode::Always
        } else {
            StreamingMode::Never
        },
        max_memory_bytes: memory.max_memory_bytes,
        spill_dir: memory.spill_dir.clone(),
        objects_on_disk: memory.objects_on_disk,
        ..ScanConfig::default()
    };
    cfg.extract.references = first.setting("references") == Some("true");
    cfg.extract.search_path = first
        .setting("search-path")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    let progress = Arc::new(Progress::default());
    let mut agg = Aggregator::new(&cfg, observer, progress);
    let mut stats = Stats {
        mode: if streaming { "streaming" } else { "standard" }.to_string(),
        files_discovered: first_trailer.files_discovered,
        ..Stats::default()
    };
    // Messages every shard saw (a walker's warning) count once: each distinct message as
    // many times as the shard that has it most.
    let mut outside: std::collections::BTreeMap<PartialMessage, usize> = Default::default();
    let mut verdicts = Vec::new();
    let mut warnings = Vec::new();
    let aggregate_started = Instant::now();
    for (name, _, _, mut reader) in opened {
        while let Some((path, result)) = reader.next_file().map_err(|e| format!("{name}: {e}"))? {
            agg.fold(PathBuf::from(path), result);
        }
        // Plans through includes come from the shard's own check, below.
        agg.forget_runners();
        let trailer = reader
            .trailer()
            .cloned()
            .ok_or_else(|| format!("{name}: no trailer"))?;
        let mut here: std::collections::BTreeMap<&PartialMessage, usize> = Default::default();
        for m in &trailer.messages {
            *here.entry(m).or_default() += 1;
        }
        for (m, n) in here {
            let seen = outside.entry(m.clone()).or_default();
            *seen = (*seen).max(n);
        }
        verdicts.extend(trailer.include_verdicts.iter().cloned());
        warnings.extend(trailer.include_warnings.iter().cloned());
        stats.files_parsed += trailer.files_parsed;
        stats.files_failed += trailer.files_failed;
        stats.files_skipped += trailer.files_skipped;
        stats.bytes_read += trailer.bytes_read;
        stats.inputs_not_scanned = stats.inputs_not_scanned.max(trailer.inputs_not_scanned);
        stats.cancelled |= trailer.cancelled;
    }
    for (m, n) in outside {
        for _ in 0..n {
            agg.outside_message(
                if m.error {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                m.path.clone(),
                m.line,
                m.text.clone(),
            );
        }
    }
    agg.record_includes(crate::includes::Outcome {
        verdicts: verdicts
            .into_iter()
            .map(|v| crate::includes::Verdict {
                path: v.path,
                line: v.line,
                planned: v.planned,
                found: v.found,
                from_includes: v.from_includes,
            })
            .collect(),
        warnings: warnings
            .into_iter()
            .map(|w| crate::includes::Warning {
                path: w.path,
                line: w.line,
                text: w.text,
            })
            .collect(),
        files_read: 0,
        cancelled: false,
    });
    let Aggregated {
        summary,
        files,
        streaming: _,
        coverage,
        database,
        messages,
        messages_omitted,
    } = agg.finish();
    stats.database_bytes = database.peak_bytes;
    stats.runs_spilled = database.runs_spilled;
    stats.runs_merged = database.runs_merged;
    stats.spill_bytes_written = database.bytes_written;
    stats.spill_error = database.error;
    stats.aggregate_ms = aggregate_started.elapsed().as_millis() as u64;
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    stats.peak_heap_bytes = pipeline::alloc::peak();
    stats.current_heap_bytes = pipeline::alloc::current();
    stats.heap_measured = stats.peak_heap_bytes > 0;
    Ok(ScanReport {
        version: REPORT_VERSION,
        files,
        summary,
        stats,
        coverage,
        messages,
        messages_omitted,
        schema: None,
        projects: Vec::new(),
        files_outside_projects: None,
    })
}

/// A setting's value in a message: a long one (many helpers) cut to its start.
fn shorten(value: &str) -> String {
    match value.char_indices().nth(200) {
        None => value.to_string(),
        Some((at, _)) => format!("{}... ({} characters)", &value[..at], value.len()),
    }
}

/// The partials make one whole: the same tool and settings, the same file list, shards
/// 1..n of the same n, each once.
fn check<R: BufRead>(opened: &[(String, Header, Trailer, Reader<R>)]) -> Result<(), String> {
    let (first_name, first, first_trailer, _) = &opened[0];
    for (name, header, trailer, _) in &opened[1..] {
        if header.tool != first.tool {
            return Err(format!(
                "{name} was made by pgtap-scan {}, {first_name} by {}: make every shard with \
                 the same pgtap-scan",
                header.tool, first.tool
            ));
        }
        if header.shard.count != first.shard.count {
            return Err(format!(
                "{name} is shard {} but {first_name} is shard {}: every shard must split the \
                 files the same number of ways",
                header.shard, first.shard
            ));
        }
        for (setting, value) in &first.settings {
            let theirs = header.setting(setting);
            if let (Some(theirs), true) = (theirs, setting == "projects") {
                if theirs != value {
                    return Err(format!(
                        "{name} and {first_name} were made with other projects ({}): every \
                         shard must be made with the same config and --project flags",
                        super::projects::projects_difference((name, theirs), (first_name, value))
                    ));
                }
            }
            if theirs != Some(value.as_str()) {
                return Err(format!(
                    "{name} was made with {setting} {}, {first_name} with {setting} {}: \
                     every shard must be made with the same settings",
                    theirs.map_or("(not set)".into(), shorten),
                    shorten(value)
                ));
            }
        }
        if let Some((setting, _)) = header
            .settings
            .iter()
            .find(|(s, _)| first.setting(s).is_none())
        {
            return Err(format!(
                "{name} was made with a setting {first_name} does not name ({setting})"
            ));
        }
        if trailer.file_list != first_trailer.file_list {
            return Err(format!(
                "{name} and {first_name} saw different files ({} and {} discovered): run \
                 every shard on the same tree, from the same folder, with the same paths",
                trailer.files_discovered, first_trailer.files_discovered
            ));
        }
    }
    let n = first.shard.count;
    let mut by_index: Vec<Vec<&str>> = vec![Vec::new(); n as usize];
    for (name, header, _, _) in opened {
        by_index[(header.shard.index - 1) as usize].push(name);
    }
    for (i, names) in by_index.iter().enumerate() {
        let shard = format!("{}/{n}", i + 1);
        match names.len() {
            1 => {}
            0 => {
                let have: Vec<String> = opened
                    .iter()
                    .map(|(name, h, _, _)| format!("{} ({name})", h.shard))
                    .collect();
                return Err(format!(
                    "shard {shard} is missing (given: {}): a merge needs every shard, or its \
                     report would leave files out",
                    have.join(", ")
                ));
            }
            _ => {
                return Err(format!(
                    "shard {shard} is given more than once ({}): each shard's files would \
                     count twice",
                    names.join(", ")
                ))
            }
        }
    }
    for (name, _, trailer, _) in opened {
        if trailer.cancelled {
            return Err(format!(
                "{name}: the shard's scan was interrupted: its partial is incomplete"
            ));
        }
    }
    Ok(())
}
