/**
 * Data-parallel training over several Node processes, on libtorch's own distributed runtime
 * (c10d: a TCPStore rendezvous and a Gloo process group, what torch.distributed and
 * DistributedDataParallel use on CPU). One process group per process, as PyTorch's default group.
 *
 *   dist.initProcessGroup({ rank, worldSize, masterAddr, masterPort })   // or RANK, WORLD_SIZE, ... env
 *   const loss = new dist.DistributedLoss(F.batchHardTripletLoss, { margin: 0.3 });
 *   const r = loss.forward(myEmbeddings, myLabels);   // mines over every rank's batch
 *   dist.averageGradients(centerLoss); centerLoss.step();
 *
 * Every rank must make the same collective calls in the same order (sync and async calls are
 * queued in call order). A peer that exits or does not reach a call within `timeoutMs` makes
 * the call fail on the others with a TorchError that says so; the process stays alive.
 */
import { loadBinding } from './native';
import type { ParameterModule, ParameterValue } from './modules/module';
import { knownKeys, type ParameterInput } from './modules/options';
import { isTensor, type Tensor } from './tensor';
import type { FloatArray, HostTensorInput, LabelsInput, TensorInput } from './types';
import * as check from './validate';

export type Backend = 'gloo' | 'nccl';
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

export interface InitProcessGroupOptions {
  /** 'gloo' (CPU; default) or 'nccl' (needs a CUDA build with NCCL: a DeviceError here). */
  backend?: Backend;
  /** This process's rank in [0, worldSize). Default: the RANK environment variable. */
  rank?: number;
  /** Number of processes. Default: WORLD_SIZE. */
  worldSize?: number;
  /** Host of rank 0, which serves the rendezvous store. Default: MASTER_ADDR, else '127.0.0.1'. */
  masterAddr?: string;
  /** Port of the rendezvous store. Default: MASTER_PORT, else 29500 (PyTorch's). */
  masterPort?: number;
  /** Limit for joining and for every collective, in ms. Default 1800000 (PyTorch's 30 min). */
  timeoutMs?: number;
}

/** Host data comes back as { data, shape } (it can be passed to any loss), Tensors as Tensors. */
export type CollectiveResult<T> = T extends Tensor ? Tensor : { data: FloatArray; shape: number[] };

const binding = () => loadBinding();

/** Whether this build of the addon has distributed support (c10d with Gloo). */
export function available(): boolean {
  return binding().distSupport().available;
}

/** Why available() is false ('' when it is true). */
export function unavailableReason(): string {
  return binding().distSupport().reason;
}

function envInteger(name: string, env: string): number | undefined {
  const raw = process.env[env];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new RangeError(`\`${name}\` from the ${env} environment variable must be an integer, got '${raw}'`);
  return n;
}

function required(name: string, env: string, value: number | undefined): number {
  if (value === undefined) {
    throw new TypeError(`\`${name}\` is required: pass it to initProcessGroup or set the ${env} environment variable`);
  }
  return value;
}

/** The options with PyTorch's env:// fallbacks filled in; exported for the launcher's tests. */
export function resolveInitOptions(options: InitProcessGroupOptions = {}): Required<InitProcessGroupOptions> {
  const o = knownKeys('initProcessGroup', options, ['backend', 'rank', 'worldSize', 'masterAddr', 'masterPort', 'timeoutMs']);
  const int = (name: string) => (o[name] === undefined ? undefined : check.integer(name, o[name]));
  if (o.masterAddr !== undefined && typeof o.masterAddr !== 'string') {
    throw new TypeError(`\`masterAddr\` must be a string, got ${typeof o.masterAddr}`);
  }
  return {
    backend: o.backend === undefined ? 'gloo' : check.oneOf('backend', o.backend, ['gloo', 'nccl'] as const),
    rank: required('rank', 'RANK', int('rank') ?? envInteger('rank', 'RANK')),
    worldSize: required('worldSize', 'WORLD_SIZE', int('worldSize') ?? envInteger('worldSize', 'WORLD_SIZE')),
    masterAddr: (o.masterAddr as string | undefined) ?? (process.env.MASTER_ADDR || '127.0.0.1'),
    masterPort: int('masterPort') ?? envInteger('masterPort', 'MASTER_PORT') ?? 29500,
    timeoutMs: int('timeoutMs') ?? 1800000,
  };
}

