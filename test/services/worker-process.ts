// A worker process for test/services/crash.test.ts: pulls one request, says which, then hangs (until killed).
import { createNodeClient } from '../../sdk/node.js';

const [baseUrl, token] = process.argv.slice(2);
const client = createNodeClient({ baseUrl: baseUrl!, token: token! });
const tasks = await client.pullTasks({ max: 1, waitMs: 10_000 });
process.stdout.write(`${JSON.stringify(tasks.map((t) => t.id))}\n`);
setInterval(() => {}, 60_000);
