// The demo page: WebGPU device and adapter info, CIFAR-10, the panels, URL state, sharing, and autorun.
import { requestGpu, webgpuMissingMessage, type GpuContext } from '../src/index.ts';
import { charts } from './charts.ts';
import type { DemoContext, Panel } from './context.ts';
import { createDatasetPanel } from './dataset.ts';
import { byTestId } from './dom.ts';
import { download, toJson } from './export.ts';
import type { ModelKind } from './models.ts';
import { createBatchSizePanel } from './panels/batchsize.ts';
import { createExperiment1Panel } from './panels/experiment1.ts';
import { createForwardCheckPanel } from './panels/forward-check.ts';
import { describeBatchSize, describeSweep, showKernels, type SweepPoint } from './panels/math.ts';
import { setDeviceHooks, type TrainRecord } from './train.ts';
import { createSpeedupPanel } from './panels/speedup.ts';
import { createSweepPanel } from './panels/sweep.ts';
import { createSelfTestPanel, type SelfTestRun } from './panels/selftest.ts';
import type { SelfTestOptions } from './experiments/selftest.ts';
import { panelNames, readPageState, writePageState, type PanelName } from './url-state.ts';
import { MEMORY_BUDGET_BYTES } from './size-limits.ts';

/** What the page exposes to its tests and to `npm run experiment` (which drive it like a person would). */
export interface DemoHandle {
  /** Resolves when the panels exist (and, with autorun=1, when the autorun panels have finished). */
  ready: Promise<void>;
  autorunDone: Promise<void>;
  gpu: GpuContext | null;
  panels: Partial<Record<PanelName, Panel>>;
  /** Every panel's last results, with the adapter. */
  results(): Record<string, unknown>;
  /** A chart as a PNG data URL (what the PNG download saves). */
  chartPng(id: string): Promise<string>;
  chartIds(): string[];
  /** The charts themselves (uPlot instances inside), by id. */
  charts: typeof charts;
  /** Every line the GPU status line has shown (errors naming the kernel, losses, recoveries), oldest first. */
  gpuEvents: string[];
  /** The loaded CIFAR-10 splits (sizes, source, the training mean image), or null before they are loaded. */
  datasetSummary(): DatasetSummary | null;
  /** "Check this GPU": the self-test on the page's device, its table shown in the GPU box (`npm run selftest` calls it). */
  selftest(o?: SelfTestOptions): Promise<SelfTestRun>;
}

/** What `datasetSummary` reports (what `npm run experiment` writes into its JSON). */
export interface DatasetSummary {
  source: string;
  cacheHit: boolean;
  train: number;
  val: number;
  test: number;
  meanImage: number[];
}

declare global {
  interface Window {
    demo: DemoHandle;
  }
}

const { state, errors } = readPageState(location.search);
const urlErrors = byTestId(document, 'url-errors');
urlErrors.textContent = errors.join('; ');

let resolveReady!: () => void;
let resolveAutorun!: () => void;
const handle: DemoHandle = {
  ready: new Promise((r) => {
    resolveReady = r;
  }),
  autorunDone: new Promise((r) => {
    resolveAutorun = r;
  }),
  gpu: null,
  panels: {},
  results: () => ({
    adapter: handle.gpu ? { ...handle.gpu.adapter, timestampQuery: handle.gpu.hasTimestampQuery } : null,
    userAgent: navigator.userAgent,
    panels: Object.fromEntries(Object.entries(handle.panels).map(([k, p]) => [k, p.results()])),
  }),
  async chartPng(id) {
    const chart = charts.get(id);
    if (!chart) throw new Error(`no chart "${id}" (have ${[...charts.keys()].join(', ')})`);
    const blob = await chart.toPng();
    return new Promise((resolve) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result as string);
      r.readAsDataURL(blob);
    });
  },
  chartIds: () => [...charts.keys()],
  charts,
  gpuEvents: [],
  datasetSummary: () => null,
  selftest: () => Promise.reject(new Error('the page is still starting')),
};
window.demo = handle;

function syncUrl(): void {
  state.autorun = false;
  history.replaceState(null, '', `${location.pathname}${writePageState(state)}${location.hash}`);
}

