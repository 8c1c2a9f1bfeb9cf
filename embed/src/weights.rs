//! Reading `model.safetensors` tensor by tensor, straight into `f32` vectors (`F32`, or `BF16`
//! and `F16` widened exactly): the header is parsed with the `safetensors` crate, each tensor's
//! bytes are read from the file at its offset, so the file is never held in memory whole (peak
//! memory at load is the weights once, not twice, plus one half-precision tensor's bytes).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, Metadata};

use huiyan::Element;

use crate::error::EmbedError;

/// An open safetensors file: its header, the file, and where the data starts.
pub struct TensorFile {
    path: PathBuf,
    file: File,
    meta: Metadata,
    data_start: u64,
    len: u64,
}

/// The largest header accepted (the `safetensors` crate's own limit is 100 MB).
const MAX_HEADER: u64 = 100_000_000;

impl TensorFile {
    /// Opens `path` and parses its header. Errors: [`EmbedError::Io`], [`EmbedError::Header`].
    pub fn open(path: &Path) -> Result<Self, EmbedError> {
        let io = |source| EmbedError::Io {
            file: path.into(),
            source,
        };
        let header = |message: String| EmbedError::Header {
            file: path.into(),
            message,
        };
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut n = [0u8; 8];
        file.read_exact(&mut n).map_err(|_| {
            header(format!(
                "{len} bytes: shorter than the 8-byte header length"
            ))
        })?;
        let n = u64::from_le_bytes(n);
        if n > MAX_HEADER || 8 + n > len {
            return Err(header(format!(
                "header length {n} does not fit a file of {len} bytes"
            )));
        }
        let mut text = vec![0u8; n as usize];
        file.read_exact(&mut text).map_err(io)?;
        let meta: Metadata = serde_json::from_slice(&text).map_err(|e| header(e.to_string()))?;
        Ok(TensorFile {
            path: path.into(),
            file,
            meta,
            data_start: 8 + n,
            len,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name under which `name` is stored: itself, or with the `bert.` prefix of a
    /// `BertForX` checkpoint.
    fn stored_name(&self, name: &str) -> Option<String> {
        [name.to_string(), format!("bert.{name}")]
            .into_iter()
            .find(|n| self.meta.info(n).is_some())
    }

    /// Whether the file holds `name` (with or without the `bert.` prefix).
    pub fn contains(&self, name: &str) -> bool {
        self.stored_name(name).is_some()
    }

    /// Reads tensor `name`, which must be of exactly `shape` and stored as `F32`, `BF16` or
    /// `F16`: its elements in row-major order, as `f32` (half precision widened, exactly).
    /// Errors: [`EmbedError::MissingTensor`], [`EmbedError::Dtype`], [`EmbedError::Shape`],
    /// [`EmbedError::Truncated`], [`EmbedError::Io`].
    pub fn read_f32(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError> {
        let Some(stored) = self.stored_name(name) else {
            return Err(EmbedError::MissingTensor {
                file: self.path.clone(),
                tensor: name.into(),
            });
        };
        let info = self.meta.info(&stored).expect("found above");
        let size = match info.dtype {
            Dtype::F32 => 4,
            Dtype::BF16 | Dtype::F16 => 2,
            _ => {
                return Err(EmbedError::Dtype {
                    file: self.path.clone(),
                    tensor: name.into(),
                    found: format!("{:?}", info.dtype),
                })
            }
        };
        let dtype = info.dtype;
        if info.shape != shape {
            return Err(EmbedError::Shape {
                file: self.path.clone(),
                tensor: name.into(),
                expected: shape.to_vec(),
                found: info.shape.clone(),
            });
        }
        let (s, e) = info.data_offsets;
        let count: usize = shape.iter().product();
        let needed = self.data_start + e as u64;
        if e < s || e - s != size * count {
            return Err(EmbedError::Header {
                file: self.path.clone(),
                message: format!("tensor {name}: offsets {s}..{e} do not hold {count} {dtype:?}"),
            });
        }
        if needed > self.len {
            return Err(EmbedError::Truncated {
                file: self.path.clone(),
                tensor: name.into(),
                needed,
                got: self.len,
            });
        }
        let io = |source| EmbedError::Io {
            file: self.path.clone(),
            source,
        };
        self.file
            .seek(SeekFrom::Start(self.data_start + s as u64))
            .map_err(io)?;
        let mut out = vec![0.0f32; count];
        if dtype == Dtype::F32 {
            // Read the little-endian bytes into the vector's own memory, then fix the byte
            // order on a big-endian host.
            let bytes: &mut [u8] = bytemuck_f32(&mut out);
            self.file.read_exact(bytes).map_err(io)?;
            if cfg!(target_endian = "big") {
                for v in &mut out {
                    *v = f32::from_bits(u32::from_le(v.to_bits()));
                }
            }
        } else {
            let mut bytes = vec![0u8; 2 * count];
            self.file.read_exact(&mut bytes).map_err(io)?;
            let widen = if dtype == Dtype::BF16 {
                |h| huiyan::bf16::from_bits(h).widen()
            } else {
                |h| huiyan::f16::from_bits(h).widen()
            };
            for (v, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *v = widen(u16::from_le_bytes([b[0], b[1]]));
            }
        }
        Ok(out)
    }
}

/// The bytes of an `f32` slice.
fn bytemuck_f32(v: &mut [f32]) -> &mut [u8] {
    let n = std::mem::size_of_val(v);
    // SAFETY: `v` is `n` initialised bytes, exclusively borrowed for the result's lifetime;
    // every byte pattern is a valid `u8`, and every 4-byte pattern a valid `f32`, so writes
    // through the result keep `v` valid.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), n) }
}
