import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { DOCS_END, DOCS_START, renderConfigReference } from '../../src/config/docs.js';

const valid = {
  SLACK_BOT_TOKEN: 'xoxb-1234-5678-abcdefghijkl',
  SLACK_SIGNING_SECRET: 'an-example-signing-secret-0123456789',
  SLACK_CHANNEL_DEPLOYMENTS: 'C0DEPLOY001',
  SLACK_CHANNEL_ALERTS: 'C0ALERTS001',
  SLACK_CHANNEL_AUDIT: 'C0AUDIT0001',
  GITHUB_REPOSITORY: 'acme/gitops-infra-pipeline',
};

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('builds a typed config with defaults from a minimal environment', () => {
    const config = loadConfig(valid);
    expect(config.slack.mode).toBe('http');
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: 'chatops' });
    expect(config.kargo).toEqual({ project: 'gitops-infra', stages: { dev: 'dev', prod: 'prod' } });
    expect(config.github).toMatchObject({
      owner: 'acme',
      repo: 'gitops-infra-pipeline',
      workflow: 'terraform.yaml',
    });
    expect(config.github.auth).toEqual({ kind: 'none' });
    expect(config.secrets).toEqual(
      expect.arrayContaining([valid.SLACK_BOT_TOKEN, valid.SLACK_SIGNING_SECRET]),
    );
  });

  it('lists every problem at once, each naming the setting, what was expected and an example', () => {
    const problems = problemsOf({
      SLACK_BOT_TOKEN: 'xoxp-user-token',
      SLACK_CHANNEL_DEPLOYMENTS: '#infra-deployments',
      PORT: '99999',
      GITHUB_APP_ID: '123',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^SLACK_BOT_TOKEN invalid: expected a bot token starting with xoxb-\. .*Example: SLACK_BOT_TOKEN=xoxb-/,
        ),
        expect.stringMatching(
          /^SLACK_CHANNEL_DEPLOYMENTS invalid: expected a Slack channel id such as C0123456789/,
        ),
        expect.stringMatching(/^SLACK_CHANNEL_ALERTS is required\./),
        expect.stringMatching(/^SLACK_CHANNEL_AUDIT is required\./),
        expect.stringMatching(/^GITHUB_REPOSITORY is required\./),
        expect.stringMatching(/^PORT invalid/),
        expect.stringMatching(/^SLACK_SIGNING_SECRET is required when SLACK_MODE=http/),
        expect.stringMatching(
          /^GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID go together/,
        ),
      ]),
    );
    expect(problems).toHaveLength(8);
  });

  it('renders the problems as one readable message', () => {
    expect(() => loadConfig({})).toThrow(/^Configuration is invalid \(\d+ problems\):\n {2}- /);
  });

  it('treats blank values as unset and requires the app token in Socket Mode', () => {
    const problems = problemsOf({ ...valid, SLACK_MODE: 'socket', SLACK_APP_TOKEN: '   ' });
    expect(problems).toEqual([expect.stringMatching(/^SLACK_APP_TOKEN is required when SLACK_MODE=socket/)]);
  });

  it('reads the access policy from YAML and adds the env lists to it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chatops-config-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'access:',
        '  promote:',
        '    prod: { users: [U0ALICE001], groups: [S0PLATFORM1] }',
        'KARGO_PROJECT: infra',
      ].join('\n'),
    );
    const config = loadConfig({ ...valid, CONFIG_FILE: file, PROMOTE_PROD_USERS: 'U0BOB00002, U0ALICE001' });
    expect(config.access.promote.prod).toEqual({
      users: ['U0ALICE001', 'U0BOB00002'],
      groups: ['S0PLATFORM1'],
    });
    expect(config.access.promote.dev.everyone).toBe(true);
    expect(config.access.approve.prod).toEqual({ users: [], groups: [] });
    expect(config.kargo.project).toBe('infra');
  });

  it('refuses `everyone` on prod: prod is default deny', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'chatops-config-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, 'access:\n  approve:\n    prod: { everyone: true }\n');
    expect(problemsOf({ ...valid, CONFIG_FILE: file })).toEqual([
      expect.stringMatching(/^access\.approve\.prod\.everyone is not allowed/),
    ]);
  });

  it('reports unreadable or malformed config files and unknown keys clearly', () => {
    expect(problemsOf({ ...valid, CONFIG_FILE: '/nonexistent/config.yaml' })).toEqual([
      'CONFIG_FILE: cannot read /nonexistent/config.yaml (ENOENT)',
    ]);
    const dir = mkdtempSync(path.join(tmpdir(), 'chatops-config-'));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(
      file,
      'SLACK_CHANEL_AUDIT: C0AUDIT0001\naccess:\n  promote:\n    prod: { users: [alice] }\n',
    );
    expect(problemsOf({ ...valid, CONFIG_FILE: file })).toEqual([
      expect.stringMatching(/access\.promote\.prod\.users\.0: Slack user ids/),
    ]);
    writeFileSync(file, 'SLACK_CHANEL_AUDIT: C0AUDIT0001\n');
    expect(problemsOf({ ...valid, CONFIG_FILE: file })).toEqual([
      `CONFIG_FILE ${file}: unknown setting SLACK_CHANEL_AUDIT`,
    ]);
  });
});

describe('configuration reference', () => {
  it('in the README is the one generated from the settings (run `npm run config:docs` after changing them)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf(DOCS_START);
    const end = readme.indexOf(DOCS_END);
    expect(start).toBeGreaterThan(-1);
    expect(readme.slice(start + DOCS_START.length, end).trim()).toBe(renderConfigReference());
  });
});

describe('four-eyes cannot wedge prod', () => {
  const withApprovals = {
    ...valid,
    APPROVAL_MODE: 'protection-rule',
    GITHUB_APP_ID: '123456',
    GITHUB_APP_INSTALLATION_ID: '45678901',
    GITHUB_APP_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----',
  };

  it('refuses approvals with fewer than two people who may approve prod', () => {
    expect(problemsOf({ ...withApprovals, APPROVE_PROD_USERS: 'U0BOB00002' })).toEqual([
      expect.stringMatching(
        /^APPROVE_PROD_USERS lists one person .*four-eyes needs at least two people who may approve prod/,
      ),
    ]);
    expect(problemsOf({ ...withApprovals })).toEqual([
      expect.stringMatching(/^APPROVE_PROD_USERS lists nobody/),
    ]);
  });

  it('accepts two approvers, or a group (its members are checked at run time)', () => {
    expect(
      loadConfig({ ...withApprovals, APPROVE_PROD_USERS: 'U0BOB00002,U0CAROL003' }).approvals.enabled,
    ).toBe(true);
    expect(loadConfig({ ...withApprovals, APPROVE_PROD_GROUPS: 'S0SRELEADS1' }).approvals.enabled).toBe(true);
  });

  it('does not apply when the bot does not run approvals (APPROVAL_MODE unset)', () => {
    expect(loadConfig(valid).approvals.enabled).toBe(false);
  });
});
