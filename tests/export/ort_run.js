// tests/export - runs an exported ONNX model with ONNX Runtime (npm
// onnxruntime-node, installed by `make export-test-deps` into
// build/onnxruntime): the input "image" from a raw float32 file of the
// model's input shape, the first output written as raw float32.
//   NODE_PATH=build/onnxruntime/node_modules node ort_run.js MODEL.onnx INPUT.bin OUTPUT.bin [EXPECTED.bin TOL]
// With EXPECTED.bin (raw float32 of the output's size) it also prints the
// largest difference and exits 1 above TOL.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, input, output, expected, tol] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model);
  const meta = session.handler && session.handler.inputMetadata;
  const bytes = fs.readFileSync(input);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  // The input shape is in the model's metadata (innereye.input_shape); the
  // file must match it exactly.
  // A file holding several slabs of the window's depth (a 2-D model's
  // slices) is fed slab by slab; the outputs are stacked the same way.
  const shape = JSON.parse(readMeta(model, 'innereye.input_shape'));
  const n = shape.reduce((a, b) => a * b, 1);
  const [, c, d] = shape, plane = n / (c * d);
  if (data.length % n !== 0) throw new Error(`input has ${data.length} values, not slabs of ${shape}`);
  const slabs = data.length / n, depth = slabs * d;
  let outAll = null, outShape = null;
  for (let s = 0; s < slabs; s++) {
    if (slabs === 1) { // one run: any output shape, as it comes
      const results = await session.run({ image: new ort.Tensor('float32', data, shape) });
      const out = results[session.outputNames[0]];
      outAll = out.data; outShape = out.dims;
      break;
    }
    const x = new Float32Array(n);
    for (let ch = 0; ch < c; ch++)
      x.set(data.subarray((ch * depth + s * d) * plane, (ch * depth + (s + 1) * d) * plane), ch * d * plane);
    const results = await session.run({ image: new ort.Tensor('float32', x, shape) });
    const out = results[session.outputNames[0]];
    if (out.dims.length === 2) { // a classifier's [1, K] predictions: one run
      outAll = out.data; outShape = out.dims;
      break;
    }
    const k = out.dims[1];
    if (!outAll) { outAll = new Float32Array(k * depth * plane); outShape = [1, k, depth, ...out.dims.slice(3)]; }
    for (let ch = 0; ch < k; ch++)
      outAll.set(out.data.subarray(ch * d * plane, (ch + 1) * d * plane), (ch * depth + s * d) * plane);
  }
  fs.writeFileSync(output, Buffer.from(outAll.buffer, outAll.byteOffset, outAll.byteLength));
  console.log(`onnxruntime: ${session.outputNames[0]} [${outShape}] in ${slabs} run(s)`);
  if (expected) {
    const e = fs.readFileSync(expected);
    const want = new Float32Array(e.buffer, e.byteOffset, e.length / 4);
    if (want.length !== outAll.length) throw new Error(`${expected} has ${want.length} values, the output ${outAll.length}`);
    let worst = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(want[i] - outAll[i]);
      if (!(d <= worst)) worst = d; // NaN counts as the worst
    }
    console.log(`largest |onnxruntime - innereye| ${worst} (tolerance ${tol})`);
    if (!(worst <= Number(tol))) process.exit(1);
  }
  void meta;
}

// metadata_props are protobuf; the JSON value follows its key in the file
// (keys and values are plain strings), so a byte search finds it.
function readMeta(model, key) {
  const buf = fs.readFileSync(model);
  const k = Buffer.from(key);
  const at = buf.lastIndexOf(k);
  if (at < 0) throw new Error(`${model} has no ${key}`);
  let p = at + k.length;
  if (buf[p] !== 0x12) throw new Error(`${key} has no value`);
  p++;
  let len = 0, shift = 0;
  for (;;) { const b = buf[p++]; len |= (b & 0x7f) << shift; if (!(b & 0x80)) break; shift += 7; }
  return buf.slice(p, p + len).toString();
}

main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
