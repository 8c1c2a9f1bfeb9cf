//! The one deterministic random number generator of the tests, benches and examples.
//!
//! SplitMix64 (Steele, Lea and Flood, *Fast splittable pseudorandom number generators*,
//! OOPSLA 2014; the generator Java's `SplittableRandom` and `rand`'s seeding use): a Weyl
//! sequence `s += 0x9e37_79b9_7f4a_7c15` through a 64-bit finaliser. Every seed, 0 included,
//! starts a full-period stream (2⁶⁴), and neighbouring seeds (1, 2, 3, …) give unrelated
//! streams, so callers can number their inputs instead of inventing large seeds. It is not
//! cryptographic, and the values are fixed for a given seed on every platform: a test that
//! fails does so again from the same seed.
//!
//! ```
//! use huiyan_testkit::Rng;
//!
//! let mut rng = Rng::new(7);
//! let x = rng.uniform_vec(1000, -1.0, 1.0);
//! assert!(x.iter().all(|v| (-1.0..1.0).contains(v)));
//! // The same seed gives the same values.
//! assert_eq!(Rng::new(7).uniform_vec(1000, -1.0, 1.0), x);
//! // Roughly the asked share of `true`.
//! let n = rng.bools(10_000, 0.8).into_iter().filter(|&b| b).count();
//! assert!((7_700..8_300).contains(&n), "{n}");
//! ```

/// SplitMix64: see the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// The stream for `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// // SplitMix64's published first output for seed 0.
    /// assert_eq!(huiyan_testkit::Rng::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)` (`lo < hi`, both finite): `lo + (hi − lo)·u` with `u` one of the
    /// 2²⁴ multiples of 2⁻²⁴ in `[0, 1)` (exact in `f32`). The product and sum round, so a value
    /// may land on `hi`; it is returned as the largest `f32` below `hi` instead.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        assert!(lo < hi, "Rng::uniform: empty range [{lo}, {hi})");
        let u = (self.next_u64() >> 40) as f32 * (1.0 / (1u32 << 24) as f32);
        let x = lo + (hi - lo) * u;
        if x < hi {
            x
        } else {
            hi.next_down()
        }
    }

    /// `n` values of [`uniform`](Self::uniform)`(lo, hi)`.
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }

    /// `true` with probability `p` (`p ≤ 0`: never; `p ≥ 1`: always), to 2⁻⁵³.
    pub fn bool(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// `n` values of [`bool`](Self::bool)`(p)`.
    pub fn bools(&mut self, n: usize, p: f64) -> Vec<bool> {
        (0..n).map(|_| self.bool(p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn splitmix64_first_outputs_for_seed_0() {
        // The values other SplitMix64 implementations test against.
        let mut r = Rng::new(0);
        let want = [
            0xe220_a839_7b1d_cdaf_u64,
            0x6e78_9e6a_a1b9_65f4,
            0x06c4_5d18_8009_454f,
            0xf88b_b8a8_724c_81ec,
            0x1b39_896a_51a8_749b,
        ];
        for w in want {
            assert_eq!(r.next_u64(), w);
        }
    }

    #[test]
    fn uniform_stays_below_hi() {
        // [1, 1 + 2⁻²³) holds one f32: 1 + 2⁻²³·u rounds to hi for every u ≥ 1/2.
        let hi = 1.0f32.next_up();
        let mut r = Rng::new(3);
        assert!(r.uniform_vec(1000, 1.0, hi).iter().all(|&x| x == 1.0));
        assert!(r
            .uniform_vec(1000, -0.5, 0.5)
            .iter()
            .all(|x| (-0.5..0.5).contains(x)));
    }

    #[test]
    fn bool_extremes() {
        let mut r = Rng::new(9);
        assert!(r.bools(1000, 0.0).iter().all(|&b| !b));
        assert!(r.bools(1000, 1.0).iter().all(|&b| b));
    }
}
