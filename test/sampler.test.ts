/** PKSampler: the P x K structure, sampling with replacement for small identities, the seed. */
import { PKSampler } from '../lib';
import { expectError } from './helpers/assertions';

// 5 identities with 10, 7, 4, 2 and 1 samples, interleaved.
const labels: number[] = [];
[10, 7, 4, 2, 1].forEach((count, id) => {
  for (let i = 0; i < count; i++) labels.splice((i * 7 + id) % (labels.length + 1), 0, id * 10);
});

test('every batch holds P distinct identities with K samples each, identity by identity', () => {
  const sampler = new PKSampler(labels, { p: 3, k: 4, seed: 1 });
  expect(sampler.identities).toEqual([0, 10, 20, 30, 40]);
  const batches = sampler.epoch();
  expect(batches.length).toBeGreaterThan(0);
  for (const batch of batches) {
    expect(batch.length).toBe(12);
    const ids = Array.from(batch, (i) => labels[i]);
    for (let j = 0; j < 3; j++) expect(new Set(ids.slice(4 * j, 4 * j + 4)).size).toBe(1);
    expect(new Set([ids[0], ids[4], ids[8]]).size).toBe(3);
  }
});

test('an epoch uses each full chunk of K once; identities with fewer than K samples repeat theirs', () => {
  const sampler = new PKSampler(labels, { p: 2, k: 4, seed: 3 });
  // chunks: id 0 -> 2 (10 samples, 2 dropped), 10 -> 1, 20 -> 1, 30 -> 1 (2 samples, with replacement), 40 -> 1
  // 6 chunks over 5 identities, 2 per batch: batches end when fewer than 2 identities have chunks.
  const batches = sampler.epoch();
  const used = new Map<number, number>();
  for (const b of batches) for (let j = 0; j < 2; j++) used.set(labels[b[4 * j]], (used.get(labels[b[4 * j]]) ?? 0) + 1);
  for (const [id, n] of used) expect(n).toBeLessThanOrEqual(id === 0 ? 2 : 1);
  expect(batches.length).toBe(3);
  const all = batches.flatMap((b) => Array.from(b));
  // A chunk never repeats an index of an identity that has >= K samples.
  for (const b of batches) {
    for (let j = 0; j < 2; j++) {
      const chunk = Array.from(b.subarray(4 * j, 4 * j + 4));
      if (labels[chunk[0]] <= 20) expect(new Set(chunk).size).toBe(4);
    }
  }
  expect(all.every((i) => i >= 0 && i < labels.length)).toBe(true);
  // With P = all 5 identities, identity 40 (one sample) is in the one batch: that sample K times;
  // identity 30 (two samples) gives K draws from its two.
  const [batch] = new PKSampler(labels, { p: 5, k: 4, seed: 3 }).epoch();
  const chunkOf = (id: number) => {
    const j = [0, 1, 2, 3, 4].find((q) => labels[batch[4 * q]] === id)!;
    return Array.from(batch.subarray(4 * j, 4 * j + 4));
  };
  const single = labels.indexOf(40);
  expect(chunkOf(40)).toEqual([single, single, single, single]);
  const pair = labels.flatMap((l, i) => (l === 30 ? [i] : []));
  expect(chunkOf(30).every((i) => pair.includes(i))).toBe(true);
});

test('the same seed gives the same epochs; another seed and the next epoch differ', () => {
  const a = new PKSampler(labels, { p: 3, k: 2, seed: 7 });
  const b = new PKSampler(labels, { p: 3, k: 2, seed: 7 });
  const c = new PKSampler(labels, { p: 3, k: 2, seed: 8 });
  const first = a.epoch().map((x) => Array.from(x));
  expect(b.epoch().map((x) => Array.from(x))).toEqual(first);
  expect(c.epoch().map((x) => Array.from(x))).not.toEqual(first);
  expect(a.epoch().map((x) => Array.from(x))).not.toEqual(first);
});

test('errors', () => {
  expectError(() => new PKSampler(labels, { p: 6, k: 2 }), 'RangeError', /`p` is 6, but `labels` hold only 5 identities/);
  expectError(() => new PKSampler(labels, { p: 2, k: 0 }), 'RangeError', /`k` must be a positive integer, got 0/);
  expectError(() => new PKSampler([0, 1.5], { p: 1, k: 1 }), 'RangeError', /`labels\[1\]` must be an integer, got 1.5/);
  expectError(() => new PKSampler(labels, { p: 2, k: 2, q: 1 } as never), 'RangeError', /unknown option 'q'/);
  expectError(() => new PKSampler(null as never, { p: 1, k: 1 }), 'TypeError', /`labels` must be/);
});
