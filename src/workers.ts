// WORKERS > 1: several processes serving one port, with node:cluster. The
// primary serves nothing and opens no database; it forks the workers, each of
// which runs src/server.ts as a single process would, on the port the
// primary shares out (round-robin on Linux). Everything two requests may
// share — sessions, codes and their single use, throttling counters, signing
// keys — is in the database already, as it is for several nodes, so a
// worker needs nothing from its siblings.
//
// One worker, the lead, starts alone first: it migrates, creates the keys,
// seeds the demo and prints its credentials, so a first start prints them
// once and a failed start (port in use, unwritable DATA_DIR) fails in that
// one worker, whose one line is the output and whose exit code the primary
// exits with. The others start once it serves. The lead also runs the purge
// of expired rows: the rows are shared, and N purges would only queue N
// times as many deletes behind SQLite's one writer.
//
// Metrics: each worker counts what it answers, and a scrape reaches one of
// them. That worker asks the primary, which gathers every worker's registry
// and sums them (prom-client's AggregatorRegistry), so /metrics counts the
// whole, whichever worker answers it.
//
// SIGTERM or SIGINT to the primary: each worker drains as a single process
// does (src/serve.ts), and the primary exits 0 once all have. A worker that
// dies while serving is logged and replaced; one that fails before serving
// stops the whole (a start that failed once fails again), and so do more
// than MAX_RESTARTS deaths within RESTART_WINDOW_MS.
import cluster, { type Worker } from 'node:cluster';
import client from 'prom-client';
import type { Logger } from './log.js';

/** What the primary tells a worker it is. */
export interface Role {
  /** Seeds the demo and purges expired rows. */
  lead: boolean;
}

type Message =
  | { type: 'role?' }
  | { type: 'ready' }
  | { type: 'role'; lead: boolean }
  | { type: 'metrics?'; id: number }
  | { type: 'metrics'; id: number; text?: string; error?: string };

const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** Longer than prom-client's own wait for the workers (5 s), so that the primary's answer comes first. */
const METRICS_WAIT_MS = 8000;
/** Longer than a worker's own drain (10 s, src/serve.ts), so that only a stuck worker is killed. */
const STOP_GRACE_MS = 15_000;

/** In a worker: its role, asked of the primary (a message sent before the worker listens could be lost). */
export function askRole(): Promise<Role> {
  return new Promise((resolve) => {
    const onMessage = (message: Message) => {
      if (message.type !== 'role') return;
      process.off('message', onMessage);
      resolve({ lead: message.lead });
    };
    process.on('message', onMessage);
    process.send?.({ type: 'role?' } satisfies Message);
  });
}

/** In a worker: tell the primary this worker now serves. */
export function reportReady(): void {
  process.send?.({ type: 'ready' } satisfies Message);
}

let metricsAsked = 0;

/** In a worker: every worker's metrics, summed by the primary, in Prometheus' text format. */
export function askPrimaryForMetrics(): Promise<string> {
  const id = ++metricsAsked;
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the primary did not send the metrics in time'));
    }, METRICS_WAIT_MS);
    const onMessage = (message: Message) => {
      if (message.type !== 'metrics' || message.id !== id) return;
      done();
      if (message.text === undefined) reject(new Error(message.error ?? 'no metrics'));
      else resolve(message.text);
    };
    process.on('message', onMessage);
    process.send?.({ type: 'metrics?', id } satisfies Message);
  });
}

interface Running {
  worker: Worker;
  lead: boolean;
  ready: Promise<void>;
  serving: boolean;
}

/** In the primary: fork `count` workers, keep them running, drain them on SIGTERM/SIGINT. Never returns. */
export async function runPrimary(count: number, log: Logger): Promise<void> {
  const running = new Map<number, Running>();
  const deaths: number[] = [];
  let stopping = false;
  let exitCode = 0;
  const aggregator = new client.AggregatorRegistry();
  const sendMetrics = (worker: Worker, id: number) =>
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: 'metrics', id, text } satisfies Message),
      (err: Error) =>
        worker.isConnected() && worker.send({ type: 'metrics', id, error: err.message } satisfies Message),
    );

  const fork = (lead: boolean): Running => {
    const worker = cluster.fork();
    let markReady = () => {};
    const entry: Running = {
      worker,
      lead,
      serving: false,
      ready: new Promise<void>((resolve) => (markReady = resolve)),
    };
    worker.on('message', (message: Message) => {
      if (message.type === 'role?') worker.send({ type: 'role', lead } satisfies Message);
      if (message.type === 'metrics?') void sendMetrics(worker, message.id);
      if (message.type === 'ready') {
        entry.serving = true;
        markReady();
      }
    });
    running.set(worker.id, entry);
    return entry;
  };

  const allGone = () =>
    new Promise<void>((resolve) => {
      if (running.size === 0) resolve();
      else cluster.on('exit', () => running.size === 0 && resolve());
    });

  /** `quiet`: a failed start, whose one line the worker has printed already. */
  const stop = async (reason: string, code: number, quiet = false) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    if (!quiet) log.info({ reason, workers: running.size }, 'draining workers');
    for (const { worker } of running.values()) worker.process.kill('SIGTERM');
    const force = setTimeout(() => {
      log.warn('workers did not stop in time; killing them');
      for (const { worker } of running.values()) worker.process.kill('SIGKILL');
    }, STOP_GRACE_MS);
    force.unref();
    await allGone();
    if (!quiet) log.info('stopped');
    process.exit(exitCode);
  };

  cluster.on('exit', (worker, code, signal) => {
    const entry = running.get(worker.id);
    running.delete(worker.id);
    if (!entry || stopping) return;
    const pid = worker.process.pid;
    if (!entry.serving) {
      // It printed why (src/startup/exit-codes.ts); its code is the answer.
      void stop('a worker failed to start', code || 1, true);
      return;
    }
    const now = Date.now();
    const recent = [...deaths.filter((t) => t > now - RESTART_WINDOW_MS), now];
    deaths.splice(0, deaths.length, ...recent);
    if (deaths.length > MAX_RESTARTS) {
      log.error({ pid, code, signal, deaths: deaths.length }, 'workers keep dying; stopping');
      void stop('workers keep dying', 1);
      return;
    }
    log.error({ pid, code, signal, lead: entry.lead }, 'worker died; starting another');
    fork(entry.lead);
  });

  process.on('SIGTERM', () => void stop('SIGTERM', 0));
  process.on('SIGINT', () => void stop('SIGINT', 0));

  await fork(true).ready;
  const rest = Array.from({ length: count - 1 }, () => fork(false));
  await Promise.all(rest.map((r) => r.ready));
  log.info({ workers: count, pids: [...running.values()].map((r) => r.worker.process.pid) }, 'workers serving');
}
