/**
 * Per-line source recognition (`--source auto`): mixed captures (a serial console with Kitten and
 * Palacios lines, dmesg with Pisces lines, a script's output around `hobbes` tables) are read line
 * by line by whichever parser the line's envelope or wording belongs to. Envelopes are tried first
 * because they are unambiguous (kmsg header, dmesg time, Kitten `[N]:`/`<N>`, Palacios prefixes,
 * petlib tags, table shapes); bare wording after that (Pisces, Kitten, Palacios host-module texts).
 */
import { recognizeHobbes } from './hobbes/parse.js';
import { recognizeKitten } from './kitten/parse.js';
import { recognizeLinux } from './linux/parse.js';
import { recognizePalacios } from './palacios/parse.js';
import { recognizePisces } from './pisces/parse.js';
import type { TelemetryState } from './telemetry.js';
import type { LogSource, Recognized } from './types.js';

/** Reads a line with whichever parser recognises it; null when none does. */
export function recognizeAuto(line: string, state: TelemetryState): Recognized | null {
  return (
    recognizeLinux(line, state) ??
    recognizePalacios(line, state, true) ??
    recognizeHobbes(line) ??
    recognizePisces(line) ??
    recognizeKitten(line, state, true)
  );
}

/** The recogniser for a source given explicitly: every line is read as that source's. */
export function recognizerFor(source: LogSource | 'auto', state: TelemetryState): (line: string) => Recognized | null {
  switch (source) {
    case 'auto':
      return (line) => recognizeAuto(line, state);
    case 'kitten':
      return (line) => recognizeKitten(line, state);
    case 'palacios':
      return (line) => recognizePalacios(line, state, true) ?? recognizePalacios(line, state, false);
    case 'pisces':
      return recognizePisces;
    case 'hobbes':
      return recognizeHobbes;
    case 'linux':
      return (line) => recognizeLinux(line, state);
  }
}
