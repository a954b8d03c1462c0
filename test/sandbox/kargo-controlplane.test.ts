// The pieces of the real-Kargo harness that need no running control plane: the chart templates as rendered
// for this installation (the webhook configurations the API server calls, the webhooks server's RBAC and
// env), the per-installation edits of kargo/, and the network guard's reading of /proc socket tables.
import * as fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import {
  NetworkGuard,
  chartEnvKeys,
  findKargoTools,
  renderChartTemplate,
  webhookConfigurations,
  webhooksServerEnvKeys,
} from '../../src/sandbox/kargo-controlplane.js';
import { perInstallationEdits } from '../../src/sandbox/kargo-install.js';

const tools = findKargoTools();
const chartFiles = fs.existsSync(path.join(tools.chartDir, 'kubernetes-webhooks-server', 'webhooks.yaml'));
// The chart files come from tools/install.sh; without them only the CI run (which installs them) must fail.
const describeWithChart = chartFiles || process.env.CI ? describe : describe.skip;
if (!chartFiles && !process.env.CI) {
  process.stderr.write(
    `\n[kargo] SKIPPING the chart template checks: ${tools.chartDir} is missing (npm run tools:install)\n`,
  );
}

describe('renderChartTemplate', () => {
  it('keeps the installation guards, drops labels, value blocks and guarded extras, substitutes the namespace', () => {
    const template = [
      '{{- if and .Values.dataPlane.install .Values.webhooks.register }}',
      'kind: Thing',
      'metadata:',
      '  labels:',
      '    {{- include "kargo.labels" . | nindent 4 }}',
      '  namespace: {{ .Release.Namespace }}',
      '  {{- with (mergeOverwrite (deepCopy .Values.global.annotations) .Values.x.annotations) }}',
      '  {{- range $key, $value := . }}',
      '  {{ $key }}: {{ $value | quote }}',
      '  {{- end }}',
      '  {{- end }}',
      '{{- if .Values.something.optional }}',
      'optional: true',
      '{{- else }}',
      'optional: false',
      '{{- end }}',
      '{{- end }}',
    ].join('\n');
    expect(YAML.parse(renderChartTemplate(template, 'kargo'))).toEqual({
      kind: 'Thing',
      metadata: { labels: null, namespace: 'kargo' },
      optional: false,
    });
  });

  it('refuses what it cannot render instead of guessing', () => {
    expect(() => renderChartTemplate('name: {{ .Values.name }}', 'kargo', 'x.yaml')).toThrow(
      /x\.yaml:1: cannot render/,
    );
    expect(() => renderChartTemplate('{{- if true }}\nname: a', 'kargo', 'x.yaml')).toThrow(/unterminated/);
  });
});

describeWithChart("Kargo's chart, rendered for a loopback webhooks server", () => {
  it('points every webhook of the chart at the loopback server, trusting the given CA', () => {
    const configs = webhookConfigurations(tools.chartDir, 'https://127.0.0.1:9443', 'CA PEM') as Array<{
      kind: string;
      metadata: { annotations?: unknown };
      webhooks: Array<{ name: string; clientConfig: { url: string; caBundle: string; service?: unknown } }>;
    }>;
    expect(configs.map((c) => c.kind).sort()).toEqual([
      'MutatingWebhookConfiguration',
      'ValidatingWebhookConfiguration',
    ]);
    const hooks = configs.flatMap((c) => c.webhooks);
    expect(hooks.map((h) => h.name)).toEqual(
      expect.arrayContaining([
        'promotion.kargo.akuity.io',
        'stage.kargo.akuity.io',
        'project.kargo.akuity.io',
      ]),
    );
    for (const hook of hooks) {
      expect(hook.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:9443\/(mutate|validate)-/);
      expect(Buffer.from(hook.clientConfig.caBundle, 'base64').toString()).toBe('CA PEM');
      expect(hook.clientConfig.service).toBeUndefined();
    }
    for (const c of configs) expect(c.metadata.annotations).toBeUndefined();
  });

  it('sets every variable of the chart’s webhooks-server ConfigMap', () => {
    expect(webhooksServerEnvKeys()).toEqual(expect.arrayContaining(chartEnvKeys(tools.chartDir)));
  });
});

describe('perInstallationEdits', () => {
  const settings = { repoURL: 'http://127.0.0.1:1/acme/r.git', ghApi: 'http://127.0.0.1:2', token: 't0ken' };

  it('changes only the repository URL, ghApi and the token', () => {
    const objects = perInstallationEdits(settings) as Array<{
      kind: string;
      metadata: { name: string };
      spec?: {
        vars?: Array<{ name: string; value: string }>;
        subscriptions?: Array<{ git: { repoURL: string } }>;
      };
      stringData?: Record<string, string>;
    }>;
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Project/gitops-infra',
      'ProjectConfig/gitops-infra',
      'Secret/github',
      'Warehouse/gitops-infra',
      'Stage/dev',
      'Stage/prod',
    ]);
    const warehouse = objects.find((o) => o.kind === 'Warehouse')!;
    expect(warehouse.spec?.subscriptions?.[0]?.git.repoURL).toBe(settings.repoURL);
    for (const stage of objects.filter((o) => o.kind === 'Stage')) {
      const vars = Object.fromEntries((stage.spec?.vars ?? []).map((v) => [v.name, v.value]));
      expect(vars).toMatchObject({ repoURL: settings.repoURL, ghApi: settings.ghApi });
      expect(vars.ghRepo).toBe('acme/gitops-infra-pipeline');
    }
    expect(objects.find((o) => o.kind === 'Secret')?.stringData?.token).toBe('t0ken');
  });
});

describe('NetworkGuard', () => {
  it('records nothing for processes that do not exist, and counts its samples', () => {
    const guard = new NetworkGuard(() => [2 ** 22 + 12345]);
    guard.sample();
    expect(guard.violations()).toEqual([]);
    expect(guard.openListeners()).toEqual([]);
    expect(guard.sampleCount()).toBe(guard.supported ? 1 : 0);
  });

  it('does not count a loopback listener of a watched process as a violation or an open listener', async () => {
    if (!fs.existsSync('/proc/net/tcp')) return;
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const guard = new NetworkGuard(() => [process.pid]);
      guard.sample();
      expect(guard.openListeners()).toEqual([]);
      expect(guard.violations()).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
