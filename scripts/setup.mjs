#!/usr/bin/env node
// First-run set-up for `npm start` and `npm test`: installs npm dependencies when missing, finds or explains the browser.
// Plain Node (no dependencies), so it runs on a fresh clone before `npm ci`.
import { existsSync, statSync } from 'node:fs';
import { execSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv.includes('--for') ? process.argv[process.argv.indexOf('--for') + 1] : 'test';

function say(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

/**
 * As root on Debian/Ubuntu (what `.ci/run` does), install Debian packages; elsewhere, or with WB_NO_APT=1, do
 * nothing and let the caller explain. Returns whether the install ran and succeeded.
 */
function aptInstall(packages) {
  if (process.env.WB_NO_APT || process.getuid?.() !== 0 || !existsSync('/etc/debian_version') || !existsSync('/usr/bin/apt-get'))
    return false;
  say(`installing ${packages.join(' ')} from Debian (apt-get, as root; WB_NO_APT=1 turns this off) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = update.status === 0 && spawnSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env });
  if (!install || install.status !== 0) {
    say(`apt-get install ${packages.join(' ')} failed; see the output above.`);
    return false;
  }
  return true;
}

// 1. npm dependencies: install when node_modules is missing or older than the lockfile.
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000)) {
  say('installing npm dependencies (npm ci) ...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say('npm ci failed; see the output above.');
    process.exit(1);
  }
}

// 2. the browser (tests and the CLI drive Chromium; `npm start` only serves the page; `npm run experiment -- ... --runtime
//    node` trains without one and only draws its charts in one).
if (purpose === 'test' || purpose === 'browser' || purpose === 'experiment') {
  if (process.env.CHROMIUM_PATH && !existsSync(process.env.CHROMIUM_PATH)) {
    say(`CHROMIUM_PATH=${process.env.CHROMIUM_PATH} does not exist (unset it to use /usr/bin/chromium).`);
    process.exit(1);
  }
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean);
  let found = candidates.find((p) => existsSync(p));
  if (!found) {
    try {
      const out = execSync(`node -e "import('playwright').then(p=>console.log(p.chromium.executablePath()))"`, {
        cwd: root,
        encoding: 'utf8',
      }).trim();
      if (out && existsSync(out)) found = out;
    } catch {
      /* no playwright browser */
    }
  }
  if (!found && aptInstall(['chromium']))
    found = candidates.find((p) => existsSync(p)) ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
  if (!found && purpose === 'experiment') {
    say('no Chromium: `--runtime node` still runs every experiment (JSON and CSV, no PNG charts); the default page runtime needs one');
    say('  (Debian/Ubuntu: sudo apt-get install -y chromium, or set CHROMIUM_PATH=/path/to/chrome).');
  } else if (!found) {
    say('no Chromium found for the WebGPU browser tests.');
    say('  Debian/Ubuntu: sudo apt-get install -y chromium      (gives /usr/bin/chromium; `bash .ci/run` does this)');
    say('  or set CHROMIUM_PATH=/path/to/chrome, or `npx playwright install chromium` where downloads work.');
    process.exit(1);
  }
  if (found) say(`browser: ${found}`);
}

// 3. the Vulkan loader, which Node's WebGPU (the `webgpu` package, Dawn) needs to reach SwiftShader or a GPU.
if (purpose === 'test' && process.platform === 'linux') {
  const hasVulkan = spawnSync('sh', ['-c', "ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '"]).status === 0;
  if (!hasVulkan && !aptInstall(['libvulkan1']))
    say('no libvulkan.so.1: Node WebGPU (Dawn) needs it (Debian/Ubuntu: sudo apt-get install -y libvulkan1).');
}

// 4. CIFAR-10 for the data tests and experiments: say where it will come from.
if (!process.env.CIFAR10_DIR) {
  const shared = join(root, '..', 'shared', 'cifar10');
  const local = join(root, 'data', 'cifar-10-batches-bin');
  if (existsSync(local)) say(`CIFAR-10: ${local}`);
  else if (existsSync(shared)) say(`CIFAR-10: ${shared} (the sample; set CIFAR10_DIR to use another folder)`);
  else say('CIFAR-10: not found locally; it is downloaded to data/ when first needed (or set CIFAR10_DIR).');
}
