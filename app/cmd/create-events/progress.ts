// Live progress on stderr while a run goes on (stdout stays free for the
// report and --json): a redrawn bar on a terminal, a plain line a second
// otherwise, so CI logs stay readable.
import { performance } from 'node:perf_hooks';
import { RunStats } from './runner';

export interface ProgressTarget {
  events?: number;
  domains?: number;
  durationMs?: number;
}

const TTY_EVERY_MS = 100;
const PLAIN_EVERY_MS = 1000;
const BAR_WIDTH = 24;
// Events/s is taken over this window: steady enough to read, recent enough to show a stall.
const RATE_WINDOW_MS = 1000;

/** How far along a run is, 0..1: the furthest of the limits it has. */
function fraction(stats: RunStats, target: ProgressTarget, elapsedMs: number): number {
  const parts = [
    target.events ? stats.eventsSent / target.events : 0,
    target.domains ? stats.domains.length / target.domains : 0,
    target.durationMs ? elapsedMs / target.durationMs : 0,
  ];
  return Math.min(1, Math.max(...parts));
}

export function startProgress(stats: RunStats, target: ProgressTarget, out: NodeJS.WriteStream = process.stderr): { stop(): void } {
  const tty = out.isTTY === true;
  const samples = [{ at: performance.now(), acked: stats.eventsAcked }];
  const num = (n: number) => Math.round(n).toLocaleString('en-US');

  const line = (): string => {
    const now = performance.now();
    samples.push({ at: now, acked: stats.eventsAcked });
    while (samples.length > 2 && now - samples[1].at >= RATE_WINDOW_MS) samples.shift();
    const first = samples[0];
    const rate = now > first.at ? ((stats.eventsAcked - first.acked) * 1000) / (now - first.at) : 0;
    const elapsed = now - stats.startedAt;
    const done = fraction(stats, target, elapsed);
    const errors = Object.values(stats.errors).reduce((a, b) => a + b, 0);
    const counts = target.events ? `${num(stats.eventsSent)}/${num(target.events)}` : num(stats.eventsSent);
    const text = `${counts} events  ${num(rate)} events/s  ${num(errors)} errors  ${(elapsed / 1000).toFixed(1)} s`;
    if (!tty) return `create-events: ${Math.floor(done * 100)}%  ${text}\n`;
    const filled = Math.round(done * BAR_WIDTH);
    return `\r\x1b[K[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(done * 100)).padStart(3)}%  ${text}`;
  };

  const timer = setInterval(() => out.write(line()), tty ? TTY_EVERY_MS : PLAIN_EVERY_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (tty) out.write(line() + '\n');
    },
  };
}
