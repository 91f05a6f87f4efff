// First-run presets: a complete profile draft for each kind of provider a user starts from.
import type { Profile } from './bindings/Profile';

export type PresetId =
  | 'salesforce-production'
  | 'salesforce-sandbox'
  | 'salesforce-mydomain'
  | 'wechat-official-account'
  | 'wechat-website'
  | 'google'
  | 'github'
  | 'oidc'
  | 'sandbox';

export interface Preset {
  id: PresetId;
  /** i18n key of the title and description. */
  title: string;
  description: string;
  draft: () => Profile;
}

const base = (name: string, provider: Profile['provider'], extra: Partial<Profile> = {}): Profile => ({
  id: '',
  name,
  client_id: '',
  redirect_uri: 'http://localhost:1717/OauthRedirect',
  provider,
  ...extra,
});

const salesforce = (login: string) =>
  ({
    kind: 'salesforce',
    login,
    api_version: '62.0',
    scopes: ['api', 'refresh_token'],
    pkce: true,
    session_seconds: 7200,
    authorize_params: { prompt: 'login' },
  }) as Profile['provider'];

const generic = (over: Record<string, unknown>) =>
  ({ kind: 'oauth2', client_auth: 'basic', scopes: [], pkce: true, ...over }) as Profile['provider'];

/** WeChat's in-app browser user agent, for pages that check it. */
export const WECHAT_USER_AGENT =
  'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47';

export const PRESETS: Preset[] = [
  { id: 'sandbox', title: 'preset.sandbox', description: 'preset.sandbox.desc', draft: () => base('sandbox-salesforce', salesforce('production')) },
  { id: 'salesforce-production', title: 'preset.sf.prod', description: 'preset.sf.prod.desc', draft: () => base('salesforce-prod', salesforce('production')) },
  { id: 'salesforce-sandbox', title: 'preset.sf.sandbox', description: 'preset.sf.sandbox.desc', draft: () => base('salesforce-sandbox', salesforce('sandbox')) },
  {
    id: 'salesforce-mydomain',
    title: 'preset.sf.mydomain',
    description: 'preset.sf.mydomain.desc',
    draft: () => base('salesforce-mydomain', salesforce('https://MYDOMAIN.my.salesforce.com')),
  },
  {
    id: 'wechat-official-account',
    title: 'preset.wx.oa',
    description: 'preset.wx.oa.desc',
    draft: () =>
      base(
        'wechat-oa',
        { kind: 'wechat_official_account', scope: 'snsapi_userinfo', lang: 'zh_CN', open_base: 'https://open.weixin.qq.com', api_base: 'https://api.weixin.qq.com' } as Profile['provider'],
        { redirect_uri: 'https://example.com/wechat/callback', user_agent: WECHAT_USER_AGENT },
      ),
  },
  {
    id: 'wechat-website',
    title: 'preset.wx.web',
    description: 'preset.wx.web.desc',
    draft: () =>
      base(
        'wechat-web',
        { kind: 'wechat_website', lang: 'zh_CN', open_base: 'https://open.weixin.qq.com', api_base: 'https://api.weixin.qq.com' } as Profile['provider'],
        { redirect_uri: 'https://example.com/wechat/callback' },
      ),
  },
  {
    id: 'google',
    title: 'preset.google',
    description: 'preset.google.desc',
    draft: () =>
      base('google', generic({ issuer: 'https://accounts.google.com', scopes: ['openid', 'email', 'profile'], authorize_params: { access_type: 'offline', prompt: 'consent' } }), {
        redirect_uri: 'http://127.0.0.1/callback',
      }),
  },
  {
    id: 'github',
    title: 'preset.github',
    description: 'preset.github.desc',
    draft: () =>
      base(
        'github',
        generic({
          authorize_url: 'https://github.com/login/oauth/authorize',
          token_url: 'https://github.com/login/oauth/access_token',
          userinfo_url: 'https://api.github.com/user',
          api_base: 'https://api.github.com',
          client_auth: 'body',
          scopes: ['read:user'],
        }),
        { redirect_uri: 'http://127.0.0.1/callback' },
      ),
  },
  {
    id: 'oidc',
    title: 'preset.oidc',
    description: 'preset.oidc.desc',
    draft: () => base('my-provider', generic({ issuer: 'https://idp.example.com', scopes: ['openid', 'profile', 'email', 'offline_access'] }), { redirect_uri: 'https://app.example.com/callback' }),
  },
];

export function presetDraft(id: PresetId): Profile {
  const p = PRESETS.find((x) => x.id === id);
  if (!p) throw new Error(`unknown preset ${id}`);
  return p.draft();
}

/** A name not yet taken: `github`, `github-2`, ... */
export function uniqueName(wanted: string, taken: string[]): string {
  if (!taken.includes(wanted)) return wanted;
  for (let i = 2; ; i++) {
    const candidate = `${wanted}-${i}`;
    if (!taken.includes(candidate)) return candidate;
  }
}
