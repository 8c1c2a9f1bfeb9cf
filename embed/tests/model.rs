//! all-MiniLM-L6-v2 itself (skipped, loudly, when `embed/fetch-model.sh` has not fetched it):
//! the tokenizer's ids, every layer against the `f64` encoder within its derived bound on every
//! tier, embeddings against the `f64` encoder and against ONNX Runtime's (stored), and the
//! same bits for any thread count.

mod common;

use common::*;
use huiyan_embed::weights::TensorFile;
use huiyan_embed::Embedder;
use huiyan_testkit::encoder::{RefBert, RefConfig};

fn reference_of(dir: &std::path::Path, e: &Embedder) -> RefBert {
    let c = e.config();
    let cfg = RefConfig {
        vocab: c.vocab,
        hidden: c.hidden,
        layers: c.layers,
        heads: c.heads,
        intermediate: c.intermediate,
        max_positions: c.max_positions,
        type_vocab: c.type_vocab,
        eps: f64::from(c.eps),
    };
    let mut f = TensorFile::open(&dir.join("model.safetensors")).unwrap();
    RefBert::new(cfg, |name, shape| f.read_f32(name, shape).unwrap())
}

/// Ids from the `tokenizers` Python package on the same tokenizer.json (truncation 256).
#[test]
fn tokenizer_ids() {
    let Some(dir) = minilm_dir() else { return };
    let e = Embedder::load(&dir).unwrap();
    let cases: [(&str, &[u32]); 5] = [
        ("今天天气晴朗", &[101, 100, 1811, 1811, 100, 100, 100, 102]),
        ("Hello, World!", &[101, 7592, 1010, 2088, 999, 102]),
        ("", &[101, 102]),
        (
            "unbelievably 🙂 naïve café",
            &[101, 4895, 8671, 2666, 3567, 6321, 100, 15743, 7668, 102],
        ),
        (
            "The weather is sunny today.",
            &[101, 1996, 4633, 2003, 11559, 2651, 1012, 102],
        ),
    ];
    for (s, want) in cases {
        assert_eq!(e.tokenize(s).unwrap(), want, "{s:?}");
    }
    assert_eq!(
        e.tokens("今天天气晴朗").unwrap(),
        ["[CLS]", "[UNK]", "天", "天", "[UNK]", "[UNK]", "[UNK]", "[SEP]"]
    );
    let long = "word ".repeat(1000);
    let ids = e.tokenize(&long).unwrap();
    assert_eq!((ids.len(), ids[0], ids[255]), (256, 101, 102));
}

/// Each layer on huiyan's own input to it, within the bound derived from the kernels' bounds
/// (`huiyan_testkit::encoder`), on every tier.
#[test]
fn every_layer_within_its_bound_on_every_tier() {
    let Some(dir) = minilm_dir() else { return };
    let e0 = Embedder::load(&dir).unwrap();
    let r = reference_of(&dir, &e0);
    let ids = e0
        .tokenize("A man is playing a guitar on the street corner, loudly!")
        .unwrap();
    let t = ids.len();
    for k in huiyan::dispatch::under_test() {
        let e = Embedder::load_with(&dir, k).unwrap();
        let states = e.hidden_states(&ids).unwrap();
        let emb = r.embeddings(&ids);
        let worst0 = states[0]
            .iter()
            .zip(&emb)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0.0, f64::max);
        assert!(worst0 < 1e-5, "embeddings: {worst0}");
        for l in 0..e.config().layers {
            let input: Vec<f64> = states[l].iter().map(|&v| f64::from(v)).collect();
            let (want, bound) = r.layer_bound(l, &input, t);
            let mut ratio: f64 = 0.0;
            for ((g, w), b) in states[l + 1].iter().zip(&want).zip(&bound) {
                ratio = ratio.max((f64::from(*g) - w).abs() / b);
            }
            assert!(
                ratio <= 1.0,
                "{} layer {l}: error / bound = {ratio}",
                k.isa().name()
            );
            eprintln!(
                "{} layer {l}: worst error / bound = {ratio:.2e}",
                k.isa().name()
            );
        }
    }
}

