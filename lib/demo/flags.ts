/** `torch-losses demo` flags -> DemoOptions (lib/cli.ts turns a FlagError into usage + exit code 2). */
import * as check from '../validate';
import type { DemoOptions } from './run';

export const DEMO_USAGE = `usage: torch-losses demo [options]

Trains an embedding model on MNIST digits 0-5 (softmax + batch-hard triplet + center loss, P x K
batches) and evaluates zero-shot retrieval on digits 6-9: Recall@1, mAP and rank-5 before and
after training. Writes loss-curve.svg, metrics.svg, summary.json and embedding-head.pt.

options:
  --device DEVICE          cpu | cuda | cuda:N | auto (default cpu)
  --epochs N               passes over the training digits (default 10)
  --p N                    digits per batch, at most 6 (default 6)
  --k N                    images per digit in a batch (default 16)
  --weights CE,TRI,CENTER  loss weights (default 0.5,1,0.0005)
  --seed N                 seed of the initialisation, split and batches (default 0)
  --out DIR                output folder (default demo-output)
  --threads N              libtorch intra-op threads
  --samples-per-class N    use only N images per digit (a quicker run)
  --lr X                   Adam's learning rate (default 0.001)
  --embedding-dim N        embedding size (default 8)
  --json                   print the summary as JSON instead of the table
  --quiet                  no progress and no table
  --help                   this text`;

export class FlagError extends Error {}

const integer = (flag: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new FlagError(`${flag} must be an integer >= ${min}, got '${v}'`);
  return n;
};

const positive = (flag: string, v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new FlagError(`${flag} must be a number > 0, got '${v}'`);
  return n;
};

/** The options of `args`, or 'help' for --help. */
export function parseDemoFlags(args: string[]): DemoOptions | 'help' {
  const options: DemoOptions = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new FlagError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help': return 'help';
      case '--json': options.json = true; break;
      case '--quiet': options.quiet = true; break;
      case '--device':
        try { options.device = check.device(value()); } catch (e) { throw new FlagError((e as Error).message); }
        break;
      case '--epochs': options.epochs = integer(flag, value(), 1); break;
      case '--p': options.p = integer(flag, value(), 1); break;
      case '--k': options.k = integer(flag, value(), 1); break;
      case '--seed': options.seed = integer(flag, value(), 0); break;
      case '--threads': options.threads = integer(flag, value(), 1); break;
      case '--samples-per-class': options.samplesPerClass = integer(flag, value(), 1); break;
      case '--embedding-dim': options.embeddingDim = integer(flag, value(), 1); break;
      case '--lr': options.lr = positive(flag, value()); break;
      case '--out': options.outDir = value(); break;
      case '--weights': {
        const v = value();
        const parts = v.split(',').map(Number);
        if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x) || x < 0)) {
          throw new FlagError(`--weights must be three numbers >= 0, CE,TRIPLET,CENTER, got '${v}'`);
        }
        options.weights = { ce: parts[0], triplet: parts[1], center: parts[2] };
        break;
      }
      default: throw new FlagError(flag.startsWith('-') ? `unknown option '${flag}'` : `unexpected argument '${flag}'`);
    }
  }
  return options;
}