async function acquireGpu(): Promise<{ gpu: GpuContext | null; error: string | null }> {
  const adapterEl = byTestId(document, 'adapter');
  const missing = byTestId(document, 'webgpu-missing');
  try {
    if (!('gpu' in navigator) || !navigator.gpu) throw new Error(webgpuMissingMessage);
    const gpu = await requestGpu({ memoryBudget: MEMORY_BUDGET_BYTES });
    const a = gpu.adapter;
    adapterEl.dataset.state = 'ready';
    adapterEl.textContent =
      `${a.vendor || 'unknown vendor'} / ${a.architecture || 'unknown architecture'}${a.description ? ` (${a.description})` : ''}` +
      ` · timestamp-query: ${gpu.hasTimestampQuery ? 'yes' : 'no (wall-clock timing)'}`;
    watchGpu(gpu);
    return { gpu, error: null };
  } catch (e) {
    const message = (e as Error).message;
    adapterEl.dataset.state = 'missing';
    adapterEl.textContent = 'WebGPU is not available in this browser.';
    missing.hidden = false;
    missing.textContent = message.includes('WebGPU is not available') ? message : `${webgpuMissingMessage} (${message})`;
    missing.append(
      document.createElement('br'),
      'The training panels still run on the float64 CPU reference (slowly); the forward check and the speedup benchmark need WebGPU.',
    );
    return { gpu: null, error: message };
  }
}

/** One line for GPU events (errors naming the kernel, losses, recoveries), the newest last; the CLI prints it too. */
function gpuNotice(text: string): void {
  const el = byTestId(document, 'gpu-status');
  el.hidden = false;
  el.textContent = text;
  handle.gpuEvents.push(text);
}

/** Report the device's uncaptured errors and its loss in the page's status line. */
function watchGpu(gpu: GpuContext): void {
  gpu.onError((e) => gpuNotice(`GPU ${e.kind} error${e.kernel ? ` in ${e.kernel}` : ''}: ${e.message.split('\n')[0]}`));
  void gpu.lost.then((info) => {
    if (handle.gpu !== gpu) return; // a device this page already replaced
    byTestId(document, 'adapter').dataset.state = 'lost';
    gpuNotice(
      `The GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}). A run in progress goes on from its last checkpoint on a new device.`,
    );
  });
}

/** A new device for the page after a loss: the training panels use it from now on. */
async function replaceGpu(ctx: DemoContext): Promise<GpuContext> {
  const gpu = await requestGpu({ memoryBudget: MEMORY_BUDGET_BYTES });
  ctx.gpu = gpu;
  handle.gpu = gpu;
  byTestId(document, 'adapter').dataset.state = 'ready';
  watchGpu(gpu);
  return gpu;
}

function setupModelChoice(gpu: GpuContext | null): () => ModelKind {
  const note = byTestId(document, 'model-note');
  const radios = Array.from(document.querySelectorAll<HTMLInputElement>('input[name=model]'));
  const canGpu = gpu !== null;
  if (!canGpu) {
    radios.find((r) => r.value === 'gpu')!.disabled = true;
    note.textContent = '(no WebGPU: CPU only)';
    if (state.model === 'gpu') state.model = 'cpu';
  }
  for (const r of radios) {
    r.checked = r.value === state.model;
    r.addEventListener('change', () => {
      if (r.checked) {
        state.model = r.value as ModelKind;
        syncUrl();
      }
    });
  }
  return () => state.model;
}

function setupShare(panels: Partial<Record<PanelName, Panel>>): void {
  const select = byTestId(document, 'share-run') as HTMLSelectElement;
  const autorun = byTestId(document, 'share-autorun') as HTMLInputElement;
  const link = byTestId(document, 'share-link') as HTMLAnchorElement;
  const note = byTestId(document, 'share-note');
  for (const o of select.options) o.selected = state.run.includes(o.value as PanelName);
  const update = () => {
    const run = Array.from(select.selectedOptions, (o) => o.value as PanelName);
    const url = `${location.origin}${location.pathname}${writePageState({ ...state, run: run.length ? run : ['batchnorm'] }, { full: true, autorun: autorun.checked })}`;
    link.href = url;
    link.textContent = url;
    return url;
  };
  select.addEventListener('change', update);
  autorun.addEventListener('change', update);
  document.addEventListener('change', update); // any settings edit changes the link
  update();
  byTestId(document, 'share-copy').addEventListener('click', () => {
    const url = update();
    navigator.clipboard.writeText(url).then(
      () => {
        note.textContent = 'link copied';
      },
      () => {
        note.textContent = 'copying was refused here: select the link above and copy it';
      },
    );
  });
  byTestId(document, 'share-all-json').addEventListener('click', () => {
    const any = Object.values(panels).some((p) => p.results());
    if (!any) {
      note.textContent = 'run a panel first';
      return;
    }
    download(toJson(handle.results()), 'webgpu-batchnorm-results.json', 'application/json');
    note.textContent = 'saved webgpu-batchnorm-results.json';
  });
}

