// The one door to the backend: every command as a typed function, plus the sign-in event and
// the query channel. Nothing else in ui/ imports @tauri-apps/*.
import { invoke, Channel } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { DeviceStarted } from './bindings/DeviceStarted';
import type { AppInfo } from './bindings/AppInfo';
import type { ApiRequest } from './bindings/ApiRequest';
import type { ApiResponse } from './bindings/ApiResponse';
import type { ApiVersion } from './bindings/ApiVersion';
import type { Error as DeskError } from './bindings/Error';
import type { JsonValue } from './bindings/serde_json/JsonValue';
import type { Profile } from './bindings/Profile';
import type { ProfileEntry } from './bindings/ProfileEntry';
import type { ProfileInput } from './bindings/ProfileInput';
import type { QueryDone } from './bindings/QueryDone';
import type { QueryEvent } from './bindings/QueryEvent';
import type { QueryApi } from './bindings/QueryApi';
import type { QueryOptions } from './bindings/QueryOptions';
import type { SandboxInfo } from './bindings/SandboxInfo';
import type { SignInOutcome } from './bindings/SignInOutcome';
import type { SignInStarted } from './bindings/SignInStarted';
import type { TokenDetails } from './bindings/TokenDetails';
import type { WhichToken } from './bindings/WhichToken';
import type { CopyFormat } from './bindings/CopyFormat';
import type { DeskEvent } from './bindings/DeskEvent';
import type { ExchangeDetail } from './bindings/ExchangeDetail';
import type { ExchangeSummary } from './bindings/ExchangeSummary';
import type { DuplicateOutcome } from './bindings/DuplicateOutcome';

export type { DeskError };

/** True when a thrown value is the backend's error shape. */
export function isDeskError(e: unknown): e is DeskError {
  return typeof e === 'object' && e !== null && 'code' in e && 'message' in e;
}

/** Any thrown value as the backend's error shape, so views render one kind of error. */
export function asDeskError(e: unknown): DeskError {
  if (isDeskError(e)) return e;
  return { code: 'invalid_input', message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asDeskError(e);
  }
}

export const appInfo = () => call<AppInfo>('app_info');
export const profileList = () => call<ProfileEntry[]>('profile_list');
export const profileSave = (input: ProfileInput) => call<ProfileEntry>('profile_save', { input });
export const profileDelete = (name: string) => call<void>('profile_delete', { name });
export const profileDuplicate = (name: string, newName: string) => call<DuplicateOutcome>('profile_duplicate', { name, newName });
export const profileValidate = (profile: Profile) => call<DeskError | null>('profile_validate', { profile });

export const signinStart = (name: string, openWindow = true) => call<SignInStarted>('signin_start', { name, openWindow });
export const signinCancel = (attemptId: string) => call<void>('signin_cancel', { attemptId });
export const signinPaste = (name: string, input: string, attemptId?: string) =>
  call<TokenDetails>('signin_paste', { name, input, attemptId: attemptId ?? null });
export const signinBrowser = (name: string) => call<TokenDetails>('signin_browser', { name });
export const signinForgetBrowserData = (name: string) => call<void>('signin_forget_browser_data', { name });
export function onSignInFinished(handler: (o: SignInOutcome) => void): Promise<UnlistenFn> {
  return listen<SignInOutcome>('signin://finished', (e) => handler(e.payload));
}

export const grantPassword = (name: string, username?: string, password?: string, securityToken?: string) =>
  call<TokenDetails>('grant_password', { name, username: username ?? null, password: password ?? null, securityToken: securityToken ?? null });
export const grantClientCredentials = (name: string) => call<TokenDetails>('grant_client_credentials', { name });
export const tokenGet = (name: string) => call<TokenDetails | null>('token_get', { name });
export const tokenRefresh = (name: string) => call<TokenDetails>('token_refresh', { name });
export const tokenRevoke = (name: string, which: WhichToken) => call<void>('token_revoke', { name, which });
export const tokenIntrospect = (name: string, which: WhichToken) => call<JsonValue>('token_introspect', { name, which });
export const tokenForget = (name: string) => call<void>('token_forget', { name });

