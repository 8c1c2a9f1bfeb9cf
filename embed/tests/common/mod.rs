//! Shared by the embed tests: a tiny BERT model folder written from seeded random weights
//! (config.json, model.safetensors, tokenizer.json), and the real model's folder when present.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use huiyan_testkit::encoder::{RefBert, RefConfig};
use huiyan_testkit::Rng;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

/// The tiny model's sizes: 2 layers, hidden 16, 2 heads of 8, FFN 40, 24 word pieces.
pub const TINY: RefConfig = RefConfig {
    vocab: 24,
    hidden: 16,
    layers: 2,
    heads: 2,
    intermediate: 40,
    max_positions: 32,
    type_vocab: 2,
    eps: 1e-12,
};

/// The word pieces of the tiny vocabulary (ids in order).
pub const VOCAB: [&str; 24] = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "weather", "is", "sunny", "today", ".",
    "a", "cat", "dog", "##s", "run", "##ning", "fast", ",", "!", "天", "气", "hello", "world",
];

/// Every tensor of a BERT checkpoint with `cfg`'s sizes (name → shape).
pub fn tensor_shapes(cfg: &RefConfig) -> BTreeMap<String, Vec<usize>> {
    let (h, i) = (cfg.hidden, cfg.intermediate);
    let mut m = BTreeMap::new();
    m.insert(
        "embeddings.word_embeddings.weight".into(),
        vec![cfg.vocab, h],
    );
    m.insert(
        "embeddings.position_embeddings.weight".into(),
        vec![cfg.max_positions, h],
    );
    m.insert(
        "embeddings.token_type_embeddings.weight".into(),
        vec![cfg.type_vocab, h],
    );
    for n in ["weight", "bias"] {
        m.insert(format!("embeddings.LayerNorm.{n}"), vec![h]);
    }
    for l in 0..cfg.layers {
        let p = format!("encoder.layer.{l}.");
        for (name, o, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", i, h),
            ("output.dense", h, i),
        ] {
            m.insert(format!("{p}{name}.weight"), vec![o, inp]);
            m.insert(format!("{p}{name}.bias"), vec![o]);
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            m.insert(format!("{p}{name}.weight"), vec![h]);
            m.insert(format!("{p}{name}.bias"), vec![h]);
        }
    }
    m
}

/// Seeded weights for every tensor: LayerNorm weights near 1, the rest small.
pub fn tiny_weights(seed: u64) -> BTreeMap<String, Vec<f32>> {
    let mut rng = Rng::new(seed);
    tensor_shapes(&TINY)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let v = if name.contains("LayerNorm.weight") {
                rng.uniform_vec(n, 0.5, 1.5)
            } else {
                rng.uniform_vec(n, -0.5, 0.5)
            };
            (name, v)
        })
        .collect()
}

/// The config.json of `cfg`.
pub fn config_json(cfg: &RefConfig) -> String {
    format!(
        r#"{{"architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
 "hidden_size": {}, "num_hidden_layers": {}, "num_attention_heads": {}, "intermediate_size": {},
 "max_position_embeddings": {}, "type_vocab_size": {}, "vocab_size": {}, "layer_norm_eps": 1e-12,
 "position_embedding_type": "absolute"}}"#,
        cfg.hidden,
        cfg.layers,
        cfg.heads,
        cfg.intermediate,
        cfg.max_positions,
        cfg.type_vocab,
        cfg.vocab
    )
}

