/** The explorer's entry: a hash router over the pages; errors are shown on the page, never swallowed. */
import { clearCharts, el } from './chart.js';
import { comparePage, experimentPage, experimentsPage, runPage } from './pages.js';

async function route(): Promise<void> {
  const main = document.getElementById('page')!;
  const crumbs = document.getElementById('crumbs')!;
  clearCharts();
  // A fresh view per navigation: a slower earlier page keeps filling its own, detached view.
  const page = el('div', { class: 'view' });
  main.replaceChildren(page);
  const [path, query] = (location.hash.slice(1) || '/').split('?') as [string, string | undefined];
  const params = new URLSearchParams(query ?? '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  crumbs.replaceChildren(...(parts.length ? [el('a', { href: '#/' }, 'experiments'), el('span', {}, ` / ${parts[0]}${parts[1] ? ` / ${parts[1]}` : ''}`)] : []));
  page.setAttribute('data-page', parts[0] ?? 'experiments');
  page.removeAttribute('data-ready');
  try {
    if (parts.length === 0) await experimentsPage(page);
    else if (parts[0] === 'experiment' && parts[1]) await experimentPage(page, parts[1], params.get('figure'));
    else if (parts[0] === 'run' && parts[1]) await runPage(page, parts[1], params);
    else if (parts[0] === 'compare') await comparePage(page, params);
    else page.append(el('p', { class: 'empty' }, `There is no page "${path}": start at the experiments list.`));
  } catch (err) {
    page.append(el('p', { class: 'error' }, (err as Error).message));
  }
  // Tests wait for this: the page and its charts are complete.
  page.setAttribute('data-ready', 'true');
}

window.addEventListener('hashchange', () => void route());
void route();
