// The notifier and the audit stream take a Redis connection as configuration: either an ioredis instance
// the caller owns, or ioredis options we open (and close) ourselves. Workers and blocking readers get
// their own connections with `maxRetriesPerRequest: null`, so that during a Redis outage their commands
// wait for the reconnect instead of failing (BullMQ's production guidance).
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

export type RedisConnection = Redis | RedisOptions;

/** Options for a connection that must ride out an outage: the caller's settings, retries unbounded. */
export function patientOptions(connection: RedisConnection): RedisOptions {
  const base = connection instanceof Redis ? connection.options : connection;
  return { ...base, maxRetriesPerRequest: null };
}

/**
 * patientOptions for a BullMQ Worker. BullMQ's own RedisOptions type lacks ioredis's `retryStrategy: null`
 * variant, hence the cast; the object is the ioredis options BullMQ passes through.
 */
export const workerConnection = (connection: RedisConnection): ConnectionOptions =>
  patientOptions(connection) as ConnectionOptions;

/** A client to run commands on; `owned` says whether closing it is our job. */
export interface OpenedClient {
  client: Redis;
  owned: boolean;
}

/** The caller's instance as is (shared, never closed by us), or a new client from options (owned). */
export function openClient(connection: RedisConnection): OpenedClient {
  return connection instanceof Redis
    ? { client: connection, owned: false }
    : { client: new Redis(connection), owned: true };
}

/** A new client that waits out outages (see patientOptions); always owned by the caller of this function. */
export function openPatientClient(connection: RedisConnection): Redis {
  return new Redis(patientOptions(connection));
}

/** Closes the client if it is ours; a client already gone is not an error. */
export async function closeClient(opened: OpenedClient): Promise<void> {
  if (!opened.owned) return;
  await quietly(opened.client);
}

const hasEnded = (client: Redis): boolean => client.status === 'end';

export async function quietly(client: Redis): Promise<void> {
  if (hasEnded(client)) return;
  try {
    await client.quit();
  } catch {
    // Already going away; disconnect() on a closed stream would only leave a stray 2 s timer behind.
    if (!hasEnded(client)) client.disconnect();
  }
}
