import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL served entirely by Parley: the page, its script, styles, editor workers and icon all come
 * from this process (the built assets of @graphql-yoga/render-graphiql, the renderer graphql-yoga
 * publishes for this), so the explorer works on a machine with no network beyond the server. The
 * page stays small and the assets are separate, versioned files a browser keeps.
 */

const rendererVersion = (createRequire(import.meta.url)('@graphql-yoga/render-graphiql/package.json') as { version: string }).version;

/** Where the assets are served; versioned, so they are cached for good. */
export const GRAPHIQL_ASSETS = `/graphiql/${rendererVersion}/`;

/** What a newcomer sees first: how to sign up, where the token goes, a subscription to try. */
const WELCOME = `# Welcome to Parley: a chat server you talk to in GraphQL.
#
# 1. Sign up: pick a username below, put the cursor in
#    SignUp and press Ctrl-Enter (or choose SignUp from the
#    run button). Copy the token it returns.
#
# 2. Sign in: in the Headers tab below, put the token in:
#      { "Authorization": "Bearer <token>" }
#    Every operation on this page then runs as you: queries
#    and mutations over HTTP, subscriptions over the
#    WebSocket (each operation carries the Headers tab).
#
# 3. Try it: run CreateRoom, put the room's id in the
#    Variables tab, and run MessageAdded. It stays open:
#    run SendMessage from a second tab (the + above) and
#    the message shows up here.
#
# The Docs button (top left) describes every field.

mutation SignUp {
  signUp(input: { username: "alice", password: "correct horse battery" }) {
    token
    user {
      id
      username
    }
  }
}

query Me {
  me {
    id
    username
  }
}

mutation CreateRoom {
  createRoom(input: { name: "general", visibility: PUBLIC }) {
    id
    name
  }
}

subscription MessageAdded($roomId: ID!) {
  messageAdded(roomId: $roomId) {
    seq
    body
    createdAt
    author {
      username
    }
  }
}

mutation SendMessage($roomId: ID!) {
  sendMessage(input: { roomId: $roomId, body: "Hello from GraphiQL" }) {
    seq
    body
  }
}
`;

/** GraphiQL's settings: Parley's title, subscriptions over graphql-ws, the welcome tab with its Headers tab open. */
export const graphiqlOptions: GraphiQLOptions = {
  title: 'Parley',
  subscriptionsProtocol: 'WS',
  favicon: `${GRAPHIQL_ASSETS}favicon.ico`,
  defaultEditorToolsVisibility: 'headers',
  defaultTabs: [{ query: WELCOME, variables: JSON.stringify({ roomId: '<the id CreateRoom returned>' }, null, 2) }],
  // An empty Authorization is no token: operations run signed out until the token is pasted in.
  headers: JSON.stringify({ Authorization: '' }, null, 2),
};

/** The page yoga answers a browser's GET /graphql with; everything it loads is one of the assets below. */
export function renderGraphiQLPage(options: GraphiQLOptions): string {
  // Inside <script>, "<" must not open a tag.
  const json = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(options.title ?? 'Parley')}</title>
    <link rel="icon" href="${GRAPHIQL_ASSETS}favicon.ico" />
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS}graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script>
      const workers = ${json(Object.fromEntries(Object.entries(WORKERS).map(([label, name]) => [label, GRAPHIQL_ASSETS + name])))};
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (moduleId, label) => workers[label] };
    </script>
    <script src="${GRAPHIQL_ASSETS}graphiql.js"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.querySelector('#root'), ${json(options)});
    </script>
  </body>
</html>
`;
}

/** The editor's web workers, by the label Monaco asks for. */
const WORKERS = { editorWorkerService: 'editor.worker.js', json: 'json.worker.js', graphql: 'graphql.worker.js' };

type Bundle = typeof import('@graphql-yoga/render-graphiql/graphiql');

const ASSETS: Record<string, { type: string; content: (bundle: Bundle) => Buffer }> = {
  'graphiql.js': { type: 'text/javascript; charset=utf-8', content: (bundle) => Buffer.from(bundle.js) },
  'graphiql.css': { type: 'text/css; charset=utf-8', content: (bundle) => Buffer.from(bundle.css) },
  [WORKERS.editorWorkerService]: { type: 'text/javascript; charset=utf-8', content: (bundle) => Buffer.from(bundle.editorWorkerService) },
  [WORKERS.json]: { type: 'text/javascript; charset=utf-8', content: (bundle) => Buffer.from(bundle.jsonWorker) },
  [WORKERS.graphql]: { type: 'text/javascript; charset=utf-8', content: (bundle) => Buffer.from(bundle.graphqlWorker) },
  'favicon.ico': { type: 'image/x-icon', content: (bundle) => Buffer.from(bundle.favicon.slice(bundle.favicon.indexOf(',') + 1), 'base64') },
};

interface LoadedAsset {
  type: string;
  body: Buffer;
  gzipped?: Promise<Buffer>;
}

const compress = promisify(gzip);

/**
 * Serves GRAPHIQL_ASSETS*. The bundle (9 MB of script and styles) is loaded on the first request
 * for it, not at start: most servers never show GraphiQL.
 */
export function createGraphiQLAssets() {
  let loaded: Promise<Map<string, LoadedAsset>> | undefined;
  const load = () =>
    (loaded ??= import('@graphql-yoga/render-graphiql/graphiql').then(
      (bundle) =>
        new Map(Object.entries(ASSETS).map(([name, asset]): [string, LoadedAsset] => [name, { type: asset.type, body: asset.content(bundle) }])),
    ));
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const name = path.slice(GRAPHIQL_ASSETS.length);
    const asset = path.startsWith(GRAPHIQL_ASSETS) && Object.hasOwn(ASSETS, name) ? (await load()).get(name) : undefined;
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found.');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const gzipped = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) && asset.type !== 'image/x-icon';
    const body = gzipped ? await (asset.gzipped ??= compress(asset.body)) : asset.body;
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'accept-encoding',
      ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
