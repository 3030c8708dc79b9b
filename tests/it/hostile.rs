//! What a hostile repository (or an unlucky machine) can make a scan do: includes that
//! point at devices, pipes, or files outside the tree; include graphs built to explode;
//! binary and oversized files; files that change while they are read. Each test is named
//! after what it guards and failed before the fix it guards.

use std::time::Duration;

use serde_json::Value;

use crate::util;

/// Long enough for any honest run here; a hang is killed and shows as exit code `None`.
const LIMIT: Duration = Duration::from_secs(60);

fn messages(report: &Value) -> Vec<String> {
    report["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            format!(
                "{}:{}: {}",
                m["path"].as_str().unwrap_or(""),
                m["line"],
                m["text"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn plans(report: &Value) -> (u64, u64, u64) {
    let p = &report["summary"]["plans"];
    (
        p["checked"].as_u64().expect("checked"),
        p["agree"].as_u64().expect("agree"),
        p["mismatches"].as_array().map_or(0, |m| m.len() as u64),
    )
}

pgtest!(include_of_a_fifo_is_refused_not_read, |dir, cmd| {
    dir.create(
        "t/a.sql",
        "select plan(1);\n\\ir pipe.sql\nselect ok(true);\n",
    )
    .fifo("t/pipe.sql");
    let run = cmd
        .args(["t/a.sql", "--format", "json"])
        .timeout(LIMIT)
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    let report = run.json();
    let msgs = messages(&report);
    assert!(
        msgs.iter()
            .any(|m| m.contains("t/a.sql:2:") && m.contains("pipe.sql is not a regular file")),
        "{msgs:?}"
    );
    assert_eq!(plans(&report).0, 0, "the plan is not checkable");
});

pgtest!(
    include_of_a_device_or_stdin_is_refused_not_read,
    |dir, cmd| {
        dir.create(
            "t/a.sql",
            "select plan(1);\n\\i /dev/zero\n\\i /dev/stdin\n\\ir /dev/null\nselect ok(true);\n",
        );
        let run = cmd.args(["t", "--format", "json"]).timeout(LIMIT).run();
        assert_eq!(run.code, Some(0), "{run}");
        let msgs = messages(&run.json());
        for (line, name) in [(2, "/dev/zero"), (3, "/dev/stdin"), (4, "/dev/null")] {
            assert!(
                msgs.iter().any(|m| m.contains(&format!("t/a.sql:{line}:"))
                    && m.contains(&format!("{name} is outside the scanned folders"))),
                "{name}: {msgs:?}"
            );
        }
    }
);

pgtest!(
    include_outside_the_scanned_folders_is_not_read,
    |dir, cmd| {
        // A file with assertions outside the scanned folder: if it were read, the plan would
        // agree (1 + 2 = 3) and tell the report that the file exists and what it holds.
        dir.create("outside/secret.sql", "select ok(true);\nselect ok(true);\n")
            .create(
                "t/a.sql",
                "select plan(3);\n\\ir ../outside/secret.sql\nselect ok(true);\n",
            );
        let abs = dir.join("outside/secret.sql");
        dir.create(
            "t/b.sql",
            format!("select plan(3);\n\\i {}\nselect ok(true);\n", abs.display()),
        );
        // A link inside the tree that leads out is refused the same way, and so is one whose
        // target does not exist: the message must not tell which.
        dir.symlink(&abs, "t/link.sql")
            .symlink(dir.join("outside/none.sql"), "t/dangling.sql")
            .create(
                "t/c.sql",
                "select plan(3);\n\\ir link.sql\n\\ir dangling.sql\nselect ok(true);\n",
            );
        let report = cmd.args(["t"]).timeout(LIMIT).json();
        let msgs = messages(&report);
        for (file, line) in [
            ("t/a.sql", 2),
            ("t/b.sql", 2),
            ("t/c.sql", 2),
            ("t/c.sql", 3),
        ] {
            assert!(
                msgs.iter()
                    .any(|m| m.starts_with(&format!("{file}:{line}:"))
                        && m.contains("is outside the scanned folders and was not read")),
                "{file}:{line}: {msgs:?}"
            );
        }
        assert_eq!(plans(&report), (0, 0, 0), "no plan is checkable: {msgs:?}");
    }
);

pgtest!(include_dir_allows_a_folder_outside_the_roots, |dir, cmd| {
    dir.create("shared/two.sql", "select ok(true);\nselect ok(true);\n")
        .create(
            "t/a.sql",
            "select plan(3);\n\\ir ../shared/two.sql\nselect ok(true);\n",
        );
    let report = cmd
        .args(["t", "--include-dir", "shared"])
        .timeout(LIMIT)
        .json();
    assert_eq!(plans(&report), (1, 1, 0), "{:?}", messages(&report));
});

pgtest!(
    include_graph_that_doubles_at_each_level_is_walked_once,
    |dir, cmd| {
        // f0 includes f1 twice, f1 includes f2 twice, ...: 2^40 - 1 results, and before the
        // fix 2^40 file visits (25 levels took 81 s, 28 never finished).
        const LEVELS: u32 = 40;
        for i in 0..LEVELS {
            let mut body = String::from("select ok(true);\n");
            if i + 1 < LEVELS {
                body.push_str(&format!("\\ir f{0}.inc\n\\ir f{0}.inc\n", i + 1));
            }
            dir.create(format!("t/f{i}.inc"), body);
        }
        let total = (1u64 << LEVELS) - 1 + 1;
        dir.create(
            "t/main.sql",
            format!("select plan({total});\n\\ir f0.inc\nselect ok(true);\n"),
        );
        let report = cmd.args(["t"]).timeout(LIMIT).json();
        assert_eq!(plans(&report), (1, 1, 0), "{:?}", messages(&report));
    }
);

pgtest!(
    long_include_chain_does_not_overflow_the_stack,
    |dir, cmd| {
        // 12,000 files each including the next overflowed the stack (exit 134).
        const N: usize = 12_000;
        for i in 0..N {
            let mut body = String::from("select ok(true);\n");
            if i + 1 < N {
                body.push_str(&format!("\\ir c{}.inc\n", i + 1));
            }
            dir.create(format!("t/c{i}.inc"), body);
        }
        dir.create("t/main.sql", format!("select plan({N});\n\\ir c0.inc\n"));
        let report = cmd.args(["t/main.sql"]).timeout(LIMIT).json();
        assert_eq!(plans(&report), (1, 1, 0), "{:?}", messages(&report));
    }
);

pgtest!(include_cycle_is_reported_once_per_include, |dir, cmd| {
    dir.create("t/a.sql", "select plan(2);\n\\ir b.inc\nselect ok(true);\n")
        .create("t/b.inc", "select ok(true);\n\\ir a.sql\n");
    let report = cmd.args(["t", "--ext", "sql"]).timeout(LIMIT).json();
    let msgs = messages(&report);
    assert!(
        msgs.iter()
            .any(|m| m.contains("t/a.sql:2: include cycle: t/a.sql -> t/b.inc -> t/a.sql")),
        "{msgs:?}"
    );
});

pgtest!(
    relative_includes_resolve_when_the_root_climbs_parent_folders,
    |dir, cmd| {
        // Scanning `../../rel` collapsed `..` wrongly: `\ir` resolved against another folder.
        dir.create(
            "rel/t/a.sql",
            "select plan(3);\n\\ir helpers/two.sql\nselect ok(true);\n",
        )
        .create(
            "rel/t/helpers/two.sql",
            "select ok(true);\nselect ok(true);\n",
        )
        .create_dir("x/y");
        let report = cmd
            .current_dir(dir.join("x/y"))
            .args(["../../rel/t/a.sql"])
            .timeout(LIMIT)
            .json();
        assert_eq!(plans(&report), (1, 1, 0), "{:?}", messages(&report));
    }
);

pgtest!(binary_file_is_skipped_with_a_warning, |dir, cmd| {
    let mut bytes = b"select has_table('t');\n".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 100_000));
    dir.create("t/blob.sql", &bytes)
        .create("t/ok.sql", "select has_table('u');\n");
    let run = cmd.args(["t", "--format", "json"]).timeout(LIMIT).run();
    assert_eq!(
        run.code,
        Some(0),
        "a skipped binary file is not an error\n{run}"
    );
    let report = run.json();
    assert_eq!(report["stats"]["files_skipped"], 1);
    assert_eq!(report["summary"]["assertions"], 1);
    let msgs = messages(&report);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("t/blob.sql:null: binary file (a NUL byte at offset 23)")),
        "{msgs:?}"
    );
    run.assert_stderr_contains("t/blob.sql: binary file");
    // --binary reads it anyway.
    let report = dir.command().args(["t", "--binary"]).timeout(LIMIT).json();
    assert_eq!(report["stats"]["files_skipped"], 0);
    assert_eq!(report["summary"]["assertions"], 2);
});

