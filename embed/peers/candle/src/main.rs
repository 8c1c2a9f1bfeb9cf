//! candle's `BertModel` (candle-transformers) on all-MiniLM-L6-v2, timed with the protocol of
//! `embed --bench` (file order, `--batch` at a time, tokenization included, 3 warm-up and 10
//! timed passes, median), printing the same JSON line with `"peer": "candle"`. The batch is
//! padded to its longest sentence, as candle's own embedding examples do; mean pooling over
//! the attention mask, then L2 normalisation.
//!
//! ```text
//! cargo run --release --manifest-path embed/peers/candle/Cargo.toml -- --model DIR --bench FILE [--threads N]
//! ```

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn embed(model: &BertModel, tok: &Tokenizer, s: &[&str]) -> Res<Tensor> {
    let enc = tok
        .encode_batch(s.to_vec(), true)
        .map_err(|e| e.to_string())?;
    let dev = Device::Cpu;
    let ids: Vec<Tensor> = enc
        .iter()
        .map(|e| Tensor::new(e.get_ids(), &dev))
        .collect::<Result<_, _>>()?;
    let mask: Vec<Tensor> = enc
        .iter()
        .map(|e| Tensor::new(e.get_attention_mask(), &dev))
        .collect::<Result<_, _>>()?;
    let ids = Tensor::stack(&ids, 0)?;
    let mask = Tensor::stack(&mask, 0)?;
    let types = ids.zeros_like()?;
    let h = model.forward(&ids, &types, Some(&mask))?;
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let sum = h.broadcast_mul(&m)?.sum(1)?;
    let cnt = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    let mean = sum.broadcast_div(&cnt)?;
    let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    Ok(mean.broadcast_div(&norm)?)
}

fn main() -> Res<()> {
    let (mut dir, mut bench, mut threads, mut batch) =
        (String::new(), String::new(), 1usize, 32usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().ok_or("missing value")?;
        match a.as_str() {
            "--model" => dir = v,
            "--bench" => bench = v,
            "--threads" => threads = v.parse()?,
            "--batch" => batch = v.parse()?,
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    // candle's CPU matmuls take their thread count from here (read on first use).
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    // Tokenization as the other peers do it: on the calling thread.
    std::env::set_var("TOKENIZERS_PARALLELISM", "false");
    let dir = std::path::PathBuf::from(dir);
    let cfg: Config = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json"))?)?;
    // SAFETY (candle's contract for mmaped weights): the file is not modified while mapped.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )?
    };
    let model = BertModel::load(vb, &cfg)?;
    let mut tok = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| e.to_string())?;
    tok.with_padding(Some(PaddingParams::default()));
    tok.with_truncation(Some(TruncationParams {
        max_length: 256,
        ..Default::default()
    }))
    .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(&bench)?;
    let s: Vec<&str> = text
        .strip_suffix('\n')
        .unwrap_or(&text)
        .split('\n')
        .collect();
    let pass = || -> Res<f64> {
        let t = Instant::now();
        for c in s.chunks(batch) {
            std::hint::black_box(embed(&model, &tok, c)?);
        }
        Ok(t.elapsed().as_secs_f64())
    };
    for _ in 0..3 {
        pass()?;
    }
    let mut times: Vec<f64> = (0..10).map(|_| pass()).collect::<Res<_>>()?;
    times.sort_by(f64::total_cmp);
    let med = 0.5 * (times[4] + times[5]);
    let case = std::path::Path::new(&bench)
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy();
    println!(
        "{{\"peer\": \"candle\", \"case\": \"{case}\", \"batch\": {}, \"threads\": {threads}, \"median_s\": {med}, \"sent_per_s\": {}}}",
        s.len(),
        s.len() as f64 / med
    );
    Ok(())
}
