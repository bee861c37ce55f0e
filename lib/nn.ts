/** Module forms (like torch.nn): `new nn.XxxLoss(options).forward(...tensors)`. */
export { L1Loss, MSELoss, SmoothL1Loss, HuberLoss, PoissonNLLLoss, KLDivLoss } from './losses/regression';
export {
  CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, SoftMarginLoss, MultiLabelSoftMarginLoss,
  MultiLabelMarginLoss, MultiMarginLoss,
} from './losses/classification';
export {
  MarginRankingLoss, TripletMarginLoss, TripletMarginWithDistanceLoss, HingeEmbeddingLoss, CosineEmbeddingLoss,
} from './losses/embedding';
export { BatchHardTripletLoss } from './losses/metric';
export {
  ContrastiveLoss, CircleLoss, MultiSimilarityLoss, NTXentLoss, SupConLoss, LiftedStructureLoss, SurrogatePrecisionLoss,
} from './losses/pair';
export { TripletLoss, TripletLossWithMiner, SemiHardTripletLoss, TripletLossOml, TripletLossPlain } from './losses/metric';
/** Modules with parameters and an optimiser inside (lib/modules/). */
export { CenterLoss } from './modules/center_loss';
export {
  ArcFaceLoss, CosFaceLoss, SubCenterArcFaceLoss, NormalizedSoftmaxLoss, ArcFaceLossWithMLP,
} from './modules/arcface';
export { OIMLoss } from './modules/oim';
export { ParameterDict } from './modules/parameter_dict';
export { ParameterModule } from './modules/module';
export { EmbeddingHead } from './modules/embedding_head';
