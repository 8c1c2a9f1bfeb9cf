//! Owned test problems: buffers in their memory layout, plus shapes, strides and options.
//!
//! Each problem hands out the kernels' views (`a()`, `q()`, `options()`, …), fresh output
//! buffers filled with NaN (so an unwritten element fails the comparison, and
//! [`assert_gaps_untouched`] can prove the padding was not written), the reference answer in
//! logical row-major order, and the error bounds of [`crate::tol`] for that answer.

use huiyan_kernels::attention::{AttentionOptions, CausalVariant};
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{reference, MatMut, MatRef, Tensor4Mut, Tensor4Ref};

use crate::layout::{gather2, gather4, offset4, scatter2, scatter4, Layout, Layout4};
use crate::tol;

/// `C ← α·A·B + β·C₀` with every operand in its own [`Layout`].
#[derive(Clone, Debug)]
pub struct GemmProblem {
    /// Rows of `A` and `C`.
    pub m: usize,
    /// Columns of `B` and `C`.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// α.
    pub alpha: f32,
    /// β. When it is 0, `c0` is NaN-filled: the contract says `C` is never read.
    pub beta: f32,
    /// `A` (`m × k`) in `a_layout`.
    pub a: Vec<f32>,
    /// Layout of `A`.
    pub a_layout: Layout,
    /// `B` (`k × n`) in `b_layout`.
    pub b: Vec<f32>,
    /// Layout of `B`.
    pub b_layout: Layout,
    /// The initial `C` (`m × n`) in `c_layout`, padding gaps included.
    pub c0: Vec<f32>,
    /// Layout of `C`.
    pub c_layout: Layout,
    /// The bias row vector (`n` elements) added to every row of `C`, if any
    /// ([`with_bias`](Self::with_bias)).
    pub bias: Option<Vec<f32>>,
}

impl GemmProblem {
    /// A problem from logical row-major `a` (`m × k`), `b` (`k × n`) and `c0` (`m × n`; ignored
    /// and replaced by NaN when `beta == 0`), laid out as asked. Padding gaps hold NaN.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        (m, n, k): (usize, usize, usize),
        alpha: f32,
        beta: f32,
        a: &[f32],
        b: &[f32],
        c0: &[f32],
        [a_layout, b_layout, c_layout]: [Layout; 3],
    ) -> Self {
        let nan_c;
        let c0 = if beta == 0.0 {
            nan_c = vec![f32::NAN; m * n];
            &nan_c[..]
        } else {
            c0
        };
        GemmProblem {
            m,
            n,
            k,
            alpha,
            beta,
            a: scatter2(a, (m, k), a_layout.strides(m, k), f32::NAN),
            a_layout,
            b: scatter2(b, (k, n), b_layout.strides(k, n), f32::NAN),
            b_layout,
            c0: scatter2(c0, (m, n), c_layout.strides(m, n), f32::NAN),
            c_layout,
            bias: None,
        }
    }

    /// The same problem with a bias row vector of `n` elements: `C ← α·A·B + β·C + bias`.
    pub fn with_bias(self, bias: Vec<f32>) -> Self {
        assert_eq!(bias.len(), self.n, "GemmProblem: a bias has n elements");
        GemmProblem {
            bias: Some(bias),
            ..self
        }
    }

    /// The `A` view.
    pub fn a(&self) -> MatRef<'_> {
        let (rs, cs, _) = self.a_layout.strides(self.m, self.k);
        MatRef::new(&self.a, self.m, self.k, rs, cs)
    }

    /// The `B` view.
    pub fn b(&self) -> MatRef<'_> {
        let (rs, cs, _) = self.b_layout.strides(self.k, self.n);
        MatRef::new(&self.b, self.k, self.n, rs, cs)
    }

    /// A fresh output buffer: a copy of `c0` (gaps NaN).
    pub fn new_c(&self) -> Vec<f32> {
        self.c0.clone()
    }

    /// The `C` view of a buffer from [`new_c`](Self::new_c).
    pub fn c_view<'a>(&self, buf: &'a mut [f32]) -> MatMut<'a> {
        let (rs, cs, _) = self.c_layout.strides(self.m, self.n);
        MatMut::new(buf, self.m, self.n, rs, cs)
    }

    /// `C` in logical row-major order.
    pub fn gather_c(&self, buf: &[f32]) -> Vec<f32> {
        let (rs, cs, _) = self.c_layout.strides(self.m, self.n);
        gather2(buf, self.m, self.n, rs, cs)
    }

    /// The reference answer, logical row-major `m × n`.
    pub fn reference(&self) -> Vec<f32> {
        let mut c = self.new_c();
        reference::matmul_bias(
            self.alpha,
            self.a(),
            self.b(),
            self.beta,
            self.c_view(&mut c),
            self.bias.as_deref(),
        )
        .expect("GemmProblem: invalid problem");
        self.gather_c(&c)
    }

    /// [`tol::gemm_bias_bounds`] for this problem, logical row-major.
    pub fn bounds(&self) -> Vec<f64> {
        let (rs, cs, _) = self.c_layout.strides(self.m, self.n);
        let c0 = MatRef::new(&self.c0, self.m, self.n, rs, cs);
        let bias = self.bias.as_deref();
        tol::gemm_bias_bounds(self.alpha, self.a(), self.b(), self.beta, Some(c0), bias)
    }

    /// Panics unless every padding gap of `buf` still holds what `c0` held there.
    #[track_caller]
    pub fn assert_c_gaps_untouched(&self, buf: &[f32]) {
        let (rs, cs, _) = self.c_layout.strides(self.m, self.n);
        let mut used = vec![false; buf.len()];
        for i in 0..self.m {
            for j in 0..self.n {
                used[i * rs + j * cs] = true;
            }
        }
        assert_gaps_untouched(buf, &self.c0, &used, "C");
    }
}

