// PostgreSQL's text cannot hold a NUL character: a lookup by a key that has
// one fails (invalid byte sequence, 22021) where SQLite simply finds nothing.
// No row can have such a key on PostgreSQL, and the application never writes
// one on SQLite, so a lookup answers "not found" before asking either.

/** Whether a row could be stored under `key` on every database the application runs on. */
export const storableKey = (key: string): boolean => !key.includes('\0');
