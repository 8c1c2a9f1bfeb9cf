//! The one error type of huiyan: every kind of bad input, with the offending values.
//!
//! Both crates use it: `huiyan` re-exports it as `huiyan::Error`. Every fallible entry point
//! validates *all* of its input before it writes anything, so an `Err` always means the output
//! buffers are exactly as the caller left them.

use core::fmt;

use crate::isa::IsaId;

/// Which operand (argument) of an operation an [`Error`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operand {
    /// Left matmul input `A` (`m × k`).
    A,
    /// Right matmul input `B` (`k × n`).
    B,
    /// Matmul output `C` (`m × n`).
    C,
    /// Softmax input.
    X,
    /// Softmax output.
    Y,
    /// Attention queries `[B, Hq, Lq, dk]`.
    Q,
    /// Attention keys `[B, Hkv, Lk, dk]`.
    K,
    /// Attention values `[B, Hkv, Lk, dv]`.
    V,
    /// Attention output `[B, Hq, Lq, dv]`.
    O,
    /// Per-row logsumexp output.
    Lse,
    /// Boolean mask (true = attend).
    Mask,
    /// Additive bias.
    Bias,
    /// ALiBi slopes, one per query head.
    AlibiSlopes,
    /// Attention-sink logits, one per query head.
    Sinks,
    /// Key-padding lengths, one per batch entry.
    KeyPadding,
    /// Caller-provided scratch memory.
    Workspace,
    /// Query projection weight.
    Wq,
    /// Key projection weight.
    Wk,
    /// Value projection weight.
    Wv,
    /// Output projection weight.
    Wo,
    /// A projection bias vector.
    ProjBias,
    /// Layer input (query side).
    Input,
    /// Layer input (key/value side).
    Context,
    /// Returned attention weights.
    Weights,
    /// A learned pooling query vector.
    PoolQuery,
    /// A prepacked matmul operand ([`PackedB`](crate::gemm::PackedB)) or its storage.
    PackedB,
    /// Cumulative query offsets of a variable-length call (`cu_seqlens_q`).
    SeqOffsetsQ,
    /// Cumulative key offsets of a variable-length call (`cu_seqlens_k`).
    SeqOffsetsK,
    /// LayerNorm scale `γ`.
    Gamma,
    /// LayerNorm shift `β`.
    Beta,
    /// The residual added before a LayerNorm.
    Residual,
}

/// A named dimension, for [`Error::ZeroDim`] and [`Error::DimMismatch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dim {
    /// Matmul rows of `A` and `C`.
    M,
    /// Matmul columns of `B` and `C`.
    N,
    /// Matmul inner dimension.
    K,
    /// Matrix rows.
    Rows,
    /// Matrix columns.
    Cols,
    /// Batch size `B`.
    Batch,
    /// Query heads `Hq`.
    HeadsQ,
    /// Key/value heads `Hkv`.
    HeadsKv,
    /// Query length `Lq`.
    LenQ,
    /// Key/value length `Lk`.
    LenKv,
    /// Query/key head dimension `dk`.
    DimQk,
    /// Value head dimension `dv`.
    DimV,
    /// Model (embedding) dimension.
    Embed,
    /// Key input feature dimension.
    KeyIn,
    /// Value input feature dimension.
    ValueIn,
}

