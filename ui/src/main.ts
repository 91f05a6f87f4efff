import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';

// For the app benchmark: when the bundle started and when the first screen had its data.
const metrics = ((window as unknown as { __oauthDeskMetrics?: Record<string, unknown> }).__oauthDeskMetrics ??= {});
metrics.scriptStartMs = performance.now();

export default mount(App, { target: document.getElementById('app')! });
metrics.mountedMs = performance.now();
