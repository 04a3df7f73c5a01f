import { defineConfig } from 'vite';
import { widgetConfig } from './vite.shared';

// `vite` / `vite build` from widget/. The dev simulator's /__dev/fund only exists in dev/server.ts
// (npm start), because it imports the repo's TypeScript chain code which needs tsx.
export default defineConfig(({ command }) => {
  // Vite derives import.meta.env.DEV, and React its build flavour, from NODE_ENV: a build run under
  // NODE_ENV=test or development would ship the payment simulator and React's development code.
  if (command === 'build') process.env.NODE_ENV = 'production';
  return widgetConfig();
});
