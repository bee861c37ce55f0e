/** Runtime facts and knobs: versions, CUDA, threads, seeding. */
import * as fs from 'fs';
import * as path from 'path';
import { loadBinding, loadedBinaryPath } from './native';
import type { Device } from './types';
import * as check from './validate';

export interface Info {
  version: string;
  libtorchVersion: string;
  cudaCompiled: boolean;
  cudaAvailable: boolean;
  cudaDeviceCount: number;
  numThreads: number;
  numInteropThreads: number;
  /** The BLAS library mapped into this process, when it can be seen (Linux). */
  blas: string;
  /** The addon file in use. */
  binary: string;
}

const PACKAGE_VERSION: string = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'),
).version;

/** Which BLAS the dynamic loader mapped: what libtorch's matrix products actually run on. */
function loadedBlas(): string {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    const libs = new Set(maps.match(/\/\S*(openblas|mkl_rt|libmkl|blis|libblas|atlas)\S*\.so[.\d]*/g) ?? []);
    const names = [...libs].map((lib) => (lib.includes('openblas') ? `OpenBLAS (${lib})` : lib));
    return names.length ? names.join(', ') : 'none mapped (libtorch may use its own kernels)';
  } catch {
    return 'unknown';
  }
}

export function info(): Info {
  const binding = loadBinding();
  const native = binding.info();
  return {
    version: PACKAGE_VERSION,
    libtorchVersion: native.libtorchVersion,
    cudaCompiled: native.cudaCompiled,
    cudaAvailable: native.cudaAvailable,
    cudaDeviceCount: native.cudaDeviceCount,
    numThreads: native.numThreads,
    numInteropThreads: native.numInteropThreads,
    blas: loadedBlas(),
    binary: loadedBinaryPath(),
  };
}

export const cuda = {
  /** True when libtorch has CUDA and at least one device is visible. */
  isAvailable: (): boolean => loadBinding().cudaIsAvailable(),
  deviceCount: (): number => loadBinding().cudaDeviceCount(),
};

/** Intra-op threads libtorch uses (OpenMP). */
export function setNumThreads(threads: number): void {
  loadBinding().setNumThreads(threads);
}

export function getNumThreads(): number {
  return loadBinding().getNumThreads();
}

/** Seeds libtorch's generators (CPU and every CUDA device), as torch.manual_seed. */
export function manualSeed(seed: number | bigint): void {
  loadBinding().manualSeed(seed);
}

/**
 * Checks a device string and says where it resolves: 'auto' -> 'cuda:0' or 'cpu'.
 * Throws DeviceError when CUDA is asked for and none is there.
 */
export function resolveDevice(device: Device): string {
  return loadBinding().checkDevice(check.device(device));
}
