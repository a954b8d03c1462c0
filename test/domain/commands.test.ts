import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  SLASH_COMMANDS,
  formatCommand,
  helpText,
  parseCommand,
  tokenize,
  usage,
  type ParsedCommand,
  type SlashCommand,
} from '../../src/domain/commands.js';

const FREIGHT_NAME = 'f5f87aa23c9e97f43eb83dd63768ee41f5ba3766';

describe('parseCommand: good input', () => {
  it.each<[SlashCommand, string, ParsedCommand]>([
    ['/freight', '', { kind: 'freight', limit: 5, share: false }],
    ['/freight', '10', { kind: 'freight', limit: 10, share: false }],
    ['/freight', 'share', { kind: 'freight', limit: 5, share: true }],
    ['/freight', ' SHARE   20 ', { kind: 'freight', limit: 20, share: true }],
    ['/freight', '1', { kind: 'freight', limit: 1, share: false }],
    ['/promote', 'prod', { kind: 'promote', environment: 'prod', freight: { by: 'latest' } }],
    ['/promote', 'PROD latest', { kind: 'promote', environment: 'prod', freight: { by: 'latest' } }],
    [
      '/promote',
      'prod frozen-tauntaun',
      { kind: 'promote', environment: 'prod', freight: { by: 'alias', value: 'frozen-tauntaun' } },
    ],
    [
      '/promote',
      '  dev   Frozen-Tauntaun  ',
      { kind: 'promote', environment: 'dev', freight: { by: 'alias', value: 'frozen-tauntaun' } },
    ],
    [
      '/promote',
      `prod ${FREIGHT_NAME}`,
      { kind: 'promote', environment: 'prod', freight: { by: 'name', value: FREIGHT_NAME } },
    ],
    [
      '/promote',
      'frozen-tauntaun prod',
      { kind: 'promote', environment: 'prod', freight: { by: 'alias', value: 'frozen-tauntaun' } },
    ],
    [
      '/promote',
      '*prod* `frozen-tauntaun`',
      { kind: 'promote', environment: 'prod', freight: { by: 'alias', value: 'frozen-tauntaun' } },
    ],
    [
      '/promote',
      '“prod”\u00a0frozen-tauntaun',
      { kind: 'promote', environment: 'prod', freight: { by: 'alias', value: 'frozen-tauntaun' } },
    ],
    [
      '/promote',
      'prod <https://kargo.example.com/x|frozen-tauntaun>',
      { kind: 'promote', environment: 'prod', freight: { by: 'alias', value: 'frozen-tauntaun' } },
    ],
    ['/approve', '', { kind: 'approve' }],
    ['/approve', 'link', { kind: 'approve-link' }],
    ['/approve', 'LINK', { kind: 'approve-link' }],
    [
      '/approve',
      'prod.01k3x9q8z5w7v2m4n6p8r0s2t4.f5f87aa',
      { kind: 'approve', target: 'prod.01k3x9q8z5w7v2m4n6p8r0s2t4.f5f87aa' },
    ],
    ['/approve', 'frozen-tauntaun', { kind: 'approve', target: 'frozen-tauntaun' }],
    ['/unlock', 'dev', { kind: 'unlock', environment: 'dev' }],
    ['/unlock', ' Prod\n', { kind: 'unlock', environment: 'prod' }],
    ['/promote', 'help', { kind: 'help', command: '/promote' }],
    ['/freight', '--help', { kind: 'help', command: '/freight' }],
    ['/unlock', 'HELP', { kind: 'help', command: '/unlock' }],
    ['/approve', '?', { kind: 'help', command: '/approve' }],
  ])('%s %j', (command, text, expected) => {
    expect(parseCommand(command, text)).toEqual({ ok: true, command: expected });
  });
});