pgtest!(
    file_larger_than_the_memory_budget_is_an_error_not_read,
    |dir, cmd| {
        let big = "select ok(true);\n".repeat(70_000); // about 1.2 MB
        dir.create("t/big.sql", &big)
            .create("t/small.sql", "select has_table('u');\n");
        let run = cmd
            .args(["t", "--max-memory", "1M", "--format", "json"])
            .timeout(LIMIT)
            .run();
        assert_eq!(run.code, Some(2), "{run}");
        run.assert_stderr_contains("t/big.sql")
            .assert_stderr_contains("larger than the memory budget");
        let report = run.json();
        assert_eq!(report["stats"]["files_failed"], 1);
        assert_eq!(
            report["summary"]["assertions"], 1,
            "the rest of the run goes on"
        );
    }
);

#[test]
fn file_truncated_while_it_is_read_never_kills_the_run() {
    // Files of 4 MiB and more were memory-mapped: one truncated by another process while
    // it was parsed killed the run with SIGBUS (exit 135, no message). Truncate a big
    // file over and over while scans run: every run must end with an exit code.
    let dir = util::Dir::new("truncated");
    let line = "select has_table('public', 'accounts', 'accounts table exists');\n";
    let full = line.repeat((8 << 20) / line.len());
    dir.create("t/big.sql", &full);
    let path = dir.join("t/big.sql");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let stop = std::sync::Arc::clone(&stop);
        let full = full.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::write(&path, &full);
                std::thread::sleep(Duration::from_millis(3));
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| f.set_len(100));
                std::thread::sleep(Duration::from_millis(3));
            }
        })
    };
    for _ in 0..15 {
        let run = dir.command().args(["t", "-q"]).timeout(LIMIT).run();
        assert!(
            matches!(run.code, Some(0) | Some(2)),
            "the run must end with an exit code, not a signal\n{run}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = flipper.join();
}

/// Every fixture and corpus file gives the same result lexed whole or one statement at a
/// time (the smallest window): windows bound the token buffer without changing results.
#[test]
fn extraction_does_not_depend_on_the_lexing_window() {
    use pgtap_scan::ExtractOptions;
    use pgtap_scan::Extractor;
    use pgtap_scan::Limits;
    let whole = Extractor::new(ExtractOptions::default()).with_limits(Limits {
        window: usize::MAX,
        cap: usize::MAX,
    });
    let tiny = Extractor::new(ExtractOptions::default()).with_limits(Limits {
        window: 1,
        cap: usize::MAX,
    });
    let mut roots = vec![std::path::PathBuf::from("fixtures")];
    roots.extend(util::shared().map(|s| s.join("corpus")));
    let mut files = 0;
    let mut stack = roots;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("read_dir") {
                stack.push(e.expect("entry").path());
            }
            continue;
        }
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "sql" | "pg" | "inc" | "pgsql") {
            continue;
        }
        let bytes = std::fs::read(&p).expect("read");
        let a = serde_json::to_value(whole.extract(&bytes)).expect("json");
        let b = serde_json::to_value(tiny.extract(&bytes)).expect("json");
        assert_eq!(a, b, "{}", p.display());
        files += 1;
    }
    assert!(files > 100, "only {files} files compared");
}

