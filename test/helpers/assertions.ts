/** Assertions shared by the test files. */

/** A float32 `{ data, shape }` input. */
export const f32 = (data: number[], shape: number[]) => ({ data: Float32Array.from(data), shape });

/**
 * `fn` throws an error of class `name` whose message matches `message`. Compared by name, since
 * errors made by the addon may come from another V8 realm than jest's.
 */
export function expectError(fn: () => unknown, name: string, message: RegExp) {
  let caught: Error | undefined;
  try {
    fn();
  } catch (e) {
    caught = e as Error;
  }
  expect(caught).toBeDefined();
  expect({ name: caught!.name, message: caught!.message }).toEqual({ name, message: expect.stringMatching(message) });
}

/**
 * Every entry of `actual` within abs + rel * |expected| of `expected` (the parity tolerance of
 * the module tests); the error names the first entry that is not, and `what` it belongs to.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, abs = 1e-5, rel = 1e-4, what = '') {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= abs + rel * Math.abs(expected[i]))) {
      throw new Error(`${what ? `${what} ` : ''}entry ${i}: ${actual[i]} vs ${expected[i]} (|diff| ${d} > ${abs} + ${rel} * |expected|)`);
    }
  }
}
