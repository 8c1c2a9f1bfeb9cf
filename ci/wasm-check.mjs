// Runs firmware/src/bin/wasm_check.rs (built for wasm32-unknown-unknown with +simd128) under
// node: instantiates the module, prints its report, exits with its status (0 = every kernel
// matched the f64 reference). Also refuses a module without SIMD instructions, so a build
// that lost +simd128 cannot pass quietly.
//
// usage: node ci/wasm-check.mjs <path/to/wasm-check.wasm>
import { readFileSync } from "node:fs";

const path = process.argv[2];
if (!path) {
  console.error("usage: node ci/wasm-check.mjs <wasm-check.wasm>");
  process.exit(2);
}
const bytes = readFileSync(path);
const decoder = new TextDecoder();
let memory;
const { instance } = await WebAssembly.instantiate(bytes, {
  env: {
    huiyan_print(ptr, len) {
      process.stdout.write(decoder.decode(new Uint8Array(memory.buffer, ptr, len)));
    },
  },
});
memory = instance.exports.memory;

// simd128 proof: the 0xfd prefix opens every SIMD opcode; count `f32x4.mul` (0xfd 0xe6 0x01)
// in the code section as a cheap, dependency-free signal.
let f32x4mul = 0;
for (let i = 0; i + 2 < bytes.length; i++) {
  if (bytes[i] === 0xfd && bytes[i + 1] === 0xe6 && bytes[i + 2] === 0x01) f32x4mul++;
}
console.log(`wasm32: ${bytes.length} bytes, ${f32x4mul} f32x4.mul byte patterns`);

const status = instance.exports.huiyan_check();
if (f32x4mul === 0) {
  console.error("FAIL: no f32x4.mul in the module: was it built with -C target-feature=+simd128?");
  process.exit(1);
}
process.exit(status);
