/**
 * Workers for bench:tasks, in a process of their own so their CPU is neither the server's nor the
 * load generator's: `--workers` WebSocket streams opened with the service's token, each a
 * ServiceWorker with `--concurrency` requests in flight, each request taking `--work-ms` (a timer,
 * as a worker waiting on a backend would) before its one text reply. Prints {"ready":true} once
 * every socket is open.
 */
import { parseArgs } from 'node:util';
import { createNodeClient, ServiceWorker } from '../sdk/node.js';

const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' }, workers: { type: 'string', default: '4' }, concurrency: { type: 'string', default: '100' }, 'work-ms': { type: 'string', default: '200' } } });
const workMs = Number(values['work-ms']);
const client = createNodeClient({ baseUrl: values.url!, token: values.token! });
const workers = await Promise.all(
  Array.from({ length: Number(values.workers) }, async () => {
    // A worker's stream carries only its task frames: nothing to acknowledge.
    const stream = client.stream({ autoAck: false });
    await stream.waitForState('open', 30_000);
    const worker = new ServiceWorker(stream, {
      concurrency: Number(values.concurrency),
      waitMs: 5000,
      async handle(task) {
        await new Promise((resolve) => setTimeout(resolve, workMs));
        return [{ type: 'text', text: `done: ${task.text}` }];
      },
      onError: (err) => console.error(`worker: ${(err as Error).message}`),
    });
    worker.start();
    return worker;
  }),
);
process.once('SIGTERM', () => void Promise.all(workers.map((w) => w.stop())).finally(() => process.exit(0)));
process.stdout.write(`${JSON.stringify({ ready: true, workers: workers.length })}\n`);
