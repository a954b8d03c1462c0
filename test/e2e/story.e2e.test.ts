// The browser story (`npm run e2e`): Debian's chromium, driven by playwright-core, walks the sandbox
// console — the real bot (web + worker on a private redis-server) with the Slack, GitHub and Kargo
// stand-ins and the local lock stores, exactly as `npm run sandbox` starts them — through the full story
// and the failure paths, and checks what each channel shows:
//
//   pass        /freight → /promote dev → live card → succeeded with outputs in the thread → the outsider
//               is refused prod → the approver freezes prod: the requester's /promote prod is refused,
//               /status and the Home tab show the freeze → /unfreeze → /promote prod → prod gates → the
//               approval card's risk line and Show resources → [the requester cannot approve, the approver
//               approves: TODO(approvals), enabled by "approval": true in pass.json] → apply → succeeded with
//               outputs → /stats → /rollback prod (nothing earlier) → #infra-audit
//   trivy-fail  dev succeeds; the prod Trivy gate fails → the card shows the findings, #infra-alerts the alert
//   opa-fail    the policy job fails on Conftest findings → #infra-alerts names the job
//   drift       the scheduled drift check finds drift in dev → one drift card in #infra-alerts → /drift dev
//   stuck-lock  /unlock dev shows the stale lock → Release lock → Slack's confirm dialog → released
//
// Each scenario gets its own sandbox (fresh Redis, Kargo and GitHub). Screenshots of every step:
// test/e2e/screenshots/story-*.png (git-ignored). Run it alone: it is excluded from `npm test`.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { APPROVE_ACTION_ID } from '../../src/domain/approval.js';
import { PLAN_DETAILS_ACTION_ID } from '../../src/domain/details.js';
import { REPO_ROOT, SANDBOX_USERS, startSandbox, type Sandbox } from '../../src/sandbox/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.join(REPO_ROOT, 'test', 'e2e', 'screenshots');
const { requester, approver, outsider } = SANDBOX_USERS;
/** A run takes ~30 s at the sandbox's speed; leave room for a slow CI machine. */
const RUN_MS = 150_000;
/**
 * #infra-audit may trail the story: the mirror posts one message per second, and the whole story's records
 * can queue behind each other.
 */
const AUDIT_CATCH_UP_MS = 2 * RUN_MS;
/** The bot's reply to /promote: "Kargo promotion … created: f9d6791 (brave-wampa) → dev" (src/domain/format.ts). */
const ALIAS_IN_REPLY = /created: [0-9a-f]{7} \(([^)\s]+)\)/;

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `The browser story needs Debian's chromium at ${CHROMIUM}: run it with \`npm run e2e\`, which installs it ` +
      '(apt-get install -y chromium fonts-noto-color-emoji).',
  );
}

