// Command-line options of `npm run experiment`: the page's own field table (demo/url-state.ts) as --flags, plus the runner's.

/** The page panel each command runs, and the id of its run control (progress bar, status). */
export const commands = {
  batchnorm: { panel: 'batchnorm', control: 'exp1', what: "experiment 1: batchnorm vs baseline (the seed's deep net)" },
  sweep: { panel: 'sweep', control: 'sweep', what: 'experiment 2: the weight-scale sweep, both models per scale' },
  batchsize: {
    panel: 'batchsize',
    control: 'bsize',
    what: "cs231n's batch-size experiments: baseline at batch 5, batchnorm / layer norm at 5, 10, 50",
  },
  forward: { panel: 'forward', control: 'forward', what: 'the batchnorm forward check (seed cells 3-4), GPU vs float64' },
  speedup: { panel: 'speedup', control: 'speedup', what: 'batchnorm backward, graph vs closed form, timed on the GPU' },
  selftest: { panel: null, control: 'selftest', what: 'check this GPU: every kernel variant the plans could pick here vs float64' },
};

/** Options of the runner itself (not settings of a panel). */
export const runnerOptions = [
  [
    '--runtime page|node',
    'page (default): the demo page headless in Chromium; node: the same experiment code on Dawn (the `webgpu` package), no browser',
  ],
  ['--model gpu|cpu', 'train the WebGPU network (default) or the float64 CPU reference'],
  ['--out DIR', 'output folder (default out/)'],
  [
    '--data DIR',
    'CIFAR-10 folder, or cifar-10-binary.tar.gz (extracted once to the temp dir); default $CIFAR10_DIR, data/cifar-10-batches-bin, ../shared/cifar10, else download',
  ],
  ['--port N', 'port for the Vite server (default: a free one from 5190)'],
  ['--chromium PATH', "browser to drive (default $CHROMIUM_PATH, /usr/bin/chromium, Playwright's)"],
  ['--timeout S', 'give up after S seconds (default: none)'],
  ['--screenshot FILE', 'also save a full-page screenshot after the run'],
  ['--panel-screenshot FILE', "also save a screenshot of the command's panel after the run"],
  ['--lose-gpu-at N', 'destroy the GPU device when a run reaches step N (once): the run goes on from its last checkpoint on a new device'],
  ['--tolerance-scale X', 'selftest: multiply every tolerance by X (default 1; 0 fails every inexact case: checks the failure path)'],
  ['--headed', 'show the browser window'],
  ['--help', 'this text'],
];

/**
 * The command-line flag of a settings key.
 *   flagOf('numTrain'); // '--num-train'
 *   flagOf('epochs');   // '--epochs'
 */
