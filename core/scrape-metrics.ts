/**
 * Prometheus metrics read at scrape time from counters a component already keeps (its `stats`), so
 * exposing them adds nothing to the component's hot path: a scrape reads the figures, nothing else
 * does.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** A counter whose value is `read()` at each scrape (the figure must only grow). */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number, labels: Record<string, string> = {}): void {
  new Counter({
    name,
    help,
    labelNames: Object.keys(labels),
    registers: [registry],
    collect() {
      this.reset();
      this.inc(labels, read());
    },
  });
}

/** A gauge whose value is `read()` at each scrape; undefined leaves the series out of that scrape. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number | undefined, labels: Record<string, string> = {}): void {
  new Gauge({
    name,
    help,
    labelNames: Object.keys(labels),
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (v !== undefined) this.set(labels, v);
    },
  });
}
