/** How sizes and times read in the client. */

/** A size for people: bytes, KB or MB (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/** An ISO time as hours and minutes, in the person's locale. */
export const timeOf = (iso: string) => timeFormat.format(new Date(iso));
