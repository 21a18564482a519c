// Small DOM and formatting helpers shared by the demo panels.

/**
 * The element with `data-testid=id` under `root`; throws naming the id when the page lacks it.
 *   byTestId(document, 'exp1-status').textContent; // 'idle'
 *   byTestId(document, 'nope'); // Error: demo page: no element with data-testid="nope"
 */
export function byTestId(root: ParentNode, id: string): HTMLElement {
  const el = root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`demo page: no element with data-testid="${id}"`);
  return el;
}

/**
 * Create an element with attributes and children.
 *   const b = h('button', { type: 'button', 'data-testid': 'x' }, 'Start');
 *   root.append(h('p', {}, 'loss ', h('b', {}, '2.30')));
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

const channel = typeof MessageChannel === 'undefined' ? null : new MessageChannel();
const waiting: (() => void)[] = [];
if (channel) channel.port1.onmessage = () => waiting.shift()?.();

/**
 * Let the browser paint and handle input before going on (a macrotask, without setTimeout's 4 ms clamp).
 *   for (const chunk of chunks) { work(chunk); await yieldToEventLoop(); }
 *   await yieldToEventLoop(); // where MessageChannel is missing, a setTimeout(0)
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (!channel) {
      setTimeout(resolve, 0);
      return;
    }
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });
}

/**
 * Bytes in binary units for the page's status lines.
 *   formatBytes(512);     // '512 B'
 *   formatBytes(3 << 20); // '3.0 MiB'
 */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

export { formatDuration } from './experiments/common.ts';

/**
 * A number for a results table: 4 significant digits, NaN/∞ spelled out.
 *   fmt(0.123456); // '0.1235'
 *   fmt(1 / 0);    // '∞'
 */
export function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(digits - 1);
  return Number(v.toPrecision(digits)).toString();
}

/**
 * A list of numbers as the notebook prints them.
 *   fmtList([8.0081, -3.29401]); // '[8.008, -3.294]'
 *   fmtList([], 2);              // '[]'
 */
export function fmtList(values: ArrayLike<number>, digits = 4): string {
  return `[${Array.from(values, (v) => fmt(v, digits)).join(', ')}]`;
}
