/**
 * PKSampler: batches of P identities x K samples each, the input that batch-hard mining expects
 * (Hermans, Beyer & Leibe 2017, Sec. 3.1). One epoch follows torchreid's RandomIdentitySampler:
 *
 * 1. each identity's sample indices are shuffled; an identity with fewer than K samples is
 *    filled up to K by drawing from its own samples with replacement;
 * 2. they are cut into chunks of K (an incomplete last chunk is dropped);
 * 3. while at least P identities have chunks left, P of them are drawn at random (without
 *    replacement) and each gives its next chunk: one batch of P * K indices, identity by identity.
 *
 * Everything is drawn from a seeded generator: the same labels, options and seed give the same
 * batches on every run; successive epoch() calls give different (still reproducible) epochs.
 */
import { knownKeys, positiveInteger } from './modules/options';
import { Random } from './random';
import * as check from './validate';

export interface PKSamplerOptions {
  /** Identities per batch. */
  p: number;
  /** Samples per identity. */
  k: number;
  /** Seed of the sampling. Default 0. */
  seed?: number;
}

export class PKSampler {
  readonly p: number;
  readonly k: number;
  /** The distinct labels, ascending. */
  readonly identities: readonly number[];
  private readonly byIdentity: number[][];
  private readonly random: Random;

  /** `labels[i]` is the identity of sample i (integers); at least `p` identities are needed. */
  constructor(labels: ArrayLike<number> | readonly number[], options: PKSamplerOptions) {
    const o = knownKeys('PKSampler', options, ['p', 'k', 'seed']);
    this.p = positiveInteger('p', o.p);
    this.k = positiveInteger('k', o.k);
    const seed = o.seed === undefined ? 0 : check.integer('seed', o.seed);
    if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
      throw new TypeError('`labels` must be an array or typed array of integers');
    }
    const groups = new Map<number, number[]>();
    for (let i = 0; i < labels.length; i++) {
      const label = Number(labels[i]);
      if (!Number.isInteger(label)) throw new RangeError(`\`labels[${i}]\` must be an integer, got ${labels[i]}`);
      const group = groups.get(label);
      if (group) group.push(i);
      else groups.set(label, [i]);
    }
    if (groups.size < this.p) {
      throw new RangeError(`\`p\` is ${this.p}, but \`labels\` hold only ${groups.size} identities`);
    }
    this.identities = [...groups.keys()].sort((a, b) => a - b);
    this.byIdentity = this.identities.map((id) => groups.get(id)!);
    this.random = new Random(seed);
  }

  /** The batches of the next epoch: arrays of P * K sample indices (K per identity, P identities). */
  epoch(): Int32Array[] {
    const chunks = this.byIdentity.map((indices) => {
      let pool = this.random.shuffle([...indices]);
      if (pool.length < this.k) {
        pool = Array.from({ length: this.k }, () => indices[this.random.int(indices.length)]);
      }
      const out: number[][] = [];
      for (let start = 0; start + this.k <= pool.length; start += this.k) out.push(pool.slice(start, start + this.k));
      return out;
    });
    const batches: Int32Array[] = [];
    let available = chunks.map((_, i) => i).filter((i) => chunks[i].length > 0);
    while (available.length >= this.p) {
      const chosen = this.random.shuffle([...available]).slice(0, this.p);
      const batch = new Int32Array(this.p * this.k);
      chosen.forEach((identity, j) => batch.set(chunks[identity].shift()!, j * this.k));
      batches.push(batch);
      available = available.filter((i) => chunks[i].length > 0);
    }
    return batches;
  }
}