let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** Re-reads `read` until its text matches (the console updates over SSE); returns that text. */
async function until(
  what: string,
  read: () => Promise<string>,
  match: RegExp | string,
  timeoutMs = RUN_MS,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await read().catch((err: unknown) => `(${String(err)})`);
    if (typeof match === 'string' ? last.includes(match) : match.test(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last seen:\n${last.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** One scenario: its sandbox and a page on its console, with what a person does there. */
class Story {
  sandbox!: Sandbox;
  page!: Page;
  readonly pageErrors: Error[] = [];
  private shots = 0;

  constructor(private readonly scenario: string) {}

  async start(): Promise<void> {
    this.sandbox = await startSandbox({
      scenario: this.scenario,
      logFile: path.join(REPO_ROOT, '.cache', 'sandbox', `e2e-${this.scenario}.log`),
    });
    // Runs started before the real gates are known would use the scenario's outcomes only.
    await this.sandbox.gates;
    this.page = await browser.newPage({ viewport: { width: 1440, height: 1700 }, deviceScaleFactor: 1 });
    this.page.setDefaultTimeout(15_000);
    this.page.on('pageerror', (err) => this.pageErrors.push(err));
    await this.page.goto(this.sandbox.consoleUrl);
    await this.page.getByTestId('channel-infra-deployments').waitFor();
  }

  async stop(): Promise<void> {
    await this.page?.close();
    await this.sandbox?.stop();
  }

  async shot(name: string): Promise<void> {
    this.shots += 1;
    const file = `story-${this.scenario}-${String(this.shots).padStart(2, '0')}-${name}.png`;
    await this.page.screenshot({ path: path.join(SCREENSHOTS, file), animations: 'disabled' });
  }

  async as(user: { id: string }): Promise<void> {
    await this.page.getByTestId('user-switcher').selectOption(user.id);
    await this.page.locator(`body[data-user="${user.id}"]`).waitFor({ state: 'attached' });
  }

  async open(channel: 'infra-deployments' | 'infra-alerts' | 'infra-audit'): Promise<void> {
    await this.page.getByTestId(`channel-${channel}`).click();
    await expect(this.page.getByTestId('channel-title').innerText()).resolves.toContain(channel);
  }

  /** Types into the composer and sends, as a person would. */
  async send(text: string): Promise<void> {
    const box = this.page.getByTestId('composer');
    await box.fill(text);
    await box.press('Escape'); // close the autocomplete so Enter sends
    await box.press('Enter');
  }

  /** The messages of the open channel (not the thread pane). */
  messages(): Locator {
    return this.page.getByTestId('message-list').getByTestId('message');
  }

  ephemeral(text: string | RegExp): Locator {
    return this.page.getByTestId('ephemeral').filter({ hasText: text });
  }

  /** The live card of the (only) promotion to `environment` in #infra-deployments. */
  card(environment: 'dev' | 'prod'): Locator {
    return this.messages()
      .filter({ has: this.page.locator('.bk-header', { hasText: `Promotion to ${environment}` }) })
      .last();
  }

  /** Waits until the card's header says `word` (Succeeded, Failed, …) and returns its text. */
  async cardEnds(environment: 'dev' | 'prod', word: string): Promise<string> {
    const header = this.card(environment).locator('.bk-header');
    await until(`the ${environment} card to end`, () => header.innerText(), /✅|❌|💥|⛔/u);
    const text = await this.card(environment).innerText();
    expect(text).toContain(word);
    return text;
  }
}

// ── pass: the full story ─────────────────────────────────────────────────────────────────────────

describe('the full story in the console (scenario pass)', () => {
  const s = new Story('pass');
  let alias = '';

  beforeAll(() => s.start(), 120_000);
  afterAll(() => s.stop(), 60_000);

  it('shows the three channels and the three people of the story', async () => {
    for (const name of ['infra-deployments', 'infra-alerts', 'infra-audit']) {
      await expect(s.page.getByTestId(`channel-${name}`).isVisible()).resolves.toBe(true);
    }
    const options = await s.page.getByTestId('user-switcher').locator('option').allInnerTexts();
    expect(options.join(' ')).toMatch(/alice[\s\S]*bob[\s\S]*olivia/);
    await s.shot('console');
  });

  it('/freight lists the freight made from this repository’s commits, only to the requester', async () => {
    await s.send('/freight');
    const list = s.ephemeral('Freight in gitops-infra');
    await list.waitFor();
    await expect(list.innerText()).resolves.toContain('Only visible to you');
    await s.shot('freight');
  });

  it(
    '/promote dev: the card fills in live, succeeds, and the outputs arrive in its thread',
    async () => {
      await s.send('/promote dev');
      const created = s.ephemeral('Kargo promotion');
      await created.waitFor();
      // "created: f9d6791 (brave-wampa) → dev": the freight's short name, then its alias.
      alias = ALIAS_IN_REPLY.exec(await created.innerText())?.[1] ?? '';
      expect(alias).toMatch(/^[a-z]+-[a-z]+$/);

      const card = s.card('dev');
      await card.waitFor();
      // Live: the GitHub run is linked and gates tick while it runs.
      await until(
        'the dev card running, its first gates passed',
        () => card.innerText(),
        /Running[\s\S]*✅ OPA policies[\s\S]*⏳/u,
      );
      await s.shot('dev-running');

      const text = await s.cardEnds('dev', 'Succeeded');
      // The success is told on the card itself (no separate line): how long it took, and which freight.
      expect(text).toMatch(/Succeeded in \d/);
      expect(text).toContain(alias);
      expect(text).toContain('OPA policies');
      expect(text).toContain('AWS · Trivy');
      expect(text).toMatch(/AWS apply/);
      await expect(card.getByTestId('edited').isVisible()).resolves.toBe(true);
      await s.shot('dev-succeeded');

      await card.getByTestId('thread-link').click();
      const thread = s.page.getByTestId('thread');
      await thread.waitFor({ state: 'visible' });
      await expect(thread.innerText()).resolves.toContain('i-0123456789abcdef0');
      await s.shot('dev-outputs');
      await s.page.getByTestId('thread-close').click();
      await thread.waitFor({ state: 'hidden' });
    },
    RUN_MS + 60_000,
  );

  it('refuses prod to the outsider (prod is default deny)', async () => {
    await s.as(outsider);
    await s.send(`/promote prod ${alias}`);
    await s.ephemeral("can't promote").waitFor();
    await s.shot('outsider-refused');
  });

  it(
    'an approver freezes prod: the requester is refused, /status and the Home tab show the freeze; /unfreeze ends it',
    async () => {
      await s.as(approver);
      await s.send('/freeze prod for 1h quarter-end close');
      await s.ephemeral(/prod is frozen/).waitFor();
      await s
        .messages()
        .filter({ hasText: /prod is frozen[\s\S]*quarter-end close/ })
        .first()
        .waitFor();
      await s.shot('prod-frozen');
      await s.as(requester);
      await s.send(`/promote prod ${alias}`);
      await s.ephemeral(/Nothing was started/).waitFor();
      await s.send('/status');
      await s.ephemeral(/Infrastructure status[\s\S]*prod is frozen/).waitFor();
      await s.shot('status-prod-frozen');
      await s.page.getByTestId('app-home').click();
      const home = s.page.getByTestId('home-tab');
      await until('the Home tab', () => home.innerText(), /Infrastructure status[\s\S]*prod is frozen/);
      expect(await home.innerText()).toContain(alias);
      await s.shot('home-tab');
      await s.open('infra-deployments');
      await s.as(approver);
      await s.send('/unfreeze prod');
      await s.messages().filter({ hasText: 'prod is no longer frozen' }).first().waitFor();
      await s.as(requester);
    },
    RUN_MS,
  );

  it(
    '/promote prod: the freight verified in dev passes the prod gates, is applied, and reports outputs',
    async () => {
      await s.as(requester);
      await s.send(`/promote prod ${alias}`);
      await s.ephemeral(/Kargo promotion \S*prod/).waitFor();
      const card = s.card('prod');
      await card.waitFor();
      await until('the prod gates passed', () => card.innerText(), /✅ AWS · Trivy[\s\S]*✅ OPA on prod/);
      await s.shot('prod-gates-passed');

      // TODO(approvals): the lead enables this step with `"approval": true` in src/sandbox/scenarios/pass.json
      // (Environment prod then protected by the bot's App); until then prod goes from the gates to the apply.
      if (s.sandbox.scenario.approval) {
        const approve = card.getByTestId(`action-${APPROVE_ACTION_ID}`);
        await approve.waitFor({ timeout: RUN_MS });
        await s.shot('prod-awaiting-approval');
        // What prod will change, before anyone approves: the risk line, and the resources on demand.
        expect(await card.innerText()).toMatch(/Risk:/);
        await card.getByTestId(`action-${PLAN_DETAILS_ACTION_ID}`).first().click();
        await s.ephemeral(/Plan · prod/).waitFor();
        await s.shot('prod-plan-resources');
        await approve.click(); // the requester, on their own promotion
        await s.ephemeral(/not allowed to approve|cannot approve|your own/i).waitFor();
        await s.shot('requester-cannot-approve');
        await s.as(approver);
        await card.getByTestId(`action-${APPROVE_ACTION_ID}`).click();
        await s.ephemeral('Approved').waitFor();
        await until('the approval on the card', () => card.innerText(), '@bob');
        await s.shot('prod-approved');
        await s.as(requester);
      }

      const text = await s.cardEnds('prod', 'Succeeded');
      expect(text).toContain('AWS apply');
      await s.shot('prod-succeeded');
      await card.getByTestId('thread-link').click();
      const thread = s.page.getByTestId('thread');
      await until('the prod outputs', () => thread.innerText(), 'i-0fedcba9876543210', 30_000);
      await s.shot('prod-outputs');
      await s.page.getByTestId('thread-close').click();
      await thread.waitFor({ state: 'hidden' });
    },
    RUN_MS + 60_000,
  );

  it('/stats shows the four delivery metrics of the story', async () => {
    await s.send('/stats');
    const stats = s.ephemeral(/Delivery metrics/);
    await stats.waitFor();
    const text = await stats.innerText();
    for (const metric of ['Deployment frequency', 'Lead time', 'Change failure rate', 'Time to restore']) {
      expect(text).toContain(metric);
    }
    expect(text).toMatch(/1 prod deployment/);
    await s.shot('stats');
  });

  it('/rollback prod: prod never ran anything before this freight, so nothing is rolled back', async () => {
    await s.send('/rollback prod');
    await s
      .ephemeral(/Nothing was rolled back: prod has no earlier freight that was verified there/)
      .waitFor();
    await s.shot('rollback-nothing-earlier');
  });

  it(
    '#infra-alerts stays quiet and #infra-audit shows every command and outcome',
    async () => {
      await s.open('infra-alerts');
      expect(await s.messages().allInnerTexts()).toEqual([]);
      await s.open('infra-audit');
      // The mirror posts in the audit stream's order, paced at Slack's one message per second per channel.
      // The prod promotion's success is the story's last record: once its line is there, every command's
      // line is there too.
      await s
        .messages()
        .filter({ hasText: /promotion\.phase\b.*— succeeded: Promotion prod\./ })
        .first()
        .waitFor({ timeout: AUDIT_CATCH_UP_MS });
      // Each command with who sent it and its outcome (a line may name the command's target after the
      // environment: the freight asked for).
      for (const line of [
        /promote dev (?:\S+ )?by @alice — accepted/,
        /promote prod (?:\S+ )?by @olivia — denied/,
        /freeze prod by @bob — accepted/,
        /promote prod (?:\S+ )?by @alice — denied/,
        /unfreeze prod by @bob — accepted/,
        /promote prod (?:\S+ )?by @alice — accepted/,
      ]) {
        await s.messages().filter({ hasText: line }).first().waitFor({ timeout: 10_000 });
      }
      await s.shot('audit');
      await s.open('infra-deployments');
    },
    AUDIT_CATCH_UP_MS + 60_000,
  );

  it('ran without a single error in the page', () => {
    expect(s.pageErrors).toEqual([]);
  });
});

// ── trivy-fail: a failing prod gate reaches #infra-alerts ────────────────────────────────────────

describe('a failing prod gate (scenario trivy-fail)', () => {
  const s = new Story('trivy-fail');

  beforeAll(() => s.start(), 120_000);
  afterAll(() => s.stop(), 60_000);

  it(
    'dev succeeds, prod fails at the Trivy gate with its findings on the card, and #infra-alerts is told',
    async () => {
      await s.send('/promote dev');
      const created = s.ephemeral('Kargo promotion');
      await created.waitFor();
      const alias = ALIAS_IN_REPLY.exec(await created.innerText())?.[1] ?? '';
      expect(alias).toMatch(/^[a-z]+-[a-z]+$/);
      await s.card('dev').waitFor();
      await s.cardEnds('dev', 'Succeeded');

      await s.send(`/promote prod ${alias}`);
      await s.card('prod').waitFor();
      const text = await s.cardEnds('prod', 'Failed');
      expect(text).toMatch(/❌ AWS · Trivy/);
      expect(text).toMatch(/critical/i);
      expect(text).not.toMatch(/✅ AWS apply/);
      await s.shot('prod-failed-card');

      await s.page
        .locator('[data-testid="channel-infra-alerts"][data-unread="true"]')
        .waitFor({ timeout: 30_000 });
      await s.open('infra-alerts');
      const alert = s.messages().filter({ hasText: 'Promotion to prod failed' });
      await alert.waitFor();
      const alertText = await alert.innerText();
      expect(alertText).toContain('prod gates');
      expect(alertText).toMatch(/Trivy/);
      await expect(alert.locator('a[href*="/actions/runs/"]').count()).resolves.toBeGreaterThan(0);
      await s.shot('alert');
      expect(s.pageErrors).toEqual([]);
    },
    2 * RUN_MS + 30_000,
  );
});

// ── opa-fail: the policy job fails on Conftest findings ──────────────────────────────────────────

describe('a failing policy gate (scenario opa-fail)', () => {
  const s = new Story('opa-fail');

  beforeAll(() => s.start(), 120_000);
  afterAll(() => s.stop(), 60_000);

  it(
    'the dev card fails at the OPA policies with the Conftest findings, and #infra-alerts names the job',
    async () => {
      await s.send('/promote dev');
      await s.card('dev').waitFor();
      const text = await s.cardEnds('dev', 'Failed');
      expect(text).toMatch(/❌ OPA policies/);
      expect(text).toContain('SSH (22) from 0.0.0.0/0');
      await s.shot('dev-failed-card');
      await s.open('infra-alerts');
      const alert = s.messages().filter({ hasText: 'Promotion to dev failed' });
      await alert.waitFor({ timeout: 30_000 });
      await expect(alert.innerText()).resolves.toContain('policy (OPA + Conftest)');
      await s.shot('alert');
      expect(s.pageErrors).toEqual([]);
    },
    RUN_MS + 30_000,
  );
});

// ── drift: the scheduled drift check finds drift in dev ──────────────────────────────────────────

describe('drift found by the scheduled check (scenario drift)', () => {
  const s = new Story('drift');

  beforeAll(() => s.start(), 120_000);
  afterAll(() => s.stop(), 60_000);

  it(
    'one drift card in #infra-alerts names what drifted, and /drift dev shows the newest check',
    async () => {
      await s.open('infra-alerts');
      const card = s.messages().filter({ hasText: 'Drift in dev' });
      await card.first().waitFor({ timeout: RUN_MS });
      expect(await card.count()).toBe(1);
      expect(await card.innerText()).toContain('aws_security_group.eks_nodes');
      await s.shot('drift-card');
      await s.open('infra-deployments');
      await s.send('/drift dev');
      const answer = s.ephemeral(/aws_security_group\.eks_nodes/);
      await answer.waitFor();
      await s.shot('drift-command');
      expect(s.pageErrors).toEqual([]);
    },
    RUN_MS + 30_000,
  );
});

// ── stuck-lock: /unlock on a stale lock ──────────────────────────────────────────────────────────

describe('a stale state lock (scenario stuck-lock)', () => {
  const s = new Story('stuck-lock');

  beforeAll(() => s.start(), 120_000);
  afterAll(() => s.stop(), 60_000);

  it('/unlock dev shows the lock; Release lock asks first; confirming releases exactly that lock', async () => {
    await s.send('/unlock dev');
    const view = s.ephemeral('Terraform state lock · dev');
    await view.waitFor();
    const shown = await view.innerText();
    expect(shown).toContain('runner@fv-az1234-567');
    expect(shown).toContain('DynamoDB lock item + S3 lock file');
    await s.shot('lock-shown');

    await view.getByTestId('action-unlock_confirm').click();
    const dialog = s.page.getByTestId('confirm-dialog');
    await dialog.waitFor({ state: 'visible' });
    await expect(dialog.innerText()).resolves.toContain('Release the dev state lock?');
    await s.shot('confirm');
    await s.page.getByTestId('confirm-accept').click();

    await s.ephemeral('Released the dev state lock').waitFor();
    await s.shot('released');
    const { bucket, key } = { bucket: 'gitops-infra-pipeline-tfstate', key: 'aws/dev/terraform.tfstate' };
    expect(s.sandbox.s3.current(bucket, `${key}.tflock`)).toBeUndefined();
    expect(s.sandbox.s3.current(bucket, key)).toBeDefined(); // the state itself is untouched

    await s.send('/unlock dev');
    await s.ephemeral('No Terraform state lock is held for dev').waitFor();
    await s.open('infra-audit');
    await s.messages().filter({ hasText: 'released the dev st' }).waitFor({ timeout: 30_000 });
    await s.shot('audit');
    expect(s.pageErrors).toEqual([]);
  }, 90_000);
});
