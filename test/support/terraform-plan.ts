// A real-shaped `terraform show -json` of a prod plan (test/fixtures/terraform/show-json.prod-replace.json):
// it replaces an instance (the AMI forces it) and a load balancer, destroys an EIP, updates a database
// password, an SSM SecureString and a Kubernetes Secret, and — as Terraform does — carries sensitive
// variables, outputs, drift and prior state in clear. FIXTURE_SECRETS lists every secret in it: none may
// ever appear in an artifact or in anything the bot renders.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PLAN_FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'terraform',
  'show-json.prod-replace.json',
);

export const showJsonFixture = (): unknown => JSON.parse(readFileSync(PLAN_FIXTURE, 'utf8')) as unknown;

export const FIXTURE_SECRETS: readonly string[] = [
  'hunter2-old-Pa55',
  'hunter2-new-Pa55',
  'hunter2-var-SECRET',
  's3cr3t-token-OLD',
  's3cr3t-token-NEW',
  'k8s-secret-OLD',
  'k8s-secret-NEW',
  'ud-secret-OLD',
  'ud-secret-NEW',
  'out-secret-VALUE',
  'out-secret-OLDVALUE',
  'drifted-secret-VALUE',
];
