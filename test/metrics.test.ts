/**
 * metrics.*: hand-computed cases, a numpy reference of the Market-1501 protocol
 * (test/parity/metrics.py), consistency between the functions, errors.
 */
import * as path from 'path';
import { metrics, tensor } from '../lib';
import { expectError, f32 } from './helpers/assertions';
import { pythonFixture } from './helpers/python-fixture';

// Query 0 at (0, 0), label 0; query 1 at (1, 1), label 1.
// Gallery: g0 (0, 0.1) label 0, g1 (5, 5) label 1, g2 (1, 1.2) label 1, g3 (0.9, 1) label 0.
// q0 ranks g0 (0.1), g3, g2, g1: matches at ranks 1, 2 -> AP (1/1 + 2/2) / 2 = 1.
// q1 ranks g3 (0.1), g2 (0.2), g0, g1: matches at ranks 2, 4 -> AP (1/2 + 2/4) / 2 = 0.5.
const set = {
  query: f32([0, 0, 1, 1], [2, 2]),
  gallery: f32([0, 0.1, 5, 5, 1, 1.2, 0.9, 1], [4, 2]),
  queryLabels: [0, 1],
  galleryLabels: [0, 1, 1, 0],
};

describe('hand-computed cases', () => {
  test('no cameras: CMC [0.5, 1, ...], APs 1 and 0.5', () => {
    const m = metrics.evaluate(set, { maxRank: 4 });
    expect(Array.from(m.cmc)).toEqual([0.5, 1, 1, 1]);
    expect(Array.from(m.averagePrecision)).toEqual([1, 0.5]);
    expect(m.mAP).toBe(0.75);
    expect(m.validQueries).toBe(2);
    expect(metrics.recallAtK(set, 1)).toBe(0.5);
    expect(metrics.recallAtK(set, 2)).toBe(1);
    expect(metrics.meanAveragePrecision(set)).toBe(0.75);
    expect(Array.from(metrics.cmc(set)).length).toBe(10);
  });

  test('cameras: same-identity same-camera gallery entries are removed before ranking', () => {
    // Both queries on camera 0; gallery cameras 0, 1, 0, 1. q0 loses g0 (label 0, camera 0): g3
    // is its first kept entry -> rank 1, AP 1. q1 loses g2: kept g3, g0, g1 -> match at rank 3, AP 1/3.
    const m = metrics.evaluate({ ...set, queryCameras: [0, 0], galleryCameras: [0, 1, 0, 1] }, { maxRank: 3 });
    expect(Array.from(m.cmc)).toEqual([0.5, 0.5, 1]);
    expect(Array.from(m.averagePrecision)).toEqual([1, 1 / 3]);
    expect(m.mAP).toBeCloseTo(2 / 3, 12);
    // Other cameras: nothing removed.
    expect(metrics.evaluate({ ...set, queryCameras: [2, 2], galleryCameras: [0, 1, 0, 1] }).mAP).toBe(0.75);
  });

  test('a query without a match is left out; ties keep gallery order', () => {
    const m = metrics.evaluate({ ...set, queryLabels: [0, 7] }, { maxRank: 2 });
    expect(m.validQueries).toBe(1);
    expect(Array.from(m.cmc)).toEqual([1, 1]);
    expect(m.averagePrecision[1]).toBeNaN();
    expect(m.mAP).toBe(1);
    const tie = { query: f32([0, 0], [1, 2]), gallery: f32([1, 0, 0, 1], [2, 2]), queryLabels: [1] };
    expect(metrics.recallAtK({ ...tie, galleryLabels: [0, 1] }, 1)).toBe(0);
    expect(metrics.recallAtK({ ...tie, galleryLabels: [1, 0] }, 1)).toBe(1);
  });

  test('cosine distance and Tensor inputs', () => {
    // cosine: q1 (1, 1) is closest in angle to g1 (5, 5), label 1: rank 1.
    const m = metrics.evaluate({ ...set, query: f32([1, 1], [1, 2]), queryLabels: [1] }, { distance: 'cosine', maxRank: 1 });
    expect(Array.from(m.cmc)).toEqual([1]);
    const q = tensor(set.query.data, [2, 2]);
    expect(metrics.evaluate({ ...set, query: q }).mAP).toBe(0.75);
    q.dispose();
  });
});

interface MetricsCase {
  name: string;
  distance: 'euclidean' | 'cosine';
  maxRank: number;
  query: number[];
  gallery: number[];
  dim: number;
  queryLabels: number[];
  galleryLabels: number[];
  queryCameras: number[] | null;
  galleryCameras: number[] | null;
  cmc: number[];
  mAP: number;
  averagePrecision: (number | null)[];
  validQueries: number;
}

const fixtures = pythonFixture(path.join(__dirname, 'parity', 'metrics.py'), path.join(__dirname, 'parity', 'training-fixtures', 'metrics.json'));

describe(`metrics vs the numpy Market-1501 reference (${fixtures.source})`, () => {
  test.each((fixtures.data.cases as MetricsCase[]).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const rows = (data: number[]) => ({ data: Float64Array.from(data), shape: [data.length / c.dim, c.dim] });
    const m = metrics.evaluate(
      {
        query: rows(c.query), gallery: rows(c.gallery), queryLabels: c.queryLabels, galleryLabels: c.galleryLabels,
        ...(c.queryCameras ? { queryCameras: c.queryCameras, galleryCameras: c.galleryCameras! } : {}),
      },
      { distance: c.distance, maxRank: c.maxRank },
    );
    expect(m.validQueries).toBe(c.validQueries);
    Array.from(m.cmc).forEach((v, i) => expect(v).toBeCloseTo(c.cmc[i], 12));
    expect(m.mAP).toBeCloseTo(c.mAP, 12);
    c.averagePrecision.forEach((ap, i) => (ap === null ? expect(m.averagePrecision[i]).toBeNaN() : expect(m.averagePrecision[i]).toBeCloseTo(ap, 12)));
  });
});

describe('errors', () => {
  test('arguments are checked and named', () => {
    expectError(() => metrics.evaluate({ ...set, queryLabels: [5, 6] }), 'RangeError', /no query has a match in the gallery/);
    expectError(() => metrics.evaluate({ ...set, queryCameras: [0, 0] }), 'RangeError', /`queryCameras` and `galleryCameras` go together/);
    expectError(() => metrics.evaluate({ ...set, queryCameras: [0], galleryCameras: [0, 0, 0, 0] }), 'RangeError', /`queryCameras` must hold 2 camera ids/);
    expectError(() => metrics.evaluate({ ...set, galleryLabels: [0, 1] }), 'RangeError', /`galleryLabels` must hold 4 labels, got 2/);
    expectError(() => metrics.evaluate({ ...set, gallery: f32([1, 2, 3], [1, 3]), galleryLabels: [0] }), 'RangeError', /query's dimension 2, got 3/);
    expectError(() => metrics.recallAtK(set, 0), 'RangeError', /`k` must be a positive integer, got 0/);
    expectError(() => metrics.evaluate(set, { distance: 'l3' as never }), 'RangeError', /`distance`/);
    expectError(() => metrics.evaluate({ ...set, extra: 1 } as never), 'RangeError', /unknown option 'extra'/);
    expectError(() => metrics.evaluate({ ...set, query: undefined } as never), 'TypeError', /`query` is required/);
  });
});