/// A statement longer than the token cap is read in parts with a warning that names where,
/// instead of holding 32 bytes per token of it (100 MB of NUL bytes took 3.77 GB).
#[test]
fn statement_longer_than_the_token_cap_is_read_in_parts_with_a_warning() {
    use pgtap_scan::ExtractOptions;
    use pgtap_scan::Extractor;
    use pgtap_scan::Limits;
    let calls = vec!["ok(true)"; 5000].join(", ");
    let src = format!("select plan(1);\nselect {calls};\nselect has_table('t');\n");
    let ex = Extractor::new(ExtractOptions::default()).with_limits(Limits {
        window: 1024,
        cap: 4096,
    });
    let r = ex.extract(src.as_bytes());
    let cuts: Vec<_> = r
        .warnings
        .iter()
        .filter(|w| {
            w.message
                .contains("longer than 4096 tokens is read in parts")
        })
        .collect();
    assert!(!cuts.is_empty(), "{:?}", r.warnings);
    assert!(cuts.iter().all(|w| w.line == 2), "{cuts:?}");
    // Most calls are found, and the statement after the long one is read normally.
    assert!(r.assertions.len() > 4900, "{}", r.assertions.len());
    assert!(r
        .assertions
        .iter()
        .any(|a| a.line == 3 && a.function == "has_table"));
    assert!(
        r.errors.is_empty(),
        "a cut is not an unclosed call: {:?}",
        r.errors
    );
}

