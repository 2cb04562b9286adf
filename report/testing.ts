/** Checks on written reports, shared by the report tests: marks in a vega SVG, offline HTML, CSV rows. */

/** Items drawn in the vega mark group named `<name>` (`<g class="mark-… role-mark NAME">`). */
export function countMarks(svg: string, name: string): number {
  const start = svg.search(new RegExp(`<g class="mark-[a-z]+ role-mark ${name}"`));
  if (start < 0) return 0;
  // The group's direct items are paths/lines until the group closes; vega writes no nested <g> in a mark group of these types.
  const end = svg.indexOf('</g>', start);
  const body = svg.slice(svg.indexOf('>', start) + 1, end);
  return (body.match(/<(path|line|rect|circle|text)\b/g) ?? []).length;
}

/** Every reference to something outside the file: URLs with a scheme or host, src/href/url() that are not local. */
export function checkHtmlOffline(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]*/gi)) found.push(m[0]);
  for (const m of html.matchAll(/\b(?:src|href|action|poster|data)\s*=\s*["']?(\/\/[^"'\s>]+)/gi)) found.push(m[1]!);
  for (const m of html.matchAll(/url\(\s*["']?(?!#|data:)([^"')]+)/gi)) found.push(m[1]!);
  for (const m of html.matchAll(/<(script|link|iframe|object|embed|img)\b[^>]*>/gi)) if (!/^<img\b[^>]*src="(figures\/|data:)/i.test(m[0])) found.push(m[0]);
  for (const m of html.matchAll(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?\b/g)) found.push(m[0]);
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
