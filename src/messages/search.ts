import { queryFromInfo } from '@pothos/plugin-prisma';
import { resolveCursorConnection, type DefaultConnectionArguments } from '@pothos/plugin-relay';
import type { GraphQLResolveInfo } from 'graphql';
import { viewerId, type Context } from '../context.js';
import { fail } from '../errors.js';
import { Prisma, type Message } from '../generated/prisma/client.js';
import { unstorable } from '../input-text.js';
import { memberRoom } from '../rooms/access.js';

/**
 * Full-text search over the messages of the viewer's rooms: the words of "Message"."searchVector"
 * (kept by the database, see the message_search migration) against the query, best match first,
 * then newest. Only rooms the viewer is a member of right now, as for Room.messages: leaving, being
 * removed or banned ends it; deleted messages have no words left and are excluded besides.
 */

/** A query is typed by a person; longer ones only make the database work harder. */
export const MAX_QUERY_LENGTH = 256;

/** One piece of a snippet: the matched words are highlighted. */
export interface SnippetPart {
  text: string;
  highlighted: boolean;
}

export interface SearchHit {
  message: Message;
  snippet: SnippetPart[];
  /** Where it stands in the order: its cursor. */
  ranked: Ranked;
}

/** A hit as the search reads it, before its message is loaded. */
interface Ranked {
  id: string;
  rank: number;
  createdAt: Date;
  snippet: string;
}

type Position = [rank: number, createdAt: string, id: string];

const PREFIX = 'search:';

const encodeCursor = ({ rank, createdAt, id }: Ranked) =>
  Buffer.from(PREFIX + JSON.stringify([rank, createdAt.toISOString(), id] satisfies Position)).toString('base64url');

function decodeCursor(cursor: string, argument: string): Position {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  try {
    const position: unknown = text.startsWith(PREFIX) ? JSON.parse(text.slice(PREFIX.length)) : null;
    if (
      Array.isArray(position) &&
      position.length === 3 &&
      Number.isFinite(position[0]) &&
      typeof position[1] === 'string' &&
      !Number.isNaN(Date.parse(position[1])) &&
      typeof position[2] === 'string' &&
      unstorable(position[2]) === null
    ) {
      return position as Position;
    }
  } catch {
    // Not JSON: reported below like any other foreign cursor.
  }
  throw fail.badInput(`"${argument}" is not a cursor of this search: pass an edge's cursor back unchanged.`, argument);
}

/**
 * The query as two parameters for the database: words and "phrases" for websearch_to_tsquery (which
 * also reads `or` and `-word`), and word* prefixes as a to_tsquery text where each prefix is a quoted
 * lexeme, so nothing the user typed is read as a tsquery operator.
 */
