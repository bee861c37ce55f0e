/**
 * Error classes of the design's table. Wrong JS types are plain `TypeError`s and bad sizes or
 * option values plain `RangeError`s; these two cover what JavaScript has no class for.
 */

/** CUDA was asked for and this libtorch has no CUDA, or the device does not exist. */
export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceError';
  }
}

/** libtorch itself raised an error (its message, without the C++ backtrace). */
export class TorchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorchError';
  }
}

/** The native addon could not be loaded; the message says why and what to install. */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}