/** Runs SOQL; `onPage` sees each page as it arrives. */
export function salesforceQuery(
  name: string,
  soql: string,
  options: QueryOptions,
  queryId: string,
  onPage: (e: QueryEvent) => void,
  api: QueryApi = 'rest',
): Promise<QueryDone> {
  const channel = new Channel<QueryEvent>();
  channel.onmessage = onPage;
  return call<QueryDone>('salesforce_query', { name, soqlText: soql, options, queryId, api, onPage: channel });
}
export const salesforceQueryCancel = (queryId: string) => call<boolean>('salesforce_query_cancel', { queryId });
export const salesforceVersions = (name: string) => call<ApiVersion[]>('salesforce_versions', { name });
export const salesforceIdentity = (name: string) => call<JsonValue>('salesforce_identity', { name });
export const salesforceDescribeGlobal = (name: string) => call<JsonValue>('salesforce_describe_global', { name });
export const salesforceDescribe = (name: string, object: string) => call<JsonValue>('salesforce_describe', { name, object });
export const salesforceLimits = (name: string) => call<JsonValue>('salesforce_limits', { name });

export const wechatUserinfo = (name: string, lang: string) => call<JsonValue>('wechat_userinfo', { name, lang });
export const wechatCheck = (name: string) => call<JsonValue>('wechat_check', { name });
export const apiRequest = (name: string, request: ApiRequest) => call<ApiResponse>('api_request', { name, request });
export const userinfo = (name: string) => call<JsonValue>('userinfo', { name, lang: null });
export const sandboxStart = () => call<SandboxInfo>('sandbox_start');
export const exportWrite = (fileName: string, contents: string) => call<string>('export_write', { fileName, contents });
/** Asks where to save (a dialog starting in Downloads); null when the user cancelled. */
export const exportSave = (fileName: string, contents: string) => call<string | null>('export_save', { fileName, contents });
/** What the UI keeps per profile across restarts (query text, last request). */
export const workspaceGet = (profileId: string) => call<JsonValue>('workspace_get', { profileId });
export const workspaceSet = (profileId: string, part: 'soql' | 'request', value: JsonValue) => call<void>('workspace_set', { profileId, part, value });

/** The core's events: a token changed (also by an automatic renewal), an exchange was recorded. */
export function onDeskEvent(handler: (e: DeskEvent) => void): Promise<UnlistenFn> {
  return listen<DeskEvent>('desk://event', (e) => handler(e.payload));
}

export const wirelogList = (name: string) => call<ExchangeSummary[]>('wirelog_list', { name });
export const wirelogGet = (name: string, id: number) => call<ExchangeDetail>('wirelog_get', { name, id });
export const wirelogCopy = (name: string, id: number, format: CopyFormat, includeSecrets: boolean) =>
  call<string>('wirelog_copy', { name, id, format, includeSecrets });
export const wirelogExportHar = (name: string, includeSecrets: boolean) => call<string>('wirelog_export_har', { name, includeSecrets });
export const wirelogClear = (name: string) => call<void>('wirelog_clear', { name });
export const grantJwtBearer = (name: string) => call<TokenDetails>('grant_jwt_bearer', { name });
export const privateKeyCreate = (name: string) => call<string>('private_key_create', { name });
export const privateKeyImport = (name: string, pem: string) => call<void>('private_key_import', { name, pem });
export const profileImportSfdxUrl = (name: string, url: string) => call<ProfileEntry>('profile_import_sfdx_url', { name, url });
export const profileSfdxUrl = (name: string) => call<string>('profile_sfdx_url', { name });
export function signinDevice(name: string, attemptId: string, onStarted: (d: DeviceStarted) => void): Promise<TokenDetails> {
  const channel = new Channel<DeviceStarted>();
  channel.onmessage = onStarted;
  return call<TokenDetails>('signin_device', { name, attemptId, onStarted: channel });
}
export const signinDeviceCancel = (attemptId: string) => call<boolean>('signin_device_cancel', { attemptId });
