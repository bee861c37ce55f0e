/**
 * Functional forms, one function per loss (like torch.nn.functional): fn(...tensors, options?),
 * and fnAsync(...) which computes on a worker thread and resolves a Promise.
 */
export {
  l1Loss, l1LossAsync, mseLoss, mseLossAsync, smoothL1Loss, smoothL1LossAsync, huberLoss,
  huberLossAsync, poissonNllLoss, poissonNllLossAsync, klDivLoss, klDivLossAsync,
} from './losses/regression';
export {
  crossEntropyLoss, crossEntropyLossAsync, nllLoss, nllLossAsync, bceLoss, bceLossAsync,
  bceWithLogitsLoss, bceWithLogitsLossAsync, softMarginLoss, softMarginLossAsync,
  multiLabelSoftMarginLoss, multiLabelSoftMarginLossAsync, multiLabelMarginLoss,
  multiLabelMarginLossAsync, multiMarginLoss, multiMarginLossAsync,
} from './losses/classification';
export {
  marginRankingLoss, marginRankingLossAsync, tripletMarginLoss, tripletMarginLossAsync,
  tripletMarginWithDistanceLoss, tripletMarginWithDistanceLossAsync, hingeEmbeddingLoss,
  hingeEmbeddingLossAsync, cosineEmbeddingLoss, cosineEmbeddingLossAsync,
} from './losses/embedding';
export { batchHardTripletLoss, batchHardTripletLossAsync, pairwiseDistance } from './losses/metric';
export {
  contrastiveLoss, contrastiveLossAsync, circleLoss, circleLossAsync, multiSimilarityLoss,
  multiSimilarityLossAsync, ntXentLoss, ntXentLossAsync, supConLoss, supConLossAsync,
  liftedStructureLoss, liftedStructureLossAsync, surrogatePrecisionLoss, surrogatePrecisionLossAsync,
} from './losses/pair';
export {
  tripletLoss, tripletLossAsync, semiHardTripletLoss, semiHardTripletLossAsync, tripletLossOml, tripletLossOmlAsync,
  tripletLossPlain, tripletLossPlainAsync,
} from './losses/metric';
export {
  marginSoftmaxLoss, marginSoftmaxLossAsync, labelSmoothing,
} from './losses/margin_softmax';
