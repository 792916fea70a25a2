// face-api.js 0.22.2 itself (tfjs-core 1.7.0, CPU backend, no tfjs-node): expression probabilities of
// raw uint8 112x112x3 RGB crops (tools/compare_expression_cnns.py --crops), the reference that
// tools/export_faceapi_expression.py's ONNX export was checked against. Development only.
//   mkdir /tmp/fa && cd /tmp/fa && npm init -y && npm i face-api.js@0.22.2
//   NODE_PATH=/tmp/fa/node_modules node tools/faceapi_tfjs_reference.js MODEL_DIR CROPS.u8 OUT.json
// Output: {"probs": [[neutral, happy, sad, angry, fearful, disgusted, surprised], ...]}.
const fs=require('fs');
const faceapi=require('face-api.js');
const tf=faceapi.tf;
const [,, modelDir, cropsPath, outPath]=process.argv;
const man=JSON.parse(fs.readFileSync(modelDir+'/face_expression_model-weights_manifest.json'));
const buf=fs.readFileSync(modelDir+'/face_expression_model.bin');
const wm=tf.io.decodeWeights(buf.buffer.slice(buf.byteOffset, buf.byteOffset+buf.byteLength), man[0].weights);
const net=new faceapi.FaceExpressionNet();
net.loadFromWeightMap(wm);
const raw=fs.readFileSync(cropsPath); const S=112*112*3; const n=raw.length/S;
(async()=>{
  const out=[];
  for(let i=0;i<n;i++){
    const t=tf.tensor3d(Uint8Array.from(raw.subarray(i*S,(i+1)*S)),[112,112,3],'int32');
    const r=await net.predictExpressions(t); t.dispose();
    out.push(['neutral','happy','sad','angry','fearful','disgusted','surprised'].map(k=>r[k]));
  }
  fs.writeFileSync(outPath, JSON.stringify({backend: tf.getBackend(), tfjs: tf.version_core, probs: out}));
  console.log('backend', tf.getBackend(), 'n', n);
})();
