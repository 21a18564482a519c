// A panel's settings as a labelled form, generated from its field table in url-state.ts.
import { h } from './dom.ts';
import { checkPlannedSizes, type SizeLimits } from './size-limits.ts';
import { formatField, panelFields, panelPrefix, parseField, type PanelName, type PanelSettings } from './url-state.ts';

export interface SettingsForm {
  /**
   * The values typed now; throws with every field's problem when one is invalid, or when what they would allocate is
   * over the device's limits or the memory budget (demo/size-limits.ts, as the CLI checks it).
   */
  read(): PanelSettings;
  setDisabled(disabled: boolean): void;
}

/**
 * Inputs for every field of `panel` (ids `${prefix}-${key}`, data-testid the same), filled from `settings`;
 * each valid edit updates `settings` and calls `onChange`. `limits` gives the device limits the run's tensors must fit
 * (null: none to check, e.g. for the CPU reference); the memory budget is checked either way.
 *   const form = createSettingsForm(el, 'batchnorm', state.panels.batchnorm, syncUrl, () => gpu.device.limits);
 *   const s = form.read(); // throws "epochs: must be an integer ..." when a field is wrong
 */
export function createSettingsForm(
  container: HTMLElement,
  panel: PanelName,
  settings: PanelSettings,
  onChange: () => void,
  limits: () => SizeLimits | null = () => null,
): SettingsForm {
  const fields = panelFields[panel];
  const inputs: (HTMLInputElement | HTMLSelectElement)[] = [];
  const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': `${panel}-form-error` });
  const grid = h('div', { class: 'settings' });
  for (const f of fields) {
    const id = `${panelPrefix[panel]}-${f.key}`;
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.type === 'enum') {
      input = h('select', { id, 'data-testid': id }, ...f.options!.map((o) => h('option', { value: o }, o)));
    } else {
      input = h('input', { id, 'data-testid': id, type: 'text', inputmode: f.type === 'int' ? 'numeric' : 'text', spellcheck: 'false' });
      if (f.type === 'dims' || f.type === 'sizes') input.classList.add('wide');
    }
    input.value = formatField(f, settings[f.key]!);
    if (f.help) input.title = f.help;
    input.addEventListener('change', () => {
      try {
        settings[f.key] = parseField(f, input.value);
        input.removeAttribute('aria-invalid');
        error.textContent = '';
        onChange();
      } catch (e) {
        input.setAttribute('aria-invalid', 'true');
        error.textContent = (e as Error).message;
      }
    });
    inputs.push(input);
    grid.append(h('div', { class: 'field' }, h('label', { for: id }, f.label), input));
  }
  container.append(grid, error);
  return {
    read() {
      const problems: string[] = [];
      const out: PanelSettings = {};
      fields.forEach((f, i) => {
        try {
          out[f.key] = parseField(f, inputs[i]!.value);
        } catch (e) {
          problems.push((e as Error).message);
        }
      });
      if (!problems.length) {
        // the setting a size message names: its label and the text typed ("hidden layers 4096x30")
        const option = (key: string) =>
          `${fields.find((f) => f.key === key)?.label ?? key} ${inputs[fields.findIndex((f) => f.key === key)]?.value.trim() ?? ''}`;
        try {
          checkPlannedSizes(panel, out, limits(), option);
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
      if (problems.length) {
        error.textContent = problems.join('; ');
        throw new Error(problems.join('; '));
      }
      Object.assign(settings, out);
      return out;
    },
    setDisabled(disabled) {
      for (const i of inputs) i.disabled = disabled;
    },
  };
}
