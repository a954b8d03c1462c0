import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatAge, formatDuration, parseGoDuration } from '../../src/domain/duration.js';
import { authorName, commitSubject, commitUrl, freightLabel, humanList } from '../../src/domain/format.js';

describe('parseGoDuration', () => {
  it.each([
    ['1h30m', 5_400_000],
    ['1h0m0s', 3_600_000],
    ['1.5h', 5_400_000],
    ['90s', 90_000],
    ['300ms', 300],
    ['.5s', 500],
    ['5.s', 5_000],
    ['2m3.5s', 123_500],
    ['1µs', 0.001],
    ['1μs', 0.001],
    ['1us', 0.001],
    ['1000000ns', 1],
    ['0', 0],
    ['-1m', -60_000],
    ['+5s', 5_000],
  ])('parses %s as Go does', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 6);
  });

  it.each(['', '1', 'h', '1x', '1h 30m', '.', '.s', '-', '1.h2', '1d', ' 1h', '1H'])(
    'rejects %j as Go does',
    (text) => {
      expect(parseGoDuration(text)).toBeUndefined();
    },
  );

  it('round-trips what Go prints for metav1.Duration (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.nat({ max: 59 }), fc.nat({ max: 59 }), (h, m, s) => {
        expect(parseGoDuration(`${h}h${m}m${s}s`)).toBe(((h * 60 + m) * 60 + s) * 1000);
      }),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [-5, '0s'],
    [45_000, '45s'],
    [59_001, '1m'],
    [20 * 60_000, '20m'],
    [19.5 * 60_000, '20m'],
    [90 * 60_000, '1h 30m'],
    [120 * 60_000, '2h'],
    [(50 * 60 + 1) * 60_000, '2d 2h'],
    [48 * 3_600_000, '2d'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatAge', () => {
  const now = new Date('2026-11-27T12:00:00Z');
  it.each([
    ['2026-11-27T11:59:30Z', 'just now'],
    ['2026-11-27T12:05:00Z', 'just now'],
    ['2026-11-27T11:55:00Z', '5m ago'],
    ['2026-11-27T09:00:00Z', '3h ago'],
    ['2026-11-25T11:00:00Z', '2d ago'],
  ])('%s is %s', (iso, text) => {
    expect(formatAge(iso, now)).toBe(text);
  });

  it('gives nothing for a time that does not parse', () => {
    expect(formatAge('yesterday', now)).toBeUndefined();
  });
});

describe('format helpers', () => {
  it('builds commit links from https and ssh remotes', () => {
    const id = '3c9e97f43eb83dd63768ee41f5ba3766f5f87aa2';
    expect(commitUrl({ repoURL: 'https://github.com/acme/infra.git', id })).toBe(
      `https://github.com/acme/infra/commit/${id}`,
    );
    expect(commitUrl({ repoURL: 'https://github.com/acme/infra/', id })).toBe(
      `https://github.com/acme/infra/commit/${id}`,
    );
    expect(commitUrl({ repoURL: 'git@github.com:acme/infra.git', id })).toBe(
      `https://github.com/acme/infra/commit/${id}`,
    );
  });

  it('refuses links that would break Slack markup or are not web URLs', () => {
    const id = 'abcdef1';
    expect(commitUrl({ repoURL: 'https://github.com/acme/in|fra', id })).toBeUndefined();
    expect(commitUrl({ repoURL: 'https://github.com/<acme>', id })).toBeUndefined();
    expect(commitUrl({ repoURL: 'file:///srv/repo.git', id })).toBeUndefined();
    expect(commitUrl({ repoURL: 'https://github.com/acme/infra', id: 'not a sha' })).toBeUndefined();
  });

  it('takes the subject line and the author name', () => {
    expect(commitSubject('Fix routes\r\n\nbody')).toBe('Fix routes');
    expect(commitSubject('\n')).toBeUndefined();
    expect(authorName('Jane Doe <jane@example.com>')).toBe('Jane Doe');
    expect(authorName('jane')).toBe('jane');
  });

  it('labels freight by short name and alias, and joins lists for sentences', () => {
    expect(freightLabel({ name: 'f5f87aa23c9e', alias: 'frozen-tauntaun' })).toBe(
      'f5f87aa (frozen-tauntaun)',
    );
    expect(freightLabel({ name: 'f5f87aa23c9e' })).toBe('f5f87aa');
    expect(humanList(['dev'], 'or')).toBe('dev');
    expect(humanList(['dev', 'qa', 'staging'], 'or')).toBe('dev, qa or staging');
  });
});
