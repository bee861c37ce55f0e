/** Functional forms, one function per loss (like torch.nn.functional). */
export { marginRankingLoss } from './losses/margin-ranking';
export { tripletMarginLoss } from './losses/triplet-margin';
