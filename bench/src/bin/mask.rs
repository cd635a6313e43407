//! Speed of masking what a client sends: `extend_masked` (copy and XOR in
//! one pass, into a buffer's spare capacity) next to a plain copy into the
//! same buffer, which is the floor. Data stays in cache, so this measures
//! the loop, not memory.
//!
//! `cargo run --release -p lomond-bench --bin bench-mask`

use lomond::proto::mask::extend_masked;
use std::hint::black_box;
use std::time::Instant;

/// Bytes moved per measurement.
const TOTAL: usize = 4 << 30;
/// Bytes appended before the buffer is cleared (fits in L2 with the source).
const BATCH: usize = 256 << 10;

fn measure(f: fn(&mut Vec<u8>, &[u8]), size: usize) -> (f64, f64) {
    let src: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let per_batch = (BATCH / size).max(1);
    let mut dst = Vec::with_capacity(per_batch * size);
    let mut calls = 0;
    let t = Instant::now();
    while calls * size < TOTAL {
        dst.clear();
        for _ in 0..per_batch {
            f(&mut dst, black_box(&src));
        }
        black_box(&dst);
        calls += per_batch;
    }
    let secs = t.elapsed().as_secs_f64();
    (
        (calls * size) as f64 / secs / 1e9,
        secs * 1e9 / calls as f64,
    )
}

fn main() {
    println!("| size | extend_masked GB/s | ns/call | copy GB/s | ns/call |");
    println!("|---:|---:|---:|---:|---:|");
    for size in [16usize, 1024, 65536, 1 << 20] {
        let masked = measure(|d, s| extend_masked(d, s, black_box([1, 2, 3, 4])), size);
        let copied = measure(|d, s| d.extend_from_slice(s), size);
        println!(
            "| {size} | {:.1} | {:.1} | {:.1} | {:.1} |",
            masked.0, masked.1, copied.0, copied.1
        );
    }
}
