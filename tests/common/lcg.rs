//! A deterministic pseudo-random sequence for tests and benches (64-bit LCG), so that no
//! `rand` dependency is needed and every run sees the same numbers. Included with
//! `#[path = ...] mod lcg;` by the files that use it.
#![allow(dead_code)]

pub struct Lcg(pub u64);

impl Lcg {
    /// The next number in [0, 1) (the top 53 bits of the state).
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }

    /// An index in 0..n (0 for n = 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n.saturating_sub(1))
    }
}
