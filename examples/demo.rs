//! The README's first command: `cargo run --release --example demo`.
//!
//! Prints the ISA dispatch picked, then runs cross attention between the seed article's two
//! sentences with **toy embeddings** (hashed character n-grams — deterministic, no model, no
//! download; they capture shared characters, not meaning) and prints the attention weights as
//! a heatmap.

use huiyan::{AttentionOptions, MatMut, MatRef, SoftmaxOptions, Tensor4Mut, Tensor4Ref};

/// Embedding width of the toy embeddings.
const DIM: usize = 64;

/// FNV-1a: a fixed, dependency-free hash so the embeddings are the same on every machine.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Toy embedding of each character: its unigram plus the bigrams with its neighbours, each
/// hashed to a signed unit in one of `DIM` buckets, then L2-normalised.
fn embed(sentence: &str) -> (Vec<char>, Vec<f32>) {
    let chars: Vec<char> = sentence.chars().collect();
    let mut out = vec![0.0f32; chars.len() * DIM];
    for (i, row) in out.chunks_mut(DIM).enumerate() {
        let mut grams = vec![chars[i].to_string()];
        if i > 0 {
            grams.push(format!("{}{}", chars[i - 1], chars[i]));
        }
        if i + 1 < chars.len() {
            grams.push(format!("{}{}", chars[i], chars[i + 1]));
        }
        for (g, weight) in grams.iter().zip([1.0f32, 0.5, 0.5]) {
            let h = fnv1a(g.as_bytes());
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            row[(h % DIM as u64) as usize] += sign * weight;
            row[((h >> 20) % DIM as u64) as usize] += sign * weight * 0.5;
        }
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        row.iter_mut().for_each(|x| *x /= norm);
    }
    (chars, out)
}

fn shade(w: f32) -> char {
    [' ', '░', '▒', '▓', '█'][((w * 5.0) as usize).min(4)]
}

fn main() -> Result<(), huiyan::Error> {
    let k = huiyan::dispatch::kernels();
    println!(
        "huiyan {} — kernels: {}",
        env!("CARGO_PKG_VERSION"),
        k.isa().name()
    );

    let (qa, ea) = embed("今天天气晴朗");
    let (kb, eb) = embed("今天的天气很晴朗");
    let (lq, lk) = (qa.len(), kb.len());
    // A sharp temperature so the toy weights are readable: similar characters score near 1.
    let scale = 6.0f32;

    // Cross attention A → B: each character of A attends over the characters of B.
    let mut o = vec![0.0f32; lq * DIM];
    huiyan::attention(
        Tensor4Ref::bhsd(&ea, [1, 1, lq, DIM]),
        Tensor4Ref::bhsd(&eb, [1, 1, lk, DIM]),
        Tensor4Ref::bhsd(&eb, [1, 1, lk, DIM]),
        Tensor4Mut::bhsd(&mut o, [1, 1, lq, DIM]),
        &AttentionOptions {
            scale: Some(scale),
            ..Default::default()
        },
        None,
    )?;

    // The weights themselves, for display: softmax(scale · A·Bᵀ).
    let mut scores = vec![0.0f32; lq * lk];
    huiyan::reference::matmul(
        1.0,
        MatRef::row_major(&ea, lq, DIM),
        MatRef::row_major(&eb, lk, DIM).t(),
        0.0,
        MatMut::row_major(&mut scores, lq, lk),
    )?;
    let mut weights = vec![0.0f32; lq * lk];
    huiyan::reference::softmax(
        MatRef::row_major(&scores, lq, lk),
        MatMut::row_major(&mut weights, lq, lk),
        &SoftmaxOptions {
            scale,
            ..Default::default()
        },
        None,
    )?;

    println!(
        "\ncross attention weights (rows: 今天天气晴朗 attends over columns: 今天的天气很晴朗)"
    );
    print!("    ");
    for c in &kb {
        print!(" {c}");
    }
    println!();
    for (i, c) in qa.iter().enumerate() {
        print!("{c}  ");
        for j in 0..lk {
            let s = shade(weights[i * lk + j]);
            print!(" {s}{s}");
        }
        let row = &weights[i * lk..(i + 1) * lk];
        let best = (0..lk)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap_or(0);
        println!("   → {} ({:.2})", kb[best], row[best]);
    }

    // Similarity: mean cosine between each character of A and what it gathered from B.
    let cos = |x: &[f32], y: &[f32]| {
        let d: f32 = x.iter().zip(y).map(|(a, b)| a * b).sum();
        d / (x.iter().map(|a| a * a).sum::<f32>().sqrt()
            * y.iter().map(|a| a * a).sum::<f32>().sqrt())
    };
    let sim = (0..lq)
        .map(|i| cos(&ea[i * DIM..(i + 1) * DIM], &o[i * DIM..(i + 1) * DIM]))
        .sum::<f32>()
        / lq as f32;
    println!("\nsimilarity (mean cosine of each character with its attended summary): {sim:.3}");
    println!("(toy embeddings: hashed character n-grams, not a language model)");
    Ok(())
}
