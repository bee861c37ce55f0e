/**
 * One rank of a distributed test (test/dist.test.ts): a plain `node` process started by the
 * launcher (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT set) or by the test itself.
 *
 *   node dist-rank.js <scenario> <outDir> [seed]
 *
 * Writes what it computed to <outDir>/rank-<RANK>.json; on an error, { error: { name, message } }
 * there and exit code 3. Scenarios:
 *   parity   wrapped batch-hard triplet (sync, host; async, Tensor), center loss and ArcFace on ragged batches
 *   train    5 optimiser steps of a linear model + CenterLoss with the wrappers and averaging
 *   killed   allReduce in a loop; the last rank SIGKILLs itself after 2 rounds
 *   stalled  the last rank stays alive but never calls; the others allReduce
 *   errors   a second init, a shape mismatch, a bad op: errors, and the group still works after
 *   alone    join a group of WORLD_SIZE whose other ranks never come
 */
const fs = require('fs');
const path = require('path');

const tl = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
const data = require('./dist-data');

const [scenario, outDir, seedText] = process.argv.slice(2);
const seed = Number(seedText || 1);
const { dist, F } = tl;
const rank = Number(process.env.RANK);
const timeoutMs = Number(process.env.TL_TEST_TIMEOUT_MS || 20000);

const write = (value) => fs.writeFileSync(path.join(outDir, `rank-${rank}.json`), JSON.stringify(value));
const plain = (array) => Array.from(array);
const errorOf = (e) => ({ name: e.name, message: e.message });

async function parity() {
  const batch = data.parityBatch(seed, rank);
  const emb = { data: batch.embeddings, shape: [batch.rows, data.SIZES.dim] };
  const triplet = new dist.DistributedLoss(F.batchHardTripletLoss, data.TRIPLET_OPTIONS);
  const t = triplet.forward(emb, batch.labels);
  // The same through Tensors and the async path: the rows come back as a Tensor.
  const asTensor = tl.tensor(emb.data, emb.shape);
  const tt = await new dist.DistributedLoss(F.batchHardTripletLossAsync, data.TRIPLET_OPTIONS).forwardAsync(asTensor, batch.labels);
  tl.manualSeed(seed);
  const center = new tl.nn.CenterLoss({ numClasses: data.SIZES.classes, featDim: data.SIZES.dim });
  const c = await new dist.DistributedLoss(center).forwardAsync(emb, batch.labels);
  const centerGrad = center.gradients().centers.data;
  dist.averageGradients(center);
  tl.manualSeed(seed);
  const arc = new tl.nn.ArcFaceLoss({ ...data.ARCFACE_OPTIONS, inFeatures: data.SIZES.dim, numClasses: data.SIZES.classes });
  const a = new dist.DistributedLoss(arc).forward(emb, batch.labels);
  write({
    triplet: { loss: t.loss, globalLoss: t.globalLoss, grad: plain(t.grad.embeddings), rows: t.rows, stats: t.stats },
    tripletTensor: { loss: tt.loss, grad: plain(tt.grad.embeddings.toFloat32Array()), isTensor: tl.isTensor(tt.grad.embeddings) },
    center: { loss: c.loss, grad: plain(c.grad.input), rows: c.rows, centerGrad: plain(centerGrad), averaged: plain(center.gradients().centers.data) },
    arcface: { loss: a.loss, grad: plain(a.grad.input), rows: a.rows, weightGrad: plain(arc.gradients().weight.data) },
  });
}

function train() {
  const { model, center } = data.makeModules(tl, seed + 1000 * rank); // different starts on purpose
  dist.broadcastParameters(model);
  dist.broadcastParameters(center);
  const options = { modelGradients: 'averaged' };
  const triplet = new dist.DistributedLoss(F.batchHardTripletLoss, data.TRIPLET_OPTIONS, options);
  const centerLoss = new dist.DistributedLoss(center, undefined, options);
  const losses = [];
  for (let step = 0; step < 5; step++) {
    losses.push(
      data.trainStep(
        {
          model,
          center,
          triplet: (e, l) => triplet.forward(e, l),
          centerForward: (e, l) => centerLoss.forward(e, l),
          reduce: (m, c) => {
            dist.averageGradients(m);
            dist.averageGradients(c);
          },
        },
        data.rankBatch(seed + step, rank),
      ),
    );
  }
  write({ losses, weight: plain(model.parameters().weight.data), centers: plain(center.parameters().centers.data) });
}

function killed() {
  const last = Number(process.env.WORLD_SIZE) - 1;
  for (let round = 0; ; round++) {
    if (rank === last && round === 2) process.kill(process.pid, 'SIGKILL');
    dist.allReduce(new Float32Array([rank, round]));
  }
}

function stalled() {
  if (rank === Number(process.env.WORLD_SIZE) - 1) {
    // Alive, connected, but never at the collective; exits quietly once the others gave up.
    return new Promise((resolve) => setTimeout(() => process.exit(0), 2 * timeoutMs));
  }
  dist.allReduce(new Float32Array([rank]));
  throw new Error('allReduce returned although a rank never called it');
}

async function errors() {
  const out = {};
  const attempt = (name, fn) => {
    try {
      fn();
      out[name] = null;
    } catch (e) {
      out[name] = errorOf(e);
    }
  };
  attempt('secondInit', () => dist.initProcessGroup({ timeoutMs }));
  attempt('shapeMismatch', () => dist.allReduce(new Float32Array(rank + 1)));
  attempt('badOp', () => dist.allReduce(new Float32Array(2), 'product'));
  try {
    await dist.allGatherAsync({ data: new Float32Array(rank === 0 ? 4 : 3), shape: rank === 0 ? [2, 2] : [1, 3] });
    out.gatherMismatch = null;
  } catch (e) {
    out.gatherMismatch = errorOf(e);
  }
  // The group still works after the refused calls.
  out.sumAfter = plain(dist.allReduce(new Float32Array([rank + 1])).data);
  out.maxAfter = plain((await dist.allReduceAsync(new Float32Array([rank]), 'max')).data);
  out.broadcast = plain(dist.broadcast(Float32Array.from([rank * 10]), 1).data);
  dist.barrier();
  write(out);
}

/**
 * Waits until every rank has loaded the addon (a file each in outDir), so that a short
 * timeoutMs bounds the collectives under test and not the start-up of a slow sibling process.
 */
async function awaitPeersLoaded() {
  const worldSize = Number(process.env.WORLD_SIZE);
  fs.writeFileSync(path.join(outDir, `loaded-${rank}`), '');
  const loaded = () => Array.from({ length: worldSize }, (_, r) => fs.existsSync(path.join(outDir, `loaded-${r}`)));
  while (!loaded().every(Boolean)) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  try {
    if (scenario !== 'alone') await awaitPeersLoaded();
    dist.initProcessGroup({ timeoutMs });
    if (scenario === 'alone') throw new Error('joined a group whose other ranks never started');
    await { parity, train, killed, stalled, errors }[scenario]();
    await dist.barrierAsync();
    dist.destroy();
  } catch (e) {
    write({ error: errorOf(e) });
    process.exit(3);
  }
}

main();
