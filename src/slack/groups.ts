// Slack user-group membership, cached in Redis so that access checks in the web process need no Slack
// call before the 3-second ack. The worker refreshes the groups named in the access policy
// (usergroups.users.list) on start and every few minutes; a group never refreshed counts as empty,
// which fails closed; so does one not refreshed for a day (the cache expires).
import type { Redis } from 'ioredis';
import type { WebClient } from '@slack/web-api';
import { GROUP_CACHE_TTL_SECONDS } from '../retention.js';

export class GroupDirectory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(groupId: string): string {
    return `${this.prefix}:usergroup:${groupId}`;
  }

  /** The configured groups the user belongs to, from the cache. */
  async groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]> {
    if (groupIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const g of groupIds) pipeline.sismember(this.key(g), userId);
    const results = (await pipeline.exec()) ?? [];
    return groupIds.filter((_, i) => results[i]?.[1] === 1);
  }

  /** Members of each group, from the cache (a group never refreshed, or expired, has none). */
  async members(groupIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (groupIds.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const g of groupIds) pipeline.smembers(this.key(g));
    const results = (await pipeline.exec()) ?? [];
    groupIds.forEach((g, i) => out.set(g, (results[i]?.[1] as string[] | undefined) ?? []));
    return out;
  }

  /** Replaces the cached members of each group with what Slack says now. */
  async refresh(client: WebClient, groupIds: readonly string[]): Promise<void> {
    for (const groupId of groupIds) {
      const res = await client.usergroups.users.list({ usergroup: groupId });
      const members = res.users ?? [];
      const tmp = `${this.key(groupId)}:tmp`;
      const tx = this.redis.multi().del(tmp);
      if (members.length > 0) tx.sadd(tmp, ...members);
      if (members.length > 0) {
        tx.rename(tmp, this.key(groupId));
        // Not refreshed for a day (worker down, Slack refusing): the membership is unknown, so it reads
        // as empty and access fails closed.
        tx.expire(this.key(groupId), GROUP_CACHE_TTL_SECONDS);
      } else tx.del(this.key(groupId));
      await tx.exec();
    }
  }
}
