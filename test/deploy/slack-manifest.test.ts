// slack-app-manifest.yaml: valid against the app manifest schema (the fields used here, with the constraints
// of slackapi/manifest-schema's manifest.schema.2.0.0.json), the same slash commands the bot registers
// (src/domain/commands.ts), usage hints that are the bot's own usage lines, request URLs on the route Bolt's
// receiver serves (/slack/events), and bot scopes that cover every Slack Web API method src/ calls — found by
// scanning the source, so a new call without its scope fails here — and nothing more.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { SLASH_COMMANDS, usage } from '../../src/domain/commands.js';
import { SLACK_EVENTS_PATH } from '../../src/web/edge.js';
import { readRepoFile, repoRoot, yamlDocument } from './helpers.js';

// ---- schema (the parts this manifest uses; unknown keys are errors, as in Slack's schema) -----------------

const httpsUrl = z
  .string()
  .regex(/^https:\/\//, 'an https:// URL')
  .max(3000);
const manifestSchema = z
  .object({
    _metadata: z.object({ major_version: z.literal(2), minor_version: z.number().int().optional() }).strict(),
    display_information: z
      .object({
        name: z.string().min(1).max(35),
        description: z.string().min(1).max(140).optional(),
        long_description: z.string().min(175).max(4000).optional(),
        background_color: z
          .string()
          .regex(/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/)
          .optional(),
      })
      .strict(),
    features: z
      .object({
        app_home: z
          .object({
            home_tab_enabled: z.boolean().optional(),
            messages_tab_enabled: z.boolean().optional(),
            messages_tab_read_only_enabled: z.boolean().optional(),
          })
          .strict()
          .optional(),
        bot_user: z
          .object({
            display_name: z.string().regex(/^[a-z0-9._-]{1,80}$/),
            always_online: z.boolean().optional(),
          })
          .strict(),
        slash_commands: z
          .array(
            z
              .object({
                command: z.string().regex(/^\/[a-z0-9_-]{1,31}$/),
                url: httpsUrl.optional(),
                description: z.string().min(1).max(2000),
                usage_hint: z.string().min(1).max(1000).optional(),
                should_escape: z.boolean().optional(),
              })
              .strict(),
          )
          .min(1)
          .max(50),
      })
      .strict(),
    oauth_config: z
      .object({
        scopes: z.object({ bot: z.array(z.string().max(50)).min(1).max(255) }).strict(),
        redirect_urls: z.array(z.string()).optional(),
      })
      .strict(),
    settings: z
      .object({
        event_subscriptions: z
          .object({ request_url: httpsUrl.optional(), bot_events: z.array(z.string()).optional() })
          .strict()
          .optional(),
        interactivity: z
          .object({
            is_enabled: z.boolean(),
            request_url: httpsUrl.optional(),
            message_menu_options_url: httpsUrl.optional(),
          })
          .strict(),
        org_deploy_enabled: z.boolean(),
        socket_mode_enabled: z.boolean(),
        token_rotation_enabled: z.boolean(),
      })
      .strict(),
  })
  .strict();
type Manifest = z.infer<typeof manifestSchema>;

const manifestText = readRepoFile('slack-app-manifest.yaml');
const raw = yamlDocument<unknown>('slack-app-manifest.yaml');
const parsed = manifestSchema.safeParse(raw);
const manifest = raw as Manifest;

// ---- Web API methods and the bot-token scopes each needs (docs.slack.dev/reference/methods/<method>) ------

const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.getPermalink': [],
  // History of the channels the bot posts to: public (channels:*) and private (groups:*) ones.
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
  'conversations.info': ['channels:read', 'groups:read'],
  'usergroups.list': ['usergroups:read'],
  'usergroups.users.list': ['usergroups:read'],
  'users.info': ['users:read'],
  'users.lookupByEmail': ['users:read.email'],
  'auth.test': [],
  'views.open': [],
  'views.update': [],
  'views.publish': [],
};
/** The methods the bot uses by design (the notifier, access rules by user group, approvals). */
const DESIGNED_METHODS = [
  'chat.postMessage',
  'chat.update',
  'chat.postEphemeral',
  'conversations.history',
  'conversations.replies',
  'usergroups.users.list',
  'users.info',
];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'sandbox' ? [] : sourceFiles(full); // the sandbox's Slack stand-in
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/**
 * Slack Web API methods called anywhere in src/: `client.chat.update(`, `apiCall('users.info')`, Bolt's
 * `say(`.
 */
