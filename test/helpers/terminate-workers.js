/**
 * A child-process main (an abort here must not take the jest worker down): `rounds` times, starts
 * two workers that load the package and compute losses in a loop, and terminates each after a
 * random 0-50 ms, so that termination lands while the addon is loading (module Init) or inside a
 * loss call. Prints "done <rounds>" and exits 0 when the process survived all of them.
 *
 * usage: node terminate-workers.js <dist/index.js> <rounds>
 */
const path = require('path');
const { Worker } = require('worker_threads');

const [distIndex, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg) || 40;
const JOB = path.join(__dirname, 'worker-job.js');

let state = 1;
const random = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 4294967296;
};

function once(id) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(JOB, { workerData: { distIndex, seed: id, count: 0, id, mode: 'loop' } });
    worker.on('message', (m) => {
      if (m.started) setTimeout(() => void worker.terminate(), random() * 50);
    });
    worker.on('error', reject);
    worker.on('exit', resolve);
  });
}

(async () => {
  for (let i = 0; i < rounds; i++) await Promise.all([once(2 * i), once(2 * i + 1)]);
  console.log(`done ${rounds}`);
})().catch((e) => {
  console.log(`worker error: ${e && e.stack}`);
  process.exitCode = 2;
});