/// Every kind of bad input huiyan rejects. Each variant carries the offending values.
///
/// The contract of every fallible entry point: on `Err`, nothing was written.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A dimension is zero where the operation needs at least one element.
    ZeroDim {
        /// Which dimension.
        dim: Dim,
    },
    /// Computing an extent or element count overflowed `usize`.
    Overflow {
        /// The operand whose extent overflowed.
        operand: Operand,
    },
    /// A slice is shorter than its shape and strides address.
    SliceTooShort {
        /// Which operand.
        operand: Operand,
        /// Elements the shape and strides need (largest offset + 1).
        needed: usize,
        /// Elements the slice has.
        got: usize,
    },
    /// An output's memory overlaps an input's memory.
    Overlap {
        /// The output operand.
        output: Operand,
        /// The input operand it overlaps.
        input: Operand,
    },
    /// An output's strides map two different elements to one address.
    AliasingStrides {
        /// Which operand.
        operand: Operand,
        /// The strides given (outermost first; unused trailing entries are 0).
        strides: [usize; 4],
    },
    /// Two dimensions that must agree do not.
    DimMismatch {
        /// Which dimension.
        dim: Dim,
        /// What the other operands imply.
        expected: usize,
        /// What this operand has.
        got: usize,
    },
    /// The attention scale (or softmax scale) is zero, infinite or NaN.
    InvalidScale {
        /// The value given.
        scale: f32,
    },
    /// The logit softcap is not finite and positive.
    InvalidSoftcap {
        /// The value given.
        softcap: f32,
    },
    /// `Hq` is not a multiple of `Hkv` (grouped-query attention needs it).
    HeadsNotDivisible {
        /// Query heads.
        heads_q: usize,
        /// Key/value heads.
        heads_kv: usize,
    },
    /// A mask or bias is not broadcastable to `[B, Hq, Lq, Lk]` (softmax: `[rows, cols]`).
    BroadcastShape {
        /// Mask or bias.
        operand: Operand,
        /// The full shape it must broadcast to.
        expected: [usize; 4],
        /// The shape given.
        got: [usize; 4],
    },
    /// A key-padding length exceeds `Lk`.
    PaddingTooLong {
        /// The batch entry.
        batch: usize,
        /// The length given.
        len: usize,
        /// `Lk`.
        len_kv: usize,
    },
    /// A sliding window of 0 keys was requested (no key could ever be attended).
    ZeroWindow,
    /// The caller's workspace is smaller than the `*_workspace_len` function requires.
    WorkspaceTooSmall {
        /// Elements needed.
        needed: usize,
        /// Elements given.
        got: usize,
    },
    /// The operation needs unit stride along an operand's last axis.
    NonUnitStride {
        /// Which operand.
        operand: Operand,
        /// The stride given.
        stride: usize,
    },
    /// A dimension must be a multiple of another (e.g. embed dim of the head count).
    NotDivisible {
        /// The dimension.
        dim: Dim,
        /// Its value.
        value: usize,
        /// What it must be a multiple of.
        divisor: usize,
    },
    /// A requested materialisation exceeds its documented limit.
    TooLarge {
        /// What would be materialised.
        operand: Operand,
        /// Elements requested.
        elements: usize,
        /// The limit.
        limit: usize,
    },
    /// A prepacked operand was packed for another kernel table (another tier, or other block
    /// sizes): its panel layout is not the one these kernels read.
    PackedForOtherKernels {
        /// The prepacked operand.
        operand: Operand,
        /// The tier it was packed for.
        packed: IsaId,
        /// The tier of the kernels it was given to.
        kernels: IsaId,
    },
    /// An offset of a variable-length call is below the one before it, or past the packed
    /// tokens.
    BadOffset {
        /// [`Operand::SeqOffsetsQ`] or [`Operand::SeqOffsetsK`].
        operand: Operand,
        /// Position in the offsets.
        index: usize,
        /// The offset given.
        value: usize,
        /// The smallest it may be (the offset before it).
        min: usize,
        /// The largest it may be (the packed token count).
        max: usize,
    },
    /// An option with no per-sequence meaning was given to a variable-length call (a 4-d
    /// mask or bias, key-padding lengths: the offsets already say which keys exist).
    NotPerSequence {
        /// The option.
        operand: Operand,
    },
    /// A normalisation epsilon is not finite and positive.
    InvalidEpsilon {
        /// The value given.
        eps: f32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::ZeroDim { dim } => write!(f, "dimension {dim:?} is zero"),
            Error::Overflow { operand } => write!(f, "extent of {operand:?} overflows usize"),
            Error::SliceTooShort {
                operand,
                needed,
                got,
            } => {
                write!(f, "{operand:?} needs {needed} elements, slice has {got}")
            }
            Error::Overlap { output, input } => {
                write!(f, "output {output:?} overlaps input {input:?}")
            }
            Error::AliasingStrides { operand, strides } => {
                write!(
                    f,
                    "strides {strides:?} of {operand:?} map two elements to one address"
                )
            }
            Error::DimMismatch { dim, expected, got } => {
                write!(f, "dimension {dim:?}: expected {expected}, got {got}")
            }
            Error::InvalidScale { scale } => {
                write!(f, "scale {scale} is not finite and non-zero")
            }
            Error::InvalidSoftcap { softcap } => {
                write!(f, "softcap {softcap} is not finite and positive")
            }
            Error::HeadsNotDivisible { heads_q, heads_kv } => {
                write!(
                    f,
                    "{heads_q} query heads are not a multiple of {heads_kv} kv heads"
                )
            }
            Error::BroadcastShape {
                operand,
                expected,
                got,
            } => {
                write!(
                    f,
                    "{operand:?} shape {got:?} does not broadcast to {expected:?}"
                )
            }
            Error::PaddingTooLong { batch, len, len_kv } => {
                write!(
                    f,
                    "key-padding length {len} of batch {batch} exceeds Lk = {len_kv}"
                )
            }
            Error::ZeroWindow => write!(f, "sliding window of 0 keys"),
            Error::WorkspaceTooSmall { needed, got } => {
                write!(f, "workspace needs {needed} elements, got {got}")
            }
            Error::NonUnitStride { operand, stride } => {
                write!(
                    f,
                    "{operand:?} needs unit stride on its last axis, got {stride}"
                )
            }
            Error::NotDivisible {
                dim,
                value,
                divisor,
            } => {
                write!(f, "{dim:?} = {value} is not a multiple of {divisor}")
            }
            Error::BadOffset {
                operand,
                index,
                value,
                min,
                max,
            } => {
                write!(f, "{operand:?}[{index}] = {value} is outside {min}..={max}")
            }
            Error::NotPerSequence { operand } => {
                write!(
                    f,
                    "{operand:?} has no per-sequence meaning in a variable-length call"
                )
            }
            Error::InvalidEpsilon { eps } => {
                write!(f, "epsilon {eps} is not finite and positive")
            }
            Error::TooLarge {
                operand,
                elements,
                limit,
            } => {
                write!(
                    f,
                    "{operand:?} would hold {elements} elements, above the limit {limit}"
                )
            }
            Error::PackedForOtherKernels {
                operand,
                packed,
                kernels,
            } => {
                write!(
                    f,
                    "{operand:?} was packed for the {} kernels, not {}",
                    packed.name(),
                    kernels.name()
                )
            }
        }
    }
}

impl core::error::Error for Error {}
