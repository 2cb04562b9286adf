/**
 * The web explorer's files: `/` is web/static/index.html; `/ui/…` serves the explorer's compiled
 * modules (dist/web/explorer), the figure specs it shares with `isoscope report`
 * (dist/report/specs), its style sheet, and vega's and vega-lite's prebuilt browser files from
 * node_modules. Nothing is built at run time and nothing comes from another origin (the CSP says
 * so to the browser too). The files hold no data: every number comes from /api/*, under its
 * access rule.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8' };
const CSP = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

/** The package root: the nearest folder above this module with isoscope's package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'isoscope') return dir;
    if (dirname(dir) === dir) throw new Error(`no isoscope package.json above ${fileURLToPath(import.meta.url)}`);
    dir = dirname(dir);
  }
}

function vendorFile(pkg: 'vega' | 'vega-lite'): string {
  const entry = createRequire(import.meta.url).resolve(pkg);
  return join(dirname(entry), `${pkg}.min.js`);
}

export function webRoutes() {
  const root = packageRoot();
  const dist = join(root, 'dist');
  const trees: Record<string, string> = { web: join(dist, 'web'), report: join(dist, 'report', 'specs'), static: join(root, 'web', 'static') };
  const vendor: Record<string, string> = { 'vega.min.js': vendorFile('vega'), 'vega-lite.min.js': vendorFile('vega-lite') };
  const send = (file: string) => {
    const ext = file.slice(file.lastIndexOf('.'));
    const type = TYPES[ext];
    if (!type || !existsSync(file)) return null;
    return new Response(readFileSync(file), { headers: { 'content-type': type, 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' } });
  };
  const inside = (base: string, rel: string) => {
    const file = resolve(base, rel);
    return file.startsWith(base + sep) ? file : null;
  };
  return new Hono()
    .get('/favicon.ico', (c) => c.body(null, 204))
    .get('/', (c) => send(join(root, 'web', 'static', 'index.html')) ?? c.json({ error: 'the explorer page is missing from this installation (web/static/index.html)' }, 500))
    .get('/ui/vendor/:file', (c) => {
      const file = vendor[c.req.param('file')];
      return (file && send(file)) || c.json({ error: `no vendor file ${c.req.param('file')}` }, 404);
    })
    .get('/ui/static/:file{.+}', (c) => {
      const file = inside(trees.static!, c.req.param('file'));
      return (file && send(file)) || c.json({ error: `no file ${c.req.path}` }, 404);
    })
    .get('/ui/web/:file{.+}', (c) => {
      const file = inside(trees.web!, c.req.param('file'));
      if (!existsSync(trees.web!)) return c.json({ error: 'the explorer is not built: run npm run build (it compiles web/ into dist/web)' }, 503);
      return (file && send(file)) || c.json({ error: `no file ${c.req.path}` }, 404);
    })
    .get('/ui/report/specs/:file{.+}', (c) => {
      const file = inside(trees.report!, c.req.param('file'));
      return (file && send(file)) || c.json({ error: `no file ${c.req.path}` }, 404);
    });
}
