// The RI's ordering of lists it shares with the workload's owner: the owner's items keep their
// order and come first; projected items follow, sorted by name. Any binding applied in any order
// thus yields the same list. Ties (two bindings projecting one env var name — AMB-9) are broken
// by the whole entry, which the RI leaves to application order.

import { compareCodePoints, getOwn, isObject } from './json.ts';

export function sortProjected(list: unknown[], isProjected: (item: unknown) => boolean): void {
  const own = list.filter((item) => !isProjected(item));
  const projected = list.filter(isProjected).sort(byNameThenEntry);
  list.splice(0, list.length, ...own, ...projected);
}

export function itemName(item: unknown): string {
  if (!isObject(item)) return '';
  const name = getOwn(item, 'name');
  return typeof name === 'string' ? name : '';
}

function byNameThenEntry(a: unknown, b: unknown): number {
  return (
    compareCodePoints(itemName(a), itemName(b)) || compareCodePoints(JSON.stringify(a), JSON.stringify(b))
  );
}
