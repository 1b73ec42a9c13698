import { useMemo, useState } from 'react';
import { createApi } from './api';
import { ApiProvider } from './api-context';
import { Chat } from './components/Chat';
import { SignIn } from './components/SignIn';
import { useSessionToken } from './session';

export function App() {
  const { token, signIn, signOut } = useSessionToken();
  const [notice, setNotice] = useState<string | null>(null);
  const api = useMemo(
    () =>
      createApi(token, () => {
        if (!token) return;
        setNotice('Your session has ended. Log in again.');
        signOut(token);
      }),
    [token, signOut],
  );
  return (
    <ApiProvider api={api}>
      {token ? (
        <Chat onLogOut={() => signOut(token)} />
      ) : (
        <SignIn
          notice={notice}
          onSignedIn={(next) => {
            setNotice(null);
            signIn(next);
          }}
        />
      )}
    </ApiProvider>
  );
}
