import { beforeAll, describe, expect, it } from 'vitest';
import { KEYS, hintFor, loadLang, missingKeys, translate } from './i18n';

describe('i18n', () => {
  beforeAll(() => loadLang('zh-CN'));
  it('has every English key in Simplified Chinese', () => {
    expect(missingKeys('zh-CN')).toEqual([]);
    expect(KEYS.length).toBeGreaterThan(100);
  });
  it('fills placeholders', () => {
    expect(translate('en', 'query.rows', { rows: 10, total: 20 })).toBe('10 of 20 rows');
    expect(translate('zh-CN', 'query.rows', { rows: 10, total: 20 })).toBe('10 / 20 行');
    expect(translate('en', 'query.rows', { rows: 1 })).toBe('1 of {total} rows');
  });
  it('words hints by the error code in Chinese and keeps the core hint in English', () => {
    const e = { code: 'provider_error', hint: 'a field in the query does not exist', provider: { code: 'INVALID_FIELD' } };
    expect(hintFor('en', e)).toBe('a field in the query does not exist');
    expect(hintFor('zh-CN', e)).toMatch(/字段/);
    expect(hintFor('zh-CN', { code: 'provider_error', hint: 'see WeChat codes', provider: { code: '40029' } })).toMatch(/只能使用一次/);
    // A provider code with no Chinese entry keeps the core's (more specific) words.
    expect(hintFor('zh-CN', { code: 'provider_error', hint: 'read the message', provider: { code: 'SOMETHING_NEW' } })).toBe('read the message');
    expect(hintFor('zh-CN', { code: 'connection_failed', hint: 'check the host' })).toMatch(/代理/);
    expect(hintFor('zh-CN', { code: 'invalid_input' })).toBeNull();
  });
});
