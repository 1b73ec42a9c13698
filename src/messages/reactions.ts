export interface ReactionTally {
  emoji: string;
  count: number;
  reactedByMe: boolean;
}

/** One tally per emoji, in the order of each emoji's first reaction. */
export function tallyReactions(
  reactions: readonly { emoji: string; userId: string }[],
  viewerId: string | undefined,
): ReactionTally[] {
  const byEmoji = new Map<string, ReactionTally>();
  for (const { emoji, userId } of reactions) {
    const tally = byEmoji.get(emoji) ?? { emoji, count: 0, reactedByMe: false };
    tally.count += 1;
    tally.reactedByMe ||= userId === viewerId;
    byEmoji.set(emoji, tally);
  }
  return [...byEmoji.values()];
}
