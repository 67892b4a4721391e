/** A JSONPath expression that does not parse; names the expression and where it went wrong. */
export class JsonPathError extends Error {
  readonly expression: string;
  readonly offset: number;
  readonly reason: string;

  constructor(expression: string, offset: number, reason: string) {
    super(`invalid JSONPath ${JSON.stringify(expression)} at offset ${offset}: ${reason}`);
    this.name = 'JsonPathError';
    this.expression = expression;
    this.offset = offset;
    this.reason = reason;
  }
}
