// The Solver and the model interface it trains.
export * from './model.ts';
export * from './solver.ts';
export * from './reference-trainer.ts';
export * from './population-solver.ts';
