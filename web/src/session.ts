import { useCallback, useState } from 'react';

const STORAGE_KEY = 'parley.token';

/** The signed-in token, kept in localStorage so a reload stays signed in. */
export function useSessionToken() {
  const [token, setToken] = useState<string | null>(() => window.localStorage.getItem(STORAGE_KEY));
  const signIn = useCallback((next: string) => {
    window.localStorage.setItem(STORAGE_KEY, next);
    setToken(next);
  }, []);
  /** Forgets `ended` (logged out, refused or expired), unless a newer session has replaced it meanwhile. */
  const signOut = useCallback((ended: string) => {
    if (window.localStorage.getItem(STORAGE_KEY) === ended) window.localStorage.removeItem(STORAGE_KEY);
    setToken((current) => (current === ended ? null : current));
  }, []);
  return { token, signIn, signOut };
}
