//! # huiyan-embed
//!
//! Sentence embeddings with a BERT-family encoder — all-MiniLM-L6-v2 and any model folder of
//! the same structure — computed with huiyan's kernels.
//!
//! ```no_run
//! use huiyan_embed::Embedder;
//! let e = Embedder::load("/path/to/all-MiniLM-L6-v2")?; // config.json, model.safetensors, tokenizer.json
//! let v = e.embed(&["今天天气晴朗", "The weather is sunny today."])?;
//! let cos: f32 = v.get(0).iter().zip(v.get(1)).map(|(a, b)| a * b).sum();
//! println!("cosine similarity {cos:.3}");
//! # Ok::<(), huiyan_embed::EmbedError>(())
//! ```
//!
//! What [`Embedder::embed`] does:
//!
//! 1. tokenizes each sentence with the model's own `tokenizer.json` (WordPiece, special tokens
//!    added), truncated to [`MAX_TOKENS`] word pieces (or the model's position count) and
//!    never padded;
//! 2. sorts the sentences by length and packs them end to end into groups of at most
//!    [`GROUP_TOKENS`] tokens (a sentence longer than that is a group of its own), so that
//!    no operation ever computes on padding and the activations stay small;
//! 3. runs the encoder on each group (`encoder.rs`: fused QKV projection, attention on the
//!    packed sequences with `huiyan::attention_varlen`, bias + residual + LayerNorm and
//!    bias + GELU fused into one row pass each after their matmuls);
//! 4. mean-pools each sentence's last hidden states and L2-normalises the result.
//!
//! With the `rayon` feature every huiyan call spreads over rayon's pool; each call's result
//! has the same bits for any thread count, so the embeddings do too.
//!
//! Empty strings, whitespace, emoji and CJK are defined inputs: they tokenize to `[CLS] …
//! [SEP]` with `[UNK]` for what the vocabulary lacks (all-MiniLM-L6-v2's English uncased
//! vocabulary has only 244 CJK characters), and get an embedding like any sentence.

mod config;
mod encoder;
mod error;
pub mod weights;

use std::path::{Path, PathBuf};

use tokenizers::{Tokenizer, TruncationParams};

pub use config::BertConfig;
use encoder::{Encoder, Work};
pub use error::EmbedError;
use weights::TensorFile;

/// Word pieces per sentence, special tokens included: sentence-transformers'
/// `max_seq_length` for all-MiniLM-L6-v2 (longer input is truncated on the right).
pub const MAX_TOKENS: usize = 256;

/// Tokens per group of packed sentences. The activations of a group take
/// `GROUP_TOKENS · (3·hidden + max(3·hidden, intermediate))` floats: 22 MB for
/// all-MiniLM-L6-v2, which keeps the memory of any batch within the model's size + 64 MiB,
/// while a matmul of 2048 rows is as fast per row as a bigger one.
pub const GROUP_TOKENS: usize = 2048;

/// Embeddings of a batch: `len()` rows of `dim()` floats, row `i` for sentence `i`.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    data: Vec<f32>,
    dim: usize,
}

impl Embeddings {
    /// Number of sentences.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Whether there is no sentence.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Floats per embedding (the model's hidden size).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The embedding of sentence `i` (unit length). Panics when `i ≥ len()`, like indexing.
    pub fn get(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..][..self.dim]
    }

    /// All embeddings, row-major `[len, dim]`.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }
}

/// A loaded model: its config, its encoder with prepacked weights, its tokenizer.
pub struct Embedder {
    enc: Encoder,
    tok: Tokenizer,
    tok_file: PathBuf,
    max_tokens: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("config", &self.enc.cfg)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

impl Embedder {
    /// Loads `dir/config.json`, `dir/model.safetensors` and `dir/tokenizer.json`.
    ///
    /// The sizes come from the config, never from constants; every tensor the config implies
    /// is checked for its name (with or without a `bert.` prefix), dtype (`F32`, or `BF16` /
    /// `F16`, widened to `f32` as it is read) and shape, and read straight into its prepacked
    /// place. Anything missing, truncated or mismatched
    /// is an [`EmbedError`] naming the file and the tensor.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, EmbedError> {
        Self::load_with(dir, *huiyan::dispatch::kernels())
    }

