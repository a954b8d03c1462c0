import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  BLOCK_KIT_LIMITS,
  checkBlockKitLimits,
  checkMessageLimits,
  escapeMrkdwn,
  fitMrkdwn,
  headerBlock,
  sectionBlock,
  truncate,
} from '../../src/domain/blockkit.js';

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const button = (overrides: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id: 'approve',
  text: { type: 'plain_text', text: 'Approve' },
  value: 'card-1',
  ...overrides,
});

describe('checkBlockKitLimits', () => {
  it('accepts a message within every limit', () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(150) } },
      section('s'.repeat(3000)),
      {
        type: 'section',
        fields: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: 'f'.repeat(2000) })),
      },
      { type: 'context', elements: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: 'c' })) },
      { type: 'actions', block_id: 'b'.repeat(255), elements: [button()] },
      { type: 'divider' },
    ];
    expect(checkBlockKitLimits(blocks)).toEqual([]);
  });

  it.each([
    ['51 blocks', Array.from({ length: 51 }, () => ({ type: 'divider' })), 'blocks'],
    [
      'a long header',
      [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
      'blocks[0].text',
    ],
    ['a mrkdwn header', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }], 'blocks[0].text'],
    ['a long section', [section('s'.repeat(3001))], 'blocks[0].text'],
    ['an empty section text', [section('')], 'blocks[0].text'],
    ['a section with nothing', [{ type: 'section' }], 'blocks[0]'],
    [
      '11 fields',
      [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }],
      'blocks[0].fields',
    ],
    [
      'a long field',
      [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }],
      'blocks[0].fields[0]',
    ],
    [
      '11 context elements',
      [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }],
      'blocks[0].elements',
    ],
    [
      'a long button text',
      [{ type: 'actions', elements: [button({ text: { type: 'plain_text', text: 'b'.repeat(76) } })] }],
      'blocks[0].elements[0].text',
    ],
    [
      'a long button value',
      [{ type: 'actions', elements: [button({ value: 'v'.repeat(2001) })] }],
      'blocks[0].elements[0].value',
    ],
    ['a long block_id', [{ type: 'divider', block_id: 'b'.repeat(256) }], 'blocks[0].block_id'],
    [
      'a duplicate block_id',
      [
        { type: 'divider', block_id: 'x' },
        { type: 'divider', block_id: 'x' },
      ],
      'blocks[1].block_id',
    ],
    ['a block that is not an object', ['divider'], 'blocks[0]'],
  ])('reports %s', (_what, blocks, path) => {
    const violations = checkBlockKitLimits(blocks);
    expect(violations.map((violation) => violation.path)).toContain(path);
  });

  it('reports the top-level text over 4,000 characters, and not at 4,000', () => {
    expect(checkMessageLimits({ text: 't'.repeat(4000), blocks: [] })).toEqual([]);
    expect(checkMessageLimits({ text: 't'.repeat(4001), blocks: [] })).toEqual([
      { path: 'text', message: 'text is 4001 characters (limit 4000)' },
    ]);
  });

  it('says what is wrong in words a developer can act on', () => {
    expect(checkBlockKitLimits([section('s'.repeat(3100))])).toEqual([
      { path: 'blocks[0].text', message: 'section text is 3100 characters (limit 3000)' },
    ]);
  });
});

describe('text helpers', () => {
  it('escapes the three mrkdwn control characters', () => {
    expect(escapeMrkdwn('a & <b> <!channel>')).toBe('a &amp; &lt;b&gt; &lt;!channel&gt;');
  });

  it('leaves text within the limit alone', () => {
    expect(truncate('short', 5)).toBe('short');
  });

  it('cuts long text with an ellipsis and how much was left out', () => {
    const cut = truncate('x'.repeat(5000), 100);
    expect(cut.length).toBeLessThanOrEqual(100);
    expect(cut).toMatch(/^x+… \(4,9\d\d more characters\)$/);
  });

  it('never leaves half an entity or half a link behind', () => {
    for (let max = 60; max < 100; max += 1) {
      const entity = fitMrkdwn(`${'x'.repeat(60)}&amp;${'y'.repeat(100)}`, max);
      expect(entity).not.toMatch(/&(?!amp;|lt;|gt;)/);
      const link = fitMrkdwn(`${'x'.repeat(30)}<https://example.com/${'p'.repeat(100)}|label> tail`, max);
      expect(link).not.toContain('<');
    }
  });

  it('keeps emoji whole', () => {
    const cut = truncate('😀'.repeat(100), 51);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('fits any text in any limit (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 600 }),
        fc.integer({ min: 1, max: 400 }),
        (text, max) => {
          expect(truncate(text, max).length).toBeLessThanOrEqual(max);
          expect(fitMrkdwn(escapeMrkdwn(text), max).length).toBeLessThanOrEqual(max);
        },
      ),
    );
  });

  it('builders never produce violations, even from empty or huge text', () => {
    for (const text of ['', '   ', 'x'.repeat(10_000), '&'.repeat(5000)]) {
      expect(checkBlockKitLimits([headerBlock(text), sectionBlock(escapeMrkdwn(text))])).toEqual([]);
    }
    expect(BLOCK_KIT_LIMITS.blocksPerMessage).toBe(50);
  });
});
