//! The loader's error catalogue and the encoder end to end, on a tiny seeded BERT folder the
//! test writes itself (no download needed).

mod common;

use std::collections::BTreeMap;

use common::*;
use huiyan_embed::{EmbedError, Embedder};
use huiyan_testkit::assert_bits_eq;
use safetensors::tensor::Dtype;

fn load_err(dir: &std::path::Path) -> EmbedError {
    Embedder::load(dir).expect_err("must be rejected")
}

/// A checkpoint stored in BF16 or F16 loads (each tensor widened as it is read) and embeds with
/// the bits of the F32 checkpoint of the same, rounded, values, on every tier.
#[test]
fn half_precision_checkpoints_embed_as_their_widened_values() {
    let w = tiny_weights(5);
    let sentences = ["The weather is sunny today.", "", "cats running fast!"];
    type Round = fn(f32) -> f32;
    let kinds: [(&str, Dtype, Round); 2] = [
        ("bf16", Dtype::BF16, |x| huiyan::bf16::from_f32(x).to_f32()),
        ("f16", Dtype::F16, |x| huiyan::f16::from_f32(x).to_f32()),
    ];
    for (name, dtype, round) in kinds {
        let rounded: BTreeMap<String, Vec<f32>> = w
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|&x| round(x)).collect()))
            .collect();
        let (dh, d32) = (
            scratch_dir(&format!("tiny_{name}")),
            scratch_dir(&format!("tiny_{name}_as_f32")),
        );
        write_tiny_as(&dh, &w, dtype);
        write_tiny_as(&d32, &rounded, Dtype::F32);
        let r = reference(TINY, &rounded);
        for k in huiyan::dispatch::under_test() {
            let got = Embedder::load_with(&dh, k)
                .unwrap()
                .embed(&sentences)
                .unwrap();
            let e32 = Embedder::load_with(&d32, k).unwrap();
            let want = e32.embed(&sentences).unwrap();
            for (i, s) in sentences.iter().enumerate() {
                let ctx = format!("{name} {} {s:?}", k.isa().name());
                assert_bits_eq(got.get(i), want.get(i), &ctx);
                let c = cosine(got.get(i), &r.embed(&e32.tokenize(s).unwrap()));
                assert!(c >= 0.99999, "{ctx}: cosine {c}");
            }
        }
    }
}

#[test]
fn tiny_model_loads_and_matches_the_f64_encoder_on_every_tier() {
    let dir = scratch_dir("tiny_ok");
    let w = write_tiny(&dir, 1);
    let r = reference(TINY, &w);
    let sentences = [
        "The weather is sunny today.",
        "",
        "   ",
        "cats running fast!",
        "天气 🙂 HELLO, world",
    ];
    for k in huiyan::dispatch::under_test() {
        let e = Embedder::load_with(&dir, k).unwrap();
        let got = e.embed(&sentences).unwrap();
        assert_eq!((got.len(), got.dim()), (sentences.len(), TINY.hidden));
        for (i, s) in sentences.iter().enumerate() {
            let ids = e.tokenize(s).unwrap();
            let c = cosine(got.get(i), &r.embed(&ids));
            assert!(c >= 0.99999, "{} {s:?}: cosine {c}", k.isa().name());
            // Batched or alone: the same bits.
            let alone = e.embed(&[s]).unwrap();
            assert_bits_eq(alone.get(0), got.get(i), "alone vs batched");
        }
    }
    let e = Embedder::load(&dir).unwrap();
    assert_eq!(e.tokenize("").unwrap(), vec![2, 3]);
    assert_eq!(
        e.tokens("Dogs, 天!").unwrap(),
        ["[CLS]", "dog", "##s", ",", "天", "!", "[SEP]"]
    );
    assert!(e.embed(&[]).unwrap().is_empty());
}

/// Rewrites one file of a fresh tiny folder, then loads it.
fn with_edit(
    name: &str,
    edit: impl FnOnce(&std::path::Path, &mut BTreeMap<String, Vec<f32>>),
) -> EmbedError {
    let dir = scratch_dir(name);
    let mut w = write_tiny(&dir, 2);
    edit(&dir, &mut w);
    load_err(&dir)
}