function calledMethods(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const add = (method: string, file: string) => found.set(method, [...(found.get(method) ?? []), file]);
  const families =
    'chat|conversations|usergroups|users|reactions|views|auth|team|pins|files|bookmarks|dnd|emoji|reminders|search|apps';
  const call = new RegExp(
    `\\b\\w*(?:web|client|slack|Web|Client|Slack)\\??\\.((?:${families})(?:\\.[a-zA-Z]+)+)\\(`,
    'g',
  );
  for (const file of sourceFiles(path.join(repoRoot, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    const rel = path.relative(repoRoot, file);
    for (const m of text.matchAll(call)) add(m[1]!, rel);
    for (const m of text.matchAll(/\bapiCall\(\s*['"]([a-z]+(?:\.[a-zA-Z]+)+)['"]/g)) add(m[1]!, rel);
    if (/\bsay\(/.test(text)) add('chat.postMessage', rel);
  }
  return found;
}

/** Every granular bot scope @slack/web-api knows (its manifest types' BotScope union). */
function knownBotScopes(): Set<string> {
  const types = fs.readFileSync(
    path.join(repoRoot, 'node_modules', '@slack', 'web-api', 'dist', 'types', 'request', 'manifest.d.ts'),
    'utf8',
  );
  const union = /type BotScope\s*=\s*([^;]+);/.exec(types);
  if (!union) throw new Error('BotScope not found in @slack/web-api manifest types');
  return new Set([...union[1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!));
}

// ---- tests ------------------------------------------------------------------------------------------------

describe('slack-app-manifest.yaml: schema', () => {
  it('is a valid app manifest (v2) in the fields it uses', () => {
    expect(parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(
      [],
    );
  });
});

describe('slack-app-manifest.yaml: slash commands', () => {
  const commands = manifest.features.slash_commands;

  it('declares exactly the commands the bot registers (src/domain/commands.ts SLASH_COMMANDS)', () => {
    expect(commands.map((c) => c.command).sort()).toEqual([...SLASH_COMMANDS].sort());
  });

  it.each([...SLASH_COMMANDS])("%s: the usage hint is the bot's own usage line", (command) => {
    const declared = commands.find((c) => c.command === command)!;
    const line = usage(command).split('\n')[0]!;
    expect(line.startsWith(`Usage: ${command} `)).toBe(true);
    expect(declared.usage_hint).toBe(line.slice(`Usage: ${command} `.length));
  });

  it('passes the text unescaped (should_escape: false): the bot parses aliases and names itself', () => {
    for (const c of commands) expect(c.should_escape).toBe(false);
  });
});

describe('slack-app-manifest.yaml: request URLs', () => {
  const urls = [
    ...manifest.features.slash_commands.map((c) => c.url),
    manifest.settings.interactivity.request_url,
    ...(manifest.settings.event_subscriptions?.request_url
      ? [manifest.settings.event_subscriptions.request_url]
      : []),
  ];

  it("point at the bot's Slack route (/slack/events, the path the web's edge serves) on one https host", () => {
    const receiverPath = SLACK_EVENTS_PATH;
    expect(receiverPath).toBe('/slack/events');
    for (const url of urls) {
      expect(url).toBeDefined();
      const u = new URL(url!);
      expect(u.protocol).toBe('https:');
      expect(u.pathname).toBe(receiverPath);
    }
    expect(new Set(urls.map((u) => new URL(u!).host)).size).toBe(1);
  });

  it('enables interactivity (card buttons), HTTP mode, no org-wide deploy, no token rotation', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.settings.org_deploy_enabled).toBe(false);
    // The bot uses a long-lived xoxb- token (SLACK_BOT_TOKEN): rotation would need a refresh flow it lacks.
    expect(manifest.settings.token_rotation_enabled).toBe(false);
  });

  it('says how to switch to Socket Mode (app-level token with connections:write, SLACK_MODE=socket)', () => {
    expect(manifestText).toMatch(/socket_mode_enabled: true/);
    expect(manifestText).toMatch(/connections:write/);
    expect(manifestText).toMatch(/SLACK_MODE=socket/);
  });
});

describe('slack-app-manifest.yaml: bot scopes', () => {
  const scopes = manifest.oauth_config.scopes.bot;
  const called = calledMethods();
  const needed = [...new Set([...DESIGNED_METHODS, ...called.keys()])];

  it('knows the scopes of every Slack Web API method src/ calls (add new ones to METHOD_SCOPES)', () => {
    expect(called.size).toBeGreaterThan(0);
    const unknown = [...called]
      .filter(([method]) => !(method in METHOD_SCOPES))
      .map(([m, files]) => `${m} (${files.join(', ')})`);
    expect(unknown).toEqual([]);
  });

  it.each(needed)('covers %s', (method) => {
    expect(scopes).toEqual(expect.arrayContaining(METHOD_SCOPES[method]!));
  });

  it('includes commands (slash commands) and asks for nothing the bot does not use', () => {
    expect(scopes).toContain('commands');
    const justified = new Set(['commands', ...needed.flatMap((m) => METHOD_SCOPES[m]!)]);
    expect(scopes.filter((s) => !justified.has(s))).toEqual([]);
    expect(new Set(scopes).size).toBe(scopes.length);
  });

  it('does not ask for chat:write.public: the history search needs channel membership anyway', () => {
    expect(scopes).not.toContain('chat:write.public');
  });

  it('uses only real granular bot scopes (as listed by @slack/web-api)', () => {
    const known = knownBotScopes();
    expect(known.size).toBeGreaterThan(50);
    expect(scopes.filter((s) => !known.has(s))).toEqual([]);
  });
});
