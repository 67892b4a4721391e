// Raw HTTP for the tests: requests as a platform sends them, answers as they arrive (no OSB client).

export interface OsbAnswer {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when it is not JSON. */
  body: Record<string, unknown>;
  text: string;
}

export interface OsbCall {
  body?: unknown;
  /** Sent as is instead of `body`. */
  raw?: string;
  query?: Record<string, string>;
  /** Merged over the defaults (`X-Broker-API-Version: 2.17`, JSON Content-Type); null removes one. */
  headers?: Record<string, string | null>;
}

/** One request to a broker at `base`. */
export async function osb(
  base: string,
  method: string,
  path: string,
  call: OsbCall = {},
): Promise<OsbAnswer> {
  const url = new URL(path, base);
  for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { 'x-broker-api-version': '2.17' };
  const payload = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  if (payload !== undefined) headers['content-type'] = 'application/json';
  for (const [k, v] of Object.entries(call.headers ?? {})) {
    if (v === null) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = v;
  }
  const res = await fetch(url, {
    method,
    headers,
    ...(payload !== undefined && { body: payload }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body, text };
}

export const basicHeader = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

/** A request through node:http(s) itself, for what fetch will not send (no Content-Type) or a CA. */
export async function rawRequest(options: {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  ca?: string;
}): Promise<{ status: number; text: string }> {
  const { request } = options.url.startsWith('https:')
    ? await import('node:https')
    : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(
      options.url,
      {
        method: options.method,
        headers: options.headers ?? {},
        ...(options.ca && { ca: options.ca }),
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.end(options.body);
  });
}
