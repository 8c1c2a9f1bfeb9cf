//! Memory layouts for generated operands: where each logical element lives.

/// A layout for a matrix operand: row- or column-major, with padding between rows (row-major)
/// or columns (column-major) so that the strides are not the dense ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// Column-major instead of row-major (an operand stored transposed).
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
    /// Dense column-major (a transposed operand).
    pub const COL: Layout = Layout {
        col_major: true,
        pad: 0,
    };
    /// The layouts named edge-case tests cycle through: dense row- and column-major, and each
    /// padded (by 3 and by 1) so that no stride is the dense one.
    pub const EDGES: [Layout; 4] = [
        Layout::ROW,
        Layout::COL,
        Layout {
            col_major: false,
            pad: 3,
        },
        Layout {
            col_major: true,
            pad: 1,
        },
    ];

    /// `(rs, cs, len)` for a `rows × cols` matrix: row stride, column stride, and the slice
    /// length that exactly covers it (`1 + (rows−1)·rs + (cols−1)·cs`, or 0 when empty).
    ///
    /// Row-major: `rs = cols + pad`, `cs = 1`. Column-major: `rs = 1`, `cs = rows + pad`.
    pub fn strides(self, rows: usize, cols: usize) -> (usize, usize, usize) {
        let (rs, cs) = if self.col_major {
            (1, rows + self.pad)
        } else {
            (cols + self.pad, 1)
        };
        let len = if rows == 0 || cols == 0 {
            0
        } else {
            1 + (rows - 1) * rs + (cols - 1) * cs
        };
        (rs, cs, len)
    }
}

/// Axis order of a 4-d attention operand in memory (its logical order is always
/// `[B, H, L, D]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Order4 {
    /// `[B, H, L, D]` in memory: PyTorch SDPA's layout.
    Bhsd,
    /// `[B, L, H, D]` in memory: heads interleaved, what a projection produces.
    Bshd,
}

/// A layout for a 4-d operand: axis order plus padding, so strides are not the dense ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout4 {
    /// Memory axis order.
    pub order: Order4,
    /// Extra elements after each `D`-row (the row pitch is `D + row_pad`).
    pub row_pad: usize,
    /// Extra elements between consecutive batch entries.
    pub batch_pad: usize,
}

impl Layout4 {
    /// Dense BHSD.
    pub const BHSD: Layout4 = Layout4 {
        order: Order4::Bhsd,
        row_pad: 0,
        batch_pad: 0,
    };
    /// Dense BSHD.
    pub const BSHD: Layout4 = Layout4 {
        order: Order4::Bshd,
        row_pad: 0,
        batch_pad: 0,
    };

    /// `(strides, len)` for logical dims `[B, H, L, D]`: the strides of the four logical axes
    /// and the slice length that exactly covers them (0 when any dim is 0).
    pub fn strides(self, dims: [usize; 4]) -> ([usize; 4], usize) {
        let [b, h, l, d] = dims;
        let pitch = d + self.row_pad;
        let strides = match self.order {
            Order4::Bhsd => [h * l * pitch + self.batch_pad, l * pitch, pitch, 1],
            Order4::Bshd => [l * h * pitch + self.batch_pad, pitch, h * pitch, 1],
        };
        let len = if dims.contains(&0) {
            0
        } else {
            1 + (0..4).map(|ax| (dims[ax] - 1) * strides[ax]).sum::<usize>()
        };
        let _ = b;
        (strides, len)
    }
}

/// Offset of logical element `idx` under `strides`.
pub fn offset4(idx: [usize; 4], strides: [usize; 4]) -> usize {
    (0..4).map(|ax| idx[ax] * strides[ax]).sum()
}

/// Copies a strided 4-d buffer into logical row-major `[B, H, L, D]` order.
pub fn gather4<T: Copy>(data: &[T], dims: [usize; 4], strides: [usize; 4]) -> Vec<T> {
    let mut out = Vec::with_capacity(dims.iter().product());
    for b in 0..dims[0] {
        for h in 0..dims[1] {
            for l in 0..dims[2] {
                for d in 0..dims[3] {
                    out.push(data[offset4([b, h, l, d], strides)]);
                }
            }
        }
    }
    out
}

/// Scatters logical row-major `[B, H, L, D]` values into a strided buffer of length `len`
/// whose gaps hold `fill`.
pub fn scatter4<T: Copy>(
    logical: &[T],
    dims: [usize; 4],
    strides: [usize; 4],
    len: usize,
    fill: T,
) -> Vec<T> {
    let mut out = vec![fill; len];
    let mut n = 0;
    for b in 0..dims[0] {
        for h in 0..dims[1] {
            for l in 0..dims[2] {
                for d in 0..dims[3] {
                    out[offset4([b, h, l, d], strides)] = logical[n];
                    n += 1;
                }
            }
        }
    }
    out
}