export function flagOf(key) {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Short aliases for the fields people type most. */
const aliases = {
  '--train': '--num-train',
  '--val': '--num-val',
  '--batch': '--batch-size',
  '--ws': '--weight-scale',
  '--scales': '--num-scales',
  '--from': '--from-exp',
  '--to': '--to-exp',
  '--rule': '--update-rule',
};

/**
 * The runtime argv asks for, before the full parse (which needs the page's field table): 'page' or 'node'.
 *   runtimeOf(['sweep', '--runtime', 'node']); // 'node'
 */
export function runtimeOf(argv) {
  const i = argv.findIndex((a) => a === '--runtime' || a.startsWith('--runtime='));
  if (i < 0) return 'page';
  return argv[i].includes('=') ? argv[i].slice('--runtime='.length) : argv[i + 1];
}

/**
 * Parse argv against a panel's fields: returns { command, fieldText: {key: text}, runner: {...} } or throws a usage error.
 *   parseArgs(['batchnorm', '--epochs', '2'], panelFields) // { command: 'batchnorm', fieldText: { epochs: '2' }, runner: {} }
 */
export function parseArgs(argv, panelFields) {
  const out = { command: null, fieldText: {}, runner: {}, help: false };
  const args = [...argv];
  while (args.length) {
    let a = args.shift();
    if (a === '--help' || a === '-h') {
      out.help = true;
      continue;
    }
    if (a === '--headed') {
      out.runner.headed = true;
      continue;
    }
    if (!a.startsWith('--')) {
      if (out.command) throw new Error(`unexpected argument "${a}" (the command is already ${out.command})`);
      if (!commands[a]) throw new Error(`unknown command "${a}" (one of ${Object.keys(commands).join(', ')})`);
      out.command = a;
      continue;
    }
    let value;
    if (a.includes('=')) [a, value] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
    a = aliases[a] ?? a;
    if (value === undefined) {
      if (!args.length) throw new Error(`${a} needs a value`);
      value = args.shift();
    }
    if (value.trim() === '') throw new Error(`${a} needs a value, got an empty one`);
    const runnerKey = {
      '--runtime': 'runtime',
      '--model': 'model',
      '--out': 'out',
      '--data': 'data',
      '--port': 'port',
      '--chromium': 'chromium',
      '--timeout': 'timeout',
      '--screenshot': 'screenshot',
      '--panel-screenshot': 'panelScreenshot',
      '--lose-gpu-at': 'loseGpuAt',
      '--tolerance-scale': 'toleranceScale',
    }[a];
    if (runnerKey) {
      out.runner[runnerKey] = value;
      continue;
    }
    if (!out.command) throw new Error(`put the command (${Object.keys(commands).join(', ')}) before ${a}`);
    const field = (panelFields[commands[out.command].panel] ?? []).find((f) => flagOf(f.key) === a);
    if (!field) {
      const known = (panelFields[commands[out.command].panel] ?? []).map((f) => flagOf(f.key)).join(', ');
      throw new Error(
        `unknown option ${a} for ${out.command} (${known ? `its options: ${known}` : 'it takes the runner options only'}; see --help)`,
      );
    }
    out.fieldText[field.key] = value;
  }
  if (out.runner.model && !['gpu', 'cpu'].includes(out.runner.model))
    throw new Error(`--model must be gpu or cpu, got ${out.runner.model}`);
  if (out.runner.runtime && !['page', 'node'].includes(out.runner.runtime))
    throw new Error(`--runtime must be page or node, got ${out.runner.runtime}`);
  return out;
}

/**
 * The --help text, built from the same field table the page's forms use.
 *   console.log(helpText(panelFields, formatField));
 *   helpText(panelFields, formatField).includes('--num-train'); // true
 */
export function helpText(panelFields, formatField) {
  const lines = [
    'Runs a panel of the demo page headless in Chromium (WebGPU), like a person opening a link with autorun=1,',
    'shows a progress bar, and writes the results as JSON and CSV plus the charts as PNG. With --runtime node the same',
    'experiment code runs in Node on Dawn (a GPU server needs no browser); the charts are then drawn by the page in',
    'Chromium from the results where one is installed, and skipped (said so) where not.',
    '',
    'Usage: npm run experiment -- <command> [options]',
    '',
    'Commands:',
    ...Object.entries(commands).map(([k, c]) => `  ${k.padEnd(10)} ${c.what}`),
    '',
  ];
  for (const [name, c] of Object.entries(commands)) {
    if (!panelFields[c.panel]) continue; // selftest: runner options only
    lines.push(`Options of ${name} (defaults are the seed notebook's):`);
    for (const f of panelFields[c.panel]) {
      const flag = `${flagOf(f.key)} ${f.type === 'enum' ? f.options.join('|') : f.type === 'dims' ? 'DIMS' : f.type === 'sizes' ? 'NxD,...' : f.type === 'int' ? 'N' : 'X'}`;
      lines.push(`  ${flag.padEnd(34)} ${f.label} (default ${formatField(f, f.default)})${f.help ? `; ${f.help}` : ''}`);
    }
    lines.push('');
  }
  lines.push('Runner options:', ...runnerOptions.map(([f, d]) => `  ${f.padEnd(34)} ${d}`), '');
  lines.push('Aliases: --train = --num-train, --val = --num-val, --batch = --batch-size, --ws = --weight-scale, --scales = --num-scales,');
  lines.push('         --from = --from-exp, --to = --to-exp, --rule = --update-rule', '');
  lines.push(
    'Examples:',
    '  npm run experiment -- batchnorm',
    '  npm run experiment -- batchnorm --train 200 --epochs 2 --hidden 50x2',
    '  npm run experiment -- sweep --scales 5 --epochs 2 --out out/sweep',
    '  npm run experiment -- batchsize --normalization layernorm',
    '  npm run experiment -- sweep --runtime node',
    '  npm run experiment -- speedup --sizes 100x500,1000x500',
  );
  return lines.join('\n');
}
