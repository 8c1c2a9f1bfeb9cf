//! `#![no_std]` checker: calls every public kernel entry point of `huiyan-kernels` with
//! stack buffers and defines its own panic handler. It only has to *compile*: a second
//! `panic_impl` (from `std`) in the dependency graph is a hard error.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

use huiyan_kernels::attention::AttentionOptions;
use huiyan_kernels::softmax::SoftmaxOptions;
use huiyan_kernels::{reference, Kernels, MatMut, MatRef, Tensor4Mut, Tensor4Ref};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Runs each kernel family once on tiny inputs; returns 0 when all succeed.
#[no_mangle]
pub extern "C" fn huiyan_nostd_selfcheck() -> i32 {
    let kernels = Kernels::best_compile_time();
    let _ = kernels.isa();
    let a = [1.0f32; 16];
    let mut c = [0.0f32; 16];
    let mut status = 0;
    if reference::matmul(
        1.0,
        MatRef::row_major(&a, 4, 4),
        MatRef::row_major(&a, 4, 4),
        0.0,
        MatMut::row_major(&mut c, 4, 4),
    )
    .is_err()
    {
        status |= 1;
    }
    let mut y = [0.0f32; 16];
    if reference::softmax(
        MatRef::row_major(&a, 4, 4),
        MatMut::row_major(&mut y, 4, 4),
        &SoftmaxOptions::default(),
        None,
    )
    .is_err()
    {
        status |= 2;
    }
    let mut o = [0.0f32; 16];
    let t = |s| Tensor4Ref::bhsd(s, [1, 1, 4, 4]);
    if reference::attention(
        t(&a),
        t(&a),
        t(&a),
        Tensor4Mut::bhsd(&mut o, [1, 1, 4, 4]),
        &AttentionOptions {
            is_causal: true,
            ..Default::default()
        },
        None,
    )
    .is_err()
    {
        status |= 4;
    }
    // B packed once into stack storage (a 4 × 4 B needs at most 4·32 + 16 elements), reused with
    // a bias.
    let mut storage = [0.0f32; 160];
    let mut ws = [0.0f32; 512];
    let bias = [0.5f32; 4];
    let product =
        huiyan_kernels::gemm::PackedB::new(&kernels, MatRef::row_major(&a, 4, 4), &mut storage[..])
            .and_then(|pb| {
                huiyan_kernels::gemm::gemm_packed(
                    &kernels,
                    1.0,
                    MatRef::row_major(&a, 4, 4),
                    &pb,
                    0.0,
                    MatMut::row_major(&mut c, 4, 4),
                    Some(&bias),
                    &mut ws,
                )
            });
    if product.is_err() {
        status |= 8;
    }
    status
}
