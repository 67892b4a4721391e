// metav1.LabelSelector well-formedness, as apimachinery's ValidateLabelSelector checks it: the
// CRD schema only checks types, and a malformed selector would fail every list of workloads.
import { isObject } from '@bindery/kube';
import { child, forbidden, index, invalid, key, notSupported, required } from './field-errors.ts';
import type { FieldReader, JsonObject } from './read-fields.ts';
import { typeName } from './read-fields.ts';
import { labelValueProblems, qualifiedNameProblems } from './validation.ts';

const operators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export function validateLabelSelector(r: FieldReader, selector: JsonObject, path: string): void {
  const labels = r.object(selector, path, 'matchLabels');
  const labelsPath = child(path, 'matchLabels');
  for (const [k, v] of Object.entries(labels ?? {})) {
    r.check(labelsPath, k, qualifiedNameProblems(k));
    if (typeof v !== 'string')
      r.errors.push(invalid(key(labelsPath, k), v, `expected a string, got ${typeName(v)}`));
    else r.check(key(labelsPath, k), v, labelValueProblems(v));
  }
  const expressions = r.array(selector, path, 'matchExpressions') ?? [];
  expressions.forEach((e, i) => {
    const at = index(child(path, 'matchExpressions'), i);
    if (!isObject(e)) {
      r.errors.push(invalid(at, e, `expected an object with key and operator, got ${typeName(e)}`));
      return;
    }
    const k = r.string(e, at, 'key', 'expected the label key the requirement is about');
    if (k !== undefined) r.check(child(at, 'key'), k, qualifiedNameProblems(k));
    const operator = r.string(e, at, 'operator', `expected one of ${operators.join(', ')}`);
    const values = r.array(e, at, 'values') ?? [];
    values.forEach((v, j) => {
      const vAt = index(child(at, 'values'), j);
      if (typeof v !== 'string') r.errors.push(invalid(vAt, v, `expected a string, got ${typeName(v)}`));
      else r.check(vAt, v, labelValueProblems(v));
    });
    if (operator === undefined) return;
    if (!(operators as readonly string[]).includes(operator))
      r.errors.push(notSupported(child(at, 'operator'), operator, operators));
    else if ((operator === 'In' || operator === 'NotIn') && values.length === 0)
      r.errors.push(required(child(at, 'values'), `must be specified when operator is ${operator}`));
    else if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0)
      r.errors.push(forbidden(child(at, 'values'), `may not be specified when operator is ${operator}`));
  });
}
