import { describe, expect, it } from 'vitest';
import { purposeLabel, shortUrl, statusClass, tryJson } from './wire';

describe('wire log formatting', () => {
  it('labels purposes with their grant', () => {
    expect(purposeLabel('token', 'authorization_code')).toBe('token · authorization code');
    expect(purposeLabel('query_page', null)).toBe('query page');
  });
  it('shortens URLs to host, path and a cut query', () => {
    expect(shortUrl('https://login.example.com/services/oauth2/token')).toBe('login.example.com/services/oauth2/token');
    expect(shortUrl('https://h/p?q=' + 'x'.repeat(60))).toBe('h/p?q=' + 'x'.repeat(36) + '…');
    expect(shortUrl('not a url')).toBe('not a url');
  });
  it('colours by status', () => {
    expect(statusClass({ status: 200, error: null })).toBe('ok');
    expect(statusClass({ status: 401, error: null })).toBe('bad');
    expect(statusClass({ status: null, error: 'could not connect' })).toBe('bad');
    expect(statusClass({ status: null, error: null })).toBe('none');
  });
  it('parses JSON bodies only', () => {
    expect(tryJson('{"access_token":"[masked:access_token]"}')).toEqual({ access_token: '[masked:access_token]' });
    expect(tryJson('Bad_OAuth_Token')).toBeUndefined();
    expect(tryJson('{"truncated": ')).toBeUndefined();
  });
});
