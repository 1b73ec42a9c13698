import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { errorMessage } from '../errors';
import { graphql } from '../gql';

const SignUp = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
    }
  }
`);

const LogIn = graphql(`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

/** Sign up or log in; hands the token to onSignedIn. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (token: string) => void; notice: string | null }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [signUpState, signUp] = useMutation(SignUp);
  const [logInState, logIn] = useMutation(LogIn);
  const [error, setError] = useState<string | null>(null);
  const busy = signUpState.fetching || logInState.fetching;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const action = (event.nativeEvent as SubmitEvent).submitter?.getAttribute('value');
    const input = { username: username.trim(), password };
    const result =
      action === 'sign-up'
        ? await signUp({ input }).then(({ data, error }) => ({ token: data?.signUp.token, error }))
        : await logIn({ input }).then(({ data, error }) => ({ token: data?.logIn.token, error }));
    if (result.token) onSignedIn(result.token);
    else setError(result.error ? errorMessage(result.error) : 'That did not work. Try again.');
  };

  return (
    <main className="sign-in">
      <h1>Parley</h1>
      <form onSubmit={(event) => void submit(event)}>
        {notice && <p className="notice">{notice}</p>}
        <label>
          Username
          <input name="username" autoComplete="username" required value={username} onChange={(event) => setUsername(event.target.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
        </label>
        {error && <p role="alert">{error}</p>}
        <div className="actions">
          <button type="submit" value="log-in" disabled={busy}>
            Log in
          </button>
          <button type="submit" value="sign-up" disabled={busy}>
            Sign up
          </button>
        </div>
      </form>
      <p className="aside">
        Exploring the API? <a href="/graphql">GraphiQL</a> is at /graphql.
      </p>
    </main>
  );
}
