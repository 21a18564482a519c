// Finds a Chromium to run the WebGPU browser tests without downloading one.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright';

export const chromiumInstallHint =
  "No Chromium found for the WebGPU browser tests. Install Debian's: `sudo apt-get install -y chromium` " +
  '(gives /usr/bin/chromium), or point CHROMIUM_PATH at a Chrome/Chromium executable, ' +
  'or run `npx playwright install chromium` where downloads are allowed.';

/**
 * The Chromium executable to launch: $CHROMIUM_PATH, else /usr/bin/chromium, else Playwright's own.
 *   const exe = findChromium();   // throws with install instructions when none exists
 */
export function findChromium(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist. ${chromiumInstallHint}`);
    return fromEnv;
  }
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  const bundled = chromium.executablePath();
  if (bundled && existsSync(bundled)) return bundled;
  throw new Error(chromiumInstallHint);
}

/** Flags that give headless Chromium WebGPU on a machine with or without a GPU (SwiftShader). */
export const webgpuChromiumArgs = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];
