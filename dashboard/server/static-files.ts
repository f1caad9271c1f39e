/**
 * The dashboard's page and the libraries it runs, served as files: no build step, for the user or here.
 * dashboard/web/ holds the page (index.html, its ES modules and style sheet); the libraries come from the
 * installed npm packages, each one file: preact and its hooks (the UI), htm (JSX-like tagged templates, so
 * the page needs no compiler) and uPlot (the chart). index.html maps the bare names `preact`,
 * `preact/hooks` and `htm` to /vendor/ with an import map.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../infra/paths';

export const WEB_DIR = path.join(PACKAGE_ROOT, 'dashboard', 'web');

const require = createRequire(import.meta.url);
/** The directory of a package's main file (each package's exports differ; its main file is always resolvable). */
const dirOf = (specifier: string) => path.dirname(require.resolve(specifier));

/** /vendor/<name> → the installed file. */
export function vendorFiles(): Map<string, string> {
  const preact = dirOf('preact');
  const hooks = dirOf('preact/hooks');
  const htm = dirOf('htm');
  const uplot = dirOf('uplot');
  return new Map([
    ['preact.mjs', path.join(preact, 'preact.mjs')],
    ['hooks.mjs', path.join(hooks, 'hooks.mjs')],
    ['htm.mjs', path.join(htm, 'htm.module.js')],
    ['uPlot.iife.min.js', path.join(uplot, 'uPlot.iife.min.js')],
    ['uPlot.min.css', path.join(uplot, 'uPlot.min.css')],
  ]);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

/**
 * The file for a request path: `/` is index.html, `/vendor/<name>` a library, anything else a file of
 * dashboard/web/ by its name (no directories below it, so no path can leave it). Undefined: no such file.
 */
export async function staticFile(pathname: string, vendor: ReadonlyMap<string, string> = vendorFiles()): Promise<StaticFile | undefined> {
  let file: string | undefined;
  if (pathname === '/' || pathname === '/index.html') file = path.join(WEB_DIR, 'index.html');
  else if (pathname.startsWith('/vendor/')) file = vendor.get(pathname.slice('/vendor/'.length));
  else if (/^\/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(js|css|svg)$/.test(pathname)) file = path.join(WEB_DIR, pathname.slice(1));
  if (!file) return undefined;
  const type = TYPES[path.extname(file)];
  if (!type) return undefined;
  try {
    return { body: await readFile(file), type };
  } catch {
    return undefined;
  }
}

/** The size of everything the page loads (the docs state it; a test keeps the statement true). */
export async function pageWeight(): Promise<{ web: number; vendor: number }> {
  const { readdir, stat } = await import('node:fs/promises');
  const web = await Promise.all((await readdir(WEB_DIR)).map(async (name) => (await stat(path.join(WEB_DIR, name))).size));
  const vendor = await Promise.all([...vendorFiles().values()].map(async (file) => (await stat(file)).size));
  const sum = (sizes: number[]) => sizes.reduce((a, b) => a + b, 0);
  return { web: sum(web), vendor: sum(vendor) };
}

/**
 * The page's Content-Security-Policy: its own files only, no framing (an action button clicked through a
 * frame), no inline script but the import map of index.html, allowed by its hash.
 */
export async function contentSecurityPolicy(): Promise<string> {
  const page = await readFile(path.join(WEB_DIR, 'index.html'), 'utf8');
  const inline = [...page.matchAll(/<script type="importmap">([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
  return [
    "default-src 'self'",
    `script-src 'self' ${inline.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}
