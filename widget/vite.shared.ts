import react from '@vitejs/plugin-react';
import type { UserConfig } from 'vite';

export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:4000';

/**
 * The widget's Vite config without the dev-chain simulator; vite.config.ts (CLI) and
 * dev/server.ts (npm start, e2e test) build on it. /graphql is proxied, WebSocket included, so the
 * page talks to its own origin: the gateway needs no CORS.
 */
export function widgetConfig(gatewayUrl: string = process.env.GATEWAY_URL || DEFAULT_GATEWAY_URL): UserConfig {
  const proxy = { '/graphql': { target: gatewayUrl.replace(/\/graphql\/?$/, ''), ws: true, changeOrigin: true } };
  return {
    root: __dirname,
    plugins: [react()],
    server: { host: '127.0.0.1', port: 5173, strictPort: true, proxy },
    preview: { host: '127.0.0.1', port: 4173, strictPort: true, proxy },
    build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  };
}
