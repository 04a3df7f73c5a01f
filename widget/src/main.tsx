import { StrictMode, Suspense, lazy } from 'react';
import { createRoot } from 'react-dom/client';
import { Checkout } from './Checkout';
import { gatewaySource, resolveApiUrl } from './api';
import { en } from './strings';
import './checkout.css';

// `import.meta.env.DEV` is the constant false in a production build, so the bundler drops this
// import and the simulator's chunk is never emitted.
const DevSimulate = import.meta.env.DEV ? lazy(() => import('./dev/DevSimulate')) : null;

const params = new URLSearchParams(location.search);
const theme = params.get('theme');
if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
document.title = en.pageTitle;

const token = decodeURIComponent(location.pathname.match(/\/checkout\/([^/]+)\/?$/)?.[1] ?? '');
const source = gatewaySource(resolveApiUrl(location.search, import.meta.env.VITE_GRAPHQL_URL, location.origin));

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Checkout
      token={token}
      source={source}
      devTools={
        DevSimulate
          ? (payment, t) => (
              <Suspense fallback={null}>
                <DevSimulate payment={payment} token={t} />
              </Suspense>
            )
          : undefined
      }
    />
  </StrictMode>,
);
