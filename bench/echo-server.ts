import { WebSocketServer, WebSocket } from 'ws';

/**
 * The baseline for bench/messaging.ts: a bare `ws` relay doing the least a chat relay can do.
 * Clients connect to /?id=N; a frame from N goes unparsed to its partner N^1 (pairs 0-1, 2-3, …).
 * So a message goes sender → relay → recipient, and its read frame recipient → relay → sender:
 * no storage, no authentication, no JSON on the server.
 * Run: tsx bench/echo-server.ts [port]; it prints {"url":"ws://127.0.0.1:PORT"} when listening.
 */
const port = Number(process.argv[2] ?? 0);
const sockets = new Map<number, WebSocket>();
const server = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 * 1024 });

server.on('connection', (socket, req) => {
  const id = Number(new URL(req.url ?? '/', 'http://relay').searchParams.get('id'));
  if (!Number.isSafeInteger(id) || id < 0) return socket.close(4002, 'connect to /?id=N');
  sockets.set(id, socket);
  socket.on('message', (data, isBinary) => {
    const partner = sockets.get(id ^ 1);
    if (partner?.readyState === WebSocket.OPEN) partner.send(data, { binary: isBinary });
  });
  socket.on('close', () => {
    if (sockets.get(id) === socket) sockets.delete(id);
  });
});

server.on('listening', () => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  console.log(JSON.stringify({ url: `ws://127.0.0.1:${actualPort}`, msg: 'echo relay listening' }));
});

const stop = () => {
  for (const socket of sockets.values()) socket.terminate();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
