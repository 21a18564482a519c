// The figures of a finished experiment in the terminal, for both runtimes (the page's and Node's).

const f = (v, d = 4) => (typeof v === 'number' ? (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : String(v)) : String(v));

/**
 * The figures a person wants in the terminal: best accuracies, final losses, timings.
 *   printSummary('batchnorm', record.results, (line) => process.stderr.write(`${line}\n`));
 */
export function printSummary(command, r, out) {
  if (!r) return;
  out(`adapter: ${r.adapter?.vendor ?? ''} / ${r.adapter?.architecture ?? ''}${r.settings?.model ? `; model: ${r.settings.model}` : ''}`);
  if (command === 'batchnorm') {
    for (const m of Object.values(r.models)) {
      out(
        `  ${m.label.padEnd(9)} ${m.status.padEnd(9)} best val acc ${f(m.bestValAcc)}  best train acc ${f(m.bestTrainAcc)}  final loss ${f(m.finalLoss)}  ${f(m.seconds, 3)} s (${f(m.stepsPerSecond, 3)} steps/s)`,
      );
    }
    out(`  total ${f(r.seconds, 3)} s`);
  } else if (command === 'sweep') {
    out('  weight scale   best val (base / bn)   best train (base / bn)   final loss (base / bn)');
    for (const s of r.runs) {
      const b = s.runs.baseline;
      const n = s.runs.batchnorm;
      const mark = (t) => (t?.status === 'diverged' ? '!' : ' ');
      out(
        `  ${s.weightScale.toExponential(2).padEnd(12)} ${f(b?.bestValAcc, 3).padStart(7)}${mark(b)}/ ${f(n?.bestValAcc, 3).padEnd(8)}${mark(n)}` +
          `${f(b?.bestTrainAcc, 3).padStart(9)} / ${f(n?.bestTrainAcc, 3).padEnd(12)} ${f(b?.finalLoss).padStart(9)} / ${f(n?.finalLoss)}`,
      );
    }
    const per = r.secondsPerNetwork ?? {};
    out(
      `  (! = diverged)  ${r.training ?? 'sequential'}: batchnorm ${f(per.batchnorm, 3)} s, baseline ${f(per.baseline, 3)} s, total ${f(r.seconds, 3)} s`,
    );
  } else if (command === 'batchsize') {
    for (const m of r.runs) {
      out(
        `  ${m.label.padEnd(20)} ${m.status.padEnd(9)} best val acc ${f(m.bestValAcc, 3)}  best train acc ${f(m.bestTrainAcc, 3)}  final loss ${f(m.finalLoss)}  ${m.iterations} steps, ${f(m.seconds, 3)} s`,
      );
    }
    out(`  total ${f(r.seconds, 3)} s`);
  } else if (command === 'forward') {
    for (const c of r.cases)
      out(
        `  ${c.title}: cpu means ${c.cpu.means.map((v) => f(v)).join(' ')}${c.error ? `; gpu vs cpu ‖Δ‖/‖ref‖ ${f(c.error.normRatio, 2)}` : ''}`,
      );
  } else if (command === 'speedup') {
    for (const row of r.rows)
      out(
        `  ${`${row.n}x${row.d}`.padEnd(10)} graph ${f(row.graphMs)} ms  alternative ${f(row.alternativeMs)} ms  speedup ${f(row.speedup, 3)}x  (${row.timer}; CPU f64 ${f(row.cpuSpeedup, 3)}x)`,
      );
    // where the time goes: each pass's GB/s against the copy roof of the run
    if (r.copyGbps) out(`  copy roof ${f(r.copyGbps, 3)} GB/s (vec4 copy kernel, ${r.copy.copyBytes} bytes)`);
    for (const row of r.rows.filter((x) => x.graphPasses))
      for (const [name, passes] of [
        ['graph', row.graphPasses],
        ['alternative', row.alternativePasses],
      ])
        out(
          `  ${`${row.n}x${row.d}`.padEnd(10)} ${name.padEnd(11)} ${passes.map((p) => `${p.label} ${f(p.ms, 3)} ms ${f(p.gbps, 3)} GB/s`).join(' | ')}`,
        );
  }
}
