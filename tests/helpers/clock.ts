// Time travel for in-process servers (tests/helpers/server.ts): what would
// otherwise be a real sleep until a token, code, grant or consent expires.
// Only Date is faked (jest's modern fake timers, everything else in
// doNotFake), and it keeps running at real speed (advanceTimers); travel()
// jumps it forward. Everyone reads that one clock: oidc-provider's epochTime
// (node_modules/oidc-provider/lib/helpers/epoch_time.js, Date.now), the
// SQLite adapter's expiry checks (src/oidc/adapter.ts, Date.now), Prisma's
// @updatedAt (new Date()) that src/consents/consents.ts compares with
// Date.now, and the test's own checks. Timers are left alone: sockets, the
// key refresh and jest's own timeouts keep real time.
// Child-process servers (tests/helpers/processes.ts) have clocks of their own
// and keep real sleeps.
import { afterEach, jest } from '@jest/globals';

let faked = false;

/** Moves the clock forward by `seconds`, at once. Back to real time after each test. */
export function travel(seconds: number): void {
  if (!faked) {
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
      advanceTimers: true,
      now: Date.now(),
    });
    faked = true;
  }
  jest.setSystemTime(Date.now() + seconds * 1000);
}

afterEach(() => {
  if (!faked) return;
  jest.useRealTimers();
  faked = false;
});