#[test]
fn error_catalogue() {
    // A file missing.
    let e = with_edit("no_config", |d, _| {
        std::fs::remove_file(d.join("config.json")).unwrap()
    });
    assert!(
        matches!(&e, EmbedError::Io { file, .. } if file.ends_with("config.json")),
        "{e}"
    );
    let e = with_edit("no_tokenizer", |d, _| {
        std::fs::remove_file(d.join("tokenizer.json")).unwrap()
    });
    assert!(
        matches!(&e, EmbedError::Io { file, .. } if file.ends_with("tokenizer.json")),
        "{e}"
    );
    // Not JSON; not BERT; another activation; a size missing.
    let e = with_edit("bad_json", |d, _| {
        std::fs::write(d.join("config.json"), "{").unwrap()
    });
    assert!(matches!(e, EmbedError::Json { .. }), "{e}");
    let e = with_edit("gpt", |d, _| {
        std::fs::write(
            d.join("config.json"),
            r#"{"model_type": "gpt2", "architectures": ["GPT2Model"]}"#,
        )
        .unwrap()
    });
    assert!(
        matches!(&e, EmbedError::UnknownArchitecture { found, .. } if found.contains("gpt2")),
        "{e}"
    );
    let e = with_edit("relu", |d, _| {
        let c = config_json(&TINY).replace("\"gelu\"", "\"relu\"");
        std::fs::write(d.join("config.json"), c).unwrap()
    });
    assert!(
        matches!(&e, EmbedError::Unsupported { what, .. } if what.contains("relu")),
        "{e}"
    );
    let e = with_edit("no_hidden", |d, _| {
        let c = config_json(&TINY).replace("\"hidden_size\"", "\"hidden_sizes\"");
        std::fs::write(d.join("config.json"), c).unwrap()
    });
    assert!(
        matches!(
            e,
            EmbedError::Config {
                key: "hidden_size",
                ..
            }
        ),
        "{e}"
    );
    // Truncated file: the last tensor's bytes cut off.
    let e = with_edit("truncated", |d, _| {
        let p = d.join("model.safetensors");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 10]).unwrap();
    });
    assert!(
        matches!(&e, EmbedError::Truncated { got, needed, .. } if got < needed),
        "{e}"
    );
    let e = with_edit("header_cut", |d, _| {
        let p = d.join("model.safetensors");
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..100]).unwrap();
    });
    assert!(matches!(e, EmbedError::Header { .. }), "{e}");
    // A tensor missing; a wrong shape.
    let rewrite = |d: &std::path::Path,
                   w: &BTreeMap<String, Vec<f32>>,
                   shapes: &BTreeMap<String, Vec<usize>>| {
        std::fs::write(d.join("model.safetensors"), safetensors_bytes(w, shapes)).unwrap()
    };
    let name = "encoder.layer.1.intermediate.dense.weight";
    let e = with_edit("missing", |d, w| {
        w.remove(name);
        rewrite(d, w, &tensor_shapes(&TINY));
    });
    assert!(
        matches!(&e, EmbedError::MissingTensor { tensor, .. } if tensor == name),
        "{e}"
    );
    let e = with_edit("shape", |d, w| {
        let mut shapes = tensor_shapes(&TINY);
        shapes.insert(name.into(), vec![TINY.hidden, TINY.intermediate]);
        rewrite(d, w, &shapes);
    });
    assert!(
        matches!(&e, EmbedError::Shape { tensor, expected, found, .. }
            if tensor == name && expected == &[40, 16] && found == &[16, 40]),
        "{e}"
    );
    // A wrong dtype: the same bytes declared I32.
    let e = with_edit("dtype", |d, _| {
        let p = d.join("model.safetensors");
        let mut b = std::fs::read(&p).unwrap();
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        let header = String::from_utf8(b[8..8 + n].to_vec()).unwrap();
        let key = "\"embeddings.LayerNorm.bias\":{\"dtype\":\"F32\",\"shape\":[16]";
        assert!(header.contains(key), "{header}");
        let h2 = header.replace(
            key,
            "\"embeddings.LayerNorm.bias\":{\"dtype\":\"I32\",\"shape\":[16]",
        );
        b.splice(8..8 + n, h2.into_bytes());
        std::fs::write(&p, b).unwrap();
    });
    assert!(
        matches!(&e, EmbedError::Dtype { tensor, found, .. } if tensor == "embeddings.LayerNorm.bias" && found == "I32"),
        "{e}"
    );
    // A token id outside the config's vocabulary: a typed error, not an out-of-bounds gather.
    let dir = scratch_dir("big_ids");
    write_tiny(&dir, 3);
    let e = Embedder::load(&dir).unwrap();
    assert!(matches!(
        e.embed_ids(&[vec![2, 30, 3]]),
        Err(EmbedError::TokenId { id: 30, vocab: 24 })
    ));
}
