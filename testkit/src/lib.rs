//! Test support shared by huiyan's kernel, API and fuzz tests: the tolerances (stated once, in
//! [`tol`]), [`assert_close`], and proptest strategies for shapes, strides and values.
//!
//! Every test that compares a fast kernel with `huiyan_kernels::reference` uses these, so a
//! tolerance is never invented at the call site.

pub mod strategies;
pub mod tol;

/// A layout for a matrix operand: row-major or column-major, with padding between rows
/// (columns) so that strides are not the dense ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Column-major instead of row-major (a transposed operand).
    pub col_major: bool,
    /// Extra elements between consecutive rows (row-major) or columns (column-major).
    pub pad: usize,
}

impl Layout {
    /// Dense row-major.
    pub const ROW: Layout = Layout {
        col_major: false,
        pad: 0,
    };

    /// `(rs, cs, len)` for a `rows × cols` matrix in this layout.
    pub fn strides(self, rows: usize, cols: usize) -> (usize, usize, usize) {
        if self.col_major {
            let cs = rows + self.pad;
            (1, cs, if cols == 0 { 0 } else { (cols - 1) * cs + rows })
        } else {
            let rs = cols + self.pad;
            (rs, 1, if rows == 0 { 0 } else { (rows - 1) * rs + cols })
        }
    }
}

/// Asserts `got[i]` is within `bound(i)` of `want[i]` for every `i`.
///
/// Non-finite values must match exactly in kind: NaN where the reference has NaN, the same
/// infinity where it has an infinity. On failure, reports the worst element, its index and the
/// context string.
#[track_caller]
pub fn assert_close(got: &[f32], want: &[f32], bound: impl Fn(usize) -> f64, context: &str) {
    assert_eq!(got.len(), want.len(), "{context}: length differs");
    let mut worst: Option<(usize, f64, f64)> = None;
    for i in 0..got.len() {
        let (g, w) = (got[i], want[i]);
        if w.is_nan() || g.is_nan() {
            assert!(
                w.is_nan() && g.is_nan(),
                "{context}: element {i}: got {g}, want {w} (NaN must match NaN)"
            );
            continue;
        }
        if w.is_infinite() || g.is_infinite() {
            assert_eq!(g, w, "{context}: element {i}: infinities must match");
            continue;
        }
        let err = (g as f64 - w as f64).abs();
        let b = bound(i);
        if err > b && worst.is_none_or(|(_, e, bb)| err / b > e / bb) {
            worst = Some((i, err, b));
        }
    }
    if let Some((i, err, b)) = worst {
        panic!(
            "{context}: element {i}: got {}, want {}, |error| {err:e} > bound {b:e}",
            got[i], want[i]
        );
    }
}

/// Distance in units in the last place of `f32` between `got` and the exact value `want`
/// (the spacing of f32 numbers at `want`'s magnitude; subnormal spacing below the normal range).
pub fn ulp_error(got: f32, want: f64) -> f64 {
    if got as f64 == want {
        return 0.0;
    }
    let a = want.abs().max(f32::MIN_POSITIVE as f64);
    // Spacing of f32 in the binade of `a`: 2^(exponent − 23).
    let exp = a.log2().floor();
    let ulp = 2f64.powf(exp - 23.0);
    (got as f64 - want).abs() / ulp
}
