const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** Ids are checked before they reach SQL, so a typo is BAD_USER_INPUT and not a database error. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}
