// The Solver, the model interface it trains, the PopulationSolver, the one training loop both run, and device-loss recovery.
export * from './model.ts';
export * from './settings.ts';
export * from './solver.ts';
export * from './recovery.ts';
export * from './reference-trainer.ts';
export * from './loop-model.ts';
export * from './training-loop.ts';
export * from './population-solver.ts';
export * from './solver-run.ts';