/**
 * Joins the process group: blocks until all worldSize ranks have joined (TorchError after
 * timeoutMs). Calling it again before destroy() is a TorchError; without distributed support in
 * this build, a DeviceError.
 */
export function initProcessGroup(options?: InitProcessGroupOptions): void {
  binding().distInit(resolveInitOptions(options));
}

/** initProcessGroup without blocking the event loop while the other ranks join. */
export async function initProcessGroupAsync(options?: InitProcessGroupOptions): Promise<void> {
  await binding().distInitAsync(resolveInitOptions(options));
}

/** Leaves the group (after the collectives already issued). No-op when not initialised. */
export function destroy(): void {
  binding().distDestroy();
}

export function isInitialized(): boolean {
  return binding().distState().initialized;
}

/** This process's rank (-1 when not initialised). */
export function rank(): number {
  return binding().distState().rank;
}

/** The number of ranks (0 when not initialised). */
export function worldSize(): number {
  return binding().distState().worldSize;
}

/**
 * The element-wise reduction of `tensor` over all ranks (op 'mean' divides the sum by
 * worldSize). The input is not modified. Every rank must pass the same shape and dtype (else a
 * RangeError on every rank).
 */
export function allReduce<T extends TensorInput>(tensor: T, op: ReduceOp = 'sum'): CollectiveResult<T> {
  return binding().distAllReduce(tensor, op);
}

export function allReduceAsync<T extends TensorInput>(tensor: T, op: ReduceOp = 'sum'): Promise<CollectiveResult<T>> {
  return binding().distAllReduceAsync(tensor, op);
}

/**
 * Every rank's `tensor` concatenated along the first dimension, in rank order (rank r's rows
 * first after ranks 0..r-1's). The first dimension may differ between ranks, the others must
 * agree. Labels (Int32Array, BigInt64Array, number[]) are gathered into a BigInt64Array.
 */
export function allGather(labels: LabelsInput): BigInt64Array;
export function allGather<T extends TensorInput>(tensor: T): CollectiveResult<T>;
export function allGather(tensor: TensorInput | LabelsInput) {
  return binding().distAllGather(tensor).result;
}

export function allGatherAsync(labels: LabelsInput): Promise<BigInt64Array>;
export function allGatherAsync<T extends TensorInput>(tensor: T): Promise<CollectiveResult<T>>;
export async function allGatherAsync(tensor: TensorInput | LabelsInput) {
  return (await binding().distAllGatherAsync(tensor)).result;
}

/** Rank `src`'s `tensor` on every rank (same shape and dtype everywhere). */
export function broadcast<T extends TensorInput>(tensor: T, src = 0): CollectiveResult<T> {
  return binding().distBroadcast(tensor, src);
}

export function broadcastAsync<T extends TensorInput>(tensor: T, src = 0): Promise<CollectiveResult<T>> {
  return binding().distBroadcastAsync(tensor, src);
}

/** Returns when every rank has called barrier(). */
export function barrier(): void {
  binding().distBarrier();
}

export function barrierAsync(): Promise<void> {
  return binding().distBarrierAsync();
}

// ---------------------------------------------------------------------------------------------
// Parameters of the stateful modules (CenterLoss, ArcFaceLoss, ParameterDict)

/** Parameter names in one order on every rank (collectives pair up by call order). */
const namesOf = (values: Record<string, ParameterValue>) => Object.keys(values).sort();

