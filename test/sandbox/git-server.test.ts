// The loopback git server the real Kargo controller fetches from (src/sandbox/kargo-git-server.ts): besides
// smart HTTP for git, the commit links a chat client makes from its repository URL go on to the page that
// shows the commit (the sandbox console's), so they stay on the machine.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startGitServer, type GitServer } from '../../src/sandbox/kargo-git-server.js';
import { REPO_ROOT } from '../../src/sandbox/stack.js';

const run = promisify(execFile);
const PAGES = 'http://127.0.0.1:9/github/acme/gitops-infra-pipeline/commit/';

describe('the loopback git server', () => {
  let git: GitServer;

  beforeAll(async () => {
    git = await startGitServer({ sourceRepo: REPO_ROOT, commitPage: (sha) => `${PAGES}${sha}` });
  }, 60_000);

  afterAll(async () => {
    await git?.stop();
  });

  it('sends a commit link on to the commit’s page', async () => {
    const head = await git.head();
    const link = `${git.repoUrl.replace(/\.git$/, '')}/commit/${head}`;
    const res = await fetch(link, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${PAGES}${head}`);
  });

  it('still serves git over smart HTTP', async () => {
    const { stdout } = await run('git', ['ls-remote', git.repoUrl, `refs/heads/${git.branch}`]);
    expect(stdout.split('\t')[0]).toBe(await git.head());
  }, 30_000);
});
