//! [`EmbedError`]: everything [`Embedder::load`](crate::Embedder::load) and
//! [`Embedder::embed`](crate::Embedder::embed) can reject, each naming the file and, for the
//! weights, the tensor.

use std::fmt;
use std::path::PathBuf;

/// Why a model folder could not be loaded, or a batch not embedded. Never a panic.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmbedError {
    /// A file could not be opened or read.
    Io {
        /// The file.
        file: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A JSON file (`config.json`) is not valid JSON.
    Json {
        /// The file.
        file: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A key of `config.json` is missing or has the wrong type or value.
    Config {
        /// The file.
        file: PathBuf,
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// `config.json` describes a model that is not a BERT encoder (`model_type` is not
    /// `"bert"`).
    UnknownArchitecture {
        /// The file.
        file: PathBuf,
        /// The `model_type` (or `architectures`) found.
        found: String,
    },
    /// A BERT variant this crate does not run (another activation, relative positions, ...).
    Unsupported {
        /// The file.
        file: PathBuf,
        /// The key and its value.
        what: String,
    },
    /// The safetensors header is malformed (length, JSON, offsets).
    Header {
        /// The file.
        file: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A tensor the model needs is not in the file.
    MissingTensor {
        /// The file.
        file: PathBuf,
        /// The tensor name (without a `bert.` prefix; both spellings are looked up).
        tensor: String,
    },
    /// A tensor is stored in another element type than `F32`, `BF16` or `F16`.
    Dtype {
        /// The file.
        file: PathBuf,
        /// The tensor.
        tensor: String,
        /// The dtype found.
        found: String,
    },
    /// A tensor has another shape than the config implies.
    Shape {
        /// The file.
        file: PathBuf,
        /// The tensor.
        tensor: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// The file ends before a tensor's data does.
    Truncated {
        /// The file.
        file: PathBuf,
        /// The first tensor whose bytes are not all there.
        tensor: String,
        /// Bytes the file would need.
        needed: u64,
        /// Bytes it has.
        got: u64,
    },
    /// `tokenizer.json` could not be loaded or configured, or a sentence not tokenized.
    Tokenizer {
        /// The file.
        file: PathBuf,
        /// The tokenizer's message.
        message: String,
    },
    /// A token id at or past the vocabulary size (a tokenizer that does not match the model).
    TokenId {
        /// The id.
        id: u32,
        /// The vocabulary size of `config.json`.
        vocab: usize,
    },
    /// A kernel rejected its operands (a bug of this crate: the shapes come from the config).
    Kernel(huiyan::Error),
}

impl fmt::Display for EmbedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbedError::Io { file, source } => write!(f, "{}: {source}", file.display()),
            EmbedError::Json { file, message } => {
                write!(f, "{}: invalid JSON: {message}", file.display())
            }
            EmbedError::Config { file, key, message } => {
                write!(f, "{}: `{key}`: {message}", file.display())
            }
            EmbedError::UnknownArchitecture { file, found } => write!(
                f,
                "{}: unknown architecture {found} (a BERT encoder is needed)",
                file.display()
            ),
            EmbedError::Unsupported { file, what } => {
                write!(f, "{}: unsupported {what}", file.display())
            }
            EmbedError::Header { file, message } => {
                write!(f, "{}: bad safetensors header: {message}", file.display())
            }
            EmbedError::MissingTensor { file, tensor } => {
                write!(f, "{}: tensor {tensor} is missing", file.display())
            }
            EmbedError::Dtype {
                file,
                tensor,
                found,
            } => write!(
                f,
                "{}: tensor {tensor} is {found}, not F32, BF16 or F16",
                file.display()
            ),
            EmbedError::Shape {
                file,
                tensor,
                expected,
                found,
            } => write!(
                f,
                "{}: tensor {tensor} has shape {found:?}, the config implies {expected:?}",
                file.display()
            ),
            EmbedError::Truncated {
                file,
                tensor,
                needed,
                got,
            } => write!(
                f,
                "{}: truncated: tensor {tensor} needs {needed} bytes, the file has {got}",
                file.display()
            ),
            EmbedError::Tokenizer { file, message } => {
                write!(f, "{}: tokenizer: {message}", file.display())
            }
            EmbedError::TokenId { id, vocab } => {
                write!(f, "token id {id} is outside the vocabulary of {vocab}")
            }
            EmbedError::Kernel(e) => write!(f, "kernel: {e}"),
        }
    }
}

impl std::error::Error for EmbedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmbedError::Io { source, .. } => Some(source),
            EmbedError::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

impl From<huiyan::Error> for EmbedError {
    fn from(e: huiyan::Error) -> Self {
        EmbedError::Kernel(e)
    }
}
