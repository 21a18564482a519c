// An adapter's capabilities as a benchmark report shows them, and the Dawn toggles requestGpu passes in Node.

/** Dawn toggles for the Node runtime, e.g. `{ enable: ['skip_validation'] }` (names as Dawn spells them). */
export interface DawnToggles {
  enable?: string[];
  disable?: string[];
}

/** The adapter's capabilities as a report shows them. */
export interface AdapterDetail {
  features: string[];
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /** The adapter's subgroup-matrix configurations (Chromium/Dawn experimental), as plain objects; [] when none. */
  subgroupMatrixConfigs: Record<string, unknown>[];
  /** The limits requested of the device, as granted. */
  limits: Record<string, number>;
  /** The Dawn toggles in force (Node), `timestamp_quantization` always disabled there; empty in the browser. */
  dawnToggles: { enable: string[]; disable: string[] };
}

/**
 * The Dawn toggles in force for `toggles`: names checked, `timestamp_quantization` always disabled.
 *   makeDawnToggles({ enable: ['skip_validation'] }); // { enable: ['skip_validation'], disable: ['timestamp_quantization'] }
 *   makeDawnToggles({}).disable; // ['timestamp_quantization']
 */
export function makeDawnToggles(toggles: DawnToggles = {}): { enable: string[]; disable: string[] } {
  const check = (names: string[] | undefined, field: string) =>
    (names ?? []).map((t) => {
      if (!/^[a-z0-9_]+$/.test(t)) throw new Error(`requestGpu: dawnToggles.${field} has "${t}"; Dawn toggles are snake_case names`);
      return t;
    });
  const enable = check(toggles.enable, 'enable');
  const disable = [...new Set(['timestamp_quantization', ...check(toggles.disable, 'disable')])];
  const both = enable.filter((t) => disable.includes(t));
  if (both.length) throw new Error(`requestGpu: dawnToggles both enables and disables ${both.join(', ')}`);
  return { enable, disable };
}

/**
 * Features, subgroup sizes, subgroup-matrix configurations, the granted `limits` and the toggles of a device.
 *   const detail = makeAdapterDetail(adapter, device, ['maxBufferSize'], makeDawnToggles());
 *   detail.features.includes('subgroups'); // true on most GPUs
 */
export function makeAdapterDetail(
  adapter: GPUAdapter,
  device: GPUDevice,
  limits: string[],
  toggles: { enable: string[]; disable: string[] },
): AdapterDetail {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const configs = (info as { subgroupMatrixConfigurations?: object[] }).subgroupMatrixConfigurations ?? [];
  return {
    features: [...adapter.features].sort(),
    subgroupMinSize: info.subgroupMinSize ?? 0,
    subgroupMaxSize: info.subgroupMaxSize ?? 0,
    subgroupMatrixConfigs: [...configs].map((c) => {
      const o: Record<string, unknown> = {};
      for (const k in c) o[k] = (c as Record<string, unknown>)[k];
      return o;
    }),
    limits: Object.fromEntries(limits.map((k) => [k, (device.limits as unknown as Record<string, number>)[k]!])),
    dawnToggles: toggles,
  };
}
