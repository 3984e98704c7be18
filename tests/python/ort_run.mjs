// Runs an ONNX model in ONNX Runtime (onnxruntime-node) on one float32 input, for the
// export tests. Usage: node ort_run.mjs MODEL.onnx INPUT.bin N,C,H,W OUT_DIR
// Needs env ORT_NODE_DIR = folder whose node_modules/ holds onnxruntime-node.
// Writes OUT_DIR/<output>.bin (raw float32) and OUT_DIR/outputs.json ({name: dims}).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const [modelPath, inputPath, dimsText, outDir] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(process.env.ORT_NODE_DIR), 'package.json'));
const ort = require('onnxruntime-node');

const dims = dimsText.split(',').map(Number);
const buf = fs.readFileSync(inputPath);
const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const session = await ort.InferenceSession.create(modelPath, {
  executionProviders: ['cpu'], graphOptimizationLevel: process.env.ORT_OPT_LEVEL || 'all', logSeverityLevel: 3,
});
const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
const shapes = {};
for (const name of session.outputNames) {
  const t = out[name];
  fs.writeFileSync(path.join(outDir, name + '.bin'), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  shapes[name] = t.dims;
}
fs.writeFileSync(path.join(outDir, 'outputs.json'), JSON.stringify(shapes));
