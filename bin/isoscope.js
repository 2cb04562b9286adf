#!/usr/bin/env node
// Entry point of the `isoscope` command: the TypeScript sources are compiled to dist/ by `npm install`
// (the package's prepare script), so this file only hands over to the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('isoscope is not built: run `npm install` (or `npm run build`) in the project folder first.\n');
  process.exit(1);
}
await import(main.href);
