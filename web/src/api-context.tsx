import { createContext, useContext, type ReactNode } from 'react';
import { Provider } from 'urql';
import type { Api } from './api';

const ApiContext = createContext<Api | null>(null);

/** Provides the urql client to its hooks, and the socket to the hooks that resume after a reconnect. */
export function ApiProvider({ api, children }: { api: Api; children: ReactNode }) {
  return (
    <ApiContext.Provider value={api}>
      <Provider value={api.client}>{children}</Provider>
    </ApiContext.Provider>
  );
}

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}
