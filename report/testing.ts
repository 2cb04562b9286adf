/** Checks on written reports, shared by the report tests: marks in a vega SVG, offline HTML, CSV rows. */

/**
 * Items drawn in the vega mark groups named `<name>` (`<g class="mark-… role-mark NAME">`), summed:
 * a line mark split by series is one such group per series.
 */
export function countMarks(svg: string, name: string): number {
  let total = 0;
  for (const m of svg.matchAll(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}"[^>]*?(/?)>`, 'g'))) {
    if (m[1] === '/') continue; // an empty group (<g … />)
    // The items of these mark groups are leaf elements: no nested <g> before the group closes.
    const start = m.index + m[0].length;
    total += (svg.slice(start, svg.indexOf('</g>', start)).match(/<(path|line|rect|circle|text)\b/g) ?? []).length;
  }
  return total;
}

/**
 * Every reference to something outside the file: URLs with a scheme anywhere, and attribute values
 * or CSS url() that are not local (figures/…, #…, data:). Addresses that are only text (a kernel
 * command line in the provenance table) are data, not references.
 */
export function checkHtmlOffline(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]*/gi)) found.push(m[0]);
  for (const m of html.matchAll(/\s(?:src|href|action|poster|data|srcset|formaction)\s*=\s*["']?([^"'\s>]+)/gi)) if (!/^(figures\/[\w.-]+|#[\w-]*|data:)/.test(m[1]!)) found.push(m[1]!);
  for (const m of html.matchAll(/url\(\s*["']?(?!#|data:)([^"')]+)/gi)) found.push(m[1]!);
  for (const m of html.matchAll(/<(script|link|iframe|object|embed|img|base|meta\s+http-equiv)\b[^>]*>/gi)) found.push(m[0]);
  return found;
}

/** A small CSV reader for our own writer's output (quotes doubled, no newlines inside values). */
export function readCsv(text: string): Record<string, string>[] {
  const lines = text.trim().split('\n');
  const split = (line: string) => {
    const out: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
        else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') out.push(cur), (cur = '');
      else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const header = split(lines[0]!);
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [header[i]!, v])));
}
