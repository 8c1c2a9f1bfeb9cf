//! The row kernels of [the module](super): validated calls in raw parts ([`LnCall`],
//! [`EpiCall`]) and the loops over [`SimdF32`] that run them. No ISA code.

use crate::options::{Activation, LayerNormOptions};
use crate::simd::gelu::gelu;
use crate::simd::SimdF32;
use crate::view::{MatMut, MatRef};

/// A validated LayerNorm call in raw parts. Null `res` / `bias`: not given.
#[derive(Clone, Copy)]
pub(crate) struct LnCall {
    pub(crate) x: *const f32,
    pub(crate) rsx: usize,
    /// Equal to `x` for in-place calls.
    pub(crate) y: *mut f32,
    pub(crate) rsy: usize,
    pub(crate) res: *const f32,
    pub(crate) rsr: usize,
    pub(crate) bias: *const f32,
    pub(crate) gamma: *const f32,
    pub(crate) beta: *const f32,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) eps: f32,
}

impl LnCall {
    pub(crate) fn new(x: &MatRef<'_>, y: *mut f32, rsy: usize, o: &LayerNormOptions<'_>) -> Self {
        LnCall {
            x: x.ptr,
            rsx: x.rs,
            y,
            rsy,
            res: o.residual.map_or(core::ptr::null(), |r| r.ptr),
            rsr: o.residual.map_or(0, |r| r.rs),
            bias: o.bias.map_or(core::ptr::null(), |b| b.as_ptr()),
            gamma: o.gamma.as_ptr(),
            beta: o.beta.as_ptr(),
            rows: x.rows,
            cols: x.cols,
            eps: o.eps,
        }
    }

    /// Rows `r0..r1` of the call (wrapping arithmetic: they address rows of the whole call).
    pub(crate) fn rows(&self, r0: usize, r1: usize) -> Self {
        LnCall {
            x: self.x.wrapping_add(r0 * self.rsx),
            y: self.y.wrapping_add(r0 * self.rsy),
            res: if self.res.is_null() {
                self.res
            } else {
                self.res.wrapping_add(r0 * self.rsr)
            },
            rows: r1 - r0,
            ..*self
        }
    }
}

/// A validated bias epilogue in raw parts, in place. Null `bias`: not given.
#[derive(Clone, Copy)]
pub(crate) struct EpiCall {
    pub(crate) x: *mut f32,
    pub(crate) rs: usize,
    pub(crate) bias: *const f32,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) act: Activation,
}

impl EpiCall {
    pub(crate) fn new(x: &MatMut<'_>, bias: Option<&[f32]>, act: Activation) -> Self {
        EpiCall {
            x: x.ptr,
            rs: x.rs,
            bias: bias.map_or(core::ptr::null(), |b| b.as_ptr()),
            rows: x.rows,
            cols: x.cols,
            act,
        }
    }

    /// Rows `r0..r1` of the call.
    pub(crate) fn rows(&self, r0: usize, r1: usize) -> Self {
        EpiCall {
            x: self.x.wrapping_add(r0 * self.rs),
            rows: r1 - r0,
            ..*self
        }
    }
}

/// Loads `n` floats at `p`: a whole vector when `n = LANES`, else the low lanes, `fill` above.
///
/// # Safety
/// `p..p+n` readable, `n ≤ LANES`.
#[inline(always)]
unsafe fn load_n<S: SimdF32>(s: S, p: *const f32, n: usize, fill: f32) -> S::V {
    // SAFETY: forwarded.
    unsafe {
        if n == S::LANES {
            s.load(p)
        } else {
            s.load_part(p, n, fill)
        }
    }
}

/// Stores the low `n` lanes of `v` at `p`.
///
/// # Safety
/// `p..p+n` writable, `n ≤ LANES`.
#[inline(always)]
unsafe fn store_n<S: SimdF32>(s: S, p: *mut f32, n: usize, v: S::V) {
    // SAFETY: forwarded.
    unsafe {
        if n == S::LANES {
            s.store(p, v)
        } else {
            s.store_part(p, n, v)
        }
    }
}

/// Every row of a LayerNorm call.
///
/// # Safety
/// As [`run_layer_norm`](super::run_layer_norm).
#[inline(always)]
pub(crate) unsafe fn layer_norm_rows<S: SimdF32>(s: S, c: &LnCall) {
    for r in 0..c.rows {
        // SAFETY: row r < rows of a validated call: every pointer covers `cols` from here.
        unsafe {
            let x = c.x.add(r * c.rsx);
            let y = c.y.add(r * c.rsy);
            let res = if c.res.is_null() {
                c.res
            } else {
                c.res.add(r * c.rsr)
            };
            match (c.bias.is_null(), res.is_null()) {
                (false, false) => ln_row::<S, true, true>(s, c, x, res, y),
                (false, true) => ln_row::<S, true, false>(s, c, x, res, y),
                (true, false) => ln_row::<S, false, true>(s, c, x, res, y),
                (true, true) => ln_row::<S, false, false>(s, c, x, res, y),
            }
        }
    }
}

