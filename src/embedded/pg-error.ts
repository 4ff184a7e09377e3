/**
 * Why the embedded PostgreSQL did not start, as one line a person can act
 * on: what failed and what to do (main.ts prints it without a stack trace).
 */
export class EmbeddedPostgresError extends Error {
  constructor(what: string, todo: string) {
    super(`embedded PostgreSQL did not start: ${oneLine(what)}. To fix: ${todo}.`);
    this.name = 'EmbeddedPostgresError';
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' | ').replace(/\.$/, '').slice(0, 400);
}
