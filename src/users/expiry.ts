// setTimeout's longest delay (about 24.8 days); a later expiry is re-armed when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls onExpired (never synchronously) once the Unix time expiresAt (seconds) has passed, unless cancelled first. The timer keeps no process alive. */
export function whenExpired(expiresAt: number, onExpired: () => void): { cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const remaining = expiresAt * 1000 - Date.now();
    timer = setTimeout(() => (remaining > MAX_TIMER_MS ? arm() : onExpired()), Math.max(0, Math.min(remaining, MAX_TIMER_MS)));
    timer.unref();
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}
