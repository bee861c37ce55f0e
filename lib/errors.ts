/**
 * Error classes of the design's table. Wrong JS types are plain `TypeError`s and bad sizes or
 * option values plain `RangeError`s; these cover what JavaScript has no class for.
 *
 * `instanceof` checks the error's name, so that it holds across copies of this package that
 * share one native addon, and across realms (jest, vm contexts).
 */
const isNamed = (value: unknown, name: string): boolean =>
  typeof value === 'object' && value !== null && (value as { name?: unknown }).name === name;

/** CUDA was asked for and this libtorch has no CUDA, or the device does not exist. */
export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceError';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return isNamed(value, 'DeviceError');
  }
}

/** libtorch itself raised an error (its message, without the C++ backtrace). */
export class TorchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchError';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return isNamed(value, 'TorchError');
  }
}

/** The native addon could not be loaded; the message says why and what to install. */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return isNamed(value, 'LoadError');
  }
}
