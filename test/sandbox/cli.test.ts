// `npm run sandbox` as a person types it (src/sandbox/main.ts through tsx, a process of its own).
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { portInUseMessage, REPO_ROOT } from '../../src/sandbox/stack.js';

const run = promisify(execFile);

async function sandboxCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      ['src/sandbox/main.ts', ...args],
      { cwd: REPO_ROOT, timeout: 120_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm run sandbox', () => {
  it('answers --port on a busy port with one clear line, before starting anything', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
    const { port } = busy.address() as AddressInfo;
    try {
      const result = await sandboxCli(['--port', String(port)]);
      expect(result.code).not.toBe(0);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toEqual([`sandbox: ${portInUseMessage(port)}`]);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  }, 150_000);
});
