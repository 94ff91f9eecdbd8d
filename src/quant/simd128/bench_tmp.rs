use wasm_bindgen_test::*;
use crate::quant::activation::*;
use crate::quant::blocks::*;
use crate::quant::{scalar, simd128};

fn now() -> f64 { js_sys::Date::now() }

macro_rules! bench {
    ($name:literal, $block:ty, $q:ident, $dot:ident, $deq:ident) => {{
        let per = size_of::<$block>();
        let cols = 2048usize;
        let nb = cols / <$block as WeightBlock>::ELEMENTS;
        let rows = 512usize;
        let bytes: Vec<u8> = (0..rows * nb * per).map(|i| (i * 7 + 3) as u8 ^ (i >> 5) as u8).collect();
        let mut bytes = bytes;
        // make f16 fields small finite: zero the top bits of every byte pair is too much; just sanitize via dequant not needed for timing
        for b in bytes.iter_mut() { if *b == 0x7C || *b == 0x7E || *b == 0xFC { *b = 0x3C; } }
        let w = cast_blocks::<$block>(&bytes).unwrap();
        let x: Vec<f32> = (0..cols).map(|i| ((i * 13 % 17) as f32 - 8.0) * 0.1).collect();
        let a = $q(&x).unwrap();
        let mut sink = 0.0f32;
        let reps = 20;
        let t0 = now();
        for _ in 0..reps { for r in w.chunks_exact(nb) { sink += scalar::$dot(r, &a); } }
        let t1 = now();
        for _ in 0..reps { for r in w.chunks_exact(nb) { sink += simd128::$dot(r, &a); } }
        let t2 = now();
        let mut out = vec![0.0f32; rows * cols];
        for _ in 0..reps { scalar::$deq(w, &mut out); sink += out[5]; }
        let t3 = now();
        for _ in 0..reps { simd128::$deq(w, &mut out); sink += out[5]; }
        let t4 = now();
        let gb = (bytes.len() * reps) as f64 / 1e9;
        web_sys::console::log_1(&format!("{}: dot scalar {:.2} GB/s simd {:.2} GB/s ({:.1}x); dequant scalar {:.1} ms simd {:.1} ms ({:.1}x) sink {}",
            $name, gb / ((t1 - t0) / 1e3), gb / ((t2 - t1) / 1e3), (t1 - t0) / (t2 - t1), t3 - t2, t4 - t3, (t3 - t2) / (t4 - t3), sink).into());
    }};
}

#[wasm_bindgen_test]
fn bench_all() {
    bench!("Q4_0", BlockQ4_0, quantize_q8_0, vec_dot_q4_0_q8_0, dequantize_q4_0);
    bench!("Q4_1", BlockQ4_1, quantize_q8_1, vec_dot_q4_1_q8_1, dequantize_q4_1);
    bench!("Q5_0", BlockQ5_0, quantize_q8_0, vec_dot_q5_0_q8_0, dequantize_q5_0);
    bench!("Q8_0", BlockQ8_0, quantize_q8_0, vec_dot_q8_0_q8_0, dequantize_q8_0);
    bench!("Q4_K", BlockQ4K, quantize_q8_k, vec_dot_q4_k_q8_k, dequantize_q4_k);
    bench!("Q6_K", BlockQ6K, quantize_q8_k, vec_dot_q6_k_q8_k, dequantize_q6_k);
    bench!("Q5_K", BlockQ5K, quantize_q8_k, vec_dot_q5_k_q8_k, dequantize_q5_k);
    bench!("Q2_K", BlockQ2K, quantize_q8_k, vec_dot_q2_k_q8_k, dequantize_q2_k);
    bench!("Q3_K", BlockQ3K, quantize_q8_k, vec_dot_q3_k_q8_k, dequantize_q3_k);
}
