//! Sharding a scan across CI jobs (`--shard k/n`): which shard a file belongs to, what
//! `--shard auto` reads from the CI's variables, and a digest of the whole file list so a
//! merge can tell that every shard saw the same tree.
//!
//! A file belongs to shard `1 + hash(path) mod n`, where `path` is the path as reports
//! show it with `/` separators and no leading `./`, and `hash` is [`stable_hash`]: FNV-1a
//! over the bytes, then the SplitMix64 finaliser. It is written here, not taken from a
//! crate, because it must never change between versions or platforms: a shard's files
//! stay its own as files are added (each file is placed by its own path only), so each
//! shard's `--cache` stays warm. Tests pin some values.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Shard `index` of `count`, 1-based (as nextest, jest, Playwright and node spell it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// K, from 1.
    pub index: u32,
    /// N, at least 1.
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The CI variables `--shard auto` reads, in order: (index variable, total variable,
/// whether the index is 0-based, the CI's name).
pub const CI_VARIABLES: &[(&str, &str, bool, &str)] = &[
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", false, "GitLab"),
    ("CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", true, "CircleCI"),
    (
        "BUILDKITE_PARALLEL_JOB",
        "BUILDKITE_PARALLEL_JOB_COUNT",
        true,
        "Buildkite",
    ),
    (
        "SEMAPHORE_JOB_INDEX",
        "SEMAPHORE_JOB_COUNT",
        false,
        "Semaphore",
    ),
    (
        "SYSTEM_JOBPOSITIONINPHASE",
        "SYSTEM_TOTALJOBSINPHASE",
        false,
        "Azure Pipelines",
    ),
    (
        "PGTAP_SCAN_SHARD_INDEX",
        "PGTAP_SCAN_SHARD_TOTAL",
        false,
        "pgtap-scan",
    ),
];

impl Shard {
    /// `k/n`: both whole numbers, `1 <= k <= n`.
    pub fn parse(spec: &str) -> Result<Shard, String> {
        let spec = spec.trim();
        let Some((k, n)) = spec.split_once('/') else {
            return Err(format!(
                "{spec:?} is not k/n (shard k of n, 1-based: 1/3, 2/3, 3/3) or auto"
            ));
        };
        let number = |s: &str, what: &str| {
            s.trim().parse::<u32>().map_err(|_| {
                format!(
                    "{spec:?}: {what} {:?} is not a whole number (k/n, 1-based: 1/3)",
                    s
                )
            })
        };
        let index = number(k, "the shard")?;
        let count = number(n, "the shard count")?;
        Shard::new(index, count).map_err(|e| format!("{spec:?}: {e}"))
    }

    /// Checks `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index == 0 {
            return Err(format!(
                "shards are numbered from 1: the first of {count} is 1/{count}"
            ));
        }
        if index > count {
            return Err(format!(
                "shard {index} of {count} does not exist (the last is {count}/{count})"
            ));
        }
        Ok(Shard { index, count })
    }

    /// `--shard auto`: the first CI whose two variables are set (see [`CI_VARIABLES`]),
    /// normalised to 1-based; `var` reads one (the environment, or a test's map). An error,
    /// never a full scan, when none is set or a value is not a number.
    pub fn from_ci(var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        for &(index_var, total_var, zero_based, ci) in CI_VARIABLES {
            let (Some(index), Some(total)) = (
                var(index_var).filter(|v| !v.trim().is_empty()),
                var(total_var).filter(|v| !v.trim().is_empty()),
            ) else {
                continue;
            };
            let read = |name: &str, v: &str| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("auto: {name}={v:?} ({ci}) is not a whole number"))
            };
            let i = read(index_var, &index)?;
            let n = read(total_var, &total)?;
            let i = if zero_based {
                i.checked_add(1)
                    .ok_or_else(|| format!("auto: {index_var}={index:?} ({ci}) is too large"))?
            } else {
                i
            };
            return Shard::new(i, n).map_err(|e| {
                format!("auto: {index_var}={index}, {total_var}={total} ({ci}): {e}")
            });
        }
        let names: Vec<String> = CI_VARIABLES
            .iter()
            .map(|(i, n, _, _)| format!("{i}/{n}"))
            .collect();
        Err(format!(
            "auto: no CI shard variables are set (looked for {}); give --shard k/n \
             (on GitHub Actions, from the matrix: --shard ${{{{ matrix.shard }}}}/N)",
            names.join(", ")
        ))
    }

    /// Whether the file at `path` (as reports show it) is this shard's.
    pub fn owns(&self, path: &Path) -> bool {
        shard_of(path, self.count) == self.index
    }
}

/// The shard (1-based, of `count`) the file at `path` belongs to.
pub fn shard_of(path: &Path, count: u32) -> u32 {
    let count = count.max(1);
    (stable_hash(&path_key(path)) % u64::from(count)) as u32 + 1
}

/// The path as hashed: `/` separators, no leading `./`.
pub fn path_key(path: &Path) -> String {
    let s = path.to_string_lossy();
    let mut s: &str = &s;
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.trim_start_matches('/');
    }
    if std::path::MAIN_SEPARATOR == '\\' {
        s.replace('\\', "/")
    } else {
        s.to_string()
    }
}

