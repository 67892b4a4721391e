// Label selectors: the string form of `?labelSelector=` and the metav1.LabelSelector
// object form, with the same matching rules as apimachinery's labels package.

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export class Selector {
  readonly requirements: readonly Requirement[];

  constructor(requirements: Requirement[]) {
    this.requirements = requirements;
  }

  /** An empty selector matches everything. */
  get empty(): boolean {
    return this.requirements.length === 0;
  }

  matches(labels: Record<string, string> | undefined): boolean {
    return this.requirements.every((r) => {
      const has = labels !== undefined && Object.hasOwn(labels, r.key);
      const value = has ? labels[r.key] : undefined;
      switch (r.operator) {
        case 'In':
          return has && r.values.includes(value as string);
        case 'NotIn':
          return !has || !r.values.includes(value as string);
        case 'Exists':
          return has;
        case 'DoesNotExist':
          return !has;
      }
      return false;
    });
  }

  /** The `?labelSelector=` form. */
  toString(): string {
    return this.requirements
      .map((r) => {
        switch (r.operator) {
          case 'Exists':
            return r.key;
          case 'DoesNotExist':
            return `!${r.key}`;
          case 'In':
            return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
          case 'NotIn':
            return r.values.length === 1
              ? `${r.key}!=${r.values[0]}`
              : `${r.key} notin (${r.values.join(',')})`;
        }
        return '';
      })
      .join(',');
  }
}

export const everything = new Selector([]);

/** metav1.LabelSelector → Selector. Throws with the field named if it is malformed. */
export function selectorFromLabelSelector(selector: LabelSelector | undefined): Selector {
  if (selector === undefined) return everything;
  const requirements: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    key,
    operator: 'In' as const,
    values: [value],
  }));
  (selector.matchExpressions ?? []).forEach((e, i) => {
    const field = `matchExpressions[${i}]`;
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          throw new Error(`${field}.values: must be non-empty for operator ${e.operator}`);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) throw new Error(`${field}.values: must be empty for operator ${e.operator}`);
        break;
      default:
        throw new Error(`${field}.operator: "${e.operator}" is not one of In, NotIn, Exists, DoesNotExist`);
    }
    requirements.push({ key: e.key, operator: e.operator, values: [...values] });
  });
  return new Selector(requirements);
}

/** Parses the string form: `a=b,c!=d,e in (x,y),f notin (z),g,!h`. */
export function parseSelector(text: string): Selector {
  const requirements: Requirement[] = [];
  for (const part of splitTopLevel(text)) {
    const term = part.trim();
    if (term === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^!\s*([^\s=!(),]+)$/.exec(term))) {
      requirements.push({ key: m[1] as string, operator: 'DoesNotExist', values: [] });
    } else if ((m = /^([^\s=!(),]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(term))) {
      requirements.push({
        key: m[1] as string,
        operator: m[2] === '!=' ? 'NotIn' : 'In',
        values: [m[3] as string],
      });
    } else if ((m = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term))) {
      const values = (m[3] as string).split(',').map((v) => v.trim());
      requirements.push({ key: m[1] as string, operator: m[2] === 'in' ? 'In' : 'NotIn', values });
    } else if ((m = /^([^\s=!(),]+)$/.exec(term))) {
      requirements.push({ key: m[1] as string, operator: 'Exists', values: [] });
    } else {
      throw new Error(`label selector "${text}": cannot parse "${term}"`);
    }
  }
  return new Selector(requirements);
}

/** Splits on commas outside parentheses. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