    /// As [`load`](Self::load), the weights packed for and every call run on the kernels of
    /// `k` (one of `huiyan::dispatch::available()`) instead of the dispatched table: how the
    /// tests check the encoder on every tier.
    pub fn load_with(
        dir: impl AsRef<Path>,
        k: huiyan::dispatch::Kernels,
    ) -> Result<Self, EmbedError> {
        let dir = dir.as_ref();
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let mut file = TensorFile::open(&dir.join("model.safetensors"))?;
        let enc = Encoder::load(&mut file, cfg, k)?;
        drop(file);
        let tok_file = dir.join("tokenizer.json");
        let tok_err = |message: String| EmbedError::Tokenizer {
            file: tok_file.clone(),
            message,
        };
        if !tok_file.is_file() {
            return Err(EmbedError::Io {
                file: tok_file.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let mut tok = Tokenizer::from_file(&tok_file).map_err(|e| tok_err(e.to_string()))?;
        let max_tokens = MAX_TOKENS.min(cfg.max_positions);
        tok.with_padding(None);
        tok.with_truncation(Some(TruncationParams {
            max_length: max_tokens,
            ..Default::default()
        }))
        .map_err(|e| tok_err(e.to_string()))?;
        Ok(Embedder {
            enc,
            tok,
            tok_file,
            max_tokens,
        })
    }

    /// The model's sizes.
    pub fn config(&self) -> &BertConfig {
        &self.enc.cfg
    }

    /// The kernel table the encoder runs on.
    pub fn kernels(&self) -> huiyan::dispatch::Kernels {
        self.enc.k
    }

    /// Floats per embedding.
    pub fn dim(&self) -> usize {
        self.enc.cfg.hidden
    }

    /// Word pieces a sentence is truncated to (special tokens included).
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The token ids of `sentence` as the encoder sees them: `[CLS] … [SEP]`, truncated.
    pub fn tokenize(&self, sentence: &str) -> Result<Vec<u32>, EmbedError> {
        let enc = self
            .tok
            .encode_fast(sentence, true)
            .map_err(|e| EmbedError::Tokenizer {
                file: self.tok_file.clone(),
                message: e.to_string(),
            })?;
        let ids = enc.get_ids().to_vec();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.enc.cfg.vocab) {
            return Err(EmbedError::TokenId {
                id,
                vocab: self.enc.cfg.vocab,
            });
        }
        Ok(ids)
    }

    /// The word pieces of `sentence` as strings (`[CLS]`, `[UNK]`, `##ing`, ...).
    pub fn tokens(&self, sentence: &str) -> Result<Vec<String>, EmbedError> {
        Ok(self.tokens_of(&self.tokenize(sentence)?))
    }

    /// The word pieces of `ids` as strings.
    pub fn tokens_of(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&id| {
                self.tok
                    .id_to_token(id)
                    .unwrap_or_else(|| format!("<{id}>"))
            })
            .collect()
    }

    /// Embeds every sentence: `[sentences.len(), dim]`, each row of unit length (see the
    /// [crate docs](crate) for the steps).
    pub fn embed(&self, sentences: &[&str]) -> Result<Embeddings, EmbedError> {
        let ids = sentences
            .iter()
            .map(|s| self.tokenize(s))
            .collect::<Result<Vec<_>, _>>()?;
        self.embed_ids(&ids)
    }

    /// Embeds already tokenized sentences (each as [`tokenize`](Self::tokenize) returns it:
    /// at least one id, at most [`max_tokens`](Self::max_tokens), all inside the vocabulary).
    pub fn embed_ids(&self, ids: &[Vec<u32>]) -> Result<Embeddings, EmbedError> {
        let cfg = self.enc.cfg;
        for s in ids {
            if let Some(&id) = s.iter().find(|&&id| id as usize >= cfg.vocab) {
                return Err(EmbedError::TokenId {
                    id,
                    vocab: cfg.vocab,
                });
            }
        }
        // Longest first (stable), then greedy groups of at most GROUP_TOKENS tokens.
        let len = |i: usize| ids[i].len().clamp(1, self.max_tokens);
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(len(i)));
        let mut out = vec![0.0f32; ids.len() * cfg.hidden];
        let biggest = order.first().map_or(0, |&i| len(i)).max(GROUP_TOKENS);
        let mut work = Work::new(&cfg, biggest);
        let mut pooled = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            let mut tokens = 0;
            while end < order.len() && (end == start || tokens + len(order[end]) <= GROUP_TOKENS) {
                tokens += len(order[end]);
                end += 1;
            }
            let group = &order[start..end];
            let (packed, cu) = self.pack(ids, group);
            pooled.resize(group.len() * cfg.hidden, 0.0);
            self.run(&packed, &cu, &mut work, &mut |_, _| {})?;
            self.enc.pool(&cu, &work, &mut pooled);
            for (k, &i) in group.iter().enumerate() {
                out[i * cfg.hidden..][..cfg.hidden]
                    .copy_from_slice(&pooled[k * cfg.hidden..][..cfg.hidden]);
            }
            start = end;
        }
        Ok(Embeddings {
            data: out,
            dim: cfg.hidden,
        })
    }

    /// The hidden states of one tokenized sentence after the embeddings (index 0) and after
    /// each layer (index `l + 1`), each `[tokens, hidden]` row-major: for inspection and for
    /// comparing with other implementations layer by layer.
    pub fn hidden_states(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let (packed, cu) = self.pack(&[ids.to_vec()], &[0]);
        let t = packed.len();
        let mut work = Work::new(&self.enc.cfg, t);
        let h = self.enc.cfg.hidden;
        let mut states = Vec::new();
        self.run(&packed, &cu, &mut work, &mut |_, w: &Work| {
            states.push(w.h[..t * h].to_vec())
        })?;
        Ok(states)
    }

    /// The attention probabilities of `head` in `layer` for one tokenized sentence:
    /// `[tokens, tokens]`, row `i` the weights query token `i` gives every key.
    pub fn attention_probs(
        &self,
        ids: &[u32],
        layer: usize,
        head: usize,
    ) -> Result<Vec<f32>, EmbedError> {
        let cfg = self.enc.cfg;
        if layer >= cfg.layers || head >= cfg.heads {
            return Err(EmbedError::Kernel(huiyan::Error::DimMismatch {
                dim: if layer >= cfg.layers {
                    huiyan::Dim::Rows
                } else {
                    huiyan::Dim::HeadsQ
                },
                expected: if layer >= cfg.layers {
                    cfg.layers
                } else {
                    cfg.heads
                },
                got: if layer >= cfg.layers { layer } else { head },
            }));
        }
        let (packed, cu) = self.pack(&[ids.to_vec()], &[0]);
        let t = packed.len();
        let mut work = Work::new(&cfg, t);
        let (d, hd) = (cfg.head_dim(), cfg.hidden);
        let mut input = Vec::new();
        self.run_until(&packed, &cu, &mut work, layer, &mut input)?;
        let mut qkv = vec![0.0f32; t * 3 * hd];
        self.enc.layers[layer]
            .qkv
            .apply(&input, t, true, &mut qkv)?;
        let [q, k, _] = self.enc.qkv_views(&qkv, t);
        let (q, k) = (head_of(q, head, d), head_of(k, head, d));
        let mut p = vec![0.0f32; t * t];
        huiyan::attention_weights(
            q,
            k,
            &huiyan::AttentionOptions::default(),
            huiyan::Tensor4Mut::bhsd(&mut p, [1, 1, t, t]),
        )?;
        Ok(p)
    }

    /// The ids of `group`'s sentences end to end (empty ones as `[CLS]`-less single pad id 0,
    /// long ones truncated) and their cumulative offsets.
    fn pack(&self, ids: &[Vec<u32>], group: &[usize]) -> (Vec<u32>, Vec<usize>) {
        let mut packed = Vec::new();
        let mut cu = vec![0];
        for &i in group {
            let s = &ids[i][..ids[i].len().min(self.max_tokens)];
            if s.is_empty() {
                packed.push(0);
            } else {
                packed.extend_from_slice(s);
            }
            cu.push(packed.len());
        }
        (packed, cu)
    }

    /// The embeddings and every layer on a packed group; `each(l, work)` sees the hidden
    /// states after the embeddings (`l = 0`) and after each layer.
    fn run(
        &self,
        packed: &[u32],
        cu: &[usize],
        work: &mut Work,
        each: &mut dyn FnMut(usize, &Work),
    ) -> Result<(), EmbedError> {
        let t = packed.len();
        self.enc.embed_tokens(packed, cu, work)?;
        each(0, work);
        for l in 0..self.enc.cfg.layers {
            self.enc.layer(l, cu, t, work)?;
            each(l + 1, work);
        }
        Ok(())
    }

    /// Runs the group up to the input of layer `stop`, copied into `input`.
    fn run_until(
        &self,
        packed: &[u32],
        cu: &[usize],
        work: &mut Work,
        stop: usize,
        input: &mut Vec<f32>,
    ) -> Result<(), EmbedError> {
        let t = packed.len();
        self.enc.embed_tokens(packed, cu, work)?;
        for l in 0..stop {
            self.enc.layer(l, cu, t, work)?;
        }
        *input = work.h[..t * self.enc.cfg.hidden].to_vec();
        Ok(())
    }
}

/// Head `h` of a `[1, H, L, d]` view as a `[1, 1, L, d]` view.
fn head_of(v: huiyan::Tensor4Ref<'_>, h: usize, d: usize) -> huiyan::Tensor4Ref<'_> {
    let (_, rest) = v.split_at(1, h).expect("head inside");
    let (one, _) = rest.split_at(1, 1).expect("head inside");
    let _ = d;
    one
}
