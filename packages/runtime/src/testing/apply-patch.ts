// Patch application as the fake API server does it: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902), and strategic merge patch applied as a merge patch (lists replaced, not merged by key),
// so a `$patch` directive, which it would get wrong, is refused rather than applied.

import { isObject } from '@bindery/kube';
import type { KubeObject, PatchType } from '@bindery/kube';
import { applyJsonPatch, applyMergePatch } from '../json-patch.ts';
import type { JsonPatchOperation } from '../json-patch.ts';

/** `stored` with `patch` applied (a new object); throws an Error that says what is wrong with the patch. */
export function applyPatch(stored: KubeObject, patch: unknown, type: PatchType): KubeObject {
  let patched: unknown;
  if (type === 'json') {
    if (!Array.isArray(patch)) throw new Error('a JSON patch must be an array of operations');
    patched = applyJsonPatch(stored, patch as JsonPatchOperation[]);
  } else {
    if (!isObject(patch)) throw new Error('a merge patch must be an object');
    if (type === 'strategic-merge') refuseDirectives(patch, '');
    patched = applyMergePatch(stored, patch);
  }
  if (!isObject(patched) || !isObject(patched['metadata'])) {
    throw new Error('the patched object has no metadata');
  }
  return patched as KubeObject;
}

function refuseDirectives(patch: unknown, path: string): void {
  if (Array.isArray(patch)) {
    patch.forEach((v, i) => refuseDirectives(v, `${path}[${i}]`));
    return;
  }
  if (!isObject(patch)) return;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) {
      throw new Error(
        `strategic merge patch directive ${path}${path ? '.' : ''}${k} is not supported by the fake client (it applies strategic merge patches as merge patches)`,
      );
    }
    refuseDirectives(v, path ? `${path}.${k}` : k);
  }
}
