/** The clock port of the daemon: time and sleeping, injectable for tests. */

/** A source of the current time. */
export interface Clock {
  now(): Date;
}

/** The system clock. */
export const systemClock: Clock = { now: () => new Date() };
