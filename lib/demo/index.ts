/** The end-to-end demo: train an embedding model on MNIST digits, evaluate zero-shot retrieval. */
export { runDemo, formatDemoTable } from './run';
export type { DemoOptions, DemoSummary, DemoScores } from './run';
export { parseDemoFlags, DEMO_USAGE, FlagError } from './flags';
