// The user's language and theme, reactive and remembered across restarts.
import { loadLang, translate, type Key, type Lang } from './i18n';

function initialLang(): Lang {
  const saved = localStorage.getItem('lang');
  if (saved === 'en' || saved === 'zh-CN') return saved;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

function initialTheme(): 'light' | 'dark' {
  const saved = localStorage.getItem('theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export const settings = $state({ lang: initialLang(), theme: initialTheme() });

export function t(key: Key, vars?: Record<string, string | number>): string {
  return translate(settings.lang, key, vars);
}

export async function setLang(lang: Lang) {
  await loadLang(lang);
  settings.lang = lang;
  localStorage.setItem('lang', lang);
}

export function setTheme(theme: 'light' | 'dark') {
  settings.theme = theme;
  localStorage.setItem('theme', theme);
}