/// One LayerNorm row: `z = (x + b) + r` into `y` with its sum, the centred sum of squares,
/// then `y = fma(z − μ, r·γ, β)`. Three passes over `cols` floats that stay in L1 (a BERT
/// row is 384 to 1024 floats); two accumulators per sum.
///
/// # Safety
/// `x`, `y` (and `res` when `RES`, `c.bias` when `BIAS`, `c.gamma`, `c.beta`) cover `c.cols`
/// floats; `y` is `x` or overlaps no input.
#[inline(always)]
unsafe fn ln_row<S: SimdF32, const BIAS: bool, const RES: bool>(
    s: S,
    c: &LnCall,
    x: *const f32,
    res: *const f32,
    y: *mut f32,
) {
    let (l, n) = (S::LANES, c.cols);
    let zero = s.splat(0.0);
    let (mut a0, mut a1) = (zero, zero);
    let mut j = 0;
    // Pass 1: z and Σz. Pad lanes load 0 and add 0.
    while j < n {
        let k = (n - j).min(l);
        // SAFETY: j + k ≤ n.
        unsafe {
            let mut z = load_n(s, x.add(j), k, 0.0);
            if BIAS {
                z = s.add(z, load_n(s, c.bias.add(j), k, 0.0));
            }
            if RES {
                z = s.add(z, load_n(s, res.add(j), k, 0.0));
            }
            store_n(s, y.add(j), k, z);
            if (j / l) % 2 == 0 {
                a0 = s.add(a0, z);
            } else {
                a1 = s.add(a1, z);
            }
        }
        j += k;
    }
    let mean = s.reduce_add(s.add(a0, a1)) / n as f32;
    let mv = s.splat(mean);
    // Pass 2: Σ(z − μ)². Pad lanes load μ, so their term is 0.
    let (mut q0, mut q1) = (zero, zero);
    j = 0;
    while j < n {
        let k = (n - j).min(l);
        // SAFETY: j + k ≤ n.
        let d = s.sub(unsafe { load_n(s, y.add(j), k, mean) }, mv);
        if (j / l) % 2 == 0 {
            q0 = s.fma(d, d, q0);
        } else {
            q1 = s.fma(d, d, q1);
        }
        j += k;
    }
    let var = s.reduce_add(s.add(q0, q1)) / n as f32;
    let rstd = 1.0 / libm::sqrtf(var + c.eps);
    let rv = s.splat(rstd);
    // Pass 3: y = fma(z − μ, rstd·γ, β).
    j = 0;
    while j < n {
        let k = (n - j).min(l);
        // SAFETY: j + k ≤ n.
        unsafe {
            let d = s.sub(load_n(s, y.add(j), k, mean), mv);
            let g = s.mul(rv, load_n(s, c.gamma.add(j), k, 0.0));
            let o = s.fma(d, g, load_n(s, c.beta.add(j), k, 0.0));
            store_n(s, y.add(j), k, o);
        }
        j += k;
    }
}

/// Every row of a bias epilogue.
///
/// # Safety
/// As [`run_epilogue`](super::run_epilogue).
#[inline(always)]
pub(crate) unsafe fn epilogue_rows<S: SimdF32>(s: S, c: &EpiCall) {
    for r in 0..c.rows {
        // SAFETY: row r < rows of a validated call.
        unsafe {
            let x = c.x.add(r * c.rs);
            match (c.bias.is_null(), c.act) {
                (false, Activation::Gelu) => epi_row::<S, true, true>(s, c, x),
                (false, Activation::Identity) => epi_row::<S, true, false>(s, c, x),
                (true, Activation::Gelu) => epi_row::<S, false, true>(s, c, x),
                (true, Activation::Identity) => {}
            }
        }
    }
}

/// One epilogue row: `x ← act(x + b)`.
///
/// # Safety
/// `x` (and `c.bias` when `BIAS`) cover `c.cols` floats, disjoint.
#[inline(always)]
unsafe fn epi_row<S: SimdF32, const BIAS: bool, const GELU: bool>(s: S, c: &EpiCall, x: *mut f32) {
    let (l, n) = (S::LANES, c.cols);
    let mut j = 0;
    while j < n {
        let k = (n - j).min(l);
        // SAFETY: j + k ≤ n.
        unsafe {
            let mut v = load_n(s, x.add(j), k, 0.0);
            if BIAS {
                v = s.add(v, load_n(s, c.bias.add(j), k, 0.0));
            }
            if GELU {
                v = gelu(s, v);
            }
            store_n(s, x.add(j), k, v);
        }
        j += k;
    }
}