/// Sentences of every length up to truncation, Chinese, emoji, mixed case, empty and blank:
/// cosine ≥ 0.99999 against the `f64` encoder on every tier, and against ONNX Runtime's
/// embeddings of the same file (`tests/data/agreement.ort.f32`, written by
/// `../shared/peers/run.sh minilm --input tests/data/agreement.txt --out-emb …`).
#[test]
fn embeddings_agree_with_f64_and_onnx_runtime() {
    let Some(dir) = minilm_dir() else { return };
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/agreement.txt"
    ))
    .unwrap();
    let sentences: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .collect();
    let ort: Vec<f32> = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/agreement.ort.f32"
    ))
    .unwrap()
    .chunks_exact(4)
    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
    .collect();
    let e0 = Embedder::load(&dir).unwrap();
    let r = reference_of(&dir, &e0);
    let want: Vec<Vec<f64>> = sentences
        .iter()
        .map(|s| r.embed(&e0.tokenize(s).unwrap()))
        .collect();
    for k in huiyan::dispatch::under_test() {
        let e = Embedder::load_with(&dir, k).unwrap();
        let got = e.embed(&sentences).unwrap();
        for (i, s) in sentences.iter().enumerate() {
            let c = cosine(got.get(i), &want[i]);
            assert!(c >= 0.99999, "{} f64 {s:?}: cosine {c}", k.isa().name());
            let o: Vec<f64> = ort[i * 384..][..384]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let c = cosine(got.get(i), &o);
            assert!(c >= 0.99999, "{} ORT {s:?}: cosine {c}", k.isa().name());
        }
    }
}

/// With rayon: one thread and two give the same bits.
#[cfg(feature = "rayon")]
#[test]
fn same_bits_for_any_thread_count() {
    let Some(dir) = minilm_dir() else { return };
    let e = Embedder::load(&dir).unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/data/medium.txt"
    ))
    .unwrap();
    let s: Vec<&str> = text.lines().collect();
    let run = |n| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap();
        pool.install(|| e.embed(&s).unwrap())
    };
    let (one, two) = (run(1), run(2));
    huiyan_testkit::assert_bits_eq(one.as_slice(), two.as_slice(), "1 vs 2 threads");
}

/// The checkpoint converted to BF16 and to F16 (every tensor rounded to nearest even, as a
/// half-precision export stores it) embeds within cosine 0.999 of the F32 checkpoint: what
/// storing the model in half precision costs.
#[test]
fn half_precision_checkpoints_stay_within_cosine_0_999() {
    let Some(dir) = minilm_dir() else { return };
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/agreement.txt"
    ))
    .unwrap();
    let sentences: Vec<&str> = text.lines().collect();
    let want = Embedder::load(&dir).unwrap().embed(&sentences).unwrap();
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    for dtype in [safetensors::Dtype::BF16, safetensors::Dtype::F16] {
        let mut tensors = std::collections::BTreeMap::new();
        let mut shapes = std::collections::BTreeMap::new();
        // The F32 tensors; the embedder reads nothing else (the file's I64 position ids are
        // left out).
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                continue;
            }
            let v: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            shapes.insert(name.clone(), view.shape().to_vec());
            tensors.insert(name, v);
        }
        let half = scratch_dir(&format!("minilm_{dtype:?}"));
        for f in ["config.json", "tokenizer.json"] {
            std::fs::copy(dir.join(f), half.join(f)).unwrap();
        }
        let out = safetensors_bytes_as(&tensors, &shapes, dtype);
        std::fs::write(half.join("model.safetensors"), out).unwrap();
        let got = Embedder::load(&half).unwrap().embed(&sentences).unwrap();
        for (i, s) in sentences.iter().enumerate() {
            let w: Vec<f64> = want.get(i).iter().map(|&x| f64::from(x)).collect();
            let c = cosine(got.get(i), &w);
            assert!(c >= 0.999, "{dtype:?} {s:?}: cosine {c}");
        }
    }
}
