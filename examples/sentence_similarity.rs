//! The seed article's example: how similar are "今天天气晴朗" and "今天的天气很晴朗"?
//!
//! `cargo run --release --example sentence_similarity [SENTENCE_A SENTENCE_B]`
//!
//! Embeds each character with **toy embeddings** (hashed character n-grams: deterministic, no
//! model — they see shared characters, not meaning), runs cross attention from A over B through
//! `huiyan::MultiHeadAttention`, prints the attention weights as a heatmap with the characters
//! as labels, and a similarity score. An unrelated sentence is compared too, for contrast.

#[path = "shared/sentences.rs"]
mod sentences;

fn main() -> Result<(), huiyan::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (a, b) = match args.as_slice() {
        [a, b] => (a.as_str(), b.as_str()),
        _ => ("今天天气晴朗", "今天的天气很晴朗"),
    };
    let sim = sentences::compare(a, b)?;
    println!();
    let other = sentences::compare(a, "我喜欢吃苹果")?;
    println!("\n{a} vs {b}: {sim:.3}   {a} vs 我喜欢吃苹果: {other:.3}");
    Ok(())
}