export interface ReduceGradientsOptions {
  /**
   * 'mean' (default, as DistributedDataParallel): the replicas step on the average of their
   * gradients. 'sum': on the sum — what a model fed by DistributedLoss's row gradients needs
   * to follow the single-process gradient exactly (see DistributedLossOptions.modelGradients).
   */
  op?: 'mean' | 'sum';
}

function reduceOpOf(options?: ReduceGradientsOptions): 'mean' | 'sum' {
  const o = knownKeys('averageGradients', options, ['op']);
  return o.op === undefined ? 'mean' : check.oneOf('op', o.op, ['mean', 'sum'] as const);
}

/**
 * Replaces the module's accumulated gradients by their mean (or sum) over all ranks: call it on
 * every rank after the backward passes and before step(), so that replicas that started equal
 * stay equal.
 */
export function averageGradients(module: ParameterModule, options?: ReduceGradientsOptions): void {
  const op = reduceOpOf(options);
  const grads = module.gradients();
  const reduced: Record<string, ParameterInput> = {};
  for (const name of namesOf(grads)) reduced[name] = allReduce(grads[name], op);
  module.setGradients(reduced);
}

export async function averageGradientsAsync(module: ParameterModule, options?: ReduceGradientsOptions): Promise<void> {
  const op = reduceOpOf(options);
  const grads = module.gradients();
  const names = namesOf(grads);
  // Issued together, in name order; they complete in that order on the collective thread.
  const reduced = await Promise.all(names.map((name) => allReduceAsync(grads[name], op)));
  module.setGradients(Object.fromEntries(names.map((name, i) => [name, reduced[i]])));
}

/**
 * Copies rank `src`'s parameters to every rank (as DistributedDataParallel does at construction),
 * so that the replicas start equal whatever their random initialisation.
 */
export function broadcastParameters(module: ParameterModule, src = 0): void {
  const params = module.parameters();
  const values: Record<string, ParameterInput> = {};
  for (const name of namesOf(params)) values[name] = broadcast(params[name], src);
  module.setParameters(values);
}

// ---------------------------------------------------------------------------------------------
// The distributed loss wrapper

/**
 * Any embedding loss called as loss(embeddings, labels, options?): F.batchHardTripletLoss, ...
 * (parameters typed `never` so that the overloaded loss functions of this package fit).
 */
export type EmbeddingLossFunction = (embeddings: never, labels: never, options?: never) => EmbeddingLossResult | Promise<EmbeddingLossResult>;
type LossCaller = (embeddings: TensorInput, labels: LabelsInput) => EmbeddingLossResult | Promise<EmbeddingLossResult>;

/** What the wrapped loss returns: one gradient, w.r.t. the embeddings (whatever its name). */
export interface EmbeddingLossResult {
  loss: number;
  losses?: FloatArray;
  grad?: Record<string, FloatArray | Tensor>;
}

/** A module with forward (and optionally forwardAsync) over (embeddings, labels). */
export interface EmbeddingLossModule {
  forward(embeddings: never, labels: never, options?: never): EmbeddingLossResult;
  forwardAsync?(embeddings: never, labels: never, options?: never): Promise<EmbeddingLossResult>;
}

export interface DistributedLossOptions {
  /**
   * How the gradients of the model that produced the embeddings will be combined over ranks.
   * 'summed' (default): this rank's rows of the full-batch gradient, unscaled; summed over ranks
   * they are the single-process gradient. 'averaged': the same rows times worldSize, so that
   * averaging the model's parameter gradients (averageGradients, DistributedDataParallel) gives
   * the single-process gradient — without the factor, averaging divides it by worldSize.
   */
  modelGradients?: 'summed' | 'averaged';
}

