import { createContext, useContext, type ReactNode } from 'react';
import type { BinderyClient } from './client.js';

const ClientContext = createContext<BinderyClient | null>(null);

export function ClientProvider({ client, children }: { client: BinderyClient; children: ReactNode }) {
  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
}

export function useClient(): BinderyClient {
  const c = useContext(ClientContext);
  if (!c) throw new Error('useClient needs a <ClientProvider>');
  return c;
}