/// A broadcastable mask or bias: `rows × cols` (each 1 or the full size), rows contiguous.
#[derive(Clone, Debug)]
pub struct Bcast2<T> {
    /// Row-major data with row pitch `rs`.
    pub data: Vec<T>,
    /// Rows (1 = broadcast over rows).
    pub rows: usize,
    /// Columns (1 = broadcast over columns).
    pub cols: usize,
    /// Row stride (≥ `cols`).
    pub rs: usize,
}

impl<T> Bcast2<T> {
    /// The view.
    pub fn view(&self) -> MatRef<'_, T> {
        MatRef::new(&self.data, self.rows, self.cols, self.rs, 1)
    }
}

/// A row softmax problem: `x` is `rows × cols` with unit column stride and row pitch
/// `cols + x_pad`; the output uses row pitch `cols + y_pad`.
#[derive(Clone, Debug)]
pub struct SoftmaxProblem {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Input with gaps (NaN in the gaps).
    pub x: Vec<f32>,
    /// Extra elements between input rows.
    pub x_pad: usize,
    /// Extra elements between output rows.
    pub y_pad: usize,
    /// Scale (finite, non-zero).
    pub scale: f32,
    /// Boolean mask, true = attend.
    pub mask: Option<Bcast2<bool>>,
    /// Additive bias.
    pub bias: Option<Bcast2<f32>>,
    /// Log-softmax.
    pub log: bool,
    /// Whether the test asks for the per-row logsumexp.
    pub want_lse: bool,
}

impl SoftmaxProblem {
    /// Plain softmax of logical row-major `x` (`rows × cols`), dense, scale 1, no mask/bias.
    pub fn new(rows: usize, cols: usize, x: &[f32]) -> Self {
        SoftmaxProblem {
            rows,
            cols,
            x: x.to_vec(),
            x_pad: 0,
            y_pad: 0,
            scale: 1.0,
            mask: None,
            bias: None,
            log: false,
            want_lse: true,
        }
    }

