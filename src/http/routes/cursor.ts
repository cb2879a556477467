/** A page's cursor: the last key of the page, opaque to clients (base64url). */
export function toCursor(key: string): string {
  return Buffer.from(key).toString('base64url');
}

export function fromCursor(cursor: string | undefined): string | null {
  return cursor === undefined ? null : Buffer.from(cursor, 'base64url').toString();
}