/// FNV-1a (64 bits) then the SplitMix64 finaliser: fixed forever (see the module docs).
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in s.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A digest of a set of paths that does not depend on the order they are added in (the
/// walker is parallel): their count and two sums of their hashes. Every shard computes it
/// over the whole tree; a merge checks they agree.
#[derive(Debug, Default)]
pub struct FileListDigest {
    count: AtomicU64,
    sum: AtomicU64,
    mixed: AtomicU64,
}

impl FileListDigest {
    /// Adds one discovered path (any order: the digest does not depend on it).
    pub fn add(&self, path: &Path) {
        let h = stable_hash(&path_key(path));
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(h, Relaxed);
        self.mixed
            .fetch_add(stable_hash(&format!("{h:016x}")), Relaxed);
    }

    /// `count:sum:mixed` in hex.
    pub fn value(&self) -> String {
        format!(
            "{}:{:016x}:{:016x}",
            self.count.load(Relaxed),
            self.sum.load(Relaxed),
            self.mixed.load(Relaxed)
        )
    }

    /// How many paths were added.
    pub fn files(&self) -> u64 {
        self.count.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    // The assignment of files to shards must never change: a CI's shards and caches
    // rely on it. These values were computed once; a change to the hash fails here.
    #[test]
    fn the_hash_and_the_assignment_are_pinned() {
        // (path, hash, shard of 2, 3, 4 and 7), computed once by an independent script.
        let pinned: &[(&str, u64, [u32; 4])] = &[
            ("", 0xf52a_15e9_a9b5_e89b, [2, 1, 4, 6]),
            ("tests/users.sql", 0xfd66_79eb_a7f9_009d, [2, 1, 2, 4]),
            (
                "fixtures/realworld/tests/rls.sql",
                0x6db1_aba9_8b87_ae6d,
                [2, 2, 2, 4],
            ),
            ("t/a.sql", 0x9f44_ec50_0a2f_14d0, [1, 1, 1, 6]),
        ];
        for (path, hash, shards) in pinned {
            assert_eq!(stable_hash(path), *hash, "{path}");
            for (n, want) in [2, 3, 4, 7].iter().zip(shards) {
                assert_eq!(shard_of(Path::new(path), *n), *want, "{path} of {n}");
            }
        }
    }

    #[test]
    fn a_leading_dot_slash_does_not_move_a_file() {
        for n in 1..=7 {
            assert_eq!(
                shard_of(Path::new("./t/a.sql"), n),
                shard_of(Path::new("t/a.sql"), n)
            );
        }
    }

    #[test]
    fn shard_specs_are_read_with_clear_errors() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(Shard::parse(" 1 / 1 "), Ok(Shard { index: 1, count: 1 }));
        let err = |s: &str| Shard::parse(s).expect_err(s);
        assert!(err("0/3").contains("numbered from 1"), "{}", err("0/3"));
        assert!(err("4/3").contains("does not exist"), "{}", err("4/3"));
        assert!(err("1/0").contains("at least 1"), "{}", err("1/0"));
        assert!(err("3").contains("is not k/n"), "{}", err("3"));
        assert!(err("a/3").contains("not a whole number"), "{}", err("a/3"));
        assert!(
            err("-1/3").contains("not a whole number"),
            "{}",
            err("-1/3")
        );
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn shard_auto_reads_each_ci_and_normalises_to_one_based() {
        let s = |pairs: &[(&str, &str)]| Shard::from_ci(env(pairs));
        let sh = |index, count| Ok(Shard { index, count });
        assert_eq!(
            s(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")]),
            sh(2, 3)
        );
        assert_eq!(
            s(&[("CIRCLE_NODE_INDEX", "0"), ("CIRCLE_NODE_TOTAL", "3")]),
            sh(1, 3)
        );
        assert_eq!(
            s(&[
                ("BUILDKITE_PARALLEL_JOB", "2"),
                ("BUILDKITE_PARALLEL_JOB_COUNT", "3")
            ]),
            sh(3, 3)
        );
        assert_eq!(
            s(&[("SEMAPHORE_JOB_INDEX", "1"), ("SEMAPHORE_JOB_COUNT", "2")]),
            sh(1, 2)
        );
        assert_eq!(
            s(&[
                ("SYSTEM_JOBPOSITIONINPHASE", "4"),
                ("SYSTEM_TOTALJOBSINPHASE", "4")
            ]),
            sh(4, 4)
        );
        // Nothing set: an error, never a full scan.
        let none = s(&[]).expect_err("nothing set");
        assert!(none.contains("no CI shard variables"), "{none}");
        // Half set is not set.
        assert!(s(&[("CI_NODE_INDEX", "1")]).is_err());
        let bad = s(&[("CI_NODE_INDEX", "x"), ("CI_NODE_TOTAL", "3")]).expect_err("bad");
        assert!(
            bad.contains("CI_NODE_INDEX") && bad.contains("GitLab"),
            "{bad}"
        );
        let out = s(&[("CIRCLE_NODE_INDEX", "3"), ("CIRCLE_NODE_TOTAL", "3")]).expect_err("4/3");
        assert!(out.contains("does not exist"), "{out}");
    }

    #[test]
    fn shards_partition_the_files_evenly_enough() {
        let n = 4;
        let mut per = [0u32; 4];
        for i in 0..4000 {
            let s = shard_of(Path::new(&format!("tests/dir{}/f{i}.sql", i % 17)), n);
            assert!((1..=n).contains(&s));
            per[(s - 1) as usize] += 1;
        }
        for c in per {
            assert!((800..1200).contains(&c), "{per:?}");
        }
    }

    #[test]
    fn the_file_list_digest_does_not_depend_on_order() {
        let a = FileListDigest::default();
        let b = FileListDigest::default();
        for p in ["x.sql", "y/z.sql", "w.sql"] {
            a.add(Path::new(p));
        }
        for p in ["w.sql", "./x.sql", "y/z.sql"] {
            b.add(Path::new(p));
        }
        assert_eq!(a.value(), b.value());
        b.add(Path::new("v.sql"));
        assert_ne!(a.value(), b.value());
    }
}
