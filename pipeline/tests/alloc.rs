//! The counting allocator, installed for real in this test binary.
//!
//! Other tests in this binary may allocate concurrently, so this file holds one test only
//! and every check leaves a wide margin around the exact figures.

use pipeline::alloc::{self, CountingAlloc};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc(std::alloc::System);

const MIB: usize = 1 << 20;
/// Each thread may hold up to `FLUSH_BYTES` uncounted either way (see the module docs).
const SLACK: u64 = 4 * alloc::FLUSH_BYTES as u64;

#[test]
fn counts_live_bytes_and_peak() {
    assert!(
        alloc::current() > 0,
        "the test harness itself has allocated"
    );

    let before = alloc::current();
    let mut block: Vec<u8> = Vec::with_capacity(8 * MIB);
    block.push(1);
    let with_block = alloc::current();
    assert!(
        with_block + SLACK >= before + 8 * MIB as u64,
        "{before} -> {with_block}"
    );
    assert!(alloc::peak() + SLACK >= with_block);

    // realloc up and down is counted.
    block.reserve_exact(16 * MIB);
    assert!(alloc::current() + SLACK >= before + 16 * MIB as u64);
    block.shrink_to_fit();
    let shrunk = alloc::current();
    assert!(shrunk < before + MIB as u64, "{before} -> {shrunk}");

    // Zeroed allocations are counted as well.
    let zeroed = vec![0u8; 4 * MIB];
    assert!(alloc::current() + SLACK >= before + 4 * MIB as u64);
    drop(zeroed);
    drop(block);
    let after = alloc::current();
    assert!(after < before + MIB as u64, "freed: {before} -> {after}");

    // The peak remembers the 16 MiB high point until reset.
    assert!(alloc::peak() + SLACK >= before + 16 * MIB as u64);
    alloc::reset_peak();
    let peak = alloc::peak();
    assert!(peak < before + MIB as u64, "reset to about current: {peak}");
    let again = vec![7u8; 2 * MIB];
    assert!(alloc::peak() + SLACK >= peak + 2 * MIB as u64);
    drop(again);
}