/// Copies a strided matrix into logical row-major order.
pub fn gather2<T: Copy>(data: &[T], rows: usize, cols: usize, rs: usize, cs: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            out.push(data[i * rs + j * cs]);
        }
    }
    out
}

/// Scatters logical row-major `rows × cols` values into a strided buffer of length `len`
/// whose gaps hold `fill`.
pub fn scatter2<T: Copy>(
    logical: &[T],
    (rows, cols): (usize, usize),
    (rs, cs, len): (usize, usize, usize),
    fill: T,
) -> Vec<T> {
    let mut out = vec![fill; len];
    for i in 0..rows {
        for j in 0..cols {
            out[i * rs + j * cs] = logical[i * cols + j];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_strides_by_hand() {
        // 2×3 row-major: rows of 3, last element at 1·3 + 2·1 = 5.
        assert_eq!(Layout::ROW.strides(2, 3), (3, 1, 6));
        // 2×3 column-major: columns of 2, last element at 1·1 + 2·2 = 5.
        assert_eq!(Layout::COL.strides(2, 3), (1, 2, 6));
        // Padded row-major: pitch 5, last element at 1·5 + 2 = 7 → len 8 (no trailing pad).
        let l = Layout {
            col_major: false,
            pad: 2,
        };
        assert_eq!(l.strides(2, 3), (5, 1, 8));
        // Padded column-major: pitch 3, last at 1 + 2·3 = 7 → len 8.
        let l = Layout {
            col_major: true,
            pad: 1,
        };
        assert_eq!(l.strides(2, 3), (1, 3, 8));
        // Empty matrices need no memory; a single row needs exactly its elements.
        assert_eq!(Layout::ROW.strides(0, 3).2, 0);
        assert_eq!(Layout::COL.strides(4, 0).2, 0);
        assert_eq!(l.strides(1, 1), (1, 2, 1));
    }

    #[test]
    fn matrix_strides_agree_with_kernels_extent() {
        for col_major in [false, true] {
            for pad in 0..3 {
                for rows in 0..5 {
                    for cols in 0..5 {
                        let (rs, cs, len) = Layout { col_major, pad }.strides(rows, cols);
                        let ext = huiyan_kernels::shape::extent(&[rows, cols], &[rs, cs]);
                        assert_eq!(ext, Some(len), "{col_major} {pad} {rows}×{cols}");
                    }
                }
            }
        }
    }

    #[test]
    fn tensor_strides_by_hand() {
        // Dense layouts match the kernels' own constructors.
        let dims = [2, 3, 4, 5];
        assert_eq!(
            Layout4::BHSD.strides(dims),
            (huiyan_kernels::view::bhsd_strides(dims), 120)
        );
        assert_eq!(
            Layout4::BSHD.strides(dims),
            (huiyan_kernels::view::bshd_strides(dims), 120)
        );
        // BSHD, pitch 5 + 1 = 6: head 6, seq 3·6 = 18, batch 4·18 + 7 = 79.
        let l = Layout4 {
            order: Order4::Bshd,
            row_pad: 1,
            batch_pad: 7,
        };
        let (s, len) = l.strides(dims);
        assert_eq!(s, [79, 6, 18, 1]);
        assert_eq!(len, 1 + 79 + 2 * 6 + 3 * 18 + 4);
        assert_eq!(l.strides([2, 3, 0, 5]).1, 0);
    }

    #[test]
    fn padded_tensor_layouts_are_injective_and_tight() {
        for order in [Order4::Bhsd, Order4::Bshd] {
            for (row_pad, batch_pad) in [(0, 0), (1, 0), (0, 3), (2, 5)] {
                let dims = [2, 3, 4, 3];
                let (s, len) = Layout4 {
                    order,
                    row_pad,
                    batch_pad,
                }
                .strides(dims);
                let mut seen = vec![false; len];
                let logical: Vec<usize> = (0..dims.iter().product()).collect();
                let buf = scatter4(&logical, dims, s, len, usize::MAX);
                for (n, &x) in gather4(&buf, dims, s).iter().enumerate() {
                    assert_eq!(x, n);
                }
                for b in 0..2 {
                    for h in 0..3 {
                        for l in 0..4 {
                            for d in 0..3 {
                                let o = offset4([b, h, l, d], s);
                                assert!(!seen[o], "two elements at offset {o}");
                                seen[o] = true;
                            }
                        }
                    }
                }
                assert!(seen[len - 1], "len is one past the last element");
            }
        }
    }
}