export interface DistributedLossResult<G = FloatArray | Tensor> {
  /** This rank's share of the loss: globalLoss / worldSize, so the sum over ranks is globalLoss. */
  loss: number;
  /** The loss of the concatenated batch of all ranks (the same on every rank). */
  globalLoss: number;
  /** Reduction 'none': the losses of this rank's rows. */
  losses?: FloatArray;
  /** The gradient of globalLoss w.r.t. this rank's embeddings, under the wrapped loss's name. */
  grad?: Record<string, G>;
  /** This rank's rows in the concatenated batch: [offset, offset + count). */
  rows: { offset: number; count: number };
  /** The global batch size (the number of rows over all ranks). */
  globalBatchSize: number;
  /** Anything else the wrapped loss returned (e.g. `stats` of the mining over the global batch). */
  [extra: string]: unknown;
}

/** What the native allGatherBatch returns: every rank's rows and labels, in rank order. */
interface Gathered {
  embeddings: Tensor;
  labels: BigInt64Array;
  counts: number[];
}

/**
 * Wraps an embedding loss for data-parallel training. forward(embeddings, labels) gathers the
 * embeddings and labels of every rank, computes the wrapped loss on the concatenated batch — so
 * that mining (hardest positive / negative) searches all ranks' samples — and returns the
 * gradient for this rank's rows only.
 *
 * Scaling, and the pitfalls it avoids: every rank computes the same full loss L on the gathered
 * batch, and only its own rows can carry gradient back into its own model (gathered rows of the
 * other ranks are constants here, as after torch.distributed.all_gather). The full-batch gradient
 * dL/dX restricted to rank r's rows is exactly what the single process would have sent back into
 * those samples, so this rank gets those rows unscaled: summed over ranks (each rank's rows
 * scattered into the full batch) they are the single-process gradient. The reported `loss` is
 * L / worldSize for the same reason. Averaging model gradients over ranks (as DDP does) would then
 * divide the result by worldSize: either sum them (averageGradients(m, { op: 'sum' })) or use
 * `modelGradients: 'averaged'`, which multiplies the rows by worldSize.
 *
 * Parameters of a wrapped loss module (CenterLoss's centres, ArcFace's weights) get the full-batch
 * gradient on every rank; averageGradients(module) before step() keeps them identical.
 */
export class DistributedLoss {
  readonly options: Readonly<Required<DistributedLossOptions>>;
  private readonly syncLoss: LossCaller;
  private readonly asyncLoss: LossCaller;

  /**
   * `loss`: a functional loss (e.g. F.batchHardTripletLoss) or a module with forward (e.g. an
   * nn.CenterLoss). `lossOptions` are passed to a functional loss on every call.
   */
  constructor(loss: EmbeddingLossFunction | EmbeddingLossModule, lossOptions?: object, options?: DistributedLossOptions) {
    const o = knownKeys('DistributedLoss', options, ['modelGradients']);
    const modelGradients = o.modelGradients === undefined ? 'summed' : check.oneOf('modelGradients', o.modelGradients, ['summed', 'averaged'] as const);
    this.options = Object.freeze({ modelGradients });
    const extra = lossOptions === undefined ? [] : [lossOptions];
    type Loose = (...args: unknown[]) => EmbeddingLossResult | Promise<EmbeddingLossResult>;
    if (typeof loss === 'function') {
      // A function is used for both forms: F.xxx in forward(), F.xxxAsync (a Promise) in forwardAsync().
      this.syncLoss = (e, l) => (loss as Loose)(e, l, ...extra);
      this.asyncLoss = this.syncLoss;
    } else if (loss !== null && typeof loss === 'object' && typeof loss.forward === 'function') {
      if (lossOptions !== undefined) throw new TypeError('DistributedLoss: `lossOptions` is for a loss function; a module has its options');
      const forward = loss.forward.bind(loss) as Loose;
      this.syncLoss = (e, l) => forward(e, l);
      this.asyncLoss = loss.forwardAsync ? (e, l) => (loss.forwardAsync!.bind(loss) as Loose)(e, l) : this.syncLoss;
    } else {
      throw new TypeError('DistributedLoss: `loss` must be a loss function or a module with forward()');
    }
  }

