// Run ONNX models with ONNX Runtime (npm package onnxruntime-node):
//   node tests/onnx_run.js ORT_DIR IN.f32 N DIMS MODEL.onnx OUT.f32 [MODEL OUT ...]
// IN.f32: N samples of float32 (little-endian, row-major), each of shape
// DIMS ("784", "28x28" or "1x28x28"), fed to each model as "input"; each
// OUT.f32 receives that model's "output" the same way.
// Prints the runtime's version; exits 77 when onnxruntime-node cannot be
// loaded from ORT_DIR, 1 when a model fails.
'use strict';
const fs = require('fs');
const path = require('path');
const [ortDir, inPath, nStr, dStr, ...pairs] = process.argv.slice(2);
let ort;
try {
    ort = require(path.resolve(ortDir, 'node_modules', 'onnxruntime-node'));
} catch (e) {
    console.log('onnxruntime-node not loadable from ' + ortDir + ': ' + e.message.split('\n')[0]);
    process.exit(77);
}
(async () => {
    const n = parseInt(nStr, 10), dims = dStr.split('x').map((v) => parseInt(v, 10));
    const d = dims.reduce((a, b) => a * b, 1);
    const buf = fs.readFileSync(inPath);
    const x = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + n * d * 4));
    for (let i = 0; i + 1 < pairs.length; i += 2) {
        const session = await ort.InferenceSession.create(pairs[i], {
            executionProviders: ['cpu'], intraOpNumThreads: 1});
        const out = await session.run({input: new ort.Tensor('float32', x, [n, ...dims])});
        const y = out.output;
        fs.writeFileSync(pairs[i + 1], Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    }
    console.log('onnxruntime ' + ort.env.versions.common);
})().catch((e) => {
    console.log('onnxruntime failed: ' + e.message);
    process.exit(1);
});
