// Start / pause-resume / stop buttons with a progress bar, steps per second and ETA, shared by every panel that runs.
import { h } from './dom.ts';
import { rateText } from './experiments/common.ts';

export type RunState = 'idle' | 'running' | 'paused' | 'done' | 'stopped' | 'error';

/** What a panel does when its buttons are pressed; `start` resolves when the run is over. */
export interface RunHooks {
  start(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): void;
}

export interface RunControl {
  readonly state: RunState;
  /** Steps done of total; the rate and ETA come from the time spent running (pauses excluded). */
  setProgress(done: number, total: number, unit?: string): void;
  /** A line under the bar saying what runs now ("batchnorm model, scale 3 / 20"). */
  setDetail(text: string): void;
  /** Press Start (autorun does this); resolves when the run ends. */
  run(): Promise<void>;
  /** Resolves when the current (or next) run ends. */
  finished(): Promise<RunState>;
}

/**
 * Buttons, bar and status for one panel; ids are `${id}-start`, `${id}-pause`, `${id}-stop`, `${id}-progress`,
 * `${id}-rate` and `${id}-status` (idle, running, paused, done in …, stopped, error: …).
 *   const rc = createRunControl(el, 'exp1', { start: runBoth, pause, resume, stop });
 *   rc.setProgress(10, 400);
 */
export function createRunControl(container: HTMLElement, id: string, hooks: RunHooks): RunControl {
  const start = h('button', { type: 'button', 'data-testid': `${id}-start`, class: 'primary' }, 'Start');
  const pause = h('button', { type: 'button', 'data-testid': `${id}-pause`, disabled: '' }, 'Pause');
  const stop = h('button', { type: 'button', 'data-testid': `${id}-stop`, disabled: '' }, 'Stop');
  const bar = h('progress', { 'data-testid': `${id}-progress`, max: '1', value: '0', 'aria-label': `${id} progress` });
  const rate = h('span', { 'data-testid': `${id}-rate`, class: 'rate' }, '');
  const status = h('span', { 'data-testid': `${id}-status`, class: 'status', role: 'status', 'aria-live': 'polite' }, 'idle');
  const detail = h('div', { 'data-testid': `${id}-detail`, class: 'detail' }, '');
  container.append(h('div', { class: 'run-control' }, start, pause, stop, bar, rate, status), detail);

  let state: RunState = 'idle';
  let runningMs = 0;
  let resumedAt = 0;
  let stopRequested = false;
  let waiters: ((s: RunState) => void)[] = [];
  const elapsed = () => (runningMs + (state === 'running' ? performance.now() - resumedAt : 0)) / 1000;

  const setState = (s: RunState, text?: string) => {
    if (state === 'running' && s !== 'running') runningMs += performance.now() - resumedAt;
    if (s === 'running') resumedAt = performance.now();
    state = s;
    status.dataset.state = s;
    status.textContent = text ?? s;
    const active = s === 'running' || s === 'paused';
    start.disabled = active;
    pause.disabled = !active;
    stop.disabled = !active;
    pause.textContent = s === 'paused' ? 'Resume' : 'Pause';
    if (!active) {
      const w = waiters;
      waiters = [];
      w.forEach((f) => f(s));
    }
  };

  const control: RunControl = {
    get state() {
      return state;
    },
    setProgress(done, total, unit = 'steps') {
      bar.max = Math.max(total, 1);
      bar.value = Math.min(done, total);
      rate.textContent = rateText(done, total, unit, elapsed());
    },
    setDetail(text) {
      detail.textContent = text;
    },
    async run() {
      if (state === 'running' || state === 'paused') return;
      stopRequested = false;
      runningMs = 0;
      rate.textContent = '';
      bar.value = 0;
      setState('running', 'running');
      try {
        await hooks.start();
        setState(
          stopRequested ? 'stopped' : 'done',
          stopRequested ? `stopped after ${elapsed().toFixed(1)} s` : `done in ${elapsed().toFixed(1)} s`,
        );
      } catch (e) {
        console.warn(e);
        setState('error', `error: ${(e as Error).message}`);
      }
    },
    finished() {
      if (state !== 'running' && state !== 'paused') return Promise.resolve(state);
      return new Promise((r) => waiters.push(r));
    },
  };

  start.addEventListener('click', () => {
    void control.run();
  });
  pause.addEventListener('click', () => {
    if (state === 'running') {
      hooks.pause();
      setState('paused', 'paused');
    } else if (state === 'paused') {
      hooks.resume();
      setState('running', 'running');
    }
  });
  stop.addEventListener('click', () => {
    if (state !== 'running' && state !== 'paused') return;
    stopRequested = true;
    status.textContent = 'stopping…';
    hooks.stop();
  });
  return control;
}
