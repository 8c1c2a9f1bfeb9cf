use crate::error::Error;
use crate::options::SoftmaxOptions;
use crate::shape::check_softmax;
use crate::view::{MatMut, MatRef};

/// Reference row softmax of `x` into `y` (contract: [`crate::softmax`]), in `f64`.
///
/// Writes the row's logsumexp into `lse[r]` when `lse` is given.
///
/// Per row: the logits are formed in `f32` exactly as the contract says
/// (`fl(fl(scale·x) + bias)`, two roundings, no fused multiply-add); then, in `f64`,
/// `m = max t`, `Σ = Σ exp(t − m)` (so `1 ≤ Σ ≤ cols`), `y = exp(t − m) / Σ`,
/// log-softmax `y = (t − m) − ln Σ`, `lse = m + ln Σ`. Outputs are never formed as
/// `exp(t − lse)`: for `|m| ≳ 1e16` the sum `m + ln Σ` rounds back to `m` and would lose `Σ`.
///
/// ```
/// use huiyan_kernels::{reference, softmax::SoftmaxOptions, MatMut, MatRef};
/// let x = [0.0f32, 0.0, f32::NEG_INFINITY];
/// let mut y = [9.0f32; 3];
/// let mut lse = [0.0f32];
/// reference::softmax(MatRef::row_major(&x, 1, 3), MatMut::row_major(&mut y, 1, 3),
///                    &SoftmaxOptions::default(), Some(&mut lse)).unwrap();
/// assert_eq!(y, [0.5, 0.5, 0.0]);
/// assert_eq!(lse[0], 2f32.ln());
/// ```
pub fn softmax(
    x: MatRef<'_>,
    y: MatMut<'_>,
    opts: &SoftmaxOptions<'_>,
    mut lse: Option<&mut [f32]>,
) -> Result<(), Error> {
    let (rows, cols) = check_softmax(&x, Some(&y), opts, lse.as_deref())?;
    for r in 0..rows {
        // The logit of column j, formed in f32 as the contract says; None = does not take
        // part (masked, or −∞).
        let logit = |j: usize| -> Option<f32> {
            if let Some(m) = &opts.mask {
                let (mr, mc) = (
                    if m.rows == 1 { 0 } else { r },
                    if m.cols == 1 { 0 } else { j },
                );
                // `get` cannot fail: check_softmax proved the broadcast shape and extent.
                if !*m.get(mr, mc)? {
                    return None;
                }
            }
            // SAFETY: check_softmax proved (r, j) inside x.
            let xv = unsafe { *x.ptr.add(r * x.rs + j * x.cs) };
            let mut t = opts.scale * xv;
            if let Some(b) = &opts.bias {
                let (br, bc) = (
                    if b.rows == 1 { 0 } else { r },
                    if b.cols == 1 { 0 } else { j },
                );
                t += *b.get(br, bc)?;
            }
            if t == f32::NEG_INFINITY {
                None
            } else {
                Some(t)
            }
        };
        // Pass 1: the max, and whether a NaN or +∞ takes part (→ the row is NaN).
        let mut max = f64::NEG_INFINITY;
        let mut nan = false;
        for j in 0..cols {
            if let Some(t) = logit(j) {
                nan |= t.is_nan() || t == f32::INFINITY;
                max = max.max(t as f64);
            }
        }
        if nan {
            max = f64::NAN;
        }
        // Pass 2: the normaliser Σ exp(t − m) (≥ 1 when the row is finite).
        let mut sum = 0.0f64;
        for j in 0..cols {
            if let Some(t) = logit(j) {
                sum += libm::exp(t as f64 - max);
            }
        }
        let row_lse = if max == f64::NEG_INFINITY {
            f64::NEG_INFINITY // no entry takes part
        } else {
            max + libm::log(sum) // NaN when the row is NaN
        };
        // Pass 3: the outputs.
        for j in 0..cols {
            let out = match logit(j) {
                None if opts.log => f64::NEG_INFINITY,
                None => 0.0,
                Some(t) if opts.log => (t as f64 - max) - libm::log(sum),
                Some(t) => libm::exp(t as f64 - max) / sum,
            };
            // SAFETY: check_softmax proved (r, j) inside y, y disjoint from every input.
            unsafe { *y.ptr.add(r * y.rs + j * y.cs) = out as f32 };
        }
        if let Some(l) = lse.as_deref_mut() {
            l[r] = row_lse as f32;
        }
    }
    Ok(())
}
