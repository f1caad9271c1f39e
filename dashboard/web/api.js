// The dashboard server's JSON routes (dashboard/server/api-routes.ts), and a hook that polls one.
import { useEffect, useRef, useState } from 'preact/hooks';

/** An answer that is not 2xx: the server's problem code and message. */
export class ProblemError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body) {
  const response = await fetch(path, {
    method,
    // Actions are JSON: the server refuses anything else (a cross-site form cannot send it).
    headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
    body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new ProblemError(response.status, answer.error?.code ?? `http_${response.status}`, answer.error?.message ?? `${method} ${path}: ${response.status}`);
  return answer;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);

/** `path?query` from an object, leaving out empty values. */
export function withQuery(path, query) {
  const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * GETs `path` now and again `intervalMs` after each answer while the component is shown (0: once). Returns
 * { data, error, refresh }. A new path starts over; an answer for an old path is dropped.
 */
export function usePoll(path, intervalMs) {
  const [state, setState] = useState({ data: undefined, error: undefined, path });
  const tick = useRef(0);
  const refresh = () => {
    const mine = ++tick.current;
    return get(path).then(
      (data) => mine === tick.current && setState({ data, error: undefined, path }),
      (error) => mine === tick.current && setState((s) => ({ data: s.path === path ? s.data : undefined, error, path })),
    );
  };
  useEffect(() => {
    if (path === undefined) return undefined;
    let timer;
    let stopped = false;
    const loop = async () => {
      await refresh();
      if (!stopped && intervalMs > 0) timer = setTimeout(loop, intervalMs);
    };
    setState((s) => (s.path === path ? s : { data: undefined, error: undefined, path }));
    void loop();
    return () => {
      stopped = true;
      tick.current++;
      clearTimeout(timer);
    };
  }, [path, intervalMs]);
  return { data: state.path === path ? state.data : undefined, error: state.path === path ? state.error : undefined, refresh };
}

/** Polls a task (a redrive, a bulk action) until it ends. */
export async function followTask(id, onProgress) {
  for (;;) {
    const task = await get(`/api/tasks/${encodeURIComponent(id)}`);
    onProgress(task);
    if (task.state !== 'running') return task;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