async function main(): Promise<void> {
  const datasetBox = byTestId(document, 'dataset-status').closest('section') as HTMLElement;
  const dataset = createDatasetPanel(datasetBox, state.dataUrl);
  handle.datasetSummary = () => {
    const d = dataset.current();
    if (!d) return null;
    const { train, val, test, meanImage } = d.u8;
    return {
      source: d.source,
      cacheHit: d.cacheHit,
      train: train.count,
      val: val.count,
      test: test.count,
      meanImage: Array.from(meanImage),
    };
  };
  const { gpu, error } = await acquireGpu();
  handle.gpu = gpu;
  handle.selftest = createSelfTestPanel(byTestId(document, 'selftest'), () => handle.gpu).run;
  const ctx: DemoContext = {
    gpu,
    gpuError: error,
    dataset: () => dataset.latest(),
    state,
    syncUrl,
    modelKind: setupModelChoice(gpu),
  };
  const body = (id: string) => document.querySelector<HTMLElement>(`#${id} .body`)!;
  const panels: Partial<Record<PanelName, Panel>> = {
    forward: createForwardCheckPanel(body('forward'), ctx),
    batchnorm: createExperiment1Panel(body('batchnorm'), ctx),
    sweep: createSweepPanel(body('sweep'), ctx),
    batchsize: createBatchSizePanel(body('batchsize'), ctx),
    speedup: createSpeedupPanel(body('speedup'), ctx),
  };
  handle.panels = panels;
  setDeviceHooks({
    requestDevice: () => replaceGpu(ctx),
    notice: gpuNotice,
    loseAt: state.loseGpuAt,
    lose: () => handle.gpu?.device.destroy(),
  });
  showKernels(document);
  const live = byTestId(document, 'math-live-conclusion');
  const where = gpu ? `${gpu.adapter.vendor} / ${gpu.adapter.architecture}` : 'no GPU';
  document.addEventListener('demo:sweep', (e) => {
    live.textContent = describeSweep(
      (e as CustomEvent<SweepPoint[]>).detail,
      `${state.model === 'gpu' ? 'WebGPU network' : 'CPU reference'}, ${where}`,
    );
  });
  const liveBatch = byTestId(document, 'math-batchsize-live');
  document.addEventListener('demo:batchsize', (e) => {
    liveBatch.textContent = describeBatchSize(
      (e as CustomEvent<TrainRecord[]>).detail,
      `${state.model === 'gpu' ? 'WebGPU network' : 'CPU reference'}, ${where}`,
    );
  });
  setupShare(panels);
  document.body.dataset.ready = 'true';
  resolveReady();

  const status = document.createElement('p');
  status.dataset.testid = 'autorun-status';
  status.className = 'note';
  byTestId(document, 'share-note').after(status);
  if (state.autorun) {
    for (const name of state.run.filter((n) => (panelNames as readonly string[]).includes(n))) {
      status.textContent = `autorun: ${name}…`;
      document.getElementById(name)?.scrollIntoView({ block: 'start' });
      await panels[name]!.control.run();
    }
    status.textContent = `autorun finished: ${state.run.map((n) => `${n} ${panels[n]!.control.state}`).join(', ')}`;
    document.body.dataset.autorun = 'done';
  }
  resolveAutorun();
}

main().catch((e) => {
  console.error(e);
  byTestId(document, 'url-errors').textContent = `the page failed to start: ${(e as Error).message}`;
});
