// deploy/grafana/dashboard.json: well-formed JSON a Grafana can import (panels with unique ids, grid
// positions and Prometheus targets on the data source variable), every metric its queries name is one the
// bot exports (src/metrics.ts, read from a real registry), and every delivery metric has a panel.
import { describe, expect, it } from '@jest/globals';
import { createMetrics } from '../../src/metrics.js';
import { readRepoFile } from './helpers.js';

interface Target {
  refId: string;
  expr: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets: Target[];
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: {
    list: Array<{ name: string; type: string; query?: string; options?: Array<{ value: string }> }>;
  };
}

const text = readRepoFile('deploy/grafana/dashboard.json');
const dashboard = JSON.parse(text) as Dashboard;
const exported = new Set((await createMetrics('worker').registry.getMetricsAsJSON()).map((m) => m.name));
const namesIn = (expr: string): string[] => [...expr.matchAll(/\bchatops_[a-z0-9_]+\b/g)].map((m) => m[0]);

describe('deploy/grafana/dashboard.json', () => {
  it('is an importable dashboard: title, uid, schemaVersion, panels with unique ids inside the 24-column grid', () => {
    expect(dashboard.title).toMatch(/DORA/);
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(30);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(['stat', 'timeseries']).toContain(p.type);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of [p.datasource, ...p.targets.map((x) => x.datasource)])
        expect(t).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('queries only metrics the bot exports (src/metrics.ts), with the window variable the gauges are labelled by', () => {
    const used = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => namesIn(t.expr)));
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect([name, exported.has(name)]).toEqual([name, true]);
    const window = dashboard.templating.list.find((v) => v.name === 'window');
    expect(window?.options?.map((o) => o.value)).toEqual(['7d', '30d', '90d']);
    for (const p of dashboard.panels)
      for (const t of p.targets)
        if (!/last_refresh/.test(t.expr)) expect(t.expr).toContain('window="$window"');
  });

  it('has a panel for each of the four delivery metrics and the refresh time', () => {
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => namesIn(t.expr))));
    const dora = [...exported].filter((n) => n.startsWith('chatops_dora_'));
    expect(dora.sort()).toEqual([
      'chatops_dora_change_failure_ratio',
      'chatops_dora_deployments',
      'chatops_dora_deployments_per_day',
      'chatops_dora_last_refresh_timestamp_seconds',
      'chatops_dora_lead_time_seconds',
      'chatops_dora_time_to_restore_seconds',
    ]);
    for (const name of dora) expect([name, used.has(name)]).toEqual([name, true]);
  });
});
