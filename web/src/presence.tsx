import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { graphql } from './gql';
import type { PresenceStatus } from './gql/graphql';
import { useEventStream } from './hooks/useEventStream';
import { useReconnects } from './hooks/useReconnects';

const PresenceUpdates = graphql(`
  subscription PresenceUpdates {
    presenceChanged {
      user {
        id
      }
      presence {
        status
      }
    }
  }
`);

/**
 * What presenceChanged has said since sign-in, by user ID (the viewer, whose own socket is open, is online);
 * a query's User.presence answers for the rest.
 */
const PresenceContext = createContext<ReadonlyMap<string, PresenceStatus>>(new Map());

export function PresenceProvider({ viewerId, children }: { viewerId: string; children: ReactNode }) {
  const [statuses, setStatuses] = useState<ReadonlyMap<string, PresenceStatus>>(() => new Map([[viewerId, 'ONLINE']]));
  // Changes while the socket was down are lost: forget what we had, the queries fetched again answer.
  const reconnects = useReconnects();
  useEffect(() => {
    if (reconnects > 0) setStatuses(new Map([[viewerId, 'ONLINE']]));
  }, [reconnects, viewerId]);
  useEventStream(PresenceUpdates, {}, (result) => {
    const change = result.data?.presenceChanged;
    if (change && change.user.id !== viewerId) setStatuses((previous) => new Map(previous).set(change.user.id, change.presence.status));
  });
  return <PresenceContext.Provider value={statuses}>{children}</PresenceContext.Provider>;
}

export interface PresenceOf {
  id: string;
  displayName: string;
  presence: { status: PresenceStatus };
}

/** A dot, green while the user is online. */
export function PresenceDot({ user }: { user: PresenceOf }) {
  const status = useContext(PresenceContext).get(user.id) ?? user.presence.status;
  const online = status === 'ONLINE';
  return (
    <span
      className={online ? 'presence online' : 'presence'}
      role="img"
      aria-label={`${user.displayName} is ${online ? 'online' : 'offline'}`}
      title={online ? 'online' : 'offline'}
    />
  );
}
