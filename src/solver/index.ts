// The Solver, the model interface it trains, and device-loss recovery.
export * from './model.ts';
export * from './solver.ts';
export * from './recovery.ts';
export * from './reference-trainer.ts';
export * from './population-solver.ts';
export * from './solver-run.ts';
