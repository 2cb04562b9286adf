/** `v3_create -b`: the image-building half shared by both v3_create flavours (ezxml options → .img). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { out } from './node-state.mjs';

/**
 * Applies `tag=value` options to the XML's opt_tag elements and writes <cfg>.img, printing what
 * build_image() prints. Returns {img} or {exit} when the real tool would stop.
 */
export function buildImage(cfg, name, opts) {
  out(`Building VM Image (cfg=${cfg}) (name=${name}) (${opts.length} config options)`);
  const vals = [];
  for (const o of opts) {
    const i = o.indexOf('=');
    if (i === -1) {
      out(`Invalid Option format: ${o}`);
      return { exit: -1 };
    }
    vals.push([o.slice(0, i), o.slice(i + 1)]);
    out(`Config option: ${o.slice(0, i)}: ${o.slice(i + 1)}`);
  }
  if (!existsSync(cfg)) {
    out(`Error: Could not open XML input file (${cfg})`);
    return { exit: 139 }; // build_image goes on with a NULL document and segfaults
  }
  let xml = readFileSync(cfg, 'utf8');
  for (const [tag] of vals) {
    if (!new RegExp(`opt_tag="${tag}"`, 'i').test(xml)) {
      out(`Could not find Config option (${tag}) in XML file`);
      return { exit: -1 };
    }
  }
  const img = cfg.includes('.xml') ? cfg.replace(/\.xml.*$/, '.img') : `${cfg}.img`;
  for (const [tag, v] of vals) xml = xml.replace(new RegExp(`(<[^>]*opt_tag="${tag}"[^>]*>)[^<]*`, 'i'), `$1${v}`);
  writeFileSync(img, xml);
  out(`Guest Image Created (size=${8 + 4 + xml.length + 8 + 8 + 8})`);
  return { img };
}
