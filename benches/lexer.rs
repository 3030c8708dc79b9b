//! Lexer throughput over the shared corpora (`../shared/corpus`, all `.sql` and `.pg` files):
//! once as one concatenated buffer, once file by file (the scanner's real access pattern:
//! many small inputs). Skipped with a note when `../shared` is absent.

use std::path::{Path, PathBuf};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use pgtap_scan::__internals::tokenize;

fn corpus_files() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut paths = Vec::new();
    let mut stack: Vec<PathBuf> = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(p.extension().and_then(|x| x.to_str()), Some("sql" | "pg")) {
                paths.push(p);
            }
        }
    }
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

fn lexer(c: &mut Criterion) {
    let files = corpus_files();
    if files.is_empty() {
        eprintln!("lexer bench: ../shared/corpus is absent; skipped");
        return;
    }
    let total: usize = files.iter().map(Vec::len).sum();
    let mut joined = Vec::with_capacity(total + files.len());
    for f in &files {
        joined.extend_from_slice(f);
        joined.push(b'\n');
    }
    let tokens = tokenize(&joined).tokens.len();
    eprintln!(
        "lexer bench: {} files, {:.2} MB, {tokens} tokens",
        files.len(),
        total as f64 / 1e6
    );

    let mut g = c.benchmark_group("lexer");
    g.throughput(Throughput::Bytes(joined.len() as u64));
    g.bench_function("shared_corpus_concatenated", |b| {
        b.iter(|| tokenize(black_box(&joined)).tokens.len())
    });
    g.throughput(Throughput::Bytes(total as u64));
    g.bench_function("shared_corpus_per_file", |b| {
        b.iter(|| {
            files
                .iter()
                .map(|f| tokenize(black_box(f)).tokens.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, lexer);
criterion_main!(benches);
