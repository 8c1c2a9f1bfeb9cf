//! [`BertConfig`]: the encoder's sizes, read from the model's `config.json`.

use std::path::Path;

use serde_json::Value;

use crate::error::EmbedError;

/// The sizes of a BERT encoder, from its `config.json` (Hugging Face `BertConfig` keys).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BertConfig {
    /// `vocab_size`.
    pub vocab: usize,
    /// `hidden_size`.
    pub hidden: usize,
    /// `num_hidden_layers`.
    pub layers: usize,
    /// `num_attention_heads` (divides `hidden`).
    pub heads: usize,
    /// `intermediate_size` (the feed-forward width).
    pub intermediate: usize,
    /// `max_position_embeddings`.
    pub max_positions: usize,
    /// `type_vocab_size`.
    pub type_vocab: usize,
    /// `layer_norm_eps`.
    pub eps: f32,
}

impl BertConfig {
    /// Parses `config.json` at `file`: `model_type` must be `"bert"` (or, without it,
    /// `architectures` must name a `Bert…` class), `hidden_act` `"gelu"` (the erf form) and
    /// `position_embedding_type`, when given, `"absolute"`.
    pub fn from_file(file: &Path) -> Result<Self, EmbedError> {
        let text = std::fs::read_to_string(file).map_err(|source| EmbedError::Io {
            file: file.into(),
            source,
        })?;
        let v: Value = serde_json::from_str(&text).map_err(|e| EmbedError::Json {
            file: file.into(),
            message: e.to_string(),
        })?;
        let is_bert = match v.get("model_type").and_then(Value::as_str) {
            Some(t) => t == "bert",
            None => v
                .get("architectures")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|s| s.as_str().is_some_and(|s| s.starts_with("Bert")))
                }),
        };
        if !is_bert {
            let found = v
                .get("model_type")
                .or_else(|| v.get("architectures"))
                .map_or_else(|| "(none)".to_string(), Value::to_string);
            return Err(EmbedError::UnknownArchitecture {
                file: file.into(),
                found,
            });
        }
        let unsupported = |key: &str, want: &str| -> Result<(), EmbedError> {
            match v.get(key).and_then(Value::as_str) {
                Some(got) if got != want => Err(EmbedError::Unsupported {
                    file: file.into(),
                    what: format!("{key} = {got:?} (only {want:?})"),
                }),
                _ => Ok(()),
            }
        };
        unsupported("hidden_act", "gelu")?;
        unsupported("position_embedding_type", "absolute")?;
        let size = |key: &'static str| -> Result<usize, EmbedError> {
            let bad = |message: &str| EmbedError::Config {
                file: file.into(),
                key,
                message: message.into(),
            };
            let n = v.get(key).ok_or_else(|| bad("missing"))?;
            let n = n
                .as_u64()
                .ok_or_else(|| bad("not a non-negative integer"))?;
            match usize::try_from(n) {
                Ok(n) if n > 0 && n <= 1 << 24 => Ok(n),
                _ => Err(bad("outside 1..=2^24")),
            }
        };
        let cfg = BertConfig {
            vocab: size("vocab_size")?,
            hidden: size("hidden_size")?,
            layers: size("num_hidden_layers")?,
            heads: size("num_attention_heads")?,
            intermediate: size("intermediate_size")?,
            max_positions: size("max_position_embeddings")?,
            type_vocab: size("type_vocab_size")?,
            eps: match v.get("layer_norm_eps") {
                None => 1e-12,
                Some(e) => match e.as_f64() {
                    Some(e) if e > 0.0 && e.is_finite() => e as f32,
                    _ => {
                        return Err(EmbedError::Config {
                            file: file.into(),
                            key: "layer_norm_eps",
                            message: format!("{e} is not a positive number"),
                        })
                    }
                },
            },
        };
        if !cfg.hidden.is_multiple_of(cfg.heads) {
            return Err(EmbedError::Config {
                file: file.into(),
                key: "num_attention_heads",
                message: format!("{} does not divide hidden_size {}", cfg.heads, cfg.hidden),
            });
        }
        Ok(cfg)
    }

    /// The head dimension, `hidden / heads`.
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}