/// A BERT tokenizer.json over [`VOCAB`] (lower-casing normaliser, BERT pre-tokeniser,
/// `[CLS] … [SEP]`).
pub fn tokenizer_json() -> String {
    let vocab: Vec<String> = VOCAB
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{t:?}: {i}"))
        .collect();
    let special = |id: usize| {
        format!(
            r#"{{"id": {id}, "content": {:?}, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}}"#,
            VOCAB[id]
        )
    };
    format!(
        r###"{{"version": "1.0", "truncation": null, "padding": null,
 "added_tokens": [{}],
 "normalizer": {{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true}},
 "pre_tokenizer": {{"type": "BertPreTokenizer"}},
 "post_processor": {{"type": "TemplateProcessing",
   "single": [{{"SpecialToken": {{"id": "[CLS]", "type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}}, {{"SpecialToken": {{"id": "[SEP]", "type_id": 0}}}}],
   "pair": [{{"SpecialToken": {{"id": "[CLS]", "type_id": 0}}}}, {{"Sequence": {{"id": "A", "type_id": 0}}}}, {{"SpecialToken": {{"id": "[SEP]", "type_id": 0}}}}, {{"Sequence": {{"id": "B", "type_id": 1}}}}, {{"SpecialToken": {{"id": "[SEP]", "type_id": 1}}}}],
   "special_tokens": {{"[CLS]": {{"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}}, "[SEP]": {{"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}}}}},
 "decoder": {{"type": "WordPiece", "prefix": "##", "cleanup": true}},
 "model": {{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": {{{}}}}}}}"###,
        [0, 1, 2, 3, 4].map(special).join(", "),
        vocab.join(", ")
    )
}

/// safetensors bytes of `tensors`, all F32.
pub fn safetensors_bytes(
    tensors: &BTreeMap<String, Vec<f32>>,
    shapes: &BTreeMap<String, Vec<usize>>,
) -> Vec<u8> {
    safetensors_bytes_as(tensors, shapes, Dtype::F32)
}

/// safetensors bytes of `tensors`, all stored as `dtype` (`F32`, or `BF16` / `F16` rounded to
/// nearest even).
pub fn safetensors_bytes_as(
    tensors: &BTreeMap<String, Vec<f32>>,
    shapes: &BTreeMap<String, Vec<usize>>,
    dtype: Dtype,
) -> Vec<u8> {
    let encode = |x: f32| -> Vec<u8> {
        match dtype {
            Dtype::F32 => x.to_le_bytes().to_vec(),
            Dtype::BF16 => huiyan::bf16::from_f32(x).to_bits().to_le_bytes().to_vec(),
            Dtype::F16 => huiyan::f16::from_f32(x).to_bits().to_le_bytes().to_vec(),
            other => panic!("no encoding for {other:?}"),
        }
    };
    let bytes: BTreeMap<&String, Vec<u8>> = tensors
        .iter()
        .map(|(k, v)| (k, v.iter().flat_map(|&x| encode(x)).collect()))
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(k, b)| {
            let shape = shapes[*k].clone();
            (
                (*k).clone(),
                TensorView::new(dtype, shape, b).expect("consistent"),
            )
        })
        .collect();
    safetensors::serialize(views, None).expect("serialises")
}

/// A fresh folder under the target directory for test `name`.
pub fn scratch_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Writes the tiny model into `dir` (seeded weights, optionally edited first).
pub fn write_tiny(dir: &Path, seed: u64) -> BTreeMap<String, Vec<f32>> {
    let w = tiny_weights(seed);
    write_tiny_as(dir, &w, Dtype::F32);
    w
}

/// Writes the tiny model with weights `w` stored as `dtype` into `dir`.
pub fn write_tiny_as(dir: &Path, w: &BTreeMap<String, Vec<f32>>, dtype: Dtype) {
    std::fs::write(dir.join("config.json"), config_json(&TINY)).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).unwrap();
    std::fs::write(
        dir.join("model.safetensors"),
        safetensors_bytes_as(w, &tensor_shapes(&TINY), dtype),
    )
    .unwrap();
}

/// The reference encoder over weights `w`.
pub fn reference(cfg: RefConfig, w: &BTreeMap<String, Vec<f32>>) -> RefBert {
    RefBert::new(cfg, |name, shape| {
        let v = w
            .get(name)
            .unwrap_or_else(|| panic!("no tensor {name}"))
            .clone();
        assert_eq!(v.len(), shape.iter().product::<usize>(), "{name}");
        v
    })
}

/// The all-MiniLM-L6-v2 folder: `HUIYAN_MINILM_DIR`, else the fetch script's cache
/// (`$HUIYAN_MODEL_CACHE` or `~/.cache/huiyan`, `/all-MiniLM-L6-v2`); `None` (printed loudly)
/// when its files are not there. `HUIYAN_REQUIRE_MODEL=1` makes that a failure.
pub fn minilm_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("HUIYAN_MINILM_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            let cache = std::env::var_os("HUIYAN_MODEL_CACHE")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huiyan"))
                })?;
            Some(cache.join("all-MiniLM-L6-v2"))
        })?;
    if dir.join("model.safetensors").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("HUIYAN_REQUIRE_MODEL").is_none(),
        "HUIYAN_REQUIRE_MODEL set but {} has no model (run embed/fetch-model.sh)",
        dir.display()
    );
    // Straight to stderr, not eprintln!: libtest captures the macros' output of passing tests,
    // and a skip must show in a plain `cargo test`.
    let _ = writeln!(
        std::io::stderr(),
        "######## SKIPPED: all-MiniLM-L6-v2 not found in {} (run embed/fetch-model.sh) ########",
        dir.display()
    );
    None
}

/// Cosine similarity of an `f32` embedding and an `f64` one.
pub fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, y)| f64::from(x) * y).sum();
    let na: f64 = a
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    let nb: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt();
    dot / (na * nb)
}
