/** Functional forms, one function per loss (like torch.nn.functional): fn(...tensors, options?). */
export { l1Loss, mseLoss, smoothL1Loss, huberLoss, poissonNllLoss, klDivLoss } from './losses/regression';
export {
  crossEntropyLoss, nllLoss, bceLoss, bceWithLogitsLoss, softMarginLoss, multiLabelSoftMarginLoss,
  multiLabelMarginLoss, multiMarginLoss,
} from './losses/classification';
export {
  marginRankingLoss, tripletMarginLoss, tripletMarginWithDistanceLoss, hingeEmbeddingLoss, cosineEmbeddingLoss,
} from './losses/embedding';
export { batchHardTripletLoss, pairwiseDistance } from './losses/metric';