    /// The input view.
    pub fn x(&self) -> MatRef<'_> {
        MatRef::new(&self.x, self.rows, self.cols, self.cols + self.x_pad, 1)
    }

    /// The options (borrowing the mask and bias).
    pub fn options(&self) -> SoftmaxOptions<'_> {
        SoftmaxOptions {
            scale: self.scale,
            mask: self.mask.as_ref().map(Bcast2::view),
            bias: self.bias.as_ref().map(Bcast2::view),
            log: self.log,
        }
    }

    /// A fresh NaN-filled output buffer.
    pub fn new_output(&self) -> Vec<f32> {
        let len = Layout {
            col_major: false,
            pad: self.y_pad,
        }
        .strides(self.rows, self.cols)
        .2;
        vec![f32::NAN; len]
    }

    /// The output view of a buffer from [`new_output`](Self::new_output).
    pub fn y_view<'a>(&self, buf: &'a mut [f32]) -> MatMut<'a> {
        MatMut::new(buf, self.rows, self.cols, self.cols + self.y_pad, 1)
    }

    /// A NaN-filled lse buffer when [`want_lse`](Self::want_lse).
    pub fn new_lse(&self) -> Option<Vec<f32>> {
        self.want_lse.then(|| vec![f32::NAN; self.rows])
    }

    /// The output in logical row-major order.
    pub fn gather_y(&self, buf: &[f32]) -> Vec<f32> {
        gather2(buf, self.rows, self.cols, self.cols + self.y_pad, 1)
    }

    /// The reference `(y, lse)`, `y` logical row-major; `lse` always computed.
    pub fn reference(&self) -> (Vec<f32>, Vec<f32>) {
        let mut y = self.new_output();
        let mut lse = vec![0.0f32; self.rows];
        reference::softmax(
            self.x(),
            self.y_view(&mut y),
            &self.options(),
            Some(&mut lse),
        )
        .expect("SoftmaxProblem: invalid problem");
        (self.gather_y(&y), lse)
    }

    /// [`tol::softmax_bounds`] for this problem: `(y, lse)`.
    pub fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        tol::softmax_bounds(self.x(), &self.options())
    }

    /// Panics unless the padding gaps of an output buffer are still NaN.
    #[track_caller]
    pub fn assert_y_gaps_untouched(&self, buf: &[f32]) {
        let mut used = vec![false; buf.len()];
        for r in 0..self.rows {
            for c in 0..self.cols {
                used[r * (self.cols + self.y_pad) + c] = true;
            }
        }
        assert_gaps_untouched(buf, &self.new_output(), &used, "Y");
    }
}

/// A broadcastable 4-d mask or bias, `dims` each 1 or the full size of `[B, Hq, Lq, Lk]`.
#[derive(Clone, Debug)]
pub struct Bcast4<T> {
    /// Data in the layout `strides` describe.
    pub data: Vec<T>,
    /// Logical dims.
    pub dims: [usize; 4],
    /// Element strides (a broadcast axis may have any stride; we use dense ones).
    pub strides: [usize; 4],
}

impl<T: Copy> Bcast4<T> {
    /// A dense BHSD-ordered operand from logical row-major values.
    pub fn dense(dims: [usize; 4], logical: &[T]) -> Self {
        assert_eq!(logical.len(), dims.iter().product::<usize>());
        Bcast4 {
            data: logical.to_vec(),
            dims,
            strides: huiyan_kernels::view::bhsd_strides(dims),
        }
    }

    /// The view.
    pub fn view(&self) -> Tensor4Ref<'_, T> {
        Tensor4Ref::new(&self.data, self.dims, self.strides)
    }

    /// Element at full index `[b, h, i, j]` (broadcast axes read index 0).
    pub fn at(&self, idx: [usize; 4]) -> T {
        let idx = core::array::from_fn(|ax| if self.dims[ax] == 1 { 0 } else { idx[ax] });
        self.data[offset4(idx, self.strides)]
    }
}

/// Shape of an attention problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttnShape {
    /// Batch `B`.
    pub batch: usize,
    /// Query heads `Hq` (a multiple of `heads_kv`).
    pub heads_q: usize,
    /// Key/value heads `Hkv`.
    pub heads_kv: usize,
    /// Query length `Lq`.
    pub len_q: usize,
    /// Key/value length `Lk`.
    pub len_kv: usize,
    /// Query/key head dim `dk`.
    pub dim_qk: usize,
    /// Value head dim `dv`.
    pub dim_v: usize,
}

impl AttnShape {
    /// Logical dims of Q.
    pub fn q_dims(&self) -> [usize; 4] {
        [self.batch, self.heads_q, self.len_q, self.dim_qk]
    }
    /// Logical dims of K.
    pub fn k_dims(&self) -> [usize; 4] {
        [self.batch, self.heads_kv, self.len_kv, self.dim_qk]
    }
    /// Logical dims of V.
    pub fn v_dims(&self) -> [usize; 4] {
        [self.batch, self.heads_kv, self.len_kv, self.dim_v]
    }
    /// Logical dims of O.
    pub fn o_dims(&self) -> [usize; 4] {
        [self.batch, self.heads_q, self.len_q, self.dim_v]
    }
    /// The full mask/bias shape `[B, Hq, Lq, Lk]`.
    pub fn score_dims(&self) -> [usize; 4] {
        [self.batch, self.heads_q, self.len_q, self.len_kv]
    }
}

