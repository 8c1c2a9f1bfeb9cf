//! Attention pooling (the seed article's "pointwise attention"): a learned query vector
//! attends over a sequence and pools it to one vector.

use huiyan_kernels::attention::AttentionOptions;
use huiyan_kernels::shape::product;
use huiyan_kernels::{Dim, Error, Operand, Tensor4Mut, Tensor4Ref};

/// Pools `[B, L, E]` sequences to `[B, E]`: `out[b] = Σⱼ softmax(scale·q·xⱼ)·xⱼ` over the first
/// `lens[b]` positions (all `L` when `lens` is `None`), with `scale = 1/√E` by default.
///
/// A sequence of length 0 pools to the zero vector (a fully masked row, as in attention).
///
/// ```
/// use huiyan::AttentionPool;
/// let pool = AttentionPool::new(vec![1.0, 0.0])?; // E = 2: prefers large first features
/// let x = [10.0f32, 0.0, 0.0, 1.0]; // B = 1, L = 2
/// let mut out = [0.0f32; 2];
/// pool.forward(&x, 1, 2, None, &mut out)?;
/// assert!(out[0] > 9.9 && out[1] < 0.01);
/// # Ok::<(), huiyan::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AttentionPool {
    query: Vec<f32>,
    scale: Option<f32>,
}

impl AttentionPool {
    /// A pool with the learned query vector `query` (its length is `E`).
    ///
    /// ```
    /// use huiyan::{AttentionPool, Dim, Error};
    /// assert!(AttentionPool::new(vec![0.5; 16]).is_ok());
    /// assert_eq!(AttentionPool::new(vec![]).unwrap_err(), Error::ZeroDim { dim: Dim::Embed });
    /// ```
    pub fn new(query: Vec<f32>) -> Result<Self, Error> {
        if query.is_empty() {
            return Err(Error::ZeroDim { dim: Dim::Embed });
        }
        Ok(AttentionPool { query, scale: None })
    }

    /// Overrides the default `1/√E` scale (finite, non-zero; checked at `forward`).
    ///
    /// ```
    /// use huiyan::AttentionPool;
    /// let x = [1.0f32, 0.0, 0.0, 1.0]; // B = 1, L = 2, E = 2
    /// let mut out = [0.0f32; 2];
    /// // A tiny scale flattens the softmax: the pool approaches the plain mean.
    /// let pool = AttentionPool::new(vec![1.0, 0.0])?.with_scale(1e-6);
    /// pool.forward(&x, 1, 2, None, &mut out)?;
    /// assert!((out[0] - 0.5).abs() < 1e-4 && (out[1] - 0.5).abs() < 1e-4);
    /// // A zero scale is refused at `forward`, leaving `out` as it was.
    /// let bad = AttentionPool::new(vec![1.0, 0.0])?.with_scale(0.0);
    /// assert!(bad.forward(&x, 1, 2, None, &mut out).is_err());
    /// assert!((out[0] - 0.5).abs() < 1e-4);
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn with_scale(self, scale: f32) -> Self {
        AttentionPool {
            scale: Some(scale),
            ..self
        }
    }

    /// Pools `x` (`[batch, len, E]`) into `out` (`[batch, E]`); `lens` gives each sequence's
    /// valid length (≤ `len`). On `Err`, `out` is untouched.
    ///
    /// ```
    /// use huiyan::AttentionPool;
    /// let pool = AttentionPool::new(vec![0.0, 0.0])?; // a zero query: plain average
    /// // B = 2 sequences of L = 3 positions, E = 2; the second has only 1 valid position.
    /// let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, /* batch 1: */ 7.0, 8.0, 0.0, 0.0, 0.0, 0.0];
    /// let mut out = [0.0f32; 4];
    /// pool.forward(&x, 2, 3, Some(&[3, 1]), &mut out)?;
    /// let want = [3.0, 4.0, 7.0, 8.0];
    /// assert!(out.iter().zip(want).all(|(o, w)| (o - w).abs() < 1e-5));
    /// // A length above L is an error.
    /// assert!(pool.forward(&x, 2, 3, Some(&[4, 1]), &mut out).is_err());
    /// # Ok::<(), huiyan::Error>(())
    /// ```
    pub fn forward(
        &self,
        x: &[f32],
        batch: usize,
        len: usize,
        lens: Option<&[usize]>,
        out: &mut [f32],
    ) -> Result<(), Error> {
        let e = self.query.len();
        let n = product(&[batch, len, e]).ok_or(Error::Overflow {
            operand: Operand::Input,
        })?;
        if x.len() < n {
            return Err(Error::SliceTooShort {
                operand: Operand::Input,
                needed: n,
                got: x.len(),
            });
        }
        // The query is shared by every batch entry: stride 0 on the batch axis.
        let q = Tensor4Ref::new(&self.query, [batch, 1, 1, e], [0, e, e, 1]);
        let xs = Tensor4Ref::bhsd(&x[..n], [batch, 1, len, e]);
        let opts = AttentionOptions {
            scale: self.scale,
            key_padding_lens: lens,
            ..Default::default()
        };
        crate::attention(
            q,
            xs,
            xs,
            Tensor4Mut::bhsd(out, [batch, 1, 1, e]),
            &opts,
            None,
        )
    }
}