  /** Gathers, computes and slices synchronously (blocks until every rank has called it). */
  forward(embeddings: HostTensorInput, labels: LabelsInput): DistributedLossResult<FloatArray>;
  forward(embeddings: Tensor, labels: LabelsInput): DistributedLossResult<Tensor>;
  forward(embeddings: TensorInput, labels: LabelsInput): DistributedLossResult;
  forward(embeddings: TensorInput, labels: LabelsInput): DistributedLossResult {
    const gathered: Gathered = binding().distAllGatherBatch(embeddings, labels, true);
    return this.finish(gathered, isTensor(embeddings), () => {
      const result = this.syncLoss(gathered.embeddings, gathered.labels);
      if (result instanceof Promise) {
        void result.catch(() => undefined);
        throw new TypeError('DistributedLoss.forward: the wrapped loss returned a Promise; use forwardAsync');
      }
      return result;
    });
  }

  /** The same with the collectives and the loss off the event loop. */
  forwardAsync(embeddings: HostTensorInput, labels: LabelsInput): Promise<DistributedLossResult<FloatArray>>;
  forwardAsync(embeddings: Tensor, labels: LabelsInput): Promise<DistributedLossResult<Tensor>>;
  forwardAsync(embeddings: TensorInput, labels: LabelsInput): Promise<DistributedLossResult>;
  async forwardAsync(embeddings: TensorInput, labels: LabelsInput): Promise<DistributedLossResult> {
    const gathered: Gathered = await binding().distAllGatherBatchAsync(embeddings, labels, true);
    let result: EmbeddingLossResult;
    try {
      result = await this.asyncLoss(gathered.embeddings, gathered.labels);
    } catch (error) {
      disposeIfTensor(gathered.embeddings);
      throw error;
    }
    return this.finish(gathered, isTensor(embeddings), () => result);
  }

  /**
   * The gathered embeddings are a native Tensor whatever the input's form (the loss reads them
   * without a copy into JS memory); the own rows of the gradient come back in the input's form.
   */
  private finish(gathered: Gathered, tensorInput: boolean, compute: () => EmbeddingLossResult): DistributedLossResult {
    const { counts } = gathered;
    const me = binding().distState().rank as number;
    const offset = counts.slice(0, me).reduce((a, b) => a + b, 0);
    const count = counts[me];
    const total = counts.reduce((a, b) => a + b, 0);
    const world = counts.length;
    const scale = this.options.modelGradients === 'averaged' ? world : 1;
    const gatheredEmbeddings = gathered.embeddings;
    try {
      const { loss, losses, grad, ...extras } = compute() as EmbeddingLossResult & Record<string, unknown>;
      const out: DistributedLossResult = { ...extras, loss: loss / world, globalLoss: loss, rows: { offset, count }, globalBatchSize: total };
      if (losses) out.losses = losses.slice(offset, offset + count);
      if (grad) {
        const rowsOf = (g: FloatArray | Tensor) => {
          const own = ownRows(g, offset, count, total, scale);
          if (tensorInput || !isTensor(own)) return own;
          const host = own.toFloat32Array();
          own.dispose();
          return host;
        };
        out.grad = Object.fromEntries(Object.entries(grad).map(([name, g]) => [name, rowsOf(g)]));
      }
      return out;
    } finally {
      disposeIfTensor(gatheredEmbeddings);
    }
  }
}

function disposeIfTensor(value: unknown): void {
  if (isTensor(value)) value.dispose();
}

/** Rows [offset, offset + count) of a full-batch gradient of `total` rows, times scale. */
function ownRows(grad: FloatArray | Tensor, offset: number, count: number, total: number, scale: number): FloatArray | Tensor {
  if (isTensor(grad)) {
    const rows = binding().distRows(grad, offset, count, scale) as Tensor;
    grad.dispose();
    return rows;
  }
  const width = total === 0 ? 0 : grad.length / total;
  const rows = grad.slice(offset * width, (offset + count) * width);
  if (scale !== 1) for (let i = 0; i < rows.length; i++) rows[i] *= scale;
  return rows;
}