describe('parseCommand: bad input', () => {
  it.each<[SlashCommand, string, RegExp]>([
    ['/freight', '0', /1 to 20 freight/],
    ['/freight', '21', /1 to 20 freight/],
    ['/freight', '99999999999999999999999', /1 to 20 freight/],
    ['/freight', '5 10', /at most one number/],
    ['/freight', 'all', /I don't understand `all`/],
    ['/freight', '-3', /I don't understand `-3`/],
    ['/promote', '', /Which environment\?/],
    ['/promote', 'staging', /`staging` is not an environment: use dev or prod/],
    ['/promote', 'prod frozen_tauntaun', /`frozen_tauntaun` is not a freight alias/],
    ['/promote', 'prod a b', /Too many words: `b`/],
    ['/promote', '<@U123> prod', /`@U123` is not a freight alias/],
    ['/promote', 'prod -frozen', /not a freight alias/],
    ['/approve', 'one two', /Too many words/],
    ['/approve', 'Not_A_Name', /not a promotion name or freight alias/],
    ['/unlock', '', /Which environment\?/],
    ['/unlock', 'dev prod', /Too many words/],
    ['/unlock', 'qa', /`qa` is not an environment/],
  ])('%s %j', (command, text, problem) => {
    const result = parseCommand(command, text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toMatch(problem);
    expect(result.message).toContain(usage(command));
  });

  it('answers an unknown command with every usage', () => {
    const result = parseCommand('/deploy' as SlashCommand, 'prod');
    expect(result).toEqual({ ok: false, message: expect.stringContaining('Usage: /promote') });
  });

  it('keeps messages short and gives an example', () => {
    for (const command of SLASH_COMMANDS) {
      expect(usage(command)).toMatch(/^Usage: .+\nExample: .+$/);
      expect(usage(command).length).toBeLessThan(120);
      expect(helpText(command)).toContain(usage(command));
    }
    expect(usage('/promote')).toBe(
      'Usage: /promote dev|prod [freight alias | name | latest] [override <reason>]\nExample: /promote prod frozen-tauntaun',
    );
  });

  it('never echoes markup back', () => {
    const result = parseCommand('/promote', '`<!channel>`&amp;');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).not.toMatch(/<!channel>|&/);
  });
});

describe('tokenize', () => {
  it('undoes Slack escaping and formatting', () => {
    expect(tokenize('  *prod*\t_`x`_  <#C123|deploys> &lt;y&gt; ')).toEqual(['prod', 'x', 'deploys', '<y>']);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

const slash = fc.constantFrom(...SLASH_COMMANDS);
const dnsLabel = fc
  .stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/)
  .filter((label) => !['latest', 'link', 'help'].includes(label) && !/^[0-9a-f]{40}$/.test(label));
const environment = fc.constantFrom('dev' as const, 'prod' as const);

const anyCommand: fc.Arbitrary<ParsedCommand> = fc.oneof(
  slash.map((command) => ({ kind: 'help' as const, command })),
  fc.record({
    kind: fc.constant('freight' as const),
    limit: fc.integer({ min: 1, max: 20 }),
    share: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('promote' as const),
    environment,
    freight: fc.oneof(
      fc.constant({ by: 'latest' as const }),
      dnsLabel.map((value) => ({ by: 'alias' as const, value })),
      fc.stringMatching(/^[0-9a-f]{40}$/).map((value) => ({ by: 'name' as const, value })),
    ),
  }),
  fc.oneof(
    fc.constant({ kind: 'approve' as const }),
    fc
      .array(dnsLabel, { minLength: 1, maxLength: 3 })
      .map((labels) => ({ kind: 'approve' as const, target: labels.join('.') })),
  ),
  fc.constant({ kind: 'approve-link' as const }),
  fc.record({ kind: fc.constant('unlock' as const), environment }),
);

/** Input Slack could plausibly send: words from our vocabulary mixed with junk, formatting and odd spaces. */
const plausibleText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'prod',
        'DEV',
        'latest',
        'share',
        'help',
        'link',
        '10',
        '0',
        '*prod*',
        '`x`',
        '<@U1>',
        '&amp;',
        'frozen-tauntaun',
      ),
      fc.string({ maxLength: 12 }),
    ),
    { maxLength: 4 },
  )
  .chain((words) => fc.constantFrom(' ', '  ', '\u00a0', '\t').map((space) => words.join(space)));

describe('parseCommand properties', () => {
  it('never throws, on any string', () => {
    fc.assert(
      fc.property(slash, fc.oneof(fc.string({ unit: 'binary' }), plausibleText), (command, text) => {
        expect(() => parseCommand(command, text)).not.toThrow();
      }),
      { numRuns: 500 },
    );
  });

  it('parses help (any case, any spacing) to help', () => {
    fc.assert(
      fc.property(slash, fc.constantFrom('help', 'HELP', 'Help', ' help ', '\thelp\n'), (command, text) => {
        expect(parseCommand(command, text)).toEqual({ ok: true, command: { kind: 'help', command } });
      }),
    );
  });

  it('round-trips: a command formatted to text parses back to itself', () => {
    fc.assert(
      fc.property(anyCommand, (parsed) => {
        const { command, text } = formatCommand(parsed);
        expect(parseCommand(command, text)).toEqual({ ok: true, command: parsed });
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips whatever it accepted from arbitrary text', () => {
    fc.assert(
      fc.property(slash, plausibleText, (command, text) => {
        const result = parseCommand(command, text);
        if (!result.ok) return;
        const again = formatCommand(result.command);
        expect(parseCommand(again.command, again.text)).toEqual(result);
      }),
      { numRuns: 500 },
    );
  });

  it('answers every rejected input with a message containing the usage', () => {
    fc.assert(
      fc.property(slash, fc.oneof(fc.string({ unit: 'binary' }), plausibleText), (command, text) => {
        const result = parseCommand(command, text);
        if (!result.ok) {
          expect(result.message).toContain('Usage');
          expect(result.message.length).toBeLessThan(400);
        }
      }),
      { numRuns: 500 },
    );
  });
});
