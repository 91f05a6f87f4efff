import { describe, expect, it } from 'vitest';
import { PRESETS, presetDraft, uniqueName } from './presets';
import { paramsFromText, paramsToText, scopesFromText } from './profile';
import { parseHeaders } from './request';

describe('presets', () => {
  it('cover every provider a user starts from', () => {
    expect(PRESETS.map((p) => p.id)).toEqual(['sandbox', 'salesforce-production', 'salesforce-sandbox', 'salesforce-mydomain', 'wechat-official-account', 'wechat-website', 'google', 'github', 'oidc']);
  });
  it('make drafts of the right kind', () => {
    expect(presetDraft('salesforce-sandbox').provider).toMatchObject({ kind: 'salesforce', login: 'sandbox', pkce: true });
    expect(presetDraft('wechat-official-account').provider).toMatchObject({ kind: 'wechat_official_account', scope: 'snsapi_userinfo' });
    expect(presetDraft('wechat-official-account').user_agent).toContain('MicroMessenger');
    expect(presetDraft('github').provider).toMatchObject({ kind: 'oauth2', client_auth: 'body', token_url: 'https://github.com/login/oauth/access_token' });
    expect(presetDraft('google').provider).toMatchObject({ issuer: 'https://accounts.google.com' });
  });
  it('give fresh drafts each time', () => {
    const a = presetDraft('oidc');
    a.name = 'changed';
    expect(presetDraft('oidc').name).toBe('my-provider');
  });
  it('pick a free name', () => {
    expect(uniqueName('github', [])).toBe('github');
    expect(uniqueName('github', ['github', 'github-2'])).toBe('github-3');
  });
});

describe('profile form fields', () => {
  it('split scopes on spaces and commas', () => {
    expect(scopesFromText(' api, refresh_token  openid ')).toEqual(['api', 'refresh_token', 'openid']);
  });
  it('read name=value lines and write them back', () => {
    const p = paramsFromText('prompt=login\n\nlogin_hint = ada@example.com\nbroken\n=x');
    expect(p).toEqual({ prompt: 'login', login_hint: 'ada@example.com' });
    expect(paramsToText(p)).toBe('prompt=login\nlogin_hint=ada@example.com');
  });
  it('parse request headers', () => {
    expect(parseHeaders('Accept: application/json\nX-Empty:\nno colon\n: nameless')).toEqual([['Accept', 'application/json'], ['X-Empty', '']]);
  });
});
