import type { EventBus } from './bus.js';
import { topics } from './topics.js';

/** TypingChanged on the room's topic, whichever tracker noticed the change. */
export const publishTyping = (bus: EventBus, roomId: string, userId: string, typing: boolean) =>
  bus.publish(topics.room(roomId), { type: 'TypingChanged', roomId, userId, typing });
