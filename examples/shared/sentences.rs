//! The seed article's sentence example, shared by the `demo` and `sentence_similarity`
//! examples: **toy embeddings** (hashed character n-grams — deterministic, no model, no download;
//! they capture shared characters, not meaning), cross attention between two sentences through
//! huiyan's multi-head attention layer, the attention weights as a heatmap, a similarity score.

use huiyan::{AttentionOptions, MhaConfig, MhaWeights, MultiHeadAttention, NeedWeights};

/// Embedding width of the toy embeddings.
pub const DIM: usize = 64;

/// FNV-1a: a fixed, dependency-free hash so the embeddings are the same on every machine.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Toy embedding of each character: its unigram plus the bigrams with its neighbours, each
/// hashed to signed units in `DIM` buckets, then L2-normalised.
pub fn embed(sentence: &str) -> (Vec<char>, Vec<f32>) {
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

fn cosine(x: &[f32], y: &[f32]) -> f32 {
    let d: f32 = x.iter().zip(y).map(|(a, b)| a * b).sum();
    let n = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>().sqrt();
    d / (n(x) * n(y))
}

/// Cross attention from sentence `a` over sentence `b`; prints the weights as a heatmap and
/// returns the similarity: the mean cosine between each character of `a` and what it gathered
/// from `b`.
pub fn compare(a: &str, b: &str) -> Result<f32, huiyan::Error> {
    let (ca, ea) = embed(a);
    let (cb, eb) = embed(b);
    let (lq, lk) = (ca.len(), cb.len());
    // One head with identity projections, so the weights are those of the embeddings
    // themselves; a sharp temperature so the toy weights are readable.
    let eye: Vec<f32> = (0..DIM * DIM)
        .map(|i| if i % (DIM + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let w = MhaWeights {
        wq: &eye,
        wk: &eye,
        wv: &eye,
        wo: &eye,
        ..Default::default()
    };
    let mut mha = MultiHeadAttention::new(MhaConfig::new(DIM, 1)?, &w)?;
    let opts = AttentionOptions {
        scale: Some(6.0),
        ..Default::default()
    };
    let mut out = vec![0.0f32; lq * DIM];
    let mut weights = vec![0.0f32; lq * lk];
    mha.forward(
        &ea,
        &eb,
        &eb,
        1,
        lq,
        lk,
        &opts,
        &mut out,
        NeedWeights::PerHead,
        Some(&mut weights),
    )?;

    println!("cross attention weights: rows {a} attend over columns {b}");
    print!("    ");
    for c in &cb {
        print!(" {c}");
    }
    println!();
    for (i, c) in ca.iter().enumerate() {
        let row = &weights[i * lk..(i + 1) * lk];
        print!("{c}  ");
        for &x in row {
            let s = shade(x);
            print!(" {s}{s}");
        }
        let best = (0..lk)
            .max_by(|&x, &y| row[x].total_cmp(&row[y]))
            .unwrap_or(0);
        println!("   → {} ({:.2})", cb[best], row[best]);
    }
    let sim = (0..lq)
        .map(|i| cosine(&ea[i * DIM..(i + 1) * DIM], &out[i * DIM..(i + 1) * DIM]))
        .sum::<f32>()
        / lq as f32;
    println!("similarity (mean cosine of each character with its attended summary): {sim:.3}");
    println!("(toy embeddings: hashed character n-grams, not a language model)");
    Ok(sim)
}
