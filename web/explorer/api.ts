/**
 * The explorer's only way to data: GET/POST on the query API of the page's own origin. Long
 * requests show progress (what is asked, seconds elapsed, a cancel button); a 401 asks for the
 * query token once and keeps it for the tab (sessionStorage), sent as a bearer token like any
 * other API client.
 */

export class ApiFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const TOKEN_KEY = 'isoscope.token';
let active = 0;

function progress(label: string, controller: AbortController): () => void {
  const el = document.getElementById('progress')!;
  const t0 = performance.now();
  active++;
  const show = () => {
    el.hidden = false;
    el.textContent = `${label} … ${((performance.now() - t0) / 1000).toFixed(1)} s `;
    const cancel = document.createElement('button');
    cancel.textContent = 'cancel';
    cancel.onclick = () => controller.abort();
    el.append(cancel);
  };
  // Quick answers never flash a progress bar.
  const timer = setInterval(show, 250);
  return () => {
    clearInterval(timer);
    if (--active === 0) el.hidden = true;
  };
}

export async function api<T>(path: string, init: RequestInit = {}, label = path.split('?')[0]!): Promise<T> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const controller = new AbortController();
    const done = progress(`querying ${label}`, controller);
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = new Headers(init.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    let res: Response;
    try {
      res = await fetch(path, { ...init, headers, signal: controller.signal });
    } catch (err) {
      throw new ApiFailure(0, controller.signal.aborted ? `cancelled: ${label}` : `the query service did not answer ${label}: ${(err as Error).message}`);
    } finally {
      done();
    }
    const body = (await res.json().catch(() => ({ error: `${label} answered HTTP ${res.status} without JSON` }))) as T & { error?: string };
    if (res.status === 401 && attempt === 0) {
      const given = prompt(`${body.error ?? 'A token is required'}\nQuery token:`);
      if (given) {
        sessionStorage.setItem(TOKEN_KEY, given);
        continue;
      }
    }
    if (!res.ok) throw new ApiFailure(res.status, body.error ?? `${label} answered HTTP ${res.status}`);
    return body;
  }
  throw new ApiFailure(401, 'a valid token is required');
}

export const q = encodeURIComponent;
