import http from 'node:http';

/**
 * A `fetch` for the SDK over node:http with one keep-alive agent per simulated device. The
 * built-in fetch (undici) costs noticeably more CPU per request, and the load generator shares
 * the machine's two cores with the server: every cycle it saves is one the server can use. It
 * covers what the SDK needs: method, headers, a string body, status and text().
 */
const REQUEST_TIMEOUT_MS = 60_000;

export function keepAliveFetch(agent: http.Agent): typeof fetch {
  const fetchLike = (input: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = typeof input === 'string' || input instanceof URL ? input : input.url;
      const body = init?.body;
      if (body !== undefined && body !== null && typeof body !== 'string') throw new TypeError('keepAliveFetch sends string bodies only');
      const headers: Record<string, string> = { ...(init?.headers as Record<string, string> | undefined) };
      if (body) headers['content-length'] = String(Buffer.byteLength(body));
      const req = http.request(url, { method: init?.method ?? 'GET', headers, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ status, ok: status >= 200 && status < 300, statusText: res.statusMessage ?? '', text: async () => text } as unknown as Response);
        });
      });
      req.on('error', reject);
      // A request that hangs must fail the run, not stall it.
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer from ${String(url)} after ${REQUEST_TIMEOUT_MS} ms`)));
      req.end(body ?? undefined);
    });
  return fetchLike as typeof fetch;
}
