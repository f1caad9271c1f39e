/**
 * The dashboard's long actions (a DLQ redrive, a bulk cancel or retry by filter) run here, in the server,
 * not in the page: closing the tab does not stop them halfway, and the page follows their progress by
 * polling the task (GET /api/tasks/{id}). A finished task is kept for a while so that its outcome can
 * still be read, then forgotten; the server keeps at most MAX_TASKS.
 */
import { randomUUID } from 'node:crypto';

export interface TaskProgress {
  done: number;
  /** Undefined while unknown (a bulk action learns its size as it goes). */
  total?: number;
  /** What the task is at, e.g. the job id it just handled. */
  note?: string;
}

export interface TaskView {
  id: string;
  kind: string;
  /** What it does, for the page: "redrive webhook". */
  title: string;
  /** What it works on, for refusing a second task on the same thing (e.g. one redrive per DLQ). */
  subject: string;
  state: 'running' | 'succeeded' | 'failed';
  progress: TaskProgress;
  startedAt: string;
  finishedAt?: string;
  result?: unknown;
  error?: string;
}

export const MAX_TASKS = 50;
export const KEEP_FINISHED_MS = 30 * 60_000;

export class Tasks {
  private readonly tasks = new Map<string, TaskView>();

  /** Starts `run` and returns its task at once; `run` reports progress through its argument. */
  start(kind: string, title: string, subject: string, run: (progress: (p: TaskProgress) => void) => Promise<unknown>): TaskView {
    this.forgetOld(Date.now());
    const task: TaskView = { id: randomUUID(), kind, title, subject, state: 'running', progress: { done: 0 }, startedAt: new Date().toISOString() };
    this.tasks.set(task.id, task);
    void run((p) => (task.progress = p)).then(
      (result) => Object.assign(task, { state: 'succeeded', result, finishedAt: new Date().toISOString() }),
      (error: unknown) => Object.assign(task, { state: 'failed', error: error instanceof Error ? error.message : String(error), finishedAt: new Date().toISOString() }),
    );
    return task;
  }

  get(id: string): TaskView | undefined {
    return this.tasks.get(id);
  }

  /** The running task of this kind on this subject, if there is one. */
  running(kind: string, subject: string): TaskView | undefined {
    return [...this.tasks.values()].find((t) => t.state === 'running' && t.kind === kind && t.subject === subject);
  }

  list(): TaskView[] {
    return [...this.tasks.values()].reverse();
  }

  private forgetOld(now: number): void {
    for (const [id, task] of this.tasks) {
      if (task.finishedAt && now - Date.parse(task.finishedAt) > KEEP_FINISHED_MS) this.tasks.delete(id);
    }
    // Still too many: the oldest finished ones go first; running tasks are never dropped.
    for (const [id, task] of this.tasks) {
      if (this.tasks.size < MAX_TASKS) break;
      if (task.state !== 'running') this.tasks.delete(id);
    }
  }
}
