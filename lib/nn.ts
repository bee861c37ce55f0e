/** Module forms: options once, then `forward(...)` (like torch.nn). */
export { MarginRankingLoss } from './losses/margin-ranking';
export { TripletMarginLoss } from './losses/triplet-margin';
