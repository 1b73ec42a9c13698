import { startTestServer } from './test/support/server.ts';
import { createUser } from './test/support/users.ts';
import { createLogger } from './src/logger.ts';
const api = await startTestServer({ env: { RATE_LIMITS: 'off', MAX_TOKENS: '10000000', MAX_COST: '100000000', MAX_BODY_BYTES: '10000000', LOG_LEVEL: 'error' } });
const u = await createUser(api);
const raw = async (body: string) => {
  const r = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${u.token}` }, body });
  return `${r.status} ${(await r.text()).slice(0, 150)}`;
};
const own = await api.ok((await import('./test/support/rooms.ts')).RoomsCreateRoom, { input: { name: 'mine' } }, u.token);
const rid = own.createRoom.id;
for (const depth of [1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 7000, 8000, 9000]) for (const which of ['obj', 'list', 'sel', 'idlist', 'default']) {
const lit = '{a:'.repeat(depth) + '{}' + '}'.repeat(depth);
const lst = '{a:' + '['.repeat(depth) + ']'.repeat(depth) + '}';
const q = which === 'obj' ? `mutation { sendMessage(input:{roomId:"${rid}", payload:${lit}}){ id } }` : which === 'list' ? `mutation { sendMessage(input:{roomId:"${rid}", payload:${lst}}){ id } }` : which === 'idlist' ? `mutation { addMembers(roomId:"${rid}", userIds:${'['.repeat(depth) + '"a"' + ']'.repeat(depth)}){ role } }` : which === 'default' ? `mutation($p: JSON = ${lit}) { sendMessage(input:{roomId:"${rid}", payload:$p}){ id } }` : 'query ' + '{ me '.repeat(depth) + '}'.repeat(depth);
const r = await raw(JSON.stringify({ query: q }));
if (r.includes('INTERNAL') || r.startsWith('5')) console.log(which, depth, r);
}
console.log('done');
await api.close();
