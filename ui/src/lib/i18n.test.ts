import { describe, expect, it } from 'vitest';
import { KEYS, missingKeys, translate } from './i18n';

describe('i18n', () => {
  it('has every English key in Simplified Chinese', () => {
    expect(missingKeys('zh-CN')).toEqual([]);
    expect(KEYS.length).toBeGreaterThan(100);
  });
  it('fills placeholders', () => {
    expect(translate('en', 'query.rows', { rows: 10, total: 20 })).toBe('10 of 20 rows');
    expect(translate('zh-CN', 'query.rows', { rows: 10, total: 20 })).toBe('10 / 20 行');
    expect(translate('en', 'query.rows', { rows: 1 })).toBe('1 of {total} rows');
  });
});
