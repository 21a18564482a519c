// What every panel gets from the page: the GPU (or why there is none), the dataset, the URL state, and the model choice.
import type { GpuContext } from '../src/index.ts';
import type { Dataset } from './dataset.ts';
import type { ModelKind } from './models.ts';
import type { RunControl } from './run-control.ts';
import type { PageState, PanelName } from './url-state.ts';

export interface DemoContext {
  /** The device, or null with `gpuError` saying why. */
  gpu: GpuContext | null;
  gpuError: string | null;
  /** Resolves once CIFAR-10 is loaded (waits for a drop when the server has none). */
  dataset(): Promise<Dataset>;
  state: PageState;
  /** Write the settings back into the address bar (after a form edit). */
  syncUrl(): void;
  /** Which network the training panels build now. */
  modelKind(): ModelKind;
}

/** A panel as the page sees it: its run control and what it exports. */
export interface Panel {
  name: PanelName;
  control: RunControl;
  /** Everything the last run produced (settings, adapter, histories, timings), or null before a run. */
  results(): object | null;
  /** The same results as CSV rows. */
  csvRows(): Record<string, unknown>[];
  /** Chart ids of the panel (for PNG export). */
  chartIds: string[];
  /** Show a results record of this panel (from `results()`, here or from the Node CLI): its table and charts, as after a run. */
  show?(result: object): void;
  /** Trained parameters, one file per model, when the panel trains. */
  safetensors?(): Promise<{ name: string; bytes: Uint8Array }[]>;
}
