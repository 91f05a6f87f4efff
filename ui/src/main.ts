import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { loadLang } from './lib/i18n';
import { settings } from './lib/settings.svelte';

// For the app benchmark: when the bundle started and when the first screen was mounted.
const metrics = ((window as unknown as { __oauthDeskMetrics?: Record<string, unknown> }).__oauthDeskMetrics ??= {});
metrics.scriptStartMs = performance.now();

// Chinese strings are their own chunk: loaded first when the UI is in Chinese.
loadLang(settings.lang).finally(() => {
  mount(App, { target: document.getElementById('app')! });
  metrics.mountedMs = performance.now();
});
