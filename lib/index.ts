/**
 * torch-losses: PyTorch's loss functions and metric-learning losses for Node.js, computed by
 * libtorch, with gradients.
 */
export * as F from './functional';
export * as nn from './nn';
export * as miners from './losses/miners';
export { info, cuda, setNumThreads, getNumThreads, manualSeed, resolveDevice } from './runtime';
export type { Info } from './runtime';
export { DeviceError, TorchError, LoadError } from './errors';
export { tensor, isTensor, memory } from './tensor';
export type { Tensor, TensorOptions, DeviceMemory } from './tensor';
export type * from './types';
export type * from './losses/regression';
export type * from './losses/classification';
export type * from './losses/embedding';
export type * from './losses/metric';
export type * from './losses/pair';
export type * from './losses/miners';
export type { ParameterValue } from './modules/module';
export type { LossFunction, AsyncLossFunction } from './losses/define';
export type { OptimizerOptions, SGDOptions, AdamOptions, ParameterInput } from './modules/options';
export type { CenterLossOptions, CenterLossResult, CenterLossForwardOptions } from './modules/center_loss';
export type { ParameterDictOptions } from './modules/parameter_dict';
export type {
  ArcFaceLossOptions, CosFaceLossOptions, SubCenterArcFaceLossOptions, NormalizedSoftmaxLossOptions,
  ArcFaceLossWithMLPOptions, MarginSoftmaxModuleOptions, MarginSoftmaxForwardOptions, MarginSoftmaxResult,
} from './modules/arcface';
export type { OIMLossOptions } from './modules/oim';
export type { MarginSoftmaxLossOptions, LabelSmoothingOptions, SmoothingSpread } from './losses/margin_softmax';
export type { EmbeddingHeadOptions, EmbeddingHeadOutput, EmbeddingHeadGradients } from './modules/embedding_head';
export { combineLosses } from './combine';
export type { LossTerm, LossResultLike, CombinedLoss } from './combine';
export { PKSampler } from './sampler';
export type { PKSamplerOptions } from './sampler';
export * as metrics from './metrics';
export type { RetrievalSet, RetrievalOptions, RetrievalMetrics } from './metrics';
export { runDemo } from './demo';
export type { DemoOptions, DemoSummary, DemoScores } from './demo';
// Data-parallel training over several processes (libtorch c10d / Gloo) and the local launcher.
export * as dist from './dist';
export { launch } from './launch';
export type { LaunchOptions } from './launch';
export type { InitProcessGroupOptions, DistributedLossOptions, DistributedLossResult, ReduceOp } from './dist';