function parseQuery(query: string): { words: string; prefixes: string } {
  const words: string[] = [];
  const prefixes: string[] = [];
  for (const [token] of query.matchAll(/"[^"]*"?|[^\s"]+/g)) {
    const prefix = /^([^"*]+)\*+$/.exec(token)?.[1];
    if (prefix === undefined) words.push(token);
    else prefixes.push(`'${prefix.replaceAll('\\', '\\\\').replaceAll("'", "''")}':*`);
  }
  return { words: words.join(' '), prefixes: prefixes.join(' & ') };
}

// ts_headline marks matches with these; they are removed from the body first, so every one in its
// result is a mark.
const START = '\u0001';
const STOP = '\u0002';

const MARKED = new RegExp(`${START}([^${STOP}]*)${STOP}`);

/** ts_headline's text, its marks turned into highlighted parts. */
export function snippetParts(headline: string): SnippetPart[] {
  // split with a capturing group alternates unmarked text (even indexes) and marked text (odd).
  return headline
    .split(MARKED)
    .map((text, index) => ({ text, highlighted: index % 2 === 1 }))
    .filter((part) => part.text !== '');
}

/** One page of hits, read with one statement, then their messages with the selection the query plans. */
export function searchPage(
  context: Context,
  info: GraphQLResolveInfo,
  args: DefaultConnectionArguments & { query: string; roomId: string | null },
) {
  const text = args.query.trim();
  if (!/[\p{L}\p{N}]/u.test(text)) throw fail.badInput('Search for at least one word.', 'query');
  if (text.length > MAX_QUERY_LENGTH) throw fail.badInput(`Search for at most ${MAX_QUERY_LENGTH} characters.`, 'query');
  const userId = viewerId(context);
  const { words, prefixes } = parseQuery(text);
  return resolveCursorConnection<Promise<SearchHit[]>>(
    { args, defaultSize: 20, maxSize: 50, toCursor: (hit) => encodeCursor(hit.ranked) },
    async ({ before, after, limit, inverted }) => {
      const { prisma } = context.app;
      if (args.roomId) await memberRoom(prisma, args.roomId, userId);
      await context.app.limits.act('searchMessages', userId);
      // Best first: greater rank, then later, then greater id; paging backwards reads the other way.
      const beyond = (cursor: string, argument: string, later: boolean) => {
        const [rank, createdAt, id] = decodeCursor(cursor, argument);
        const position = Prisma.sql`(${rank}::float8, ${new Date(createdAt)}::timestamp(3), ${id}::text)`;
        return later ? Prisma.sql`AND ("rank", "createdAt", "id") > ${position}` : Prisma.sql`AND ("rank", "createdAt", "id") < ${position}`;
      };
      const tsquery = Prisma.join(
        [
          ...(words ? [Prisma.sql`websearch_to_tsquery('pg_catalog.simple', ${words})`] : []),
          ...(prefixes ? [Prisma.sql`to_tsquery('pg_catalog.simple', ${prefixes})`] : []),
        ],
        ' && ',
      );
      const direction = inverted ? Prisma.sql`ASC` : Prisma.sql`DESC`;
      const rows = await prisma.$queryRaw<Ranked[]>`
        WITH "q" AS (SELECT ${tsquery} AS "query"),
        "ranked" AS (
          SELECT m."id", m."body", m."createdAt", ts_rank(m."searchVector", "q"."query")::float8 AS "rank"
          FROM "Message" m, "q"
          WHERE m."searchVector" @@ "q"."query" AND m."deletedAt" IS NULL
            AND m."roomId" IN (SELECT rm."roomId" FROM "RoomMember" rm WHERE rm."userId" = ${userId})
            ${args.roomId ? Prisma.sql`AND m."roomId" = ${args.roomId}` : Prisma.empty}
        ),
        "page" AS (
          SELECT * FROM "ranked"
          WHERE TRUE ${after ? beyond(after, 'after', false) : Prisma.empty} ${before ? beyond(before, 'before', true) : Prisma.empty}
          ORDER BY "rank" ${direction}, "createdAt" ${direction}, "id" ${direction}
          LIMIT ${limit}
        )
        SELECT "page"."id", "page"."rank", "page"."createdAt",
          ts_headline('pg_catalog.simple', translate("page"."body", ${START + STOP}, ''), "q"."query",
            ${`StartSel=${START}, StopSel=${STOP}, MaxWords=30, MinWords=12`}) AS "snippet"
        FROM "page", "q"
        ORDER BY "page"."rank" ${direction}, "page"."createdAt" ${direction}, "page"."id" ${direction}`;
      const query = queryFromInfo({ context, info, typeName: 'Message', paths: [['nodes', 'message'], ['edges', 'node', 'message']] });
      const messages = await prisma.message.findMany({
        ...query,
        ...(query.select ? { select: { ...query.select, id: true } } : {}),
        where: { id: { in: rows.map((row) => row.id) }, deletedAt: null },
      });
      const byId = new Map(messages.map((message) => [message.id, message]));
      return rows.flatMap((ranked) => {
        const message = byId.get(ranked.id);
        // Deleted between the two reads: no longer a hit.
        return message ? [{ message, snippet: snippetParts(ranked.snippet), ranked }] : [];
      });
    },
  );
}
