//! Seeded randomness that stays stable across versions and threads.
//!
//! Every generated value is a pure function of the seed and where it sits
//! (model, item index, version, field): [`stream`] derives an independent
//! [`Rng`] from such a path, so an item can be rebuilt anywhere (a child
//! computing its parent's key, an update rebuilding the old image) without
//! anything being stored, and the items do not depend on how the index range
//! is split between threads.

/// SplitMix64: tiny, fast and stable across versions, so seeds stay meaningful.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
    /// One of `xs` (which must not be empty).
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

/// SplitMix64's finaliser: a bijection on u64 that scatters its input, so
/// distinct inputs (item indexes) give distinct, unordered-looking outputs.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit hash of a name (FNV-1a, then mixed): model and field
/// names become parts of a stream path.
pub fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(h)
}

/// An independent generator for a path of parts (seed, model, index, ...).
pub fn stream(parts: &[u64]) -> Rng {
    let mut h = 0x243F_6A88_85A3_08D3u64;
    for p in parts {
        h = mix64(h ^ p).wrapping_add(0x9E37_79B9_7F4A_7C15);
    }
    Rng::new(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_every_part_and_only_on_them() {
        let a = stream(&[1, 2, 3]).next_u64();
        assert_eq!(a, stream(&[1, 2, 3]).next_u64());
        assert_ne!(a, stream(&[1, 2, 4]).next_u64());
        assert_ne!(a, stream(&[1, 3, 2]).next_u64());
        assert_ne!(stream(&[0]).next_u64(), stream(&[0, 0]).next_u64());
    }

    #[test]
    fn unit_and_below_stay_in_range() {
        let mut r = Rng::new(9);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.below(7) < 7);
            assert!((3..=5).contains(&r.range(3, 5)));
        }
    }
}