/// An attention problem with every option of the contract. Q, K, V live in their own
/// [`Layout4`]s (gaps hold NaN); O's layout is `o_layout`.
#[derive(Clone, Debug)]
pub struct AttnProblem {
    /// Shape.
    pub shape: AttnShape,
    /// Q in `q_layout`.
    pub q: Vec<f32>,
    /// Layout of Q.
    pub q_layout: Layout4,
    /// K in `k_layout`.
    pub k: Vec<f32>,
    /// Layout of K.
    pub k_layout: Layout4,
    /// V in `v_layout`.
    pub v: Vec<f32>,
    /// Layout of V.
    pub v_layout: Layout4,
    /// Layout of O.
    pub o_layout: Layout4,
    /// `AttentionOptions::scale`.
    pub scale: Option<f32>,
    /// `AttentionOptions::is_causal`.
    pub is_causal: bool,
    /// `AttentionOptions::causal_variant`.
    pub causal_variant: CausalVariant,
    /// `AttentionOptions::key_padding_lens` (one per batch).
    pub key_padding_lens: Option<Vec<usize>>,
    /// `AttentionOptions::window`.
    pub window: Option<usize>,
    /// `AttentionOptions::attn_mask`.
    pub attn_mask: Option<Bcast4<bool>>,
    /// `AttentionOptions::attn_bias`.
    pub attn_bias: Option<Bcast4<f32>>,
    /// `AttentionOptions::alibi_slopes` (one per query head).
    pub alibi_slopes: Option<Vec<f32>>,
    /// `AttentionOptions::softcap`.
    pub softcap: Option<f32>,
    /// `AttentionOptions::sinks` (one per query head).
    pub sinks: Option<Vec<f32>>,
    /// Whether the test asks for the logsumexp output.
    pub want_lse: bool,
}

impl AttnProblem {
    /// Plain attention of logical row-major (BHSD) `q`, `k`, `v`, all dense BHSD, default
    /// options. Set the public fields for the rest, or [`relayout`](Self::relayout).
    pub fn new(shape: AttnShape, q: &[f32], k: &[f32], v: &[f32]) -> Self {
        let dense = |dims: [usize; 4], x: &[f32]| {
            assert_eq!(x.len(), dims.iter().product::<usize>(), "{dims:?}");
            x.to_vec()
        };
        AttnProblem {
            shape,
            q: dense(shape.q_dims(), q),
            q_layout: Layout4::BHSD,
            k: dense(shape.k_dims(), k),
            k_layout: Layout4::BHSD,
            v: dense(shape.v_dims(), v),
            v_layout: Layout4::BHSD,
            o_layout: Layout4::BHSD,
            scale: None,
            is_causal: false,
            causal_variant: CausalVariant::UpperLeft,
            key_padding_lens: None,
            window: None,
            attn_mask: None,
            attn_bias: None,
            alibi_slopes: None,
            softcap: None,
            sinks: None,
            want_lse: true,
        }
    }

    /// The same problem with Q, K, V, O in other layouts (values moved, gaps NaN).
    pub fn relayout(&self, [ql, kl, vl, ol]: [Layout4; 4]) -> Self {
        let s = self.shape;
        let mv = |data: &[f32], dims, from: Layout4, to: Layout4| {
            let logical = gather4(data, dims, from.strides(dims).0);
            let (st, len) = to.strides(dims);
            scatter4(&logical, dims, st, len, f32::NAN)
        };
        AttnProblem {
            q: mv(&self.q, s.q_dims(), self.q_layout, ql),
            q_layout: ql,
            k: mv(&self.k, s.k_dims(), self.k_layout, kl),
            k_layout: kl,
            v: mv(&self.v, s.v_dims(), self.v_layout, vl),
            v_layout: vl,
            o_layout: ol,
            ..self.clone()
        }
    }

