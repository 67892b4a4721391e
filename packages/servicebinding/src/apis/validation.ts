// String rules, each returning what is wrong with a value (empty when it is valid), worded like
// apimachinery's validation package so messages read the same as the API server's.

const bindingNameRe = /^[a-z0-9.-]{1,253}$/;
const envVarNameRe = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const secretKeyRe = /^[-._a-zA-Z0-9]+$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035LabelRe = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const qualifiedNamePartRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * A binding name is a directory under $SERVICE_BINDING_ROOT: the spec's `[a-z0-9\-\.]{1,253}`,
 * anchored, and never `.` or `..`, which would mount the Secret outside the root.
 */
export function bindingNameProblems(value: string): string[] {
  const problems: string[] = [];
  if (!bindingNameRe.test(value))
    problems.push(
      "must consist of lower case alphanumeric characters, '-' or '.', and must be 1 to 253 characters (regex '^[a-z0-9.-]{1,253}$')",
    );
  if (value === '.' || value === '..') problems.push('must not be "." or ".."');
  return problems;
}

/** apimachinery IsEnvVarName. */
export function envVarNameProblems(value: string): string[] {
  const problems: string[] = [];
  if (!envVarNameRe.test(value))
    problems.push(
      "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name', or 'MY_ENV.NAME', or 'MyEnvName1', regex '^[-._a-zA-Z][-._a-zA-Z0-9]*$')",
    );
  return [...problems, ...chDirPrefixProblems(value)];
}

/** apimachinery IsConfigMapKey: a key of a Secret's `data`, which is also a file name in the binding. */
export function secretKeyProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 253) problems.push('must be no more than 253 characters');
  if (!secretKeyRe.test(value))
    problems.push(
      "a valid Secret key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex '^[-._a-zA-Z0-9]+$')",
    );
  return [...problems, ...chDirPrefixProblems(value)];
}

function chDirPrefixProblems(value: string): string[] {
  if (value === '.') return ["must not be '.'"];
  if (value === '..') return ["must not be '..'"];
  if (value.startsWith('..')) return ["must not start with '..'"];
  return [];
}

export function dns1123SubdomainProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 253) problems.push('must be no more than 253 characters');
  if (!dns1123SubdomainRe.test(value))
    problems.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
    );
  return problems;
}

export function dns1035LabelProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push('must be no more than 63 characters');
  if (!dns1035LabelRe.test(value))
    problems.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123')",
    );
  return problems;
}

/** Any object name: it is one segment of a URL path. */
export function pathSegmentNameProblems(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const problems: string[] = [];
  for (const c of ['/', '%']) if (value.includes(c)) problems.push(`may not contain '${c}'`);
  return problems;
}

/** `<group>/<version>`, or `<version>` for the core group. */
export function apiVersionProblems(value: string): string[] {
  const slash = value.indexOf('/');
  const group = slash < 0 ? undefined : value.slice(0, slash);
  const version = slash < 0 ? value : value.slice(slash + 1);
  const problems: string[] = [];
  if (group !== undefined && dns1123SubdomainProblems(group).length > 0)
    problems.push(`group ${JSON.stringify(group)} must be a lowercase RFC 1123 subdomain (e.g. 'apps')`);
  if (dns1035LabelProblems(version).length > 0)
    problems.push(
      `version ${JSON.stringify(version)} must be a DNS-1035 label (e.g. 'v1'); expected '<group>/<version>' (e.g. 'apps/v1'), or '<version>' for the core group`,
    );
  return problems;
}

/** A label key: `[prefix/]name`. */
export function qualifiedNameProblems(value: string): string[] {
  const slash = value.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : value.slice(0, slash);
  const name = slash < 0 ? value : value.slice(slash + 1);
  const problems: string[] = [];
  if (prefix !== undefined) {
    if (prefix === '') problems.push('prefix part must be non-empty');
    else if (dns1123SubdomainProblems(prefix).length > 0)
      problems.push('prefix part must be a lowercase RFC 1123 subdomain (e.g. example.com)');
  }
  if (name === '') problems.push('name part must be non-empty');
  else {
    if (name.length > 63) problems.push('name part must be no more than 63 characters');
    if (!qualifiedNamePartRe.test(name))
      problems.push(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')",
      );
  }
  return problems;
}

export function labelValueProblems(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push('must be no more than 63 characters');
  if (!labelValueRe.test(value))
    problems.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', or '12345')",
    );
  return problems;
}
