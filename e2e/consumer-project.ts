// A fresh project that installs the packed tarball as a user would (no link to this checkout), and the README's examples.
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/**
 * The first fenced code block under the README heading `heading`, exactly as a reader copies it.
 *   const html = readmeExample('## Use it in your own page');
 *   html.split('\n').length; // under 20
 */
export function readmeExample(heading: string, readme = readFileSync(join(root, 'README.md'), 'utf8')): string {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const section = readme.slice(start + heading.length + 2).split(/\n## /)[0]!;
  const block = /```[a-z]*\n([\s\S]*?)\n```/.exec(section);
  if (!block) throw new Error(`README.md "${heading}" has no code block`);
  return `${block[1]}\n`;
}

/** The environment for npm in the consumer: the caller's cache and registry, none of the `npm test` run's package settings. */
function cleanNpmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())));
}

export interface ConsumerProject {
  dir: string;
  tarball: string;
  /** Run a command in the project; returns stdout, throws with stderr on failure. */
  run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string;
}

/**
 * Packs this checkout (`npm pack`, which builds dist/ first) and installs the tarball with `webgpu`, TypeScript, Vite and
 * @types/node (the versions this checkout uses, so the npm cache has them) into a new folder under the system temp dir.
 *   const project = createConsumerProject();
 *   project.run('npx', ['tsc', '-p', '.']);
 */
export function createConsumerProject(): ConsumerProject {
  const dir = mkdtempSync(join(tmpdir(), 'wb-consumer-'));
  const env = cleanNpmEnv();
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: root,
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as { filename: string }[];
  const tarball = join(dir, packed[0]!.filename);
  const ours = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const pin = (name: string) => `${name}@${ours.devDependencies[name]}`;
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2)}\n`);
  for (const f of readdirSync(join(root, 'e2e/consumer'))) copyFileSync(join(root, 'e2e/consumer', f), join(dir, f));
  const run = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}) => {
    try {
      return execFileSync(cmd, args, {
        cwd: dir,
        env: { ...env, ...extra },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 << 20,
      });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${cmd} ${args.join(' ')} failed in ${dir}:\n${err.stdout ?? ''}\n${err.stderr ?? err.message}`);
    }
  };
  run('npm', [
    'install',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    '--loglevel',
    'error',
    `./${packed[0]!.filename}`,
    pin('webgpu'),
    pin('typescript'),
    pin('vite'),
    pin('@types/node'),
  ]);
  return { dir, tarball, run };
}

const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json', '.txt': 'text/plain' };

/**
 * Serves `dir` (a built page) at / and the CIFAR-10 files of `dataDir` at /cifar10/ on a free port of 127.0.0.1; 404 otherwise.
 *   const { url, server } = await serveStatic(join(project.dir, 'dist'), cifarDir);
 *   await page.goto(url); server.close();
 */
export async function serveStatic(dir: string, dataDir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [base, rel] = path.startsWith('/cifar10/')
      ? [dataDir, path.slice('/cifar10/'.length)]
      : [dir, path === '/' ? 'index.html' : path.slice(1)];
    const file = join(base, normalize(rel));
    if (!file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, server };
}
