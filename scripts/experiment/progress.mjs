// A terminal progress bar fed from the page's own progress text (the run control's bar, rate and detail).

/**
 * A bar on stderr: redrawn in place on a terminal, one line per 10% otherwise (CI logs).
 *   const bar = createProgressBar();
 *   bar.update({ value: 10, max: 400, rate: '10 / 400 steps · 8 steps/s · ETA 0:48', detail: 'batchnorm network' });
 */
export function createProgressBar(stream = process.stderr) {
  const tty = Boolean(stream.isTTY);
  let lastDecile = -1;
  let lastLine = '';
  return {
    update({ value, max, rate, detail }) {
      const frac = max > 0 ? Math.min(1, value / max) : 0;
      const width = 30;
      const filled = Math.round(frac * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
      const line = `${bar} ${rate || ''}${detail ? ` | ${detail}` : ''}`;
      if (tty) {
        const cols = stream.columns || 120;
        stream.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
      } else {
        const decile = Math.floor(frac * 10);
        if (decile !== lastDecile || (detail && !lastLine.endsWith(detail))) {
          lastDecile = decile;
          stream.write(`${line}\n`);
        }
      }
      lastLine = line;
    },
    done(message) {
      if (tty) stream.write('\r\x1b[2K');
      if (message) stream.write(`${message}\n`);
    },
  };
}
