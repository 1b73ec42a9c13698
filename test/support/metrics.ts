import assert from 'node:assert/strict';
import type { TestServer } from './server.js';

/** Prometheus text → `name{labels}` → value (labels in the order the server writes them). */
export async function scrape(api: Pick<TestServer, 'url'>, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const response = await fetch(new URL('/metrics', api.url), { headers });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

export const value = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0;