pgtest!(
    many_threads_are_lowered_to_what_the_budget_holds,
    |dir, cmd| {
        // -j 64 raised RSS to 440-550 MB at any --max-memory: every thread keeps memory of its
        // own, so the budget now bounds how many there are.
        dir.create("t/a.sql", "select has_table('t');\n");
        let run = cmd
            .args(["t", "-j", "64", "--max-memory", "64M", "--format", "json"])
            .timeout(LIMIT)
            .run();
        assert_eq!(run.code, Some(0), "{run}");
        // Half of 64 MiB at 4 MiB a thread is 8; one per core is never taken away.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let want = cores.max(8);
        if want < 64 {
            run.assert_stderr_contains(&format!("64 parse threads lowered to {want}"));
        }
        assert_eq!(run.json()["stats"]["threads"], want);
        // Within the budget nothing changes.
        let report = dir
            .command()
            .args(["t", "-j", "3", "--max-memory", "64M"])
            .timeout(LIMIT)
            .json();
        assert_eq!(report["stats"]["threads"], 3);
    }
);

pgtest!(binary_included_file_is_named_as_binary, |dir, cmd| {
    let mut bytes = b"select ok(true);\n".to_vec();
    bytes.extend([0u8; 16]);
    dir.create("t/blob.inc", &bytes).create(
        "t/a.sql",
        "select plan(2);\n\\ir blob.inc\nselect ok(true);\n",
    );
    let report = cmd.args(["t/a.sql"]).timeout(LIMIT).json();
    let msgs = messages(&report);
    assert!(
        msgs.iter()
            .any(|m| m.contains("t/a.sql:2: included file t/blob.inc: binary file")),
        "{msgs:?}"
    );
});

pgtest!(stats_name_the_files_and_inputs_not_scanned, |dir, cmd| {
    dir.create("t/blob.sql", [0u8, 1, 2])
        .create("t/a.sql", "select ok(true);\n");
    let run = cmd.args(["t", "--stats"]).timeout(LIMIT).run();
    assert_eq!(run.code, Some(0), "{run}");
    run.assert_stderr_contains("not scanned: 1 binary files skipped");
    let run = dir
        .command()
        .args(["t/a.sql", "--stats"])
        .timeout(LIMIT)
        .run();
    run.assert_stderr_lacks("not scanned:");
});

pgtest!(
    many_bodies_in_one_window_are_all_read_under_a_small_budget,
    |dir, cmd| {
        // The body cap counted every body of the window: 100 DO blocks of 1000 assertions lost
        // 89% of them under --max-memory 4 (review finding).
        let block = format!(
            "do $$ begin\n{}end $$;\n",
            "perform ok(true);\n".repeat(1000)
        );
        dir.create("t/a.sql", block.repeat(100));
        let run = cmd
            .args(["t", "-j", "1", "--max-memory", "4", "--format", "json"])
            .timeout(LIMIT)
            .run();
        assert_eq!(run.code, Some(0), "{run}");
        let report = run.json();
        assert_eq!(report["summary"]["assertions"], 100_000);
        assert_eq!(report["summary"]["warnings"], 0, "{:#}", report["messages"]);
    }
);

pgtest!(
    link_to_a_folder_outside_does_not_tell_what_exists_there,
    |dir, cmd| {
        // With t/lnk -> outside/, `\ir lnk/alice/x.sql` said "outside" when outside/alice
        // existed and "No such file" when it did not (review finding).
        dir.create("outside/alice/y.sql", "select 1;\n")
            .symlink(dir.join("outside"), "t/lnk")
            .create(
                "t/a.sql",
                "select plan(1);\n\\ir lnk/alice/x.sql\n\\ir lnk/bob/x.sql\nselect ok(true);\n",
            );
        let report = cmd.args(["t/a.sql"]).timeout(LIMIT).json();
        let msgs = messages(&report);
        for line in [2, 3] {
            assert!(
                msgs.iter()
                    .any(|m| m.starts_with(&format!("t/a.sql:{line}:"))
                        && m.contains("is outside the scanned folders")),
                "{line}: {msgs:?}"
            );
        }
    }
);

pgtest!(
    a_file_including_itself_is_named_once_per_step_of_the_cycle,
    |dir, cmd| {
        dir.create("t/a.sql", "select plan(1);\n\\ir a.sql\nselect ok(true);\n");
        let report = cmd.args(["t"]).timeout(LIMIT).json();
        let msgs = messages(&report);
        assert!(
            msgs.iter()
                .any(|m| m.ends_with("include cycle: t/a.sql -> t/a.sql")),
            "{msgs:?}"
        );
    }
);

pgtest!(
    a_bad_glob_is_reported_when_only_a_file_is_scanned,
    |dir, cmd| {
        // One explicit file is read on the caller's thread; that path skipped the walker,
        // which is what reports a glob that does not parse (review finding).
        dir.create("a.sql", "select ok(true);\n");
        let run = cmd.args(["a.sql", "--include", "["]).timeout(LIMIT).run();
        run.assert_stderr_contains("invalid include glob \"[\"");
    }
);
