//! What the benchmark binaries share.

/// `size` bytes of JSON-like telemetry, deterministic.
pub fn telemetry(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 128);
    let mut x: u32 = 12345;
    let mut i = 0u32;
    while out.len() < size {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let reading = (x >> 16) % 10_000;
        out.extend_from_slice(
            format!(
                "{{\"id\":{i},\"sensor\":\"probe-{:03}\",\"temp\":{}.{:02},\"ok\":{}}},",
                (x >> 8) % 200,
                reading / 100,
                reading % 100,
                !x.is_multiple_of(7)
            )
            .as_bytes(),
        );
        i += 1;
    }
    out.truncate(size);
    out
}
