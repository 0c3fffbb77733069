import { Counter, Gauge, Histogram } from 'prom-client';

/**
 * Per-service metrics. Not registered anywhere here: the HTTP transport adds them to the registry
 * it serves at /metrics (one per app, so tests can run several servers).
 */
export function createServiceMetrics(queueDepths: () => Promise<{ service: string; status: string; n: number }[]>) {
  return {
    ackLatency: new Histogram({
      name: 'parley_service_ack_latency_seconds',
      help: 'Time from receiving a service request to sending its acknowledgement',
      labelNames: ['service'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [],
    }),
    processing: new Histogram({
      name: 'parley_service_processing_seconds',
      help: 'Time from acknowledging a service request to its completion',
      labelNames: ['service'] as const,
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
      registers: [],
    }),
    failures: new Counter({
      name: 'parley_service_failures_total',
      help: 'Service requests that failed (ack_timeout, overloaded, rate_limited), were retried or dead-lettered',
      labelNames: ['service', 'reason'] as const,
      registers: [],
    }),
    queueDepth: new Gauge({
      name: 'parley_service_queue_depth',
      help: 'Service requests waiting (queued), held by a worker or webhook call (leased) or awaiting a webhook\'s later answer (waiting)',
      labelNames: ['service', 'status'] as const,
      registers: [],
      async collect() {
        this.reset();
        for (const row of await queueDepths()) this.labels(row.service, row.status).set(row.n);
      },
    }),
  };
}

export type ServiceMetrics = ReturnType<typeof createServiceMetrics>;
