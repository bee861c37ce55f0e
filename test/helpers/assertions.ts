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