    /// The Q view.
    pub fn q(&self) -> Tensor4Ref<'_> {
        let d = self.shape.q_dims();
        Tensor4Ref::new(&self.q, d, self.q_layout.strides(d).0)
    }
    /// The K view.
    pub fn k(&self) -> Tensor4Ref<'_> {
        let d = self.shape.k_dims();
        Tensor4Ref::new(&self.k, d, self.k_layout.strides(d).0)
    }
    /// The V view.
    pub fn v(&self) -> Tensor4Ref<'_> {
        let d = self.shape.v_dims();
        Tensor4Ref::new(&self.v, d, self.v_layout.strides(d).0)
    }

    /// The options, borrowing this problem's buffers.
    pub fn options(&self) -> AttentionOptions<'_> {
        AttentionOptions {
            scale: self.scale,
            is_causal: self.is_causal,
            causal_variant: self.causal_variant,
            key_padding_lens: self.key_padding_lens.as_deref(),
            window: self.window,
            attn_mask: self.attn_mask.as_ref().map(Bcast4::view),
            attn_bias: self.attn_bias.as_ref().map(Bcast4::view),
            alibi_slopes: self.alibi_slopes.as_deref(),
            softcap: self.softcap,
            sinks: self.sinks.as_deref(),
        }
    }

    /// A fresh NaN-filled O buffer in `o_layout`.
    pub fn new_output(&self) -> Vec<f32> {
        vec![f32::NAN; self.o_layout.strides(self.shape.o_dims()).1]
    }

    /// The O view of a buffer from [`new_output`](Self::new_output).
    pub fn o_view<'a>(&self, buf: &'a mut [f32]) -> Tensor4Mut<'a> {
        let d = self.shape.o_dims();
        Tensor4Mut::new(buf, d, self.o_layout.strides(d).0)
    }

    /// A NaN-filled lse buffer (`B·Hq·Lq`) when [`want_lse`](Self::want_lse).
    pub fn new_lse(&self) -> Option<Vec<f32>> {
        let s = self.shape;
        self.want_lse
            .then(|| vec![f32::NAN; s.batch * s.heads_q * s.len_q])
    }

    /// O in logical `[B, Hq, Lq, dv]` row-major order.
    pub fn gather_o(&self, buf: &[f32]) -> Vec<f32> {
        let d = self.shape.o_dims();
        gather4(buf, d, self.o_layout.strides(d).0)
    }

    /// The reference `(O, lse)`: O logical, lse when [`want_lse`](Self::want_lse).
    pub fn reference(&self) -> (Vec<f32>, Option<Vec<f32>>) {
        let mut o = self.new_output();
        let mut lse = self.new_lse();
        reference::attention(
            self.q(),
            self.k(),
            self.v(),
            self.o_view(&mut o),
            &self.options(),
            lse.as_deref_mut(),
        )
        .expect("AttnProblem: invalid problem");
        (self.gather_o(&o), lse)
    }

    /// [`tol::attention_bounds`] for this problem: `(O logical, lse)`.
    pub fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        tol::attention_bounds(self.q(), self.k(), self.v(), &self.options())
    }

    /// Keys `j ≥ key_padding_lens[b]` are masked for every query: writes NaN into their K and
    /// V rows. The contract says masked keys are skipped, so O must not change.
    pub fn poison_padded_keys(&mut self) {
        let Some(lens) = self.key_padding_lens.clone() else {
            return;
        };
        let s = self.shape;
        let (ks, _) = self.k_layout.strides(s.k_dims());
        let (vs, _) = self.v_layout.strides(s.v_dims());
        for (b, &len) in lens.iter().enumerate().take(s.batch) {
            for h in 0..s.heads_kv {
                for j in len..s.len_kv {
                    for e in 0..s.dim_qk {
                        self.k[offset4([b, h, j, e], ks)] = f32::NAN;
                    }
                    for e in 0..s.dim_v {
                        self.v[offset4([b, h, j, e], vs)] = f32::NAN;
                    }
                }
            }
        }
    }

    /// Panics unless the padding gaps of an O buffer are still NaN.
    #[track_caller]
    pub fn assert_o_gaps_untouched(&self, buf: &[f32]) {
        let d = self.shape.o_dims();
        let st = self.o_layout.strides(d).0;
        let mut used = vec![false; buf.len()];
        for b in 0..d[0] {
            for h in 0..d[1] {
                for i in 0..d[2] {
                    for e in 0..d[3] {
                        used[offset4([b, h, i, e], st)] = true;
                    }
                }
            }
        }
        assert_gaps_untouched(buf, &self.new_output(), &used, "O");
    }
}

/// Panics unless `buf[i]` has the bits of `orig[i]` wherever `used[i]` is false.
#[track_caller]
pub fn assert_gaps_untouched(buf: &[f32], orig: &[f32], used: &[bool], what: &str) {
    for i in 0..buf.len() {
        if !used[i] {
            assert_eq!(
                buf[i].to_bits(),
                orig[i].to_bits(),
                "{what}: padding element {i} was written"
            );
        }
    }
}
