import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics served at /metrics. One registry per app so tests can run several servers. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'parley_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30],
      registers: [registry],
    }),
    wsConnections: new Gauge({ name: 'parley_ws_connections', help: 'Open WebSocket stream connections', registers: [registry] }),
    wsFrames: new Counter({ name: 'parley_ws_frames_total', help: 'WebSocket frames by direction and type', labelNames: ['direction', 'type'] as const, registers: [registry] }),
    wsClosed: new Counter({ name: 'parley_ws_closed_total', help: 'WebSocket closes by reason', labelNames: ['reason'] as const, registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
