// Catalog restrictions (spec.catalogRestrictions): requirements on properties of a class or plan,
// `<property> <op> <value>` with op ==, != or `in`/`notin` a parenthesized list, as Service Catalog
// wrote them. Every rule of a list must hold for the entry to become an object.

export type Properties = Readonly<Record<string, string>>;

export interface Requirement {
  property: string;
  op: '==' | '!=' | 'in' | 'notin';
  values: readonly string[];
}

export const classProperties = ['name', 'spec.externalName', 'spec.externalID'] as const;
export const planProperties = [
  'name',
  'spec.externalName',
  'spec.externalID',
  'spec.free',
  'spec.serviceClassExternalName',
] as const;

const equality = /^\s*([A-Za-z.]+)\s*(==|!=)\s*(\S(?:.*\S)?)\s*$/;
const membership = /^\s*([A-Za-z.]+)\s+(in|notin)\s*\(([^()]*)\)\s*$/;

/** Parses `rules`; throws an Error naming `field` (e.g. `spec.catalogRestrictions.serviceClass[1]`). */
export function parseRequirements(
  rules: readonly string[] | undefined,
  allowed: readonly string[],
  field: string,
): Requirement[] {
  return (rules ?? []).map((rule, i) => {
    const at = `${field}[${i}]`;
    const eq = equality.exec(rule);
    const member = eq ? undefined : membership.exec(rule);
    const match = eq ?? member;
    if (!match) {
      throw new Error(
        `${at}: ${JSON.stringify(rule)} is not "<property> ==|!= <value>" or "<property> in|notin (<values>)"`,
      );
    }
    const [, property = '', op = '', rest = ''] = match;
    if (!allowed.includes(property)) {
      throw new Error(
        `${at}: unknown property ${JSON.stringify(property)}, expected one of ${allowed.join(', ')}`,
      );
    }
    const values = eq
      ? [rest]
      : rest
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
    if (values.length === 0) throw new Error(`${at}: ${op} needs at least one value`);
    return { property, op: op as Requirement['op'], values };
  });
}

/** Whether `props` meet every requirement (no requirements: every entry does). */
export function matches(requirements: readonly Requirement[], props: Properties): boolean {
  return requirements.every((r) => {
    const value = props[r.property] ?? '';
    const member = r.values.includes(value);
    return r.op === '==' || r.op === 'in' ? member : !member;
  });
}
