/** isoscope's own version (package.json), recorded in run provenance and reports. */
import { readFileSync } from 'node:fs';

export const ISOSCOPE_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
