/**
 * A rank for the launcher tests (test/dist.test.ts): writes the environment the launcher gave it
 * to <outDir>/env-<RANK>.json, then
 *   mode 'ok':    exits 0;
 *   mode 'fail':  rank 1 exits with code 7, the others wait forever (the launcher must stop them);
 *   mode 'wait':  every rank waits forever.
 *   node launch-probe.js <outDir> <mode>
 */
const fs = require('fs');
const path = require('path');

const [outDir, mode] = process.argv.slice(2);
const keys = ['RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'];
const env = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
fs.writeFileSync(path.join(outDir, `env-${process.env.RANK}.json`), JSON.stringify(env));
if (mode === 'fail' && process.env.RANK === '1') process.exit(7);
if (mode === 'fail' || mode === 'wait') setInterval(() => {}, 1000);
