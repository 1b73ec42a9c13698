import { graphql } from '../generated/gql.js';
import { uniqueName, type TestServer } from './server.js';

const SignUpForTest = graphql(`
  mutation SignUpForTest($input: SignUpInput!) {
    signUp(input: $input) {
      token
      user {
        id
        username
      }
    }
  }
`);

export interface TestUser {
  id: string;
  username: string;
  token: string;
}

/** Signs up a fresh user with a unique name. */
export async function createUser(api: Pick<TestServer, 'ok'>, base = 'user'): Promise<TestUser> {
  const data = await api.ok(SignUpForTest, { input: { username: uniqueName(base), password: 'correct horse battery' } });
  return { id: data.signUp.user.id, username: data.signUp.user.username, token: data.signUp.token };
}
