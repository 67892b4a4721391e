// The parser's error is apis'; evaluation adds one for an expression that costs too much.
export { JsonPathError } from '../../apis/jsonpath-error.ts';

/**
 * An evaluation that would visit more nodes, or descend deeper, than its budget allows. A
 * stash annotation is written by whoever may edit the workload, so evaluation must be bounded.
 */
export class JsonPathLimitError extends Error {
  readonly expression: string;
  readonly limit: 'nodes' | 'depth';

  constructor(expression: string, limit: 'nodes' | 'depth', max: number) {
    super(
      limit === 'nodes'
        ? `JSONPath ${JSON.stringify(expression)} visits more than ${max} nodes of the workload; simplify the expression`
        : `JSONPath ${JSON.stringify(expression)} descends more than ${max} levels into the workload`,
    );
    this.name = 'JsonPathLimitError';
    this.expression = expression;
    this.limit = limit;
  }
}
